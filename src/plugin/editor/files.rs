//! The melody as files: Save .mid, the drag-out file, and the editor's per-user settings (the
//! last folder used). GUI thread (an X11 drag runs on its own thread). The layout
//! (`editor.rs`) owns a [`Files`] and shows the messages its methods return.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::actions::Message;
use super::drag_out::{self, DragOut, DragOutcome};
use crate::encoding::Melody;
use crate::music::chords::Progression;
use crate::music::midi::{self, TimeSignature, WriteOptions};
use crate::music::theory;
use crate::plugin::cross::shared::AudioTelemetry;
use crate::plugin::worker::params::NeumeParams;
use crate::taste::ratings;

/// Saving and dragging the melody.
pub(super) struct Files {
    params: Arc<NeumeParams>,
    /// The host's tempo, for the files.
    telemetry: Arc<AudioTelemetry>,
    /// Last folder used to save or load.
    pub(super) last_dir: PathBuf,
    /// An X11 drag in progress (its own thread).
    drag: Option<DragOut>,
    /// How the last Windows/macOS drag ended, set by the drag's callback.
    native_drag: Arc<parking_lot::Mutex<Option<DragOutcome>>>,
}

impl Files {
    pub(super) fn new(params: Arc<NeumeParams>, telemetry: Arc<AudioTelemetry>) -> Files {
        let last_dir =
            read_settings().unwrap_or_else(|| dirs::home_dir().unwrap_or_else(std::env::temp_dir));
        Files { params, telemetry, last_dir, drag: None, native_drag: Arc::default() }
    }

    /// Whether a drag is in progress.
    pub(super) fn dragging(&self) -> bool {
        self.drag.is_some()
    }

    /// The melody as it sounds: octave, velocity, gate and swing applied, with the key
    /// signature of the key lock.
    pub(super) fn melody_for_file(&self) -> Option<(Melody, WriteOptions)> {
        let saved = self.params.melody.read().clone()?;
        let settings = self.params.play_settings();
        let melody = saved.melody().transposed(12 * i32::from(settings.octave));
        let key_root = self.params.key_root.value().clamp(0, 11) as u8;
        let options = WriteOptions {
            tempo_bpm: f64::from(self.telemetry.tempo_bpm.load(Ordering::Relaxed)),
            time_signature: {
                let (numerator, denominator) = saved.meter().signature();
                TimeSignature { numerator, denominator }
            },
            key: theory::key_signature(key_root, self.params.scale.value()),
            name: format!("Neume seed {}", self.params.seed.value()),
            velocity: settings.velocity,
            channel: 0,
            gate: settings.gate,
            swing: settings.swing,
            // The typed chords go into the file as its second track.
            chords: self
                .params
                .chords
                .read()
                .as_deref()
                .and_then(|text| Progression::parse(text, saved.meter()).ok()),
        };
        Some((melody, options))
    }

    pub(super) fn file_name(&self) -> String {
        format!("Neume {}.mid", self.params.seed.value())
    }

    pub(super) fn save_midi(&mut self, path: PathBuf) -> Option<Message> {
        let (melody, options) = self.melody_for_file()?;
        Some(match midi::write_file(&path, &melody, &options) {
            Ok(()) => {
                if let Some(dir) = path.parent() {
                    self.last_dir = dir.to_path_buf();
                    write_settings(&self.last_dir);
                }
                (format!("Saved {}", path.display()), false)
            }
            Err(e) => (e.to_string(), true),
        })
    }

    /// Writes the melody to a new file for a drag (see [`drag_out::new_drag_file`]).
    pub(super) fn drag_file(&self) -> Result<Option<PathBuf>, String> {
        let Some((melody, options)) = self.melody_for_file() else { return Ok(None) };
        drag_out::new_drag_file(&self.file_name(), &midi::write_bytes(&melody, &options)).map(Some)
    }

    /// Starts the OS drag of the melody as a `.mid` file.
    #[allow(unused_variables)]
    pub(super) fn start_drag(&mut self, frame: &nice_plug_egui::Frame) -> Option<Message> {
        let path = match self.drag_file() {
            Ok(Some(path)) => path,
            Ok(None) => return None,
            Err(e) => return Some((e, true)),
        };
        #[cfg(target_os = "linux")]
        match DragOut::start(path) {
            Ok(drag) => self.drag = Some(drag),
            Err(e) => return Some((e, true)),
        }
        #[cfg(any(target_os = "windows", target_os = "macos"))]
        if let Err(e) =
            drag_out::start_native_drag(frame.baseview_window(), path, self.native_drag.clone())
        {
            return Some((e, true));
        }
        None
    }

    /// How a drag ended, once it has.
    pub(super) fn poll_drag(&mut self) -> Option<Message> {
        let dropped = || ("Dropped the melody as a .mid file".to_string(), false);
        if let Some(outcome) = self.native_drag.lock().take() {
            if outcome == DragOutcome::Dropped {
                return Some(dropped());
            }
        }
        match self.drag.take()?.finished() {
            Ok(Ok(DragOutcome::Dropped)) => Some(dropped()),
            Ok(Ok(DragOutcome::Cancelled)) => None,
            Ok(Err(e)) => Some((e, true)),
            Err(still) => {
                self.drag = Some(still);
                None
            }
        }
    }
}

/// The per-user editor settings file (the last folder used).
fn settings_path() -> Option<PathBuf> {
    ratings::data_dir().map(|d| d.join("editor.json"))
}

fn read_settings() -> Option<PathBuf> {
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
