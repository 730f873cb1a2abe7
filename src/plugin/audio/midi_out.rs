//! What Neume's MIDI output owes, on the audio thread, so that nothing it sent is left on:
//! note-offs the host refused ([`OwedOffs`]), and the ends of what MIDI thru passed on
//! ([`Passed`]). Fixed-size (one bit per channel and key): nothing allocates.

/// The note-offs owed to the host: bit `key` of word `channel`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OwedOffs([u128; 16]);

impl OwedOffs {
    /// Records that the note-off of `key` on `channel` was refused.
    pub fn owe(&mut self, channel: u8, key: u8) {
        self.0[usize::from(channel & 15)] |= 1u128 << (key & 127);
    }

    /// Whether nothing is owed.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }

    /// Offers every owed note-off to `send` (channel, key), which says whether the host took
    /// it; those taken are no longer owed.
    pub fn retry(&mut self, mut send: impl FnMut(u8, u8) -> bool) {
        for (channel, word) in self.0.iter_mut().enumerate() {
            let mut rest = *word;
            while rest != 0 {
                let key = rest.trailing_zeros() as u8;
                rest &= rest - 1;
                if send(channel as u8, key) {
                    *word &= !(1u128 << key);
                }
            }
        }
    }
}

/// What MIDI thru passed on and has not ended yet: the notes (bit `key` of word `channel`),
/// the channels whose sustain pedal is down (CC64), and the melody's own sounding note. While
/// Thru is off nothing new passes, but the ends of what passed always do; a thru note on the
/// melody's channel and key never ends the melody's note, nor the melody's end the thru note.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Passed {
    notes: [u128; 16],
    sustain: u16,
    /// The melody's sounding note (channel, key), as sent.
    melody: Option<(u8, u8)>,
}

/// What to do with one MIDI event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send it.
    Send,
    /// Drop it.
    Drop,
}

impl Passed {
    fn bit(channel: u8, key: u8) -> (usize, u128) {
        (usize::from(channel & 15), 1u128 << (key & 127))
    }

    /// An incoming note-on: passed (and remembered) only while Thru is on.
    pub fn note_on(&mut self, thru: bool, channel: u8, key: u8) -> Verdict {
        if !thru {
            return Verdict::Drop;
        }
        let (c, b) = Passed::bit(channel, key);
        self.notes[c] |= b;
        Verdict::Send
    }

    /// An incoming note-off (`key` `None`: every key of the channel). The end of a passed note
    /// always passes, Thru on or off, unless the melody sounds that very key (its own end
    /// will end it).
    pub fn note_off(&mut self, thru: bool, channel: u8, key: Option<u8>) -> Verdict {
        let c = usize::from(channel & 15);
        let mask = key.map_or(u128::MAX, |k| 1u128 << (k & 127));
        let was_passed = self.notes[c] & mask != 0;
        self.notes[c] &= !mask;
        let melody_holds = matches!(self.melody, Some((mc, mk)) if mc == channel & 15 && key.is_some_and(|k| k == mk));
        if melody_holds || !(thru || was_passed) {
            Verdict::Drop
        } else {
            Verdict::Send
        }
    }

    /// An incoming sustain pedal (CC64) move: pressing passes only while Thru is on; the
    /// release of a pedal that was passed down always passes.
    pub fn sustain(&mut self, thru: bool, channel: u8, down: bool) -> Verdict {
        let bit = 1u16 << (channel & 15);
        let was_down = self.sustain & bit != 0;
        if down {
            if !thru {
                return Verdict::Drop;
            }
            self.sustain |= bit;
            return Verdict::Send;
        }
        self.sustain &= !bit;
        if thru || was_down {
            Verdict::Send
        } else {
            Verdict::Drop
        }
    }

    /// The melody starts `key` on `channel`.
    pub fn melody_on(&mut self, channel: u8, key: u8) {
        self.melody = Some((channel & 15, key & 127));
    }

    /// The melody's note ends: the channel it was started on, if it is still Neume's to end
    /// (a thru note on the same channel and key still held keeps sounding: its own end ends
    /// it). `None`: nothing to send.
    pub fn melody_off(&mut self, key: u8) -> Option<u8> {
        let (channel, held) = self.melody.take_if(|(_, k)| *k == key & 127)?;
        let (c, b) = Passed::bit(channel, held);
        (self.notes[c] & b == 0).then_some(channel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ends_of_passed_notes_and_pedals_pass_with_thru_off() {
        let mut p = Passed::default();
        assert_eq!(p.note_on(true, 3, 60), Verdict::Send);
        assert_eq!(p.sustain(true, 3, true), Verdict::Send);
        // Thru switched off: new notes and pedals stop, the ends of the passed ones go on.
        assert_eq!(p.note_on(false, 3, 62), Verdict::Drop);
        assert_eq!(p.note_off(false, 3, Some(62)), Verdict::Drop);
        assert_eq!(p.note_off(false, 3, Some(60)), Verdict::Send);
        assert_eq!(p.note_off(false, 3, Some(60)), Verdict::Drop, "ended once");
        assert_eq!(p.sustain(false, 4, false), Verdict::Drop);
        assert_eq!(p.sustain(false, 3, false), Verdict::Send);
        assert_eq!(p.sustain(false, 3, false), Verdict::Drop);
        // A channel-wide note-off ends what passed on that channel.
        p.note_on(true, 5, 70);
        assert_eq!(p.note_off(false, 5, None), Verdict::Send);
        assert_eq!(p, Passed::default());
    }

    #[test]
    fn melody_and_thru_on_one_key_never_end_each_other() {
        let mut p = Passed::default();
        p.melody_on(0, 60);
        // The player presses the melody's key on its channel: sent (it retriggers), but its
        // end must not end the melody's note.
        assert_eq!(p.note_on(true, 0, 60), Verdict::Send);
        assert_eq!(p.note_off(true, 0, Some(60)), Verdict::Drop);
        assert_eq!(p.melody_off(60), Some(0));
        // The other way round: the melody ends while the player still holds the key.
        p.melody_on(0, 62);
        p.note_on(true, 0, 62);
        assert_eq!(p.melody_off(62), None);
        assert_eq!(p.note_off(true, 0, Some(62)), Verdict::Send);
        // Another channel is another note.
        p.melody_on(0, 64);
        p.note_on(true, 1, 64);
        assert_eq!(p.note_off(true, 1, Some(64)), Verdict::Send);
        assert_eq!(p.melody_off(64), Some(0));
    }

    #[test]
    fn owed_offs_are_offered_until_taken() {
        let mut owed = OwedOffs::default();
        owed.owe(0, 60);
        owed.owe(0, 127);
        owed.owe(15, 0);
        owed.owe(3, 60);
        owed.owe(3, 60);
        let mut offered = Vec::new();
        // The host takes only channel 3's.
        owed.retry(|c, k| {
            offered.push((c, k));
            c == 3
        });
        assert_eq!(offered, [(0, 60), (0, 127), (3, 60), (15, 0)]);
        offered.clear();
        owed.retry(|c, k| {
            offered.push((c, k));
            true
        });
        assert_eq!(offered, [(0, 60), (0, 127), (15, 0)]);
        assert!(owed.is_empty());
    }
}
