//! How an instance's worker is woken: by the parameters' callbacks (which may run on the
//! audio thread), the plugin and the editor. Real-time safe: an atomic add and a futex wake.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::thread::Thread;

/// How the worker is woken. Shared by the parameters' callbacks, the plugin and the worker.
#[derive(Debug, Default)]
pub struct Wake {
    /// Wake-ups requested so far; the worker reports how many it has handled.
    requested: AtomicU64,
    /// The worker thread, once it runs.
    pub(in crate::plugin) thread: OnceLock<Thread>,
}

impl Wake {
    /// The number of the last wake-up requested.
    pub fn last(&self) -> u64 {
        self.requested.load(Ordering::Acquire)
    }

    /// Asks the worker to look at the parameters again; returns the request's number.
    /// Real-time safe: an atomic add and, when the worker sleeps, a futex wake.
    pub fn wake(&self) -> u64 {
        let n = self.requested.fetch_add(1, Ordering::AcqRel) + 1;
        if let Some(thread) = self.thread.get() {
            thread.unpark();
        }
        n
    }
}
