//! The editor's history: the last [`HISTORY_LEN`] melodies, for Undo/Redo and the thumbnails.
//! Each entry keeps the request that makes it again. GUI thread.

use crate::encoding::{Melody, Meter};
use crate::plugin::worker::request::Request;
use crate::plugin::worker::state::SavedMelody;

/// Melodies kept for undo/redo.
pub(super) const HISTORY_LEN: usize = 50;

/// The melodies made, oldest first, and the one shown.
#[derive(Default)]
pub(super) struct History {
    pub(super) entries: Vec<HistoryEntry>,
    /// Index of the entry shown, in `entries`.
    pub(super) cursor: usize,
}

/// One melody of the history: the parameter values that make it, and its notes for the
/// thumbnail. Restoring it sets the parameters back; the worker makes the same melody again.
#[derive(Clone, Debug)]
pub(super) struct HistoryEntry {
    /// The stored melody's key.
    pub(super) key: u64,
    /// The parameters as they were when the melody arrived.
    pub(super) request: Request,
    pub(super) melody: Melody,
    pub(super) meter: Meter,
}

impl History {
    /// Adds the stored melody to the history when it is new. `made_from` is the request the
    /// worker reports it made last, `read` the parameters as they are now: the one whose
    /// identity is the melody's is what makes it again.
    pub(super) fn track(&mut self, saved: &SavedMelody, made_from: Option<Request>, read: Request) {
        if let Some(i) = self.entries.iter().position(|h| h.key == saved.key) {
            self.cursor = i;
            return;
        }
        let made_from = made_from.filter(|r| r.identity() == saved.key);
        let Some(request) = made_from.or_else(|| Some(read).filter(|r| r.identity() == saved.key))
        else {
            return;
        };
        let choice = request.choice_identity();
        let entry =
            HistoryEntry { key: saved.key, request, melody: saved.melody(), meter: saved.meter() };
        // The shown entry made again in the song's meter (after an undo, or a meter change in
        // the song) is the same choice: it takes the entry's place and the redo branch stays.
        if let Some(shown) =
            self.entries.get_mut(self.cursor).filter(|h| h.request.choice_identity() == choice)
        {
            *shown = entry;
            return;
        }
        // A new melody after an undo drops the redo branch.
        self.entries.truncate(self.cursor + 1);
        self.entries.push(entry);
        if self.entries.len() > HISTORY_LEN {
            self.entries.remove(0);
        }
        self.cursor = self.entries.len() - 1;
    }

    /// Adds entries made at once after the shown one (Vary's variations): the entries after
    /// the shown one go, the oldest beyond [`HISTORY_LEN`] too, and the newest is shown.
    pub(super) fn push_all(&mut self, made: Vec<HistoryEntry>) {
        self.entries.truncate(self.cursor + 1);
        self.entries.extend(made);
        let over = self.entries.len().saturating_sub(HISTORY_LEN);
        self.entries.drain(..over);
        self.cursor = self.entries.len().saturating_sub(1);
    }
}
