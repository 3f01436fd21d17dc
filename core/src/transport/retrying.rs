//! [`Retrying`]: a transport decorator that tries calls again when they fail for a passing
//! reason, waiting longer before each try.

use std::cell::RefCell;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, BlockingRetryable, ExponentialBuilder};

use super::{Capabilities, Entry, LocalTransport, Meta, Source, Transport, WriteMode};
use crate::error::{Error, ErrorKind, Result};
use crate::path::RelPath;
use crate::vocab::RunControl;

/// How often a waiting [`Retrying`] call looks whether the run was cancelled.
const CANCEL_CHECK: Duration = Duration::from_millis(50);

/// How a [`Retrying`] transport tries again: how many times, and how long it waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    retries: u32,
    first_delay: Duration,
    max_delay: Duration,
}

impl RetryPolicy {
    /// The longest wait between two tries unless [`RetryPolicy::with_max_delay`] says.
    pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(30);

    /// Up to `retries` tries after the first, the first of them after `first_delay`.
    pub fn new(retries: u32, first_delay: Duration) -> RetryPolicy {
        RetryPolicy {
            retries,
            first_delay,
            max_delay: RetryPolicy::DEFAULT_MAX_DELAY,
        }
    }

    /// Waits no longer than `max_delay` (or the first delay, when that is longer).
    pub fn with_max_delay(mut self, max_delay: Duration) -> RetryPolicy {
        self.max_delay = max_delay;
        self
    }

    /// How many times a failed call is tried again.
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// The longest wait.
    fn cap(&self) -> Duration {
        self.max_delay.max(self.first_delay)
    }

    /// The waits before each try again, in order (see [`Retrying`] for their growth).
    fn delays(&self) -> impl Iterator<Item = Duration> + Send + Sync + Unpin {
        let cap = self.cap();
        ExponentialBuilder::new()
            .with_min_delay(self.first_delay)
            .with_factor(2.0)
            .with_max_delay(cap)
            .with_max_times(usize::try_from(self.retries).unwrap_or(usize::MAX))
            .with_jitter()
            .build()
            .map(move |d| d.min(cap))
    }
}

/// A transport whose calls are tried again when they fail for a passing reason
/// ([`Error::is_retryable`]: a busy file, a timeout, a dropped connection, an HTTP 429 or
/// 5xx), waiting longer before each try.
///
/// What is tried again, and what is not:
/// - Looking (`stat`, `read_dir`, `read_link`, opening a file) and the calls that end in the
///   same state however often they run (`create_dir`, `set_meta`, renames, removals) are
///   tried again. A removal that finds its entry gone on a later try succeeded: the try that
///   failed did remove it (a server whose answer was lost).
/// - A write from a [`Source::File`] is tried again, atomic or direct: every try writes the
///   whole file again from its start (backends read a file source from offset 0, whatever
///   its position). An atomic try that fails leaves the target untouched; a direct one may
///   leave it torn, and the next try, rewriting it whole, is what repairs it. A source that
///   changed while it was copied fails every try alike; its error is not retryable.
/// - A write from a [`Source::Stream`] is never tried again: a stream cannot be rewound.
///   Nor are reads from an opened stream: a failure there is the caller's.
///
/// The waits grow: the first is the policy's first delay (a profile's
/// `copy.retry-delay-ms`), each next one twice the one before; a random jitter adds up to as
/// much again, so that workers failing together do not retry together; no wait is longer
/// than the policy's cap ([`RetryPolicy::DEFAULT_MAX_DELAY`] unless
/// [`RetryPolicy::with_max_delay`] says, never below the first delay). With retries 2 and a
/// first delay of 500 ms, a call that keeps failing is tried three times, after waits of
/// 0.5-1 s and 1-2 s.
///
/// Cancelling the run ([`RunControl::cancel`]) ends a wait within 50 ms, and nothing is
/// tried after it: the call fails with the last try's error, marked as not retried.
#[derive(Debug)]
pub struct Retrying<T: ?Sized = dyn Transport> {
    inner: Arc<T>,
    policy: RetryPolicy,
    control: RunControl,
}

impl<T: Transport + ?Sized> Retrying<T> {
    /// `inner`, retried as `policy` says until `control` cancels the run.
    pub fn new(inner: Arc<T>, policy: RetryPolicy, control: RunControl) -> Retrying<T> {
        Retrying {
            inner,
            policy,
            control,
        }
    }

    /// Runs `op`, and again after a wait while it fails with a retryable error, tries are
    /// left and the run is not cancelled.
    fn retry<R>(&self, mut op: impl FnMut() -> Result<R>) -> Result<R> {
        if self.policy.retries == 0 {
            return op();
        }
        // What the last failed try said, for the error of a run cancelled while waiting.
        let last: RefCell<Option<(ErrorKind, String, Option<PathBuf>)>> = RefCell::new(None);
        let mut first = true;
        let control = self.control.clone();
        (|| {
            if !std::mem::take(&mut first) && self.control.is_cancelled() {
                return Err(not_tried_again(last.borrow_mut().take()));
            }
            op()
        })
        .retry(self.policy.delays())
        .sleep(move |delay| wait_unless_cancelled(&control, delay))
        .when(|e: &Error| e.is_retryable() && !self.control.is_cancelled())
        .notify(|e: &Error, _| {
            *last.borrow_mut() = Some((
                e.kind(),
                e.message().to_string(),
                e.path().map(Path::to_path_buf),
            ));
        })
        .call()
    }

    /// A removal: gone on a later try means the failed try removed it.
    fn remove(&self, mut op: impl FnMut() -> Result<()>) -> Result<()> {
        let mut tries = 0;
        self.retry(|| {
            tries += 1;
            match op() {
                Err(e) if tries > 1 && e.kind() == ErrorKind::NotFound => Ok(()),
                other => other,
            }
        })
    }
}

/// The error of a call whose wait to be tried again the run cancelled: the last try's.
fn not_tried_again(last: Option<(ErrorKind, String, Option<PathBuf>)>) -> Error {
    let (kind, message, path) =
        last.unwrap_or((ErrorKind::Cancelled, "cancelled".to_string(), None));
    let err = Error::new(
        kind,
        format!("{message} (not tried again: the run was cancelled)"),
    )
    .retryable(false);
    match path {
        Some(path) => err.with_path(path),
        None => err,
    }
}

/// Sleeps for `delay`, or until `control` cancels the run (looking every [`CANCEL_CHECK`]).
fn wait_unless_cancelled(control: &RunControl, delay: Duration) {
    let deadline = Instant::now() + delay;
    while !control.is_cancelled() {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        std::thread::sleep((deadline - now).min(CANCEL_CHECK));
    }
}

impl<T: Transport + ?Sized> Transport for Retrying<T> {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn stat(&self, path: &RelPath) -> Result<Option<Entry>> {
        self.retry(|| self.inner.stat(path))
    }

    fn stat_follow(&self, path: &RelPath) -> Result<Option<Entry>> {
        self.retry(|| self.inner.stat_follow(path))
    }

    fn read_dir(&self, dir: &RelPath) -> Result<Vec<Entry>> {
        self.retry(|| self.inner.read_dir(dir))
    }

    fn open(&self, path: &RelPath) -> Result<Box<dyn Read + Send>> {
        self.retry(|| self.inner.open(path))
    }

    fn write(
        &self,
        path: &RelPath,
        source: Source<'_>,
        meta: &Meta,
        mode: WriteMode,
    ) -> Result<u64> {
        match source {
            Source::File {
                file,
                size,
                mtime_ns,
            } => self.retry(|| {
                let source = Source::File {
                    file,
                    size,
                    mtime_ns,
                };
                self.inner.write(path, source, meta, mode)
            }),
            // A stream cannot be rewound: one try.
            Source::Stream(_) => self.inner.write(path, source, meta, mode),
        }
    }

    fn create_dir(&self, path: &RelPath) -> Result<()> {
        self.retry(|| self.inner.create_dir(path))
    }

    fn set_meta(&self, path: &RelPath, meta: &Meta) -> Result<()> {
        self.retry(|| self.inner.set_meta(path, meta))
    }

    fn remove_file(&self, path: &RelPath) -> Result<()> {
        self.remove(|| self.inner.remove_file(path))
    }

    fn remove_dir(&self, path: &RelPath) -> Result<()> {
        self.remove(|| self.inner.remove_dir(path))
    }

    fn rename(&self, from: &RelPath, to: &RelPath) -> Result<()> {
        self.retry(|| self.inner.rename(from, to))
    }

    fn rename_no_replace(&self, from: &RelPath, to: &RelPath) -> Result<()> {
        self.retry(|| self.inner.rename_no_replace(from, to))
    }

    fn read_link(&self, path: &RelPath) -> Result<Vec<u8>> {
        self.retry(|| self.inner.read_link(path))
    }

    fn symlink(&self, path: &RelPath, target: &[u8]) -> Result<()> {
        self.retry(|| self.inner.symlink(path, target))
    }

    fn local_path(&self, path: &RelPath) -> Option<PathBuf> {
        self.inner.local_path(path)
    }

    fn open_local(&self, path: &RelPath) -> Result<Option<std::fs::File>> {
        self.retry(|| self.inner.open_local(path))
    }

    fn as_local(&self) -> Option<&LocalTransport> {
        self.inner.as_local()
    }

    fn create_dir_all(&self, path: &RelPath) -> Result<()> {
        self.retry(|| self.inner.create_dir_all(path))
    }

    fn read_to_vec(&self, path: &RelPath) -> Result<Vec<u8>> {
        self.retry(|| self.inner.read_to_vec(path))
    }
}

#[cfg(test)]
mod tests {
    use std::io::{self, Write};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Mutex;

    use super::*;

    /// A local folder whose calls fail while `failures` lasts, with the error `fail` makes;
    /// with `act_first`, a failing call is carried out before it fails (a server that did it
    /// but whose answer was lost).
    #[derive(Debug)]
    struct Flaky {
        inner: LocalTransport,
        failures: AtomicU32,
        fail: fn() -> Error,
        act_first: bool,
        /// When each call came.
        calls: Mutex<Vec<Instant>>,
    }

    impl Flaky {
        fn new(dir: &Path, failures: u32, fail: fn() -> Error) -> Flaky {
            Flaky {
                inner: LocalTransport::new(dir),
                failures: AtomicU32::new(failures),
                fail,
                act_first: false,
                calls: Mutex::new(Vec::new()),
            }
        }

        fn call<R>(&self, op: impl FnOnce() -> Result<R>) -> Result<R> {
            self.calls.lock().unwrap().push(Instant::now());
            let failing = self
                .failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if !failing {
                return op();
            }
            if self.act_first {
                let _ = op();
            }
            Err((self.fail)())
        }

        fn calls(&self) -> usize {
            self.calls.lock().unwrap().len()
        }

        /// The waits between the calls.
        fn gaps(&self) -> Vec<Duration> {
            let calls = self.calls.lock().unwrap();
            calls.windows(2).map(|w| w[1] - w[0]).collect()
        }
    }

    impl Transport for Flaky {
        fn describe(&self) -> String {
            self.inner.describe()
        }
        fn capabilities(&self) -> Capabilities {
            self.inner.capabilities()
        }
        fn stat(&self, path: &RelPath) -> Result<Option<Entry>> {
            self.call(|| self.inner.stat(path))
        }
        fn stat_follow(&self, path: &RelPath) -> Result<Option<Entry>> {
            self.call(|| self.inner.stat_follow(path))
        }
        fn read_dir(&self, dir: &RelPath) -> Result<Vec<Entry>> {
            self.call(|| self.inner.read_dir(dir))
        }
        fn open(&self, path: &RelPath) -> Result<Box<dyn Read + Send>> {
            self.call(|| self.inner.open(path))
        }
        fn write(
            &self,
            path: &RelPath,
            source: Source<'_>,
            meta: &Meta,
            mode: WriteMode,
        ) -> Result<u64> {
            self.call(|| self.inner.write(path, source, meta, mode))
        }
        fn create_dir(&self, path: &RelPath) -> Result<()> {
            self.call(|| self.inner.create_dir(path))
        }
        fn set_meta(&self, path: &RelPath, meta: &Meta) -> Result<()> {
            self.call(|| self.inner.set_meta(path, meta))
        }
        fn remove_file(&self, path: &RelPath) -> Result<()> {
            self.call(|| self.inner.remove_file(path))
        }
        fn remove_dir(&self, path: &RelPath) -> Result<()> {
            self.call(|| self.inner.remove_dir(path))
        }
        fn rename(&self, from: &RelPath, to: &RelPath) -> Result<()> {
            self.call(|| self.inner.rename(from, to))
        }
        fn read_link(&self, path: &RelPath) -> Result<Vec<u8>> {
            self.call(|| self.inner.read_link(path))
        }
        fn symlink(&self, path: &RelPath, target: &[u8]) -> Result<()> {
            self.call(|| self.inner.symlink(path, target))
        }
    }

    fn reset() -> Error {
        Error::io("/remote/f", io::Error::from(io::ErrorKind::ConnectionReset))
    }

    fn p(s: &str) -> RelPath {
        RelPath::new(s).unwrap()
    }

    fn retrying(flaky: &Arc<Flaky>, retries: u32, first: Duration) -> Retrying<Flaky> {
        Retrying::new(
            flaky.clone(),
            RetryPolicy::new(retries, first),
            RunControl::new(),
        )
    }

    fn meta() -> Meta {
        Meta {
            mtime_ns: 1_600_000_000_000_000_000,
            mode: None,
            owner: None,
        }
    }

    /// Issue 11, item 4: a call failing for a passing reason is tried again until it works.
    #[test]
    fn a_passing_failure_is_tried_again_until_the_call_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), "x").unwrap();
        let flaky = Arc::new(Flaky::new(dir.path(), 2, reset));
        let t = retrying(&flaky, 3, Duration::from_millis(1));
        let found = t.stat(&p("f")).unwrap().expect("f is there");
        assert_eq!(found.size, 1);
        assert_eq!(flaky.calls(), 3);
    }

    #[test]
    fn tries_run_out_with_the_last_error() {
        let dir = tempfile::tempdir().unwrap();
        let flaky = Arc::new(Flaky::new(dir.path(), 10, reset));
        let t = retrying(&flaky, 2, Duration::from_millis(1));
        let err = t.read_dir(&RelPath::root()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Network);
        assert_eq!(flaky.calls(), 3, "the first try and two more");
        let flaky = Arc::new(Flaky::new(dir.path(), 10, reset));
        let t = retrying(&flaky, 0, Duration::from_millis(1));
        assert!(t.read_dir(&RelPath::root()).is_err());
        assert_eq!(flaky.calls(), 1, "no retries: one try");
    }

    #[test]
    fn a_lasting_failure_fails_at_once_without_waiting() {
        let lasting: [fn() -> Error; 6] = [
            || Error::io("/f", io::Error::from(io::ErrorKind::NotFound)),
            || Error::io("/f", io::Error::from(io::ErrorKind::PermissionDenied)),
            || Error::io("/f", io::Error::from_raw_os_error(28)), // ENOSPC
            || Error::new(ErrorKind::Unauthenticated, "bad password"),
            || Error::invalid("bad input"),
            || Error::http(404, "GET /f"),
        ];
        let dir = tempfile::tempdir().unwrap();
        for fail in lasting {
            let flaky = Arc::new(Flaky::new(dir.path(), 1, fail));
            // Waits of a minute: any wait would show.
            let t = retrying(&flaky, 5, Duration::from_secs(60));
            let started = Instant::now();
            let err = t.stat(&p("f")).unwrap_err();
            assert_eq!(err.kind(), fail().kind());
            assert_eq!(flaky.calls(), 1, "{err}");
            assert!(started.elapsed() < Duration::from_secs(5));
        }
    }

    /// Cancelling the run ends the wait for the next try within a second, and no try follows.
    #[test]
    fn cancel_stops_the_back_off() {
        let dir = tempfile::tempdir().unwrap();
        let flaky = Arc::new(Flaky::new(dir.path(), u32::MAX, reset));
        let control = RunControl::new();
        let t = Retrying::new(
            flaky.clone(),
            RetryPolicy::new(5, Duration::from_secs(30)),
            control.clone(),
        );
        let started = Instant::now();
        let err = std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(200));
                control.cancel();
            });
            t.stat(&p("f")).unwrap_err()
        });
        let took = started.elapsed();
        assert!(took < Duration::from_secs(1), "took {took:?}");
        assert_eq!(flaky.calls(), 1, "nothing tried after the cancel");
        assert_eq!(err.kind(), ErrorKind::Network, "{err}");
        assert!(!err.is_retryable());
        assert!(err.to_string().contains("cancelled"), "{err}");
        assert_eq!(err.path(), Some(Path::new("/remote/f")));
        // A run cancelled already: one try, no wait.
        let flaky = Arc::new(Flaky::new(dir.path(), u32::MAX, reset));
        let t = Retrying::new(
            flaky.clone(),
            RetryPolicy::new(5, Duration::from_secs(30)),
            control,
        );
        assert!(t.stat(&p("f")).is_err());
        assert_eq!(flaky.calls(), 1);
    }

    #[test]
    fn the_back_off_grows_and_respects_the_cap() {
        let policy =
            RetryPolicy::new(10, Duration::from_millis(100)).with_max_delay(Duration::from_secs(2));
        for _ in 0..20 {
            let delays: Vec<Duration> = policy.delays().collect();
            assert_eq!(delays.len(), 10);
            for (i, d) in delays.iter().enumerate() {
                // 100 ms, 200 ms, 400 ms, ... plus a jitter of up to as much again.
                let base = Duration::from_millis(100 << i);
                let cap = Duration::from_secs(2);
                assert!(*d >= base.min(cap), "wait {i}: {d:?}");
                assert!(
                    *d < (base * 2).min(cap + Duration::from_nanos(1)),
                    "{i}: {d:?}"
                );
            }
            assert!(delays.windows(2).all(|w| w[0] <= w[1]), "{delays:?}");
            assert_eq!(delays[9], Duration::from_secs(2), "capped");
        }
        // A first delay above the cap is kept, never shortened.
        let long =
            RetryPolicy::new(3, Duration::from_secs(5)).with_max_delay(Duration::from_secs(1));
        assert!(long.delays().all(|d| d == Duration::from_secs(5)));
        // The default cap.
        let default = RetryPolicy::new(20, Duration::from_secs(1));
        assert!(default
            .delays()
            .all(|d| d <= RetryPolicy::DEFAULT_MAX_DELAY));
        assert_eq!(
            default.delays().last(),
            Some(RetryPolicy::DEFAULT_MAX_DELAY)
        );
    }

    /// The waits between real tries grow from the first delay.
    #[test]
    fn the_tries_wait_longer_each_time() {
        let dir = tempfile::tempdir().unwrap();
        let flaky = Arc::new(Flaky::new(dir.path(), 3, reset));
        let t = retrying(&flaky, 3, Duration::from_millis(20));
        t.create_dir(&p("d")).unwrap();
        let gaps = flaky.gaps();
        assert_eq!(gaps.len(), 3);
        for (gap, least) in gaps.iter().zip([20, 40, 80]) {
            assert!(*gap >= Duration::from_millis(least), "{gaps:?}");
        }
        assert!(dir.path().join("d").is_dir());
    }

    #[test]
    fn a_file_write_is_tried_again_whole_and_a_stream_write_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let mut src = tempfile::NamedTempFile::new().unwrap();
        src.write_all(b"the whole file").unwrap();
        let file = src.as_file();
        for mode in [WriteMode::Atomic, WriteMode::Direct] {
            let flaky = Arc::new(Flaky::new(dir.path(), 1, reset));
            let t = retrying(&flaky, 2, Duration::from_millis(1));
            let n = t
                .write(&p("f"), Source::of_file(file).unwrap(), &meta(), mode)
                .unwrap();
            assert_eq!(n, 14);
            assert_eq!(flaky.calls(), 2, "{mode:?}");
            assert_eq!(
                std::fs::read(dir.path().join("f")).unwrap(),
                b"the whole file"
            );
        }
        let flaky = Arc::new(Flaky::new(dir.path(), 1, reset));
        let t = retrying(&flaky, 2, Duration::from_millis(1));
        let mut stream: &[u8] = b"streamed";
        let err = t
            .write(
                &p("g"),
                Source::Stream(&mut stream),
                &meta(),
                WriteMode::Atomic,
            )
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Network);
        assert_eq!(flaky.calls(), 1, "a stream cannot be rewound");
        assert!(!dir.path().join("g").exists());
    }

    /// A source that changed while it was copied fails every try alike: not tried again.
    #[test]
    fn a_source_changed_while_copied_is_not_tried_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut src = tempfile::NamedTempFile::new().unwrap();
        src.write_all(b"0123456789").unwrap();
        let flaky = Arc::new(Flaky::new(dir.path(), 0, reset));
        let t = retrying(&flaky, 3, Duration::from_secs(60));
        let stale = Source::File {
            file: src.as_file(),
            size: 4,
            mtime_ns: 1,
        };
        let started = Instant::now();
        let err = t
            .write(&p("f"), stale, &meta(), WriteMode::Atomic)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Busy);
        assert!(!err.is_retryable(), "{err}");
        assert_eq!(flaky.calls(), 1);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_removal_found_done_on_the_next_try_succeeded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), "x").unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        let mut flaky = Flaky::new(dir.path(), 2, reset);
        flaky.act_first = true;
        let flaky = Arc::new(flaky);
        let t = retrying(&flaky, 2, Duration::from_millis(1));
        t.remove_file(&p("f")).unwrap();
        t.remove_dir(&p("d")).unwrap();
        assert!(!dir.path().join("f").exists() && !dir.path().join("d").exists());
        // Missing from the start: not found, as without retries.
        let err = t.remove_file(&p("f")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }

    #[test]
    fn local_calls_reach_the_local_transport() {
        let dir = tempfile::tempdir().unwrap();
        let flaky = Arc::new(Flaky::new(dir.path(), 0, reset));
        let inner: Arc<dyn Transport> = Arc::new(LocalTransport::new(dir.path()));
        let t: Retrying = Retrying::new(
            inner,
            RetryPolicy::new(1, Duration::ZERO),
            RunControl::new(),
        );
        assert_eq!(t.as_local().map(|l| l.root()), Some(dir.path()));
        assert_eq!(t.local_path(&p("x")), Some(dir.path().join("x")));
        assert_eq!(t.describe(), flaky.describe());
    }
}
