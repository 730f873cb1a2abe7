//! The worker → audio thread hand-off of melodies: latest value wins, in one slot. The worker
//! publishes each finished melody; the audio thread takes the newest one published since it
//! last looked, and a melody never taken is simply overwritten. A triple buffer of fixed-size
//! `Copy` [`PlayMelody`] values: publishing and taking never lock, wait or allocate, and a
//! host that stops calling `process` for a while finds only the newest melody on its return.
//! The editor's auditions reach the audio thread through a second one (see `audition`), and a
//! clip captured on the audio thread reaches the worker through a third, the other way round
//! (see `capture`): the hand-off holds any fixed-size `Copy` value ([`channel_of`]).

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use crate::encoding::{Melody, Meter, Note, MAX_BAR_STEPS};
use crate::music::played;

/// Longest melody the audio thread holds: 16 of the longest bars (9/8) of 16ths, one note per
/// step at most.
pub const MAX_NOTES: usize = 16 * MAX_BAR_STEPS;

/// One note of a [`PlayMelody`], in the model's output key (before the octave setting).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlayNote {
    /// MIDI pitch.
    pub pitch: u8,
    /// Onset in 16th steps from the melody start.
    pub start_step: u16,
    /// Length in 16th steps, at least 1.
    pub len_steps: u16,
}

/// A melody as the audio thread holds it: fixed-size `Copy` data, so handing one over never
/// allocates or frees. Built on the worker, read on the audio thread.
#[derive(Clone, Copy, Debug)]
pub struct PlayMelody {
    /// Identifies the generation that made it (the worker's request key).
    pub key: u64,
    /// Loop length in steps (bars × the bar's steps), at most [`MAX_NOTES`].
    pub len_steps: u16,
    /// Steps per bar of the melody's meter (16 in 4/4, 12 in 6/8).
    pub bar_steps: u16,
    /// How many entries of `notes` are used.
    pub count: u16,
    /// Notes in onset order, one per onset, not overlapping; `notes[..count]` are valid.
    pub notes: [PlayNote; MAX_NOTES],
}

impl PlayMelody {
    /// A melody with no notes.
    pub const EMPTY: PlayMelody = PlayMelody {
        key: 0,
        len_steps: 0,
        bar_steps: 16,
        count: 0,
        notes: [PlayNote { pitch: 0, start_step: 0, len_steps: 0 }; MAX_NOTES],
    };

    /// Copies a melody in (worker thread: it allocates): notes beyond [`MAX_NOTES`] steps are
    /// dropped, of two notes on one onset the first is kept whole (never cut to a step by its
    /// twin), and a note reaching past the next onset is cut there.
    pub fn from_melody(melody: &Melody, meter: Meter, key: u64) -> PlayMelody {
        let mut out = PlayMelody {
            key,
            len_steps: melody.len_steps.min(MAX_NOTES as u32) as u16,
            bar_steps: meter.bar_steps() as u16,
            ..PlayMelody::EMPTY
        };
        let mut sorted: Vec<Note> = melody
            .notes
            .iter()
            .copied()
            .filter(|n| n.start_step < u32::from(out.len_steps))
            .collect();
        // Stable: of notes on one onset, the first listed stays first.
        sorted.sort_by_key(|n| n.start_step);
        sorted.dedup_by_key(|n| n.start_step);
        for (i, note) in sorted.iter().enumerate().take(MAX_NOTES) {
            let end = sorted.get(i + 1).map_or(u32::from(out.len_steps), |next| next.start_step);
            let len = note.len_steps.min(end - note.start_step).max(1);
            out.notes[i] = PlayNote {
                pitch: note.pitch,
                start_step: note.start_step as u16,
                len_steps: len as u16,
            };
            out.count += 1;
        }
        out
    }

    /// The valid notes.
    pub fn notes(&self) -> &[PlayNote] {
        &self.notes[..usize::from(self.count)]
    }

    /// Note `i` as it sounds (see [`played::span_steps`]): on and off in steps from the
    /// melody start. Allocation-free (audio thread).
    pub fn span_steps(&self, i: usize, swing: f32, gate: f32) -> (f64, f64) {
        let notes = self.notes();
        let note = notes[i];
        let next = notes.get(i + 1).map(|n| u32::from(n.start_step));
        played::span_steps(
            u32::from(note.start_step),
            u32::from(note.len_steps),
            next,
            u32::from(self.len_steps),
            swing,
            gate,
        )
    }

    /// Back to an encoding melody (for files and state).
    pub fn to_melody(&self) -> Melody {
        Melody {
            notes: self
                .notes()
                .iter()
                .map(|n| Note {
                    pitch: n.pitch,
                    start_step: u32::from(n.start_step),
                    len_steps: u32::from(n.len_steps),
                })
                .collect(),
            len_steps: u32::from(self.len_steps),
        }
    }
}

/// Set in [`Slots::back`] when the back buffer holds a value the receiver has not taken.
const FRESH: u8 = 0b100;

/// Three buffers: one the sender writes, one the receiver reads, and the back buffer
/// between them, whose index (and [`FRESH`]) lives in `back`. Each buffer is owned by exactly
/// one side at a time; a side gives its buffer up only by swapping indices in `back`.
struct Slots<T> {
    buffers: [UnsafeCell<T>; 3],
    back: AtomicU8,
}

// Safety: a buffer is only touched by the side whose index names it (see `Slots`); the
// `AcqRel` swap on `back` orders the writer's writes before the reader's reads. The values
// cross threads, so they must be `Send`.
unsafe impl<T: Send> Sync for Slots<T> {}

/// The sending end (the worker's, for melodies).
pub struct Sender<T> {
    slots: Arc<Slots<T>>,
    /// The buffer this side owns.
    write: u8,
}

/// The receiving end (the audio thread's, for melodies).
pub struct Receiver<T> {
    slots: Arc<Slots<T>>,
    /// The buffer this side owns.
    read: u8,
}

/// The worker's end of the melody hand-off.
pub type MelodySender = Sender<PlayMelody>;

/// The audio thread's end of the melody hand-off.
pub type MelodyReceiver = Receiver<PlayMelody>;

/// A new melody hand-off.
pub fn channel() -> (MelodySender, MelodyReceiver) {
    channel_of(PlayMelody::EMPTY)
}

/// A new hand-off of fixed-size `Copy` values, its buffers filled with `empty`.
pub fn channel_of<T: Copy>(empty: T) -> (Sender<T>, Receiver<T>) {
    let slots = Arc::new(Slots {
        buffers: [UnsafeCell::new(empty), UnsafeCell::new(empty), UnsafeCell::new(empty)],
        back: AtomicU8::new(2),
    });
    (Sender { slots: slots.clone(), write: 0 }, Receiver { slots, read: 1 })
}

impl<T: Copy> Sender<T> {
    /// Publishes `value`, replacing one published before and not yet taken. Never waits or
    /// allocates.
    pub fn send(&mut self, value: T) {
        // Safety: `write` is this side's buffer (see `Slots`).
        unsafe { *self.slots.buffers[usize::from(self.write)].get() = value };
        let previous = self.slots.back.swap(self.write | FRESH, Ordering::AcqRel);
        self.write = previous & !FRESH;
    }
}

impl<T: Copy> Receiver<T> {
    /// The newest value published since the last call, if any. Wait-free and
    /// allocation-free (audio thread).
    pub fn latest(&mut self) -> Option<T> {
        if self.slots.back.load(Ordering::Relaxed) & FRESH == 0 {
            return None;
        }
        let previous = self.slots.back.swap(self.read, Ordering::AcqRel);
        self.read = previous & !FRESH;
        // Safety: `read` is this side's buffer now (see `Slots`).
        Some(unsafe { *self.slots.buffers[usize::from(self.read)].get() })
    }

    /// Whether the sending end is gone (its thread ended). An atomic load.
    pub fn is_abandoned(&self) -> bool {
        Arc::strong_count(&self.slots) == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two threads, as worker and audio thread: the sender publishes 200,000 payloads of 64
    /// words, each word derived from the payload's number and the last a checksum of the
    /// rest; the receiver takes what is newest as fast as it can. Every payload taken is whole
    /// (a buffer overwritten while the receiver held it would mix two payloads and break the
    /// checksum) and newer than the one before (latest value wins, nothing older comes back),
    /// and the last one sent arrives.
    #[test]
    fn two_threads_never_tear_a_payload_or_go_back() {
        const WORDS: usize = 64;
        const SENT: u64 = 200_000;
        fn payload(n: u64) -> [u64; WORDS] {
            let mut p = [n; WORDS];
            for (i, w) in p.iter_mut().enumerate().take(WORDS - 1).skip(1) {
                *w = n.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(i as u32) ^ n;
            }
            p[WORDS - 1] = p[..WORDS - 1].iter().fold(0u64, |a, &w| a.rotate_left(5) ^ w);
            p
        }
        let (mut tx, mut rx) = channel_of([0u64; WORDS]);
        let sender = std::thread::spawn(move || {
            for n in 1..=SENT {
                tx.send(payload(n));
            }
            tx
        });
        let (mut last, mut taken) = (0u64, 0u64);
        while last < SENT {
            if let Some(p) = rx.latest() {
                // Word 0 is the payload's number.
                let number = p[0];
                assert_eq!(p, payload(number), "a torn payload");
                assert!(number > last, "payload {number} came after {last}");
                last = number;
                taken += 1;
            }
        }
        let _tx = sender.join().unwrap();
        assert_eq!(last, SENT, "the last payload arrives");
        assert!(taken >= 2, "the receiver took payloads while they were sent");
    }

    fn keyed(key: u64) -> PlayMelody {
        PlayMelody { key, ..PlayMelody::EMPTY }
    }

    #[test]
    fn the_latest_melody_wins_however_many_wait() {
        let (mut tx, mut rx) = channel();
        assert!(rx.latest().is_none());
        // A host that stops calling `process` while the worker publishes ten melodies finds
        // only the tenth on its return, never an older one first.
        for key in 1..=10 {
            tx.send(keyed(key));
        }
        assert_eq!(rx.latest().map(|m| m.key), Some(10));
        assert!(rx.latest().is_none());
        tx.send(keyed(11));
        tx.send(keyed(12));
        assert_eq!(rx.latest().map(|m| m.key), Some(12));
        drop(tx);
        assert!(rx.is_abandoned());
    }

    #[test]
    fn a_taken_melody_is_never_overwritten_while_held() {
        // Interleavings of send and take never hand over a torn or stale melody.
        let (mut tx, mut rx) = channel();
        let mut last = 0;
        for round in 1..200u64 {
            for k in 0..(round % 3) {
                tx.send(PlayMelody {
                    key: round * 10 + k,
                    count: (round * 10 + k) as u16,
                    ..PlayMelody::EMPTY
                });
            }
            if let Some(m) = rx.latest() {
                assert_eq!(m.key, round * 10 + round % 3 - 1);
                assert_eq!(u64::from(m.count), m.key);
                assert!(m.key > last);
                last = m.key;
            }
        }
    }

    #[test]
    fn two_notes_on_one_onset_keep_the_first_whole() {
        let notes = [(60, 0, 4), (64, 0, 4), (67, 8, 2)]
            .map(|(pitch, start_step, len_steps)| Note { pitch, start_step, len_steps });
        let m = PlayMelody::from_melody(
            &Melody { notes: notes.to_vec(), len_steps: 16 },
            Meter::FourFour,
            1,
        );
        assert_eq!(
            m.notes(),
            &[
                PlayNote { pitch: 60, start_step: 0, len_steps: 4 },
                PlayNote { pitch: 67, start_step: 8, len_steps: 2 }
            ]
        );
    }

    #[test]
    fn from_melody_cuts_overlaps_and_keeps_order() {
        let notes = [(64, 4, 8), (60, 0, 10), (67, 30, 4)]
            .map(|(pitch, start_step, len_steps)| Note { pitch, start_step, len_steps });
        let m = PlayMelody::from_melody(
            &Melody { notes: notes.to_vec(), len_steps: 32 },
            Meter::FourFour,
            1,
        );
        assert_eq!(
            m.notes(),
            &[
                PlayNote { pitch: 60, start_step: 0, len_steps: 4 },
                PlayNote { pitch: 64, start_step: 4, len_steps: 8 },
                PlayNote { pitch: 67, start_step: 30, len_steps: 2 }
            ]
        );
    }
}
