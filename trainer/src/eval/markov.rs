//! Order-2 Markov baselines, with back-off to order 1 and 0 for unseen contexts:
//! - [`TokenMarkov`] walks the 16th-note token grid, the plain baseline every model must beat;
//! - [`NoteMarkov`] walks note events (pitch, length), a stronger baseline that knows rhythm.
//!
//! Both are fitted on melodies in the C major / A minor frame.

use std::collections::HashMap;
use std::hash::Hash;

use neume::encoding::{Melody, Note, Token};
use neume::rng::Rng;

/// Successor counts of an order-2 chain over events `E`.
struct Chain<E> {
    order2: HashMap<(E, E), Vec<(E, u32)>>,
    order1: HashMap<E, Vec<(E, u32)>>,
    order0: Vec<(E, u32)>,
    starts: Vec<(E, E)>,
}

fn bump<E: PartialEq>(list: &mut Vec<(E, u32)>, e: E) {
    match list.iter_mut().find(|(x, _)| *x == e) {
        Some((_, n)) => *n += 1,
        None => list.push((e, 1)),
    }
}

fn draw<E: Copy>(list: &[(E, u32)], rng: &mut Rng) -> E {
    let total: u32 = list.iter().map(|(_, n)| n).sum();
    let mut target = rng.below(total.max(1) as usize) as u32;
    for &(e, n) in list {
        if target < n {
            return e;
        }
        target -= n;
    }
    list[0].0
}

impl<E: Copy + Eq + Hash> Chain<E> {
    fn fit(sequences: impl Iterator<Item = Vec<E>>) -> Self {
        let mut c = Chain {
            order2: HashMap::new(),
            order1: HashMap::new(),
            order0: Vec::new(),
            starts: Vec::new(),
        };
        for events in sequences {
            if events.len() >= 2 {
                c.starts.push((events[0], events[1]));
            }
            for (i, &e) in events.iter().enumerate() {
                bump(&mut c.order0, e);
                if i >= 1 {
                    bump(c.order1.entry(events[i - 1]).or_default(), e);
                }
                if i >= 2 {
                    bump(c.order2.entry((events[i - 2], events[i - 1])).or_default(), e);
                }
            }
        }
        c
    }

    /// Walks the chain from a random start; `more(events)` says whether to go on.
    fn walk(&self, rng: &mut Rng, mut more: impl FnMut(&[E]) -> bool) -> Vec<E> {
        if self.starts.is_empty() {
            return Vec::new();
        }
        let (mut a, mut b) = self.starts[rng.below(self.starts.len())];
        let mut events = vec![a, b];
        while more(&events) {
            let next = match self.order2.get(&(a, b)).or_else(|| self.order1.get(&b)) {
                Some(list) => draw(list, rng),
                None => draw(&self.order0, rng),
            };
            events.push(next);
            (a, b) = (b, next);
        }
        events
    }
}

/// Order-2 chain over grid tokens.
pub struct TokenMarkov(Chain<Token>);

impl TokenMarkov {
    /// Fits the chain on whole melodies.
    pub fn fit<'a>(melodies: impl Iterator<Item = &'a Melody>) -> Self {
        TokenMarkov(Chain::fit(melodies.map(|m| m.to_tokens(0))))
    }

    /// Generates `len_steps` tokens.
    pub fn generate(&self, len_steps: u32, rng: &mut Rng) -> Melody {
        let mut tokens = self.0.walk(rng, |t| t.len() < len_steps as usize);
        tokens.truncate(len_steps as usize);
        Melody::from_tokens(&tokens)
    }
}

/// Order-2 chain over note events (pitch, length in steps); rests are dropped (they are
/// rare in the corpus).
pub struct NoteMarkov(Chain<(u8, u32)>);

impl NoteMarkov {
    /// Fits the chain on whole melodies.
    pub fn fit<'a>(melodies: impl Iterator<Item = &'a Melody>) -> Self {
        NoteMarkov(Chain::fit(
            melodies.map(|m| m.notes.iter().map(|n| (n.pitch, n.len_steps)).collect()),
        ))
    }

    /// Generates notes until `len_steps` is filled; the last note is cut at the end.
    pub fn generate(&self, len_steps: u32, rng: &mut Rng) -> Melody {
        let events = self.0.walk(rng, |e| e.iter().map(|(_, len)| len).sum::<u32>() < len_steps);
        let mut notes = Vec::new();
        let mut start = 0;
        for (pitch, len) in events {
            if start >= len_steps {
                break;
            }
            notes.push(Note { pitch, start_step: start, len_steps: len.min(len_steps - start) });
            start += len;
        }
        Melody { notes, len_steps }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scale_melody() -> Melody {
        let notes = (0..16)
            .map(|i| Note {
                pitch: [60, 62, 64, 65][i % 4],
                start_step: i as u32 * 4,
                len_steps: 4,
            })
            .collect();
        Melody { notes, len_steps: 64 }
    }

    #[test]
    fn a_deterministic_corpus_is_reproduced_by_the_note_chain() {
        let melody = scale_melody();
        let markov = NoteMarkov::fit(std::iter::once(&melody));
        assert_eq!(markov.generate(64, &mut Rng::new(1)), melody);
    }

    #[test]
    fn the_token_chain_keeps_the_grid_length_and_learned_pitches() {
        let melody = scale_melody();
        let markov = TokenMarkov::fit(std::iter::once(&melody));
        let out = markov.generate(64, &mut Rng::new(2));
        assert_eq!(out.len_steps, 64);
        assert!(!out.notes.is_empty());
        assert!(out.notes.iter().all(|n| [60, 62, 64, 65].contains(&n.pitch)));
    }
}
