//! What the audio thread may read of the parameters, as a type: [`AudioParams`] holds the
//! instance's parameters but shows only their atomics (automatable values, read once per
//! block), never the persisted fields beside them, which sit behind locks. So `process()`
//! reaching for a lock does not compile.

use std::sync::Arc;

use crate::plugin::audio::settings::PlaySettings;
use crate::plugin::worker::params::{CaptureWhat, KeyFrom, NeumeParams};

/// The audio thread's view of the parameters: atomics only.
pub struct AudioParams(Arc<NeumeParams>);

impl AudioParams {
    /// The view of `params` (main thread, at construction).
    pub fn new(params: Arc<NeumeParams>) -> AudioParams {
        AudioParams(params)
    }

    /// The playback settings of this block.
    pub fn play_settings(&self) -> PlaySettings {
        self.0.play_settings()
    }

    /// Whether Capture is on, for how many bars, and whether it listens take after take
    /// (Follow chords).
    pub fn capture(&self) -> (bool, u8, bool) {
        (
            self.0.capture.value(),
            self.0.capture_bars.value().bars(),
            self.0.capture_what.value() == CaptureWhat::Follow,
        )
    }

    /// Whether MIDI thru is on.
    pub fn thru(&self) -> bool {
        self.0.thru.value()
    }

    /// Whether the Preview voice is on.
    pub fn preview(&self) -> bool {
        self.0.preview.value()
    }

    /// Whether new melodies follow the key heard at the input.
    pub fn key_from_input(&self) -> bool {
        self.0.key_from.value() == KeyFrom::Input
    }
}
