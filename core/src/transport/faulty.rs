//! Fault injection: a transport that fails, breaks off, fills up or slows down on cue, and
//! counts the calls it sees.
//!
//! [`Faulty`] wraps any transport. Each [`Fault`] says which calls it hits ([`Call`] kinds,
//! paths), when (every time, the nth time, n times) and what happens: an error of a given
//! kind, a retryable "connection reset", a full disk, a transfer that breaks off or ends
//! early after some bytes, a delay. Without faults it is the transport it wraps, except
//! that it has no local files: every byte read or written goes through its calls, as with
//! a remote backend.
//!
//! ```
//! use ferrysync::transport::{Call, Fault, Faulty, MemoryTransport, Transport};
//! use ferrysync::{ErrorKind, RelPath};
//!
//! let t = Faulty::new(MemoryTransport::new("dst"))
//!     .with(Fault::on(Call::CreateDir).nth(2).fail(ErrorKind::PermissionDenied));
//! t.create_dir(&RelPath::new("a")?)?;
//! let e = t.create_dir(&RelPath::new("b")?).unwrap_err();
//! assert_eq!(e.kind(), ErrorKind::PermissionDenied);
//! t.create_dir(&RelPath::new("c")?)?;
//! assert_eq!((t.count(Call::CreateDir), t.fired()), (3, 1));
//! # Ok::<(), ferrysync::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::{Capabilities, Entry, Meta, Source, Transport, WriteMode};
use crate::error::{ErrorKind, Result};
use crate::path::RelPath;

/// A kind of transport call, for faults and call counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Call {
    /// [`Transport::stat`].
    Stat,
    /// [`Transport::stat_follow`].
    StatFollow,
    /// [`Transport::read_dir`].
    ReadDir,
    /// [`Transport::open`] (also [`Transport::read_to_vec`]).
    Open,
    /// [`Transport::write`].
    Write,
    /// [`Transport::create_dir`] (also each folder [`Transport::create_dir_all`] makes).
    CreateDir,
    /// [`Transport::set_meta`].
    SetMeta,
    /// [`Transport::remove_file`].
    RemoveFile,
    /// [`Transport::remove_dir`].
    RemoveDir,
    /// [`Transport::rename`].
    Rename,
    /// [`Transport::rename_no_replace`].
    RenameNoReplace,
    /// [`Transport::read_link`].
    ReadLink,
    /// [`Transport::symlink`].
    Symlink,
}

impl Call {
    /// Every kind of call.
    pub const ALL: [Call; 13] = [
        Call::Stat,
        Call::StatFollow,
        Call::ReadDir,
        Call::Open,
        Call::Write,
        Call::CreateDir,
        Call::SetMeta,
        Call::RemoveFile,
        Call::RemoveDir,
        Call::Rename,
        Call::RenameNoReplace,
        Call::ReadLink,
        Call::Symlink,
    ];

    /// The name of the [`Transport`] method.
    pub fn name(self) -> &'static str {
        match self {
            Call::Stat => "stat",
            Call::StatFollow => "stat_follow",
            Call::ReadDir => "read_dir",
            Call::Open => "open",
            Call::Write => "write",
            Call::CreateDir => "create_dir",
            Call::SetMeta => "set_meta",
            Call::RemoveFile => "remove_file",
            Call::RemoveDir => "remove_dir",
            Call::Rename => "rename",
            Call::RenameNoReplace => "rename_no_replace",
            Call::ReadLink => "read_link",
            Call::Symlink => "symlink",
        }
    }

    /// Whether bytes flow through the call (its faults can strike after some of them).
    fn carries_data(self) -> bool {
        matches!(self, Call::Open | Call::Write)
    }
}

/// Which paths a fault hits.
#[derive(Clone)]
enum Paths {
    Any,
    Under(RelPath),
    Matching(Arc<dyn Fn(&RelPath) -> bool + Send + Sync>),
}

impl Paths {
    fn hit(&self, path: &RelPath) -> bool {
        match self {
            Paths::Any => true,
            Paths::Under(top) => path.starts_with(top),
            Paths::Matching(f) => f(path),
        }
    }
}

/// What a fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Fail(ErrorKind),
    Reset,
    DiskFull,
    EndEarly,
    Delay(Duration),
}

/// A fault to inject: which calls it hits, which of them, and what it does to them.
///
/// Made with [`Fault::on`] (and friends), narrowed with [`Fault::under`],
/// [`Fault::matching`], [`Fault::nth`] and [`Fault::times`], given its effect with
/// [`Fault::fail`] (the default: an [`ErrorKind::Io`]), [`Fault::reset`],
/// [`Fault::disk_full`], [`Fault::short_read`] or [`Fault::delay`].
///
/// Calls are counted per fault: a fault's nth call is the nth call it hits (kind and path),
/// whatever other faults do with it.
#[derive(Clone)]
pub struct Fault {
    calls: Vec<Call>,
    paths: Paths,
    first: u64,
    times: Option<u64>,
    effect: Effect,
    after_bytes: Option<u64>,
}

impl fmt::Debug for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let paths = match &self.paths {
            Paths::Any => "any".to_owned(),
            Paths::Under(top) => format!("under {top}"),
            Paths::Matching(_) => "matching a test".to_owned(),
        };
        f.debug_struct("Fault")
            .field("calls", &self.calls)
            .field("paths", &paths)
            .field("first", &self.first)
            .field("times", &self.times)
            .field("effect", &self.effect)
            .field("after_bytes", &self.after_bytes)
            .finish()
    }
}

impl Fault {
    /// A fault hitting every call of kind `call`.
    pub fn on(call: Call) -> Fault {
        Fault::on_any(&[call])
    }

    /// A fault hitting every call of the kinds `calls`.
    pub fn on_any(calls: &[Call]) -> Fault {
        Fault {
            calls: calls.to_vec(),
            paths: Paths::Any,
            first: 1,
            times: None,
            effect: Effect::Fail(ErrorKind::Io),
            after_bytes: None,
        }
    }

    /// A fault hitting every call of every kind.
    pub fn on_every_call() -> Fault {
        Fault::on_any(&Call::ALL)
    }

    /// Only calls on `path` or below it (for renames, either name).
    ///
    /// # Panics
    /// When `path` is not a valid relative path.
    pub fn under(mut self, path: &str) -> Fault {
        let top = RelPath::new(path).unwrap_or_else(|e| panic!("Fault::under: {e}"));
        self.paths = Paths::Under(top);
        self
    }

    /// Only calls on paths for which `test` holds (for renames, either name).
    pub fn matching(mut self, test: impl Fn(&RelPath) -> bool + Send + Sync + 'static) -> Fault {
        self.paths = Paths::Matching(Arc::new(test));
        self
    }

    /// Only the `n`th call hit (counting from 1), or with [`Fault::times`] the calls from
    /// the `n`th on.
    pub fn nth(mut self, n: u64) -> Fault {
        self.first = n.max(1);
        self.times = self.times.or(Some(1));
        self
    }

    /// Only `k` calls: the first `k`, or `k` from the [`Fault::nth`] on.
    pub fn times(mut self, k: u64) -> Fault {
        self.times = Some(k);
        self
    }

    /// The call fails with an error of `kind` naming its path (for a rename, `from`).
    pub fn fail(mut self, kind: ErrorKind) -> Fault {
        self.effect = Effect::Fail(kind);
        self
    }

    /// The connection is reset: an I/O error that [`Error::is_retryable`] says may pass.
    ///
    /// [`Error::is_retryable`]: crate::Error::is_retryable
    pub fn reset(mut self) -> Fault {
        self.effect = Effect::Reset;
        self
    }

    /// The disk is full (`ENOSPC`, not retryable). With [`Fault::after_bytes`], only once
    /// that many bytes have gone through all the calls it hits together, as a disk fills up.
    pub fn disk_full(mut self) -> Fault {
        self.effect = Effect::DiskFull;
        self
    }

    /// The transfer ends early, without an error, after `bytes` of it: a reader from
    /// [`Transport::open`] (or a write's source) gives only that many bytes.
    pub fn short_read(mut self, bytes: u64) -> Fault {
        self.effect = Effect::EndEarly;
        self.after_bytes = Some(bytes);
        self
    }

    /// The call waits `delay`, then goes on (a slow server).
    pub fn delay(mut self, delay: Duration) -> Fault {
        self.effect = Effect::Delay(delay);
        self
    }

    /// For calls that carry data ([`Call::Open`], [`Call::Write`]): the fault strikes in
    /// the middle of the transfer, after `bytes` of it, and only if there is more. The
    /// reader of an open then fails (or ends), a write fails with the fault's error, leaving
    /// the target as a failed write of that mode does. Other calls fail at once.
    pub fn after_bytes(mut self, bytes: u64) -> Fault {
        self.after_bytes = Some(bytes);
        self
    }

    fn hits(&self, call: Call, paths: &[&RelPath]) -> bool {
        self.calls.contains(&call) && paths.iter().any(|p| self.paths.hit(p))
    }
}

/// The errors faults inject, made in one place.
mod injected {
    use std::io;
    use std::path::PathBuf;

    use super::Effect;
    use crate::error::{Error, ErrorKind};

    /// The error a call fails with at once.
    pub(super) fn error(effect: Effect, path: PathBuf) -> Error {
        match effect {
            Effect::Fail(kind) => {
                Error::new(kind, format!("injected fault: {kind}")).with_path(path)
            }
            other => Error::io(path, io_error(other)),
        }
    }

    /// The same error as a reader or a source gives it (in the middle of a transfer).
    pub(super) fn io_error(effect: Effect) -> io::Error {
        match effect {
            Effect::Reset => io::Error::new(
                io::ErrorKind::ConnectionReset,
                "connection reset by peer (injected fault)",
            ),
            // ENOSPC: "No space left on device".
            Effect::DiskFull => io::Error::from_raw_os_error(28),
            Effect::Fail(kind) => {
                let nearest = match kind {
                    ErrorKind::NotFound => io::ErrorKind::NotFound,
                    ErrorKind::AlreadyExists => io::ErrorKind::AlreadyExists,
                    ErrorKind::PermissionDenied => io::ErrorKind::PermissionDenied,
                    ErrorKind::InvalidInput => io::ErrorKind::InvalidInput,
                    ErrorKind::NotSupported => io::ErrorKind::Unsupported,
                    ErrorKind::Busy => io::ErrorKind::TimedOut,
                    _ => io::ErrorKind::Other,
                };
                io::Error::new(nearest, format!("injected fault: {kind}"))
            }
            Effect::EndEarly | Effect::Delay(_) => io::Error::other("injected fault"),
        }
    }

    /// A file source that changed while it was copied.
    pub(super) fn changed(path: PathBuf) -> Error {
        Error::new(
            ErrorKind::Busy,
            "changed while being copied; will be copied on the next run",
        )
        .with_path(path)
    }
}

/// Wraps a transport and injects [`Fault`]s into its calls; counts every call by kind.
///
/// It can be shared between threads (the engine calls from many) and changed while in use:
/// [`Faulty::inject`] and [`Faulty::clear`] take `&self`, so a test can fail a first run
/// and clear the faults for the next. It has no local files ([`Transport::open_local`],
/// [`Transport::local_path`] and [`Transport::as_local`] are `None`), so callers read and
/// write every byte through it.
pub struct Faulty<T> {
    inner: T,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    counts: BTreeMap<Call, u64>,
    log: Vec<(Call, RelPath)>,
    fired: u64,
}

struct Rule {
    fault: Fault,
    /// Calls hit so far.
    seen: u64,
    /// Bytes left before a full disk, for a disk-full fault after some bytes.
    space: Arc<Mutex<u64>>,
}

impl<T: fmt::Debug> fmt::Debug for Faulty<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let faults: Vec<Fault> = lock(&self.state)
            .rules
            .iter()
            .map(|r| r.fault.clone())
            .collect();
        f.debug_struct("Faulty")
            .field("inner", &self.inner)
            .field("faults", &faults)
            .finish()
    }
}

/// How a call goes, decided when it starts.
#[derive(Default)]
struct Hit {
    delay: Duration,
    /// The fault that fails the call at once.
    fail: Option<Effect>,
    /// Faults that strike during the transfer.
    stream: Vec<Strike>,
}

/// A fault that strikes after some bytes of a transfer.
struct Strike {
    effect: Effect,
    left: Left,
}

enum Left {
    /// Bytes of this transfer before it strikes.
    Here(u64),
    /// Space left on the disk, shared by all the transfers the fault hits.
    Shared(Arc<Mutex<u64>>),
}

impl Left {
    fn get(&self) -> u64 {
        match self {
            Left::Here(n) => *n,
            Left::Shared(space) => *lock(space),
        }
    }

    fn take(&mut self, n: u64) {
        match self {
            Left::Here(left) => *left = left.saturating_sub(n),
            Left::Shared(space) => {
                let mut left = lock(space);
                *left = left.saturating_sub(n);
            }
        }
    }
}

fn lock<X>(m: &Mutex<X>) -> MutexGuard<'_, X> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<T: Transport> Faulty<T> {
    /// `inner`, with no faults yet.
    pub fn new(inner: T) -> Faulty<T> {
        Faulty {
            inner,
            state: Mutex::new(State::default()),
        }
    }

    /// This transport with `fault` added.
    pub fn with(self, fault: Fault) -> Faulty<T> {
        self.inject(fault);
        self
    }

    /// Adds `fault` (from now on; its calls are counted from here).
    pub fn inject(&self, fault: Fault) {
        let space = Arc::new(Mutex::new(fault.after_bytes.unwrap_or(0)));
        self.state().rules.push(Rule {
            fault,
            seen: 0,
            space,
        });
    }

    /// Removes every fault; counts and the log stay.
    pub fn clear(&self) {
        self.state().rules.clear();
    }

    /// The transport this one wraps.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// How many calls of kind `call` were made so far (failed ones included).
    pub fn count(&self, call: Call) -> u64 {
        self.state().counts.get(&call).copied().unwrap_or(0)
    }

    /// Every call so far, in order, with its path (for a rename, `from`).
    pub fn calls(&self) -> Vec<(Call, RelPath)> {
        self.state().log.clone()
    }

    /// How many times a fault struck or was set to strike during a transfer.
    pub fn fired(&self) -> u64 {
        self.state().fired
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// `path` as errors name it.
    fn shown(&self, path: &RelPath) -> PathBuf {
        self.inner
            .local_path(path)
            .unwrap_or_else(|| path.to_path(Path::new(&self.inner.describe())))
    }

    /// Counts the call and decides how it goes; waits the delays and fails it when a fault
    /// says so.
    fn enter(&self, call: Call, paths: &[&RelPath]) -> Result<Hit> {
        let mut hit = Hit::default();
        {
            let mut state = self.state();
            *state.counts.entry(call).or_default() += 1;
            state.log.push((call, paths[0].clone()));
            let mut fired = 0;
            for rule in &mut state.rules {
                let fault = &rule.fault;
                if !fault.hits(call, paths) {
                    continue;
                }
                rule.seen += 1;
                let from = fault.first;
                if rule.seen < from || fault.times.is_some_and(|k| rule.seen >= from + k) {
                    continue;
                }
                let during = fault.after_bytes.filter(|_| call.carries_data());
                match (fault.effect, during) {
                    (Effect::Delay(d), _) => hit.delay += d,
                    (Effect::DiskFull, Some(_)) => hit.stream.push(Strike {
                        effect: Effect::DiskFull,
                        left: Left::Shared(Arc::clone(&rule.space)),
                    }),
                    (effect, Some(bytes)) => hit.stream.push(Strike {
                        effect,
                        left: Left::Here(bytes),
                    }),
                    (Effect::EndEarly, None) if call.carries_data() => hit.stream.push(Strike {
                        effect: Effect::EndEarly,
                        left: Left::Here(0),
                    }),
                    (Effect::EndEarly, None) => continue,
                    (effect, None) => {
                        hit.fail.get_or_insert(effect);
                    }
                }
                fired += 1;
            }
            state.fired += fired;
        }
        if !hit.delay.is_zero() {
            std::thread::sleep(hit.delay);
        }
        match hit.fail {
            Some(effect) => Err(injected::error(effect, self.shown(paths[0]))),
            None => Ok(hit),
        }
    }
}

/// A reader the faults of a transfer strike in.
struct Struck<R> {
    inner: R,
    strikes: Vec<Strike>,
    /// The fault that struck, once one did.
    struck: Option<Effect>,
}

impl<R> Struck<R> {
    fn new(inner: R, strikes: Vec<Strike>) -> Struck<R> {
        Struck {
            inner,
            strikes,
            struck: None,
        }
    }
}

impl<R: Read> Read for Struck<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.struck {
            Some(Effect::EndEarly) => return Ok(0),
            Some(effect) => return Err(injected::io_error(effect)),
            None => {}
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let room = self.strikes.iter().map(|s| s.left.get()).min();
        match room {
            None => self.inner.read(buf),
            Some(0) => {
                // A fault strikes only where there is more to transfer.
                let mut probe = [0u8; 1];
                if read_some(&mut self.inner, &mut probe)? == 0 {
                    return Ok(0);
                }
                let effect = self
                    .strikes
                    .iter()
                    .find(|s| s.left.get() == 0)
                    .map_or(Effect::EndEarly, |s| s.effect);
                self.struck = Some(effect);
                self.read(buf)
            }
            Some(room) => {
                let want = usize::try_from(room).unwrap_or(usize::MAX).min(buf.len());
                let n = self.inner.read(&mut buf[..want])?;
                for s in &mut self.strikes {
                    s.left.take(n as u64);
                }
                Ok(n)
            }
        }
    }
}

/// One read, retried while interrupted.
fn read_some(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// A [`Source::File`] read as a stream (so faults can strike in it), checked as a
/// transport checks it: when its size or time changed, the stream fails at its end.
struct FileStream<'a> {
    file: &'a std::fs::File,
    size: u64,
    mtime_ns: i64,
    at: u64,
    changed: bool,
}

impl Read for FileStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at < self.size && !buf.is_empty() {
            let want = usize::try_from(self.size - self.at)
                .unwrap_or(usize::MAX)
                .min(buf.len());
            let n = self.file.read_at(&mut buf[..want], self.at)?;
            if n > 0 {
                self.at += n as u64;
                return Ok(n);
            }
        }
        let now = self.file.metadata()?;
        if self.at != self.size || now.len() != self.size || super::mtime_ns(&now) != self.mtime_ns
        {
            self.changed = true;
            return Err(io::Error::other("changed while being copied"));
        }
        Ok(0)
    }
}

impl<T: Transport> Transport for Faulty<T> {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn stat(&self, path: &RelPath) -> Result<Option<Entry>> {
        self.enter(Call::Stat, &[path])?;
        self.inner.stat(path)
    }

    fn stat_follow(&self, path: &RelPath) -> Result<Option<Entry>> {
        self.enter(Call::StatFollow, &[path])?;
        self.inner.stat_follow(path)
    }

    fn read_dir(&self, dir: &RelPath) -> Result<Vec<Entry>> {
        self.enter(Call::ReadDir, &[dir])?;
        self.inner.read_dir(dir)
    }

    fn open(&self, path: &RelPath) -> Result<Box<dyn Read + Send>> {
        let hit = self.enter(Call::Open, &[path])?;
        let reader = self.inner.open(path)?;
        if hit.stream.is_empty() {
            return Ok(reader);
        }
        Ok(Box::new(Struck::new(reader, hit.stream)))
    }

    fn write(
        &self,
        path: &RelPath,
        source: Source<'_>,
        meta: &Meta,
        mode: WriteMode,
    ) -> Result<u64> {
        let hit = self.enter(Call::Write, &[path])?;
        if hit.stream.is_empty() {
            return self.inner.write(path, source, meta, mode);
        }
        let (result, struck, changed) = match source {
            Source::Stream(input) => {
                let mut input = Struck::new(input, hit.stream);
                let result = self
                    .inner
                    .write(path, Source::Stream(&mut input), meta, mode);
                (result, input.struck, false)
            }
            Source::File {
                file,
                size,
                mtime_ns,
            } => {
                let mut file = FileStream {
                    file,
                    size,
                    mtime_ns,
                    at: 0,
                    changed: false,
                };
                let mut input = Struck::new(&mut file, hit.stream);
                let result = self
                    .inner
                    .write(path, Source::Stream(&mut input), meta, mode);
                let struck = input.struck;
                (result, struck, file.changed)
            }
        };
        match (result, struck) {
            (Err(_), _) if changed => Err(injected::changed(self.shown(path))),
            (Err(_), Some(effect)) if effect != Effect::EndEarly => {
                Err(injected::error(effect, self.shown(path)))
            }
            (result, _) => result,
        }
    }

    fn create_dir(&self, path: &RelPath) -> Result<()> {
        self.enter(Call::CreateDir, &[path])?;
        self.inner.create_dir(path)
    }

    fn set_meta(&self, path: &RelPath, meta: &Meta) -> Result<()> {
        self.enter(Call::SetMeta, &[path])?;
        self.inner.set_meta(path, meta)
    }

    fn remove_file(&self, path: &RelPath) -> Result<()> {
        self.enter(Call::RemoveFile, &[path])?;
        self.inner.remove_file(path)
    }

    fn remove_dir(&self, path: &RelPath) -> Result<()> {
        self.enter(Call::RemoveDir, &[path])?;
        self.inner.remove_dir(path)
    }

    fn rename(&self, from: &RelPath, to: &RelPath) -> Result<()> {
        self.enter(Call::Rename, &[from, to])?;
        self.inner.rename(from, to)
    }

    fn rename_no_replace(&self, from: &RelPath, to: &RelPath) -> Result<()> {
        self.enter(Call::RenameNoReplace, &[from, to])?;
        self.inner.rename_no_replace(from, to)
    }

    fn read_link(&self, path: &RelPath) -> Result<Vec<u8>> {
        self.enter(Call::ReadLink, &[path])?;
        self.inner.read_link(path)
    }

    fn symlink(&self, path: &RelPath, target: &[u8]) -> Result<()> {
        self.enter(Call::Symlink, &[path])?;
        self.inner.symlink(path, target)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::time::Instant;

    use super::*;
    use crate::error::Error;
    use crate::transport::{EntryKind, MemoryTransport};

    fn p(s: &str) -> RelPath {
        RelPath::new(s).unwrap()
    }

    fn write(t: &dyn Transport, path: &str, data: &[u8], mode: WriteMode) -> Result<u64> {
        let mut input = data;
        let meta = Meta {
            mtime_ns: 1_600_000_000_000_000_000,
            ..Meta::default()
        };
        t.write(&p(path), Source::Stream(&mut input), &meta, mode)
    }

    fn put(t: &dyn Transport, path: &str, data: &[u8]) -> Result<u64> {
        write(t, path, data, WriteMode::Atomic)
    }

    /// A tree in which every kind of call has an entry of its own to act on.
    fn tree() -> MemoryTransport {
        let t = MemoryTransport::new("faulty");
        for f in ["f", "a", "b", "c"] {
            put(&t, f, b"0123456789").unwrap();
        }
        t.create_dir(&p("e")).unwrap();
        t.symlink(&p("l"), b"f").unwrap();
        t
    }

    /// One call of each kind, each on entries of its own, and how it went; the path it
    /// names first.
    fn tour(t: &dyn Transport) -> Vec<(Call, &'static str, Result<()>)> {
        vec![
            (Call::Stat, "f", t.stat(&p("f")).map(drop)),
            (Call::StatFollow, "l", t.stat_follow(&p("l")).map(drop)),
            (Call::ReadDir, "e", t.read_dir(&p("e")).map(drop)),
            (Call::Open, "f", t.read_to_vec(&p("f")).map(drop)),
            (Call::Write, "g", put(t, "g", b"new").map(drop)),
            (Call::CreateDir, "d", t.create_dir(&p("d"))),
            (Call::SetMeta, "f", t.set_meta(&p("f"), &Meta::default())),
            (Call::RemoveFile, "c", t.remove_file(&p("c"))),
            (Call::RemoveDir, "e", t.remove_dir(&p("e"))),
            (Call::Rename, "a", t.rename(&p("a"), &p("a2"))),
            (
                Call::RenameNoReplace,
                "b",
                t.rename_no_replace(&p("b"), &p("b2")),
            ),
            (Call::ReadLink, "l", t.read_link(&p("l")).map(drop)),
            (Call::Symlink, "l2", t.symlink(&p("l2"), b"f")),
        ]
    }

    fn names(e: &Error, path: &str) -> bool {
        e.path() == Some(Path::new("memory:faulty").join(path).as_path())
    }

    #[test]
    fn without_faults_every_call_goes_through_and_is_counted() {
        let t = Faulty::new(tree());
        let toured = tour(&t);
        let kinds: Vec<Call> = toured.iter().map(|(c, _, _)| *c).collect();
        assert_eq!(kinds, Call::ALL, "the tour makes every kind of call");
        for (call, _, result) in toured {
            result.unwrap_or_else(|e| panic!("{}: {e}", call.name()));
            assert_eq!(t.count(call), 1, "{}", call.name());
        }
        let logged: Vec<(Call, RelPath)> = tour_paths();
        assert_eq!(t.calls(), logged);
        assert_eq!(t.fired(), 0);
        // What the calls did, they did to the tree inside.
        let inside = t.inner();
        assert_eq!(inside.read_to_vec(&p("g")).unwrap(), b"new");
        assert_eq!(
            inside.stat(&p("a2")).unwrap().unwrap().kind,
            EntryKind::File
        );
        // Calls made of other calls are counted as those.
        t.create_dir_all(&p("x/y")).unwrap();
        assert_eq!(t.count(Call::CreateDir), 3);
        // No local files: every byte goes through the calls.
        assert!(t.open_local(&p("f")).unwrap().is_none());
        assert!(t.local_path(&p("f")).is_none());
        assert!(t.as_local().is_none());
    }

    fn tour_paths() -> Vec<(Call, RelPath)> {
        tour(&tree())
            .into_iter()
            .map(|(c, path, _)| (c, p(path)))
            .collect()
    }

    #[test]
    fn each_kind_of_call_fails_when_and_only_when_a_fault_names_it() {
        for failing in Call::ALL {
            let t = Faulty::new(tree()).with(Fault::on(failing).fail(ErrorKind::PermissionDenied));
            for (call, path, result) in tour(&t) {
                if call == failing {
                    let e = result.expect_err(call.name());
                    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
                    assert!(e.message().contains("injected"), "{e}");
                    assert!(names(&e, path), "{}: {e} names {path}", call.name());
                } else {
                    result.unwrap_or_else(|e| {
                        panic!("{} under a {failing:?} fault: {e}", call.name())
                    });
                }
            }
            assert_eq!(t.fired(), 1, "{failing:?}");
        }
        // A failed call did nothing.
        let t = Faulty::new(tree()).with(Fault::on_any(&[Call::Write, Call::Rename]));
        put(&t, "f", b"changed").unwrap_err();
        t.rename(&p("a"), &p("z")).unwrap_err();
        assert_eq!(t.inner().read_to_vec(&p("f")).unwrap(), b"0123456789");
        assert!(t.inner().stat(&p("z")).unwrap().is_none());
        // Every call of every kind.
        let t = Faulty::new(tree()).with(Fault::on_every_call().fail(ErrorKind::Unavailable));
        for (call, _, result) in tour(&t) {
            assert_eq!(
                result.unwrap_err().kind(),
                ErrorKind::Unavailable,
                "{call:?}"
            );
        }
    }

    #[test]
    fn a_fault_hits_the_nth_call_or_a_number_of_calls() {
        let outcomes = |fault: Fault| {
            let t = Faulty::new(tree()).with(fault);
            let got: Vec<bool> = (0..5)
                .map(|i| t.create_dir(&p(&format!("d{i}"))).is_ok())
                .collect();
            (got, t.fired())
        };
        let on = || Fault::on(Call::CreateDir);
        assert_eq!(outcomes(on()), (vec![false; 5], 5));
        assert_eq!(
            outcomes(on().nth(2)),
            (vec![true, false, true, true, true], 1)
        );
        assert_eq!(
            outcomes(on().times(2)),
            (vec![false, false, true, true, true], 2)
        );
        assert_eq!(
            outcomes(on().nth(2).times(3)),
            (vec![true, false, false, false, true], 3)
        );
        assert_eq!(
            outcomes(on().times(3).nth(2)),
            (vec![true, false, false, false, true], 3)
        );
        // Calls of other kinds and paths do not count towards the nth.
        let t = Faulty::new(tree()).with(Fault::on(Call::Stat).under("a").nth(2));
        for _ in 0..3 {
            t.stat(&p("b")).unwrap();
            t.read_dir(&RelPath::root()).unwrap();
        }
        t.stat(&p("a")).unwrap();
        t.stat(&p("a")).unwrap_err();
        t.stat(&p("a")).unwrap();
    }

    #[test]
    fn a_fault_hits_only_the_paths_it_names() {
        let t = Faulty::new(tree()).with(Fault::on_every_call().under("sub"));
        t.create_dir(&p("sub")).unwrap_err();
        t.inner().create_dir(&p("sub")).unwrap();
        t.inner().create_dir(&p("subway")).unwrap();
        put(&t, "sub/x", b"x").unwrap_err();
        put(&t, "subway/x", b"x").unwrap();
        t.rename(&p("subway/x"), &p("sub/x")).unwrap_err();
        t.rename(&p("subway/x"), &p("f")).unwrap();
        t.stat(&p("e")).unwrap();
        assert_eq!(t.fired(), 3);
        let t = Faulty::new(tree())
            .with(Fault::on(Call::Write).matching(|path| path.file_name().ends_with(b".part")));
        put(&t, "x.part", b"x").unwrap_err();
        put(&t, "x.partial", b"x").unwrap();
    }

    #[test]
    fn a_reset_is_retryable_and_a_full_disk_is_not() {
        let fail = |fault: Fault| {
            let t = Faulty::new(tree()).with(fault);
            put(&t, "f", b"new").unwrap_err()
        };
        let reset = fail(Fault::on(Call::Write).reset());
        assert_eq!(reset.kind(), ErrorKind::Network);
        assert!(reset.is_retryable(), "{reset}");
        assert!(reset.message().contains("connection reset"), "{reset}");
        assert!(names(&reset, "f"));
        let full = fail(Fault::on(Call::Write).disk_full());
        assert_eq!(full.kind(), ErrorKind::NoSpace);
        assert!(!full.is_retryable(), "{full}");
        assert!(full.message().contains("No space left"), "{full}");
        assert!(names(&full, "f"));
        let busy = fail(Fault::on(Call::Write).fail(ErrorKind::Busy));
        assert!(busy.is_retryable(), "{busy}");
        let denied = fail(Fault::on(Call::Write).fail(ErrorKind::PermissionDenied));
        assert!(!denied.is_retryable(), "{denied}");
    }

    #[test]
    fn a_short_read_ends_the_reader_early_and_only_if_there_is_more() {
        let t = Faulty::new(tree()).with(Fault::on(Call::Open).short_read(4));
        assert_eq!(t.read_to_vec(&p("f")).unwrap(), b"0123");
        t.inner().remove_file(&p("g")).ok();
        put(t.inner(), "g", b"0123").unwrap();
        assert_eq!(t.read_to_vec(&p("g")).unwrap(), b"0123");
        let mut reader = t.open(&p("f")).unwrap();
        let mut buf = [0u8; 3];
        assert_eq!(reader.read(&mut buf).unwrap(), 3);
        assert_eq!(reader.read(&mut buf).unwrap(), 1);
        assert_eq!(reader.read(&mut buf).unwrap(), 0);
        assert_eq!(reader.read(&mut buf).unwrap(), 0, "an end stays the end");
        // Only the calls it hits.
        let t = Faulty::new(tree()).with(Fault::on(Call::Open).under("a").short_read(2));
        assert_eq!(t.read_to_vec(&p("f")).unwrap(), b"0123456789");
        assert_eq!(t.read_to_vec(&p("a")).unwrap(), b"01");
        // A write whose source ends early writes what it got.
        let t = Faulty::new(tree()).with(Fault::on(Call::Write).short_read(2));
        assert_eq!(put(&t, "f", b"abcdef").unwrap(), 2);
        assert_eq!(t.inner().read_to_vec(&p("f")).unwrap(), b"ab");
    }

    #[test]
    fn a_transfer_breaks_off_after_some_bytes() {
        // A reader.
        let t = Faulty::new(tree()).with(Fault::on(Call::Open).reset().after_bytes(3));
        let mut reader = t.open(&p("f")).unwrap();
        let mut got = Vec::new();
        let e = reader.read_to_end(&mut got).unwrap_err();
        assert_eq!(
            (got.as_slice(), e.kind()),
            (&b"012"[..], io::ErrorKind::ConnectionReset)
        );
        let again = reader.read(&mut [0u8; 8]).unwrap_err();
        assert_eq!(
            again.kind(),
            io::ErrorKind::ConnectionReset,
            "a broken reader stays broken"
        );
        let e = t.read_to_vec(&p("a")).unwrap_err();
        assert!(e.is_retryable() && names(&e, "a"), "{e}");
        // An atomic write changes nothing; a direct one leaves a torn file.
        let t = Faulty::new(tree()).with(Fault::on(Call::Write).reset().after_bytes(3));
        let e = write(&t, "f", b"abcdefgh", WriteMode::Atomic).unwrap_err();
        assert!(e.is_retryable() && names(&e, "f"), "{e}");
        assert_eq!(t.inner().read_to_vec(&p("f")).unwrap(), b"0123456789");
        write(&t, "f", b"abcdefgh", WriteMode::Direct).unwrap_err();
        assert_eq!(t.inner().read_to_vec(&p("f")).unwrap(), b"abc");
        // Nothing breaks where the transfer is no longer than that.
        write(&t, "f", b"abc", WriteMode::Atomic).unwrap();
        // With an error of another kind.
        let t = Faulty::new(tree()).with(
            Fault::on(Call::Write)
                .fail(ErrorKind::PermissionDenied)
                .after_bytes(1),
        );
        let e = put(&t, "f", b"abc").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    }

    #[test]
    fn a_disk_fills_up_across_writes() {
        let t = Faulty::new(tree()).with(Fault::on(Call::Write).disk_full().after_bytes(10));
        put(&t, "one", b"123456").unwrap();
        put(&t, "two", b"7890").unwrap();
        put(&t, "empty", b"").unwrap();
        let e = put(&t, "f", b"x").unwrap_err();
        assert!(
            e.message().contains("No space left") && names(&e, "f"),
            "{e}"
        );
        assert_eq!(t.inner().read_to_vec(&p("f")).unwrap(), b"0123456789");
        // Until space is made (the fault cleared).
        t.clear();
        put(&t, "f", b"x").unwrap();
        // A write larger than the space left fails in the middle.
        let t = Faulty::new(tree()).with(Fault::on(Call::Write).disk_full().after_bytes(4));
        write(&t, "big", b"0123456789", WriteMode::Direct).unwrap_err();
        assert_eq!(t.inner().read_to_vec(&p("big")).unwrap(), b"0123");
    }

    #[test]
    fn a_file_source_is_checked_as_ever_when_faults_read_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("source");
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(b"local file").unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let t = Faulty::new(tree()).with(Fault::on(Call::Write).short_read(100));
        let meta = Meta::default();
        let source = Source::of_file(&file).unwrap();
        assert_eq!(
            t.write(&p("f"), source, &meta, WriteMode::Atomic).unwrap(),
            10
        );
        assert_eq!(t.inner().read_to_vec(&p("f")).unwrap(), b"local file");
        let Source::File { size, mtime_ns, .. } = Source::of_file(&file).unwrap() else {
            unreachable!()
        };
        for (size, mtime_ns) in [
            (size + 1, mtime_ns),
            (size, mtime_ns - 1),
            (size - 1, mtime_ns),
        ] {
            let source = Source::File {
                file: &file,
                size,
                mtime_ns,
            };
            let e = t
                .write(&p("g"), source, &meta, WriteMode::Atomic)
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Busy, "{e}");
            assert!(names(&e, "g"), "{e}");
            assert!(t.inner().stat(&p("g")).unwrap().is_none());
        }
        let t = Faulty::new(tree()).with(Fault::on(Call::Write).reset().after_bytes(2));
        let e = t
            .write(
                &p("f"),
                Source::of_file(&file).unwrap(),
                &meta,
                WriteMode::Atomic,
            )
            .unwrap_err();
        assert!(e.is_retryable(), "{e}");
        assert_eq!(t.inner().read_to_vec(&p("f")).unwrap(), b"0123456789");
    }

    #[test]
    fn a_slow_call_waits_then_goes_through() {
        let t = Faulty::new(tree()).with(Fault::on(Call::Stat).delay(Duration::from_millis(60)));
        let started = Instant::now();
        assert!(t.stat(&p("f")).unwrap().is_some());
        assert!(started.elapsed() >= Duration::from_millis(60));
        assert_eq!(t.fired(), 1);
        t.read_dir(&RelPath::root()).unwrap();
        assert_eq!(t.fired(), 1, "other calls are not slowed");
    }

    #[test]
    fn faults_come_and_go_while_the_transport_is_in_use() {
        let t = Faulty::new(tree());
        t.stat(&p("f")).unwrap();
        t.inject(Fault::on(Call::Stat).nth(2));
        t.stat(&p("f")).unwrap();
        t.stat(&p("f")).unwrap_err();
        t.inject(Fault::on(Call::Stat));
        t.stat(&p("f")).unwrap_err();
        t.clear();
        t.stat(&p("f")).unwrap();
        assert_eq!((t.count(Call::Stat), t.fired()), (5, 2));
    }

    #[test]
    fn calls_from_many_threads_are_each_counted_once() {
        let t = Faulty::new(tree()).with(Fault::on(Call::Stat).nth(100));
        let failures: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| (0..50).filter(|_| t.stat(&p("f")).is_err()).count()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!((failures, t.count(Call::Stat), t.fired()), (1, 400, 1));
    }
}
