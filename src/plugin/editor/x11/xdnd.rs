//! What Neume's XDND drag source ([`super::drag_source`]) and drop target ([`super::drop_target`])
//! share on X11 (protocol version 5): the atoms, the version, X errors as text, client
//! messages, and the hidden window each side speaks from.

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    ClientMessageEvent, ConnectionExt as _, CreateWindowAux, EventMask, Window, WindowClass,
};

x11rb::atom_manager! {
    /// The atoms XDND uses, and the property a dropped file list is fetched into.
    pub Atoms: AtomsCookie {
        XdndAware,
        XdndProxy,
        XdndSelection,
        XdndEnter,
        XdndPosition,
        XdndStatus,
        XdndLeave,
        XdndDrop,
        XdndFinished,
        XdndActionCopy,
        TARGETS,
        NEUME_DROP,
        TEXT_URI_LIST: b"text/uri-list",
    }
}

/// Highest XDND version spoken.
pub const VERSION: u32 = 5;

/// An X error as text.
pub fn x<E: std::fmt::Display>(e: E) -> String {
    format!("X11: {e}")
}

/// Sends an XDND client message about window `about` to window `to` (the same window, or the
/// proxy it names).
pub fn send(
    conn: &impl Connection,
    to: Window,
    about: Window,
    kind: u32,
    data: [u32; 5],
) -> Result<(), String> {
    let event = ClientMessageEvent::new(32, about, kind, data);
    conn.send_event(false, to, EventMask::NO_EVENT, event).map_err(x)?;
    Ok(())
}

/// A 1×1 input-only window off the screen, never mapped: the window a drag source owns the
/// selection with, or a drop target's proxy.
pub fn hidden_window(conn: &impl Connection, root: Window) -> Result<Window, String> {
    let window = conn.generate_id().map_err(x)?;
    conn.create_window(
        0,
        window,
        root,
        -10,
        -10,
        1,
        1,
        0,
        WindowClass::INPUT_ONLY,
        0,
        &CreateWindowAux::new(),
    )
    .map_err(x)?;
    Ok(window)
}
