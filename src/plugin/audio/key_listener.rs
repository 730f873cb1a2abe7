//! What Neume hears at its MIDI input, on the audio thread: each played note's sounding time
//! goes into a [`KeyFinder`], so that the Key "from input" follows the musician. Fixed-size
//! `Copy` state: nothing allocates, locks or waits.

use crate::music::key_finding::{Key, KeyFinder};

/// The notes held at the input and the key they add up to.
#[derive(Clone, Copy, Debug)]
pub struct KeyListener {
    /// Samples heard so far (the listener's clock; it runs with or without the transport).
    clock: u64,
    /// When each key went down, by MIDI key (any channel); `u64::MAX`: not held.
    down_at: [u64; 128],
    finder: KeyFinder,
}

impl Default for KeyListener {
    fn default() -> Self {
        KeyListener { clock: 0, down_at: [u64::MAX; 128], finder: KeyFinder::new() }
    }
}

impl KeyListener {
    /// A key went down `offset` samples into the current block.
    pub fn note_on(&mut self, key: u8, offset: u32) {
        if let Some(at) = self.down_at.get_mut(usize::from(key)) {
            if *at == u64::MAX {
                *at = self.clock + u64::from(offset);
            }
        }
    }

    /// A key came up `offset` samples into the current block: it counts for as long as it
    /// sounded.
    pub fn note_off(&mut self, key: u8, offset: u32, sample_rate: f64) {
        let Some(at) = self.down_at.get_mut(usize::from(key)) else { return };
        if *at != u64::MAX {
            let samples = (self.clock + u64::from(offset)).saturating_sub(*at);
            self.finder.hear(key, (samples as f64 / sample_rate) as f32);
            *at = u64::MAX;
        }
    }

    /// Ends a block of `frames`: what was heard fades by the block's time. Returns the key.
    pub fn end_block(&mut self, frames: u32, sample_rate: f64) -> Option<Key> {
        self.clock += u64::from(frames);
        self.finder.fade((f64::from(frames) / sample_rate) as f32);
        self.finder.key()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_count_for_as_long_as_they_sound() {
        let mut l = KeyListener::default();
        // A minor triad held for 3 s, then its root again for a second.
        for key in [57, 60, 64] {
            l.note_on(key, 10);
        }
        for _ in 0..300 {
            assert_eq!(l.end_block(480, 48_000.0), None, "nothing has ended yet");
        }
        for key in [57, 60, 64] {
            l.note_off(key, 10, 48_000.0);
        }
        // An off without an on counts nothing.
        l.note_off(62, 0, 48_000.0);
        assert_eq!(l.end_block(480, 48_000.0), Some(Key { tonic: 9, minor: true }));
    }
}
