//! The XDND drop target: `.mid` files dropped on the editor (see `drop_in.rs`), through
//! `XdndProxy` on a hidden window of its own X connection.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{AtomEnum, ConnectionExt as _, PropMode, Window};
use x11rb::protocol::Event;
use x11rb::wrapper::ConnectionExt as _;

use super::xdnd::{hidden_window, send, x, Atoms, VERSION};
use crate::plugin::editor::drag_out::uri_path;

pub struct Target {
    pub dropped: Arc<parking_lot::Mutex<Option<PathBuf>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Target {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Target {
    /// Makes `editor` an XDND target whose messages go to a proxy window of our own.
    pub fn start(editor: Window) -> Result<Target, String> {
        Target::serve_from(editor).map_err(|e| format!("drop target: {e}"))
    }

    fn serve_from(editor: Window) -> Result<Target, String> {
        let (conn, screen) = x11rb::connect(None).map_err(x)?;
        let root = conn.setup().roots[screen].root;
        let atoms = Atoms::new(&conn).map_err(x)?.reply().map_err(x)?;
        let proxy = hidden_window(&conn, root)?;
        for window in [editor, proxy] {
            conn.change_property32(
                PropMode::REPLACE,
                window,
                atoms.XdndAware,
                AtomEnum::ATOM,
                &[VERSION],
            )
            .map_err(x)?;
            conn.change_property32(
                PropMode::REPLACE,
                window,
                atoms.XdndProxy,
                AtomEnum::WINDOW,
                &[proxy],
            )
            .map_err(x)?;
        }
        conn.flush().map_err(x)?;
        let dropped = Arc::new(parking_lot::Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let (d, s) = (dropped.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("neume-drop".into())
            .spawn(move || serve(&conn, &atoms, editor, proxy, &d, &s))
            .map_err(|e| e.to_string())?;
        Ok(Target { dropped, stop, thread: Some(thread) })
    }
}

/// Sends a client message to a drag source, whose errors end nothing here.
fn tell(conn: &impl Connection, to: Window, kind: u32, data: [u32; 5]) {
    let _ = send(conn, to, to, kind, data);
    let _ = conn.flush();
}

/// Answers XDND messages until `stop`; a dropped `.mid` file's path goes into `dropped`.
fn serve(
    conn: &impl Connection,
    atoms: &Atoms,
    editor: Window,
    proxy: Window,
    dropped: &parking_lot::Mutex<Option<PathBuf>>,
    stop: &AtomicBool,
) {
    // The source of the drag in progress.
    let mut source: Option<Window> = None;
    while !stop.load(Ordering::Relaxed) {
        let event = match conn.poll_for_event() {
            Ok(Some(event)) => event,
            Ok(None) => {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            Err(_) => return,
        };
        match event {
            Event::ClientMessage(m) => {
                let data = m.data.as_data32();
                if m.type_ == atoms.XdndEnter {
                    source = Some(data[0]);
                } else if m.type_ == atoms.XdndPosition {
                    // Accept anywhere on the editor, as a copy.
                    tell(conn, data[0], atoms.XdndStatus, [editor, 1, 0, 0, atoms.XdndActionCopy]);
                } else if m.type_ == atoms.XdndLeave {
                    source = None;
                } else if m.type_ == atoms.XdndDrop {
                    source = Some(data[0]);
                    let _ = conn.convert_selection(
                        proxy,
                        atoms.XdndSelection,
                        atoms.TEXT_URI_LIST,
                        atoms.NEUME_DROP,
                        data[2],
                    );
                    let _ = conn.flush();
                }
            }
            Event::SelectionNotify(n) if n.requestor == proxy => {
                let text = conn
                    .get_property(true, proxy, atoms.NEUME_DROP, AtomEnum::ANY, 0, 1 << 18)
                    .ok()
                    .and_then(|c| c.reply().ok())
                    .map(|r| String::from_utf8_lossy(&r.value).into_owned())
                    .unwrap_or_default();
                let path = text.lines().filter(|l| !l.starts_with('#')).find_map(uri_path);
                let accepted = path.is_some();
                if let Some(path) = path {
                    *dropped.lock() = Some(path);
                }
                if let Some(s) = source.take() {
                    tell(
                        conn,
                        s,
                        atoms.XdndFinished,
                        [editor, u32::from(accepted), atoms.XdndActionCopy, 0, 0],
                    );
                }
            }
            _ => {}
        }
    }
}
