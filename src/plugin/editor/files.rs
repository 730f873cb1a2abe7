//! The melody as files: Save .mid, the drag-out file, and the editor's per-user settings (the
//! last folder used).

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use super::drag_out::{self, DragOut, DragOutcome};
use super::NeumeEditor;
use crate::encoding::Melody;
use crate::midi::{self, TimeSignature, WriteOptions};
use crate::ratings;
use crate::theory;

impl NeumeEditor {
    /// The melody as it sounds: octave, velocity, gate and swing applied, with the key
    /// signature of the key lock.
    pub(super) fn melody_for_file(&self) -> Option<(Melody, WriteOptions)> {
        let saved = self.params.melody.read().clone()?;
        let settings = self.params.play_settings();
        let melody = saved.melody().transposed(12 * i32::from(settings.octave));
        let key_root = self.params.key_root.value().clamp(0, 11) as u8;
        let options = WriteOptions {
            tempo_bpm: f64::from(self.shared.telemetry.tempo_bpm.load(Ordering::Relaxed)),
            time_signature: TimeSignature::COMMON,
            key: theory::key_signature(key_root, self.params.scale.value().scale()),
            name: format!("Neume seed {}", self.params.seed.value()),
            velocity: settings.velocity,
            channel: 0,
            gate: settings.gate,
            swing: settings.swing,
        };
        Some((melody, options))
    }

    pub(super) fn file_name(&self) -> String {
        format!("Neume {}.mid", self.params.seed.value())
    }

    pub(super) fn save_midi(&mut self, path: PathBuf) {
        let Some((melody, options)) = self.melody_for_file() else { return };
        self.message = Some(match midi::write_file(&path, &melody, &options) {
            Ok(()) => {
                if let Some(dir) = path.parent() {
                    self.last_dir = dir.to_path_buf();
                    write_settings(&self.last_dir);
                }
                (format!("Saved {}", path.display()), false)
            }
            Err(e) => (e.to_string(), true),
        });
    }

    /// Writes the melody to a new file for a drag (see [`drag_out::new_drag_file`]).
    pub(super) fn drag_file(&mut self) -> Option<PathBuf> {
        let (melody, options) = self.melody_for_file()?;
        match drag_out::new_drag_file(&self.file_name(), &midi::write_bytes(&melody, &options)) {
            Ok(path) => Some(path),
            Err(e) => {
                self.message = Some((e, true));
                None
            }
        }
    }

    /// Starts the OS drag of the melody as a `.mid` file.
    #[allow(unused_variables)]
    pub(super) fn start_drag(&mut self, frame: &nice_plug_egui::Frame) {
        let Some(path) = self.drag_file() else { return };
        #[cfg(target_os = "linux")]
        match DragOut::start(path) {
            Ok(drag) => self.drag = Some(drag),
            Err(e) => self.message = Some((e, true)),
        }
        #[cfg(any(target_os = "windows", target_os = "macos"))]
        if let Err(e) = drag_out::start_native_drag(frame.baseview_window(), path, self.native_drag.clone()) {
            self.message = Some((e, true));
        }
    }

    pub(super) fn poll_drag(&mut self) {
        if let Some(outcome) = self.native_drag.lock().take() {
            if outcome == DragOutcome::Dropped {
                self.message = Some(("Dropped the melody as a .mid file".into(), false));
            }
        }
        if let Some(drag) = self.drag.take() {
            match drag.finished() {
                Ok(Ok(DragOutcome::Dropped)) => self.message = Some(("Dropped the melody as a .mid file".into(), false)),
                Ok(Ok(DragOutcome::Cancelled)) => {}
                Ok(Err(e)) => self.message = Some((e, true)),
                Err(still) => self.drag = Some(still),
            }
        }
    }
}

/// The per-user editor settings file (the last folder used).
fn settings_path() -> Option<PathBuf> {
    ratings::data_dir().map(|d| d.join("editor.json"))
}

pub(super) fn read_settings() -> Option<PathBuf> {
    let text = std::fs::read_to_string(settings_path()?).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value.get("last_dir")?.as_str().map(PathBuf::from).filter(|p| p.is_dir())
}

fn write_settings(last_dir: &std::path::Path) {
    if let Some(path) = settings_path() {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(path, serde_json::json!({ "last_dir": last_dir }).to_string());
    }
}
