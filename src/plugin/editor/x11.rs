//! X11 drag and drop, in one place: the XDND protocol both sides speak ([`xdnd`]), the drag
//! source that drags a `.mid` file out of the editor ([`drag_source`]) and the drop target
//! that takes files dropped on it ([`drop_target`]). Each runs on an X connection and thread
//! of its own (the editor's window belongs to baseview). Linux only; `drag_out.rs` and
//! `drop_in.rs` hold what the editor calls on every platform.

pub mod drag_source;
pub mod drop_target;
pub mod xdnd;
