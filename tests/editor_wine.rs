//! The editor of the Windows build, under Wine on an Xvfb display: runs the Windows test
//! `tests/editor_windows.rs` (built for `x86_64-pc-windows-gnu`, named by
//! `NEUME_WINDOWS_EDITOR_TEST`) with `wine`, waits until it has opened the editor in its Win32
//! window, and takes the screenshot from the X server (Wine draws the editor's OpenGL into an X
//! window; GDI cannot read it back): many colours, written as a PNG
//! (`NEUME_SCREENSHOT`, else `neume-editor-windows.png` in the temporary folder).
//!
//! `scripts/windows.sh test` runs it (it is ignored in the plain Linux run, which has no
//! Windows build). Wine's own settings (`WINEPREFIX`, `WINEPATH`) come from the environment.
#![cfg(target_os = "linux")]

#[path = "support/xvfb.rs"]
mod xvfb;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use xvfb::{start_xvfb, write_png};

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt as _, ImageFormat};
use x11rb::rust_connection::RustConnection;

#[test]
#[ignore = "needs the Windows build of tests/editor_windows.rs: scripts/windows.sh test runs it"]
fn the_windows_editor_renders_under_wine() {
    let exe = PathBuf::from(
        std::env::var_os("NEUME_WINDOWS_EDITOR_TEST")
            .expect("NEUME_WINDOWS_EDITOR_TEST: the Windows editor test's .exe"),
    );
    let xvfb = start_xvfb().expect("Xvfb is needed (apt-get install xvfb)");
    let hold = std::env::temp_dir().join(format!("neume-editor-wine-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&hold);
    std::fs::create_dir_all(&hold).unwrap();
    let windows_path = |p: &std::path::Path| -> String {
        let out = Command::new("winepath").arg("-w").arg(p).output().expect("winepath");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    // A Wine session started without a display keeps a desktop with no graphics driver: end
    // it, so this one starts on the Xvfb display.
    let _ = Command::new("wineserver").arg("-k").status();
    let _ = Command::new("wineserver").arg("-w").status();
    let mut wine = Command::new("wine")
        .arg(&exe)
        .args(["--exact", "the_editor_opens_in_a_win32_window", "--nocapture"])
        .env("DISPLAY", &xvfb.display)
        .env("NEUME_EDITOR_HOLD", windows_path(&hold))
        .spawn()
        .expect("wine runs");
    let started = Instant::now();
    let (w, h) = loop {
        if let Ok(text) = std::fs::read_to_string(hold.join("ready")) {
            let mut it = text.split_whitespace().map(|v| v.parse::<u16>().unwrap());
            break (it.next().unwrap(), it.next().unwrap());
        }
        if let Ok(Some(status)) = wine.try_wait() {
            panic!("the Windows editor test ended before the editor opened: {status}");
        }
        assert!(started.elapsed() < Duration::from_secs(180), "the editor did not open");
        std::thread::sleep(Duration::from_millis(100));
    };
    let (conn, screen) = RustConnection::connect(Some(&xvfb.display)).expect("connect to Xvfb");
    let root = conn.setup().roots[screen].root;
    // Wine's X windows of the editor's size (the test's Win32 window, and the editor's own
    // inside it, whose OpenGL pixels its parent's image leaves undefined): each viewable one
    // is read, and the one with the most colours is the picture.
    let windows = || {
        let mut found = Vec::new();
        let mut queue = vec![root];
        while let Some(window) = queue.pop() {
            let Some(tree) = conn.query_tree(window).ok().and_then(|c| c.reply().ok()) else {
                continue;
            };
            for c in tree.children {
                let viewable =
                    conn.get_window_attributes(c).ok().and_then(|a| a.reply().ok()).is_some_and(
                        |a| a.map_state == x11rb::protocol::xproto::MapState::VIEWABLE,
                    );
                let size = conn.get_geometry(c).ok().and_then(|g| g.reply().ok());
                if viewable && size.is_some_and(|g| (g.width, g.height) == (w, h)) {
                    found.push(c);
                }
                queue.push(c);
            }
        }
        found
    };
    let colours = |rgb: &[u8]| rgb.chunks_exact(3).collect::<std::collections::HashSet<_>>().len();
    let capture = || -> Vec<u8> {
        let images = windows().into_iter().filter_map(|window| {
            let image = conn.get_image(ImageFormat::Z_PIXMAP, window, 0, 0, w, h, !0).ok()?;
            let image = image.reply().ok()?;
            Some(image.data.chunks_exact(4).flat_map(|p| [p[2], p[1], p[0]]).collect::<Vec<u8>>())
        });
        images.max_by_key(|rgb| colours(rgb)).unwrap_or_default()
    };
    let started = Instant::now();
    let mut rgb = capture();
    while colours(&rgb) <= 200 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(250));
        rgb = capture();
    }
    // Drawn twice more, so the picture is the settled editor.
    std::thread::sleep(Duration::from_millis(1000));
    rgb = capture();
    let shot = std::env::var_os("NEUME_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("neume-editor-windows.png"));
    if rgb.len() == usize::from(w) * usize::from(h) * 3 {
        write_png(&shot, &rgb, u32::from(w), u32::from(h));
    }
    eprintln!("screenshot: {}", shot.display());
    std::fs::write(hold.join("done"), "").unwrap();
    let status = wine.wait().expect("wine ends");
    let n = colours(&rgb);
    assert!(n > 200, "the editor did not render ({n} colours; see {})", shot.display());
    assert!(status.success(), "the Windows editor test failed: {status}");
    let _ = Command::new("wineserver").arg("-k").status();
    let _ = std::fs::remove_dir_all(&hold);
    drop(conn);
    drop(xvfb);
}
