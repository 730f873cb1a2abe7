//! Dragging the current melody out of the editor as a `.mid` file, into a DAW's track.
//!
//! On X11 Neume is an XDND drag source ([`x11`]): no crate does this without GTK, and the
//! plugin window belongs to baseview, so the drag runs on its own X connection and thread,
//! following the pointer (the button press that started it keeps the pointer grabbed by the
//! editor window, so nothing else sees the motion) and talking XDND to the window under it.
//! On Windows (OLE `DoDragDrop`) and macOS (`NSDraggingSession`) the `drag` crate starts the
//! drag from the editor's own window, on the GUI thread ([`start_native_drag`]).

use std::path::{Path, PathBuf};

/// How a drag ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DragOutcome {
    /// A window took the file.
    Dropped,
    /// Released over nothing that accepts files, or the target refused.
    Cancelled,
}

/// The user's own folder for dragged files: `dragged/` in Neume's data folder
/// (`~/.local/share/neume/dragged/` on Linux, `%APPDATA%\neume\dragged\` on Windows,
/// `~/Library/Application Support/neume/dragged/` on macOS; `NEUME_DATA_DIR` moves it).
/// Nothing there is ever removed by Neume: a DAW that references a dropped file instead of
/// copying it keeps its notes. Never a shared `/tmp` path another user could prepare.
fn drag_dir() -> Result<PathBuf, String> {
    let base = crate::taste::ratings::data_dir()
        .ok_or("no per-user data folder for dragged files (set NEUME_DATA_DIR)")?;
    Ok(base.join("dragged"))
}

/// Writes `bytes` as `name` in a folder of its own, created new (so nothing already there,
/// such as another user's link, is followed or overwritten), inside the user's drag folder.
/// The file keeps `name`, which DAWs show as the clip's name. Returns the file's path.
pub fn new_drag_file(name: &str, bytes: &[u8]) -> Result<PathBuf, String> {
    use std::io::Write;
    let root = drag_dir()?;
    create_private_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = root.join(format!("{}-{stamp}", std::process::id()));
    std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(name);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

fn create_private_dir_all(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// A drag in progress, on its own thread.
pub struct DragOut {
    thread: std::thread::JoinHandle<Result<DragOutcome, String>>,
}

impl DragOut {
    /// Starts dragging `file` (it must exist until the drag ends).
    pub fn start(file: PathBuf) -> Result<DragOut, String> {
        let thread = std::thread::Builder::new()
            .name("neume-drag".into())
            .spawn(move || drag_file(&file))
            .map_err(|e| format!("cannot start the drag: {e}"))?;
        Ok(DragOut { thread })
    }

    /// The outcome once the drag has ended.
    pub fn finished(self) -> Result<Result<DragOutcome, String>, DragOut> {
        if self.thread.is_finished() {
            Ok(self.thread.join().unwrap_or_else(|_| Err("the drag failed unexpectedly".into())))
        } else {
            Err(self)
        }
    }
}

/// Runs one drag of `file` to wherever the pointer is released; blocks until it ends.
#[cfg(target_os = "linux")]
pub fn drag_file(file: &Path) -> Result<DragOutcome, String> {
    super::x11::drag_source::drag_file(file)
}

#[cfg(not(target_os = "linux"))]
pub fn drag_file(_file: &Path) -> Result<DragOutcome, String> {
    Err("drag-out on this platform starts from the editor window (start_native_drag)".into())
}

/// The picture under the pointer while dragging (32×32 PNG).
#[cfg(any(target_os = "windows", target_os = "macos"))]
const DRAG_ICON_PNG: &[u8] = include_bytes!("drag-icon.png");

/// Starts the OS drag of `file` from the editor's window; the outcome arrives later through
/// `done` (Windows runs the drag modally inside this call).
#[cfg(any(target_os = "windows", target_os = "macos"))]
pub fn start_native_drag(
    window: &nice_plug_egui::baseview::WindowContext,
    file: PathBuf,
    done: std::sync::Arc<parking_lot::Mutex<Option<DragOutcome>>>,
) -> Result<(), String> {
    let item = drag::DragItem::Files(vec![file]);
    let image = drag::Image::Raw(DRAG_ICON_PNG.to_vec());
    let on_drop = move |result: drag::DragResult, _position: drag::CursorPosition| {
        *done.lock() = Some(match result {
            drag::DragResult::Dropped => DragOutcome::Dropped,
            drag::DragResult::Cancel => DragOutcome::Cancelled,
        });
    };
    drag::start_drag(window, item, image, on_drop, drag::Options::default())
        .map_err(|e| format!("drag-out: {e}"))
}

/// `file://` URI of an absolute path, percent-encoding what RFC 3986 requires.
pub fn file_uri(path: &Path) -> String {
    let text = path.to_string_lossy();
    let mut out = String::from("file://");
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The path of a `file://` URI (the inverse of [`file_uri`]).
pub fn uri_path(uri: &str) -> Option<PathBuf> {
    let rest = uri.trim().strip_prefix("file://")?;
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        Some(PathBuf::from(std::ffi::OsString::from_vec(out)))
    }
    #[cfg(not(unix))]
    {
        String::from_utf8(out).ok().map(PathBuf::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drag_files_are_new_files_in_the_users_own_folder() {
        let a = new_drag_file("Neume 7.mid", b"MThd first").unwrap();
        let b = new_drag_file("Neume 7.mid", b"MThd second").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.file_name(), b.file_name());
        assert_eq!(std::fs::read(&a).unwrap(), b"MThd first");
        assert_eq!(std::fs::read(&b).unwrap(), b"MThd second");
        let root = a.parent().and_then(Path::parent).unwrap();
        assert!(
            !root.starts_with(std::env::temp_dir()),
            "{} is under the shared temporary folder",
            root.display()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(root).unwrap().permissions().mode() & 0o077,
                0,
                "{} is open to others",
                root.display()
            );
        }
        for f in [a, b] {
            std::fs::remove_dir_all(f.parent().unwrap()).unwrap();
        }
    }

    #[test]
    fn uris_round_trip() {
        let p = Path::new("/tmp/Neume drag/Melody #1 (ä).mid");
        let uri = file_uri(p);
        assert_eq!(uri, "file:///tmp/Neume%20drag/Melody%20%231%20%28%C3%A4%29.mid");
        assert_eq!(uri_path(&uri).as_deref(), Some(p));
    }
}
