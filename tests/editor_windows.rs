//! The real editor on Windows: the plugin DLL in the project's CLAP host, embedded in a Win32
//! window. Under Wine here, `tests/editor_wine.rs` (Linux) runs this test on an Xvfb display
//! of its own and takes the screenshot from the X server: Wine draws the editor's OpenGL into
//! an X window, which GDI cannot read back. With `NEUME_EDITOR_HOLD` (a folder) this test
//! writes `ready` (the window's size) there once the editor is open and keeps the window
//! alive, its messages pumped and the plugin processing, until `done` appears there.
#![cfg(windows)]

#[path = "support/host.rs"]
mod host;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use host::{Host, Transport};
use winapi::shared::windef::HWND;
use winapi::um::{libloaderapi, winuser};

/// A top-level window at the screen's top-left corner to embed the editor in.
fn parent_window(w: i32, h: i32) -> HWND {
    let class: Vec<u16> = "NeumeTestHost\0".encode_utf16().collect();
    let title: Vec<u16> = "Neume test host\0".encode_utf16().collect();
    // SAFETY: plain Win32 calls with valid, NUL-terminated strings; the class lives as long as
    // the process.
    unsafe {
        let instance = libloaderapi::GetModuleHandleW(std::ptr::null());
        let mut wc: winuser::WNDCLASSW = std::mem::zeroed();
        wc.lpfnWndProc = Some(winuser::DefWindowProcW);
        wc.hInstance = instance;
        wc.lpszClassName = class.as_ptr();
        wc.hCursor = winuser::LoadCursorW(std::ptr::null_mut(), winuser::IDC_ARROW);
        winuser::RegisterClassW(&wc);
        let hwnd = winuser::CreateWindowExW(
            0,
            class.as_ptr(),
            title.as_ptr(),
            winuser::WS_POPUP | winuser::WS_VISIBLE | winuser::WS_CLIPCHILDREN,
            0,
            0,
            w,
            h,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            instance,
            std::ptr::null_mut(),
        );
        assert!(
            !hwnd.is_null(),
            "CreateWindowExW failed: error {}",
            winapi::um::errhandlingapi::GetLastError()
        );
        hwnd
    }
}

/// Handles this thread's window messages waiting now.
fn pump() {
    // SAFETY: a standard message loop on this thread's queue.
    unsafe {
        let mut msg = std::mem::zeroed();
        while winuser::PeekMessageW(&mut msg, std::ptr::null_mut(), 0, 0, winuser::PM_REMOVE) != 0 {
            winuser::TranslateMessage(&msg);
            winuser::DispatchMessageW(&msg);
        }
    }
}

#[test]
fn the_editor_opens_in_a_win32_window() {
    let hold = std::env::var_os("NEUME_EDITOR_HOLD").map(PathBuf::from);
    let data_dir = std::env::temp_dir().join(format!("neume-editor-win-{}", std::process::id()));
    // SAFETY (edition 2021: safe call): set before any thread of this test binary reads it;
    // this binary has this one test.
    std::env::set_var("NEUME_DATA_DIR", &data_dir);
    let parent = parent_window(900, 800);
    let mut host = Host::load();
    host.activate(48_000.0, 512);
    for b in 0..40 {
        host.process(512, &Transport::playing_at(f64::from(b) * 512.0 / 24_000.0, 120.0), &[]);
    }
    let (w, h) = host.open_editor_win32(parent.cast());
    assert!(w >= 640 && h >= 480, "editor size {w}×{h}");
    // SAFETY: `parent` is this test's window.
    unsafe { winuser::SetWindowPos(parent, std::ptr::null_mut(), 0, 0, w as i32, h as i32, 0) };
    let run = |host: &mut Host| {
        pump();
        host.main_thread_tick();
        host.process(512, &Transport::stopped(), &[]);
        std::thread::sleep(Duration::from_millis(20));
    };
    match hold {
        Some(dir) => {
            std::fs::write(dir.join("ready"), format!("{w} {h}")).unwrap();
            let started = Instant::now();
            while !dir.join("done").exists() {
                assert!(started.elapsed() < Duration::from_secs(120), "no `done` came");
                run(&mut host);
            }
        }
        None => {
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(2) {
                run(&mut host);
            }
        }
    }
    host.close_editor();
    drop(host);
    // SAFETY: `parent` is this test's window, no longer used.
    unsafe { winuser::DestroyWindow(parent) };
    let _ = std::fs::remove_dir_all(&data_dir);
}
