//! Drops onto the editor: a `.mid` file dropped from a file manager (or a DAW's clip) becomes
//! the clip. On X11 the editor's window is made an XDND target (protocol version 5) through
//! `XdndProxy`: the editor's window (owned by the plugin framework's connection, which would
//! drop XDND messages) names a hidden window of Neume's own, on a connection and thread of
//! its own, and sources that honour the proxy (as the XDND specification asks) talk to that.
//! The dropped paths reach the editor through [`DropTarget::take`]. Elsewhere there is no drop
//! target yet (Load clip… works everywhere).

use std::path::PathBuf;

/// A drop target on the editor's window; stops its thread when dropped.
pub struct DropTarget {
    #[cfg(target_os = "linux")]
    inner: super::x11::drop_target::Target,
}

impl DropTarget {
    /// Makes the editor's window (from its `raw-window-handle`) a drop target, where the
    /// platform has one.
    #[cfg(target_os = "linux")]
    pub fn start(window: &impl raw_window_handle::HasWindowHandle) -> Result<DropTarget, String> {
        use raw_window_handle::RawWindowHandle;
        let handle = window.window_handle().map_err(|e| format!("drop target: {e}"))?;
        let id = match handle.as_raw() {
            RawWindowHandle::Xlib(h) => h.window as u32,
            RawWindowHandle::Xcb(h) => h.window.get(),
            _ => return Err("drop target: not an X11 window".into()),
        };
        Ok(DropTarget { inner: super::x11::drop_target::Target::start(id)? })
    }

    /// The file dropped since the last call, if any.
    pub fn take(&self) -> Option<PathBuf> {
        #[cfg(target_os = "linux")]
        {
            self.inner.dropped.lock().take()
        }
        #[cfg(not(target_os = "linux"))]
        {
            None
        }
    }
}
