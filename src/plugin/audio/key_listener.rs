//! What Neume hears at its MIDI input, on the audio thread: each played note's sounding time
//! goes into a [`KeyFinder`], so that the Key "from input" follows the musician. Fixed-size
//! `Copy` state: nothing allocates, locks or waits.

use crate::music::key_finding::{Key, KeyFinder};

/// The notes held at the input and the key they add up to.
#[derive(Clone, Copy, Debug)]
pub struct KeyListener {
    /// Samples heard so far (the listener's clock; it runs with or without the transport).
    clock: u64,
    /// Since when each held key has not been heard yet, by MIDI key (any channel);
    /// `u64::MAX`: not held.
    down_at: [u64; 128],
    /// Whether something sounded in the current block.
    sounding: bool,
    finder: KeyFinder,
}

impl Default for KeyListener {
    fn default() -> Self {
        KeyListener {
            clock: 0,
            down_at: [u64::MAX; 128],
            sounding: false,
            finder: KeyFinder::new(),
        }
    }
}

impl KeyListener {
    /// A key went down `offset` samples into the current block.
    pub fn note_on(&mut self, key: u8, offset: u32) {
        if let Some(at) = self.down_at.get_mut(usize::from(key)) {
            if *at == u64::MAX {
                *at = self.clock + u64::from(offset);
                self.sounding = true;
            }
        }
    }

    /// A key came up `offset` samples into the current block: the rest of its sounding time
    /// counts.
    pub fn note_off(&mut self, key: u8, offset: u32, sample_rate: f64) {
        let Some(at) = self.down_at.get_mut(usize::from(key)) else { return };
        if *at != u64::MAX {
            let samples = (self.clock + u64::from(offset)).saturating_sub(*at);
            self.finder.hear(key, (samples as f64 / sample_rate) as f32);
            *at = u64::MAX;
            self.sounding = true;
        }
    }

    /// Ends a block of `frames`: held keys count for their time in it (a held pad sets the
    /// key while it sounds), the block counts as playing time when something sounded, and
    /// what was heard fades by the block's time. Returns the key.
    pub fn end_block(&mut self, frames: u32, sample_rate: f64) -> Option<Key> {
        let end = self.clock + u64::from(frames);
        for (key, at) in self.down_at.iter_mut().enumerate() {
            if *at != u64::MAX {
                let samples = end.saturating_sub(*at);
                self.finder.hear(key as u8, (samples as f64 / sample_rate) as f32);
                *at = end;
                self.sounding = true;
            }
        }
        self.clock = end;
        let seconds = (f64::from(frames) / sample_rate) as f32;
        if std::mem::take(&mut self.sounding) {
            self.finder.sounded(seconds);
        }
        self.finder.fade(seconds);
        self.finder.key()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A held pad sets the key while it sounds (before: notes counted only when released,
    /// and a pad held through a song set nothing): an A-minor triad held gives A minor after
    /// about 2 s (the first answer needs 2 note-seconds: 3 notes × 0.67 s), before any
    /// note-off.
    #[test]
    fn held_notes_count_while_they_sound() {
        let mut l = KeyListener::default();
        for key in [57, 60, 64] {
            l.note_on(key, 10);
        }
        let a_minor = Some(Key { tonic: 9, minor: true });
        let mut first = None;
        for block in 1..=300 {
            if l.end_block(480, 48_000.0) == a_minor && first.is_none() {
                first = Some(block as f64 * 0.01);
            }
        }
        let at = first.expect("the held triad gives its key while held");
        assert!((0.6..=1.0).contains(&at), "first answer after {at} s");
        for key in [57, 60, 64] {
            l.note_off(key, 10, 48_000.0);
        }
        // An off without an on counts nothing.
        l.note_off(62, 0, 48_000.0);
        assert_eq!(l.end_block(480, 48_000.0), a_minor);
    }
}
