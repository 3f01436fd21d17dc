//! The token that cancels, pauses and resumes a run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Cancels, pauses and resumes a run from any thread. Clones control the same run.
#[derive(Debug, Clone, Default)]
pub struct RunControl {
    inner: Arc<ControlInner>,
}

#[derive(Debug, Default)]
struct ControlInner {
    cancelled: AtomicBool,
    paused: Mutex<bool>,
    wake: Condvar,
}

impl RunControl {
    /// A fresh control.
    pub fn new() -> RunControl {
        RunControl::default()
    }

    /// Stops the run at the next item; nothing half-written is left behind.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        self.inner.wake.notify_all();
    }

    /// Whether [`RunControl::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Holds workers before their next item until [`RunControl::resume`].
    pub fn pause(&self) {
        *self.inner.paused.lock().unwrap_or_else(|p| p.into_inner()) = true;
    }

    /// Lets a paused run go on.
    pub fn resume(&self) {
        *self.inner.paused.lock().unwrap_or_else(|p| p.into_inner()) = false;
        self.inner.wake.notify_all();
    }

    /// Whether the run is paused.
    pub fn is_paused(&self) -> bool {
        *self.inner.paused.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Blocks while paused; returns `false` when the run is cancelled.
    pub(crate) fn proceed(&self) -> bool {
        let mut paused = self.inner.paused.lock().unwrap_or_else(|p| p.into_inner());
        while *paused && !self.is_cancelled() {
            paused = self
                .inner
                .wake
                .wait_timeout(paused, Duration::from_millis(200))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        !self.is_cancelled()
    }
}
