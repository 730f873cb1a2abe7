//! The melody saved in the project: versioned, bounded, and checked before it plays. Written
//! by the worker, read by the host's save (main thread), the worker and the editor; never by
//! the audio thread, which gets a [`crate::plugin::cross::handoff::PlayMelody`] made from it.

use serde::{Deserialize, Serialize};

use crate::encoding::{Melody, Meter, Note};
use crate::plugin::cross::handoff::MAX_NOTES;

/// Layout version of [`SavedMelody`] this build writes. 1: saved before the field existed;
/// 2: before `meter` (4/4).
pub const STATE_VERSION: u32 = 3;

/// A melody as stored in the project, with the key of the request that made it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct SavedMelody {
    /// [`STATE_VERSION`] of the Neume that saved it (1 if absent).
    #[serde(default = "state_version_1")]
    pub version: u32,
    /// The key of the request that made it (`Request::key`), for the editor's history. A
    /// restored melody plays as stored whatever its key; the worker makes a new one only
    /// when the request changes after that.
    pub key: u64,
    /// Loop length in 16th steps.
    pub len_steps: u32,
    /// `[pitch, start_step, len_steps]` per note.
    pub notes: Vec<[u32; 3]>,
    /// The latent point it was generated from.
    pub latent: Vec<f32>,
    /// Its time signature (`6/8`); absent in state saved before meters: 4/4.
    #[serde(default)]
    pub meter: Option<String>,
}

fn state_version_1() -> u32 {
    1
}

impl SavedMelody {
    /// Stores `melody`, made by the request with `key` from the latent point `latent`.
    pub fn new(key: u64, melody: &Melody, meter: Meter, latent: Vec<f32>) -> SavedMelody {
        let notes =
            melody.notes.iter().map(|n| [u32::from(n.pitch), n.start_step, n.len_steps]).collect();
        SavedMelody {
            version: STATE_VERSION,
            key,
            len_steps: melody.len_steps,
            notes,
            latent,
            meter: Some(meter.to_string()),
        }
    }

    /// The melody's meter: 4/4 when the state has none or one this build does not know
    /// ([`SavedMelody::check`] reports the latter).
    pub fn meter(&self) -> Meter {
        self.meter.as_deref().and_then(|m| Meter::parse(m).ok()).unwrap_or(Meter::FourFour)
    }

    /// Why a restored melody cannot be played as stored, if it cannot: Neume plays at most
    /// 16 bars, notes on MIDI pitches inside the loop. (State from a newer Neume that passes
    /// plays as stored.)
    pub fn check(&self) -> Result<(), String> {
        self.check_as("melody")
    }

    /// [`SavedMelody::check`], the errors naming what is stored (`melody`, `clip`).
    pub fn check_as(&self, what: &str) -> Result<(), String> {
        let newer = if self.version > STATE_VERSION {
            format!(" (saved by a newer Neume, state version {})", self.version)
        } else {
            String::new()
        };
        if self.len_steps == 0 || self.len_steps as usize > MAX_NOTES {
            return Err(format!(
                "the project's {what} is {} 16ths long, outside 1..={MAX_NOTES}{newer}",
                self.len_steps
            ));
        }
        if let Some(Err(e)) = self.meter.as_deref().map(Meter::parse) {
            return Err(format!("the project's {what} has a meter Neume cannot play: {e}{newer}"));
        }
        if self.notes.len() > self.len_steps as usize {
            return Err(format!(
                "the project's {what} has {} notes in {} 16ths{newer}",
                self.notes.len(),
                self.len_steps
            ));
        }
        if let Some([pitch, start, len]) = self.notes.iter().find(|&&[pitch, start, len]| {
            pitch > 127 || len == 0 || start >= self.len_steps || len > self.len_steps
        }) {
            return Err(format!("the project's {what} has a note it cannot play (pitch {pitch}, step {start}, length {len}){newer}"));
        }
        Ok(())
    }

    /// The stored melody, bounded as [`SavedMelody::check`] requires (longer loops cut to 16
    /// bars, notes outside dropped), so that nothing stored can make it unbounded.
    pub fn melody(&self) -> Melody {
        let len_steps = self.len_steps.min(MAX_NOTES as u32);
        let notes = self
            .notes
            .iter()
            .take(MAX_NOTES)
            .filter(|&&[pitch, start, _]| pitch <= 127 && start < len_steps)
            .map(|&[pitch, start_step, len_steps]| Note {
                pitch: pitch as u8,
                start_step,
                len_steps: len_steps.clamp(1, MAX_NOTES as u32),
            })
            .collect();
        Melody { notes, len_steps }
    }
}

/// Bars of a melody kept note for note while the others are sung anew in their context: the
/// editor's Regenerate (the bars not selected), its locks (Generate, Mutate and Vary then
/// change only the unlocked bars), and an edited melody (every bar kept).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Kept {
    /// The melody whose bars are kept (its first bar at step 0).
    pub melody: SavedMelody,
    /// Bit `b`: bar `b + 1` is kept.
    pub bars: u16,
}

impl Kept {
    /// Every bar kept: the melody as it is (an edit).
    pub const EVERY_BAR: u16 = u16::MAX;

    /// Whether bar `bar` (0-based) is kept.
    pub fn keeps(&self, bar: usize) -> bool {
        bar < 16 && self.bars & (1 << bar) != 0
    }

    /// The bars of the melody, at least one.
    pub fn bar_count(&self) -> usize {
        (self.melody.len_steps as usize).div_ceil(self.melody.meter().bar_steps()).clamp(1, 16)
    }

    /// Whether every bar of the melody is kept (nothing to sing).
    pub fn keeps_all(&self) -> bool {
        (0..self.bar_count()).all(|b| self.keeps(b))
    }
}
