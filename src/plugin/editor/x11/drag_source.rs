//! The XDND drag source (protocol version 5): the drag-out of a `.mid` file, on its own X
//! connection and thread (see `drag_out.rs`).

use std::path::Path;
use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    AtomEnum, ConnectionExt as _, EventMask, KeyButMask, PropMode, SelectionNotifyEvent, Window,
    SELECTION_NOTIFY_EVENT,
};
use x11rb::protocol::Event;
use x11rb::wrapper::ConnectionExt as _;
use x11rb::{CURRENT_TIME, NONE};

use super::xdnd::{hidden_window, send, x, Atoms, VERSION};
use crate::plugin::editor::drag_out::{file_uri, DragOutcome};

/// Pointer polling interval.
const POLL: Duration = Duration::from_millis(8);
/// How long a target may take to fetch the file after the drop.
const FINISH_TIMEOUT: Duration = Duration::from_secs(10);
/// A drag left hanging (no release seen) ends after this.
const DRAG_TIMEOUT: Duration = Duration::from_secs(120);

type Result<T> = std::result::Result<T, String>;

/// The XDND-aware window under root position (`px`, `py`) and its version, if any.
fn target_at(
    conn: &impl Connection,
    atoms: &Atoms,
    root: Window,
    px: i16,
    py: i16,
    own: Window,
) -> Result<Option<(Window, u32)>> {
    let mut window = root;
    for _depth in 0..32 {
        if window != root && window != own {
            let aware = conn
                .get_property(false, window, atoms.XdndAware, AtomEnum::ATOM, 0, 1)
                .map_err(x)?
                .reply()
                .map_err(x)?;
            if let Some(version) = aware.value32().and_then(|mut v| v.next()) {
                return Ok(Some((window, version.min(VERSION))));
            }
        }
        let at = conn.translate_coordinates(root, window, px, py).map_err(x)?.reply().map_err(x)?;
        if at.child == NONE {
            return Ok(None);
        }
        window = at.child;
    }
    Ok(None)
}

/// Drags `file` from where the pointer is until the first button is released.
pub fn drag_file(file: &Path) -> Result<DragOutcome> {
    let (conn, screen_num) = x11rb::connect(None).map_err(x)?;
    let root = conn.setup().roots[screen_num].root;
    let atoms = Atoms::new(&conn).map_err(x)?.reply().map_err(x)?;
    let source = hidden_window(&conn, root)?;
    conn.set_selection_owner(source, atoms.XdndSelection, CURRENT_TIME).map_err(x)?;
    conn.flush().map_err(x)?;
    let uri_list = format!("{}\r\n", file_uri(file));

    let mut target: Option<(Window, u32)> = None;
    let mut accepted = false;
    let mut finished = false;
    let mut last_position = None;
    let started = Instant::now();
    let mut dropped_at: Option<Instant> = None;
    loop {
        while let Some(event) = conn.poll_for_event().map_err(x)? {
            match event {
                Event::ClientMessage(m) if m.type_ == atoms.XdndStatus => {
                    let data = m.data.as_data32();
                    if target.is_some_and(|(t, _)| t == data[0]) {
                        accepted = data[1] & 1 == 1;
                    }
                }
                Event::ClientMessage(m) if m.type_ == atoms.XdndFinished => finished = true,
                Event::SelectionRequest(request) if request.selection == atoms.XdndSelection => {
                    let property =
                        if request.property == NONE { request.target } else { request.property };
                    let served = if request.target == atoms.TEXT_URI_LIST {
                        conn.change_property8(
                            PropMode::REPLACE,
                            request.requestor,
                            property,
                            atoms.TEXT_URI_LIST,
                            uri_list.as_bytes(),
                        )
                        .map_err(x)?;
                        true
                    } else if request.target == atoms.TARGETS {
                        conn.change_property32(
                            PropMode::REPLACE,
                            request.requestor,
                            property,
                            AtomEnum::ATOM,
                            &[atoms.TARGETS, atoms.TEXT_URI_LIST],
                        )
                        .map_err(x)?;
                        true
                    } else {
                        false
                    };
                    let notify = SelectionNotifyEvent {
                        response_type: SELECTION_NOTIFY_EVENT,
                        sequence: 0,
                        time: request.time,
                        requestor: request.requestor,
                        selection: request.selection,
                        target: request.target,
                        property: if served { property } else { NONE },
                    };
                    conn.send_event(false, request.requestor, EventMask::NO_EVENT, notify)
                        .map_err(x)?;
                }
                _ => {}
            }
        }
        conn.flush().map_err(x)?;
        if let Some(at) = dropped_at {
            if finished {
                return Ok(DragOutcome::Dropped);
            }
            if at.elapsed() > FINISH_TIMEOUT {
                return Err("the drop target did not finish taking the file".into());
            }
            std::thread::sleep(POLL);
            continue;
        }
        let pointer = conn.query_pointer(root).map_err(x)?.reply().map_err(x)?;
        let (px, py) = (pointer.root_x, pointer.root_y);
        let released = u16::from(pointer.mask) & u16::from(KeyButMask::BUTTON1) == 0;
        let under = target_at(&conn, &atoms, root, px, py, source)?;
        if under.map(|t| t.0) != target.map(|t| t.0) {
            if let Some((old, _)) = target {
                send(&conn, old, old, atoms.XdndLeave, [source, 0, 0, 0, 0])?;
            }
            if let Some((new, version)) = under {
                send(
                    &conn,
                    new,
                    new,
                    atoms.XdndEnter,
                    [source, version << 24, atoms.TEXT_URI_LIST, 0, 0],
                )?;
            }
            target = under;
            accepted = false;
            last_position = None;
        }
        if let Some((t, _)) = target {
            if last_position != Some((px, py)) {
                let position = (u32::from(px as u16) << 16) | u32::from(py as u16);
                send(
                    &conn,
                    t,
                    t,
                    atoms.XdndPosition,
                    [source, 0, position, CURRENT_TIME, atoms.XdndActionCopy],
                )?;
                last_position = Some((px, py));
            }
        }
        conn.flush().map_err(x)?;
        if released {
            match target {
                Some((t, _)) if accepted => {
                    send(&conn, t, t, atoms.XdndDrop, [source, 0, CURRENT_TIME, 0, 0])?;
                    conn.flush().map_err(x)?;
                    dropped_at = Some(Instant::now());
                    continue;
                }
                Some((t, _)) => {
                    send(&conn, t, t, atoms.XdndLeave, [source, 0, 0, 0, 0])?;
                    conn.flush().map_err(x)?;
                    return Ok(DragOutcome::Cancelled);
                }
                None => return Ok(DragOutcome::Cancelled),
            }
        }
        if started.elapsed() > DRAG_TIMEOUT {
            return Ok(DragOutcome::Cancelled);
        }
        std::thread::sleep(POLL);
    }
}
