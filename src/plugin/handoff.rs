//! The worker → audio thread hand-off of melodies: latest value wins. The worker sends each
//! finished melody; the audio thread takes the newest and drops any older one still waiting.
//! A wait-free `rtrb` ring of fixed-size `Copy` [`PlayMelody`] values: sending and taking
//! never lock or allocate.

use super::audio_thread::PlayMelody;

/// Melodies the ring holds; when it is full the worker keeps its newest and sends it later.
const CAPACITY: usize = 4;

/// The worker's end.
pub struct MelodySender(rtrb::Producer<PlayMelody>);

/// The audio thread's end.
pub struct MelodyReceiver(rtrb::Consumer<PlayMelody>);

/// A new hand-off.
pub fn channel() -> (MelodySender, MelodyReceiver) {
    let (sender, receiver) = rtrb::RingBuffer::new(CAPACITY);
    (MelodySender(sender), MelodyReceiver(receiver))
}

impl MelodySender {
    /// Sends `melody`; gives it back when the ring is full (the audio thread has not taken
    /// the ones before yet).
    pub fn send(&mut self, melody: PlayMelody) -> Result<(), PlayMelody> {
        self.0.push(melody).map_err(|rtrb::PushError::Full(melody)| melody)
    }
}

impl MelodyReceiver {
    /// The newest melody sent since the last call, if any; older ones are dropped.
    pub fn latest(&mut self) -> Option<PlayMelody> {
        let mut newest = None;
        while let Ok(melody) = self.0.pop() {
            newest = Some(melody);
        }
        newest
    }

    /// Whether the worker's end is gone (its thread ended).
    pub fn is_abandoned(&self) -> bool {
        self.0.is_abandoned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_melody_wins() {
        let (mut tx, mut rx) = channel();
        assert!(rx.latest().is_none());
        for key in 1..=CAPACITY as u64 {
            assert!(tx.send(PlayMelody { key, ..PlayMelody::EMPTY }).is_ok());
        }
        assert_eq!(tx.send(PlayMelody { key: 99, ..PlayMelody::EMPTY }).map_err(|m| m.key), Err(99), "a full ring gives the melody back");
        assert_eq!(rx.latest().map(|m| m.key), Some(CAPACITY as u64));
        assert!(rx.latest().is_none());
        drop(tx);
        assert!(rx.is_abandoned());
    }
}
