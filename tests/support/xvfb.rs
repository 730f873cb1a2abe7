//! An Xvfb server of a test's own (the editor tests under Xvfb, on Linux and under Wine), and
//! the PNG writer of their screenshots.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use x11rb::rust_connection::RustConnection;

/// An Xvfb server for this test; killed on drop.
pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Killed, Xvfb leaves its lock and socket behind; runs after it would find every
        // display taken.
        let n = self.display.trim_start_matches(':');
        let _ = std::fs::remove_file(format!("/tmp/.X{n}-lock"));
        let _ = std::fs::remove_file(format!("/tmp/.X11-unix/X{n}"));
    }
}

/// Starts Xvfb on a free display (1600×1000); `None` when it is missing or does not start.
pub fn start_xvfb() -> Option<Xvfb> {
    for n in 90..120 {
        if std::path::Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            || std::path::Path::new(&format!("/tmp/.X{n}-lock")).exists()
        {
            continue;
        }
        let display = format!(":{n}");
        let child = match Command::new("Xvfb")
            .args([&display, "-screen", "0", "1600x1000x24", "-nolisten", "tcp"])
            .spawn()
        {
            Ok(c) => c,
            Err(_) => return None,
        };
        let xvfb = Xvfb { child, display };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if RustConnection::connect(Some(&xvfb.display)).is_ok() {
                return Some(xvfb);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        return None;
    }
    None
}

/// Writes `rgb` (`w`×`h`, 8 bits a channel) as a PNG file.
pub fn write_png(path: &std::path::Path, rgb: &[u8], w: u32, h: u32) {
    let file = std::fs::File::create(path).unwrap();
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header().unwrap().write_image_data(rgb).unwrap();
}
