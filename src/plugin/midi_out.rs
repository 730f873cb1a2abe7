//! Note-offs the host refused, on the audio thread: owed until the host takes them, so that no
//! refusal leaves a note on. Fixed-size (one bit per channel and key): nothing allocates.

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

#[cfg(test)]
mod tests {
    use super::*;

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
