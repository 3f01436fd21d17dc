//! Where replicas live: the [`Transport`] trait and its backends.
//!
//! A transport is a small, blocking interface to one tree (a local folder now; SFTP, FTP,
//! WebDAV and object stores later). Every backend maps its own failures into [`Error`](crate::Error)s by
//! meaning and names the path that failed.
//!
//! Every path a transport writes, renames or deletes stays below its root: a symbolic link
//! inside the tree is never followed to change anything (safety rule 8). A link where a
//! folder is needed fails the call, naming the link; a link as the final name is itself
//! removed, renamed or replaced. Reads follow links only where the transport was made to
//! (a source whose profile follows them, [`LocalTransport::following_links`]).
//!
//! Backends: [`LocalTransport`] (local and mounted folders) and [`MemoryTransport`] (a tree
//! in memory, for tests and embedding). With the `test-support` feature, for tests of other
//! crates too: `Faulty` (fault injection over any transport), `Tree` (trees written as a
//! few lines of text) and `conformance` (the checks every backend passes).
//!
//! Decorators wrap a transport and are one themselves: [`Retrying`] tries calls that fail
//! for a passing reason again, with growing waits.
//!
//! The engine gets every transport from one [`TransportFactory`] (by default
//! [`LocalTransports`]), which turns a [`Location`](crate::Location) into a backend: the one
//! place that names one.

mod beneath;
#[cfg(any(test, feature = "test-support"))]
pub mod conformance;
mod factory;
#[cfg(any(test, feature = "test-support"))]
mod faulty;
mod local;
mod memory;
mod prefixed;
mod retrying;
#[cfg(any(test, feature = "test-support"))]
mod tree;

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Result;
use crate::path::RelPath;

pub use crate::vocab::{Entry, EntryKind, Meta};
pub(crate) use factory::not_supported;
pub use factory::{LocalTransports, Role, TransportFactory, TransportRequest};
#[cfg(any(test, feature = "test-support"))]
pub use faulty::{Call, Fault, Faulty};
pub(crate) use local::entry_from_metadata;
pub use local::LocalTransport;
pub use memory::MemoryTransport;
pub(crate) use prefixed::Prefixed;
pub use retrying::{RetryPolicy, Retrying};
#[cfg(any(test, feature = "test-support"))]
pub use tree::Tree;

/// How a file is written into place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Write the file where no one sees it (an unnamed or temporary file in the same folder)
    /// and give it the target's name only once it is complete and its source is unchanged: a
    /// crash leaves the old file or the new one, never a torn one.
    Atomic,
    /// Write the target in place (the profile's "copy directly").
    Direct,
}

/// Where the bytes of a written file come from.
pub enum Source<'a> {
    /// An open local file as its caller saw it (size and modification time): backends may
    /// copy it with `copy_file_range`/reflink. They copy `size` bytes from its start, whatever
    /// the file's position (so a write can be tried again), and then check the
    /// file again: when its size or time changed meanwhile, the write fails with
    /// [`ErrorKind::Busy`](crate::ErrorKind::Busy), and an atomic write leaves the target as
    /// it was.
    File {
        /// The open file.
        file: &'a std::fs::File,
        /// Its size when the caller looked.
        size: u64,
        /// Its modification time when the caller looked, in nanoseconds.
        mtime_ns: i64,
    },
    /// Any stream.
    Stream(&'a mut (dyn Read + Send)),
}

impl<'a> Source<'a> {
    /// An open file as it is now (one `fstat`).
    ///
    /// # Errors
    /// The `fstat` failed.
    pub fn of_file(file: &'a std::fs::File) -> std::io::Result<Source<'a>> {
        let md = file.metadata()?;
        Ok(Source::File {
            file,
            size: md.len(),
            mtime_ns: mtime_ns(&md),
        })
    }
}

/// A stream of a file listed at `size` bytes that gives exactly that many, or fails: one
/// that ends early (a transfer broken off, a file cut short) fails at its end with an I/O
/// error, one that goes on (a file that grew) fails as [`ErrorKind::Busy`](crate::ErrorKind::Busy).
/// Given as a [`Source::Stream`] to an atomic write, it leaves the target as it was: a
/// short or torn copy never takes a file's place.
pub(crate) struct ExactStream<R> {
    inner: R,
    size: u64,
    read: u64,
    failed: bool,
}

impl<R: Read> ExactStream<R> {
    /// `inner`, which should give `size` bytes.
    pub(crate) fn new(inner: R, size: u64) -> ExactStream<R> {
        ExactStream {
            inner,
            size,
            read: 0,
            failed: false,
        }
    }

    /// Whether reading failed (the stream's own error, or a size other than the one listed):
    /// a write that fails then failed because of its source.
    pub(crate) fn failed(&self) -> bool {
        self.failed
    }

    fn fail(&mut self, err: std::io::Error) -> std::io::Result<usize> {
        self.failed = true;
        Err(err)
    }
}

impl<R: Read> Read for ExactStream<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return Err(e),
            Err(e) => return self.fail(e),
        };
        if n == 0 && self.read < self.size {
            return self.fail(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "the transfer ended early, after {} of {} bytes",
                    self.read, self.size
                ),
            ));
        }
        self.read += n as u64;
        if self.read > self.size {
            return self.fail(std::io::Error::new(
                std::io::ErrorKind::ResourceBusy,
                format!(
                    "longer than the {} bytes listed: changed while being copied",
                    self.size
                ),
            ));
        }
        Ok(n)
    }
}

/// A file's modification time in nanoseconds since the Unix epoch.
pub(crate) fn mtime_ns(md: &std::fs::Metadata) -> i64 {
    use std::os::unix::fs::MetadataExt;
    md.mtime() * 1_000_000_000 + md.mtime_nsec()
}

/// What a backend can do. What it cannot do is left out of its calls, never an error
/// (except creating links where there are none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Modification times can be set (to the backend's resolution). Where they cannot, a
    /// written file has the time of the write and [`Transport::set_meta`] leaves times as
    /// they are.
    pub set_mtime: bool,
    /// Permission bits (and owners) are stored. Where they are not, entries list a mode of
    /// 0 and no owner.
    pub permissions: bool,
    /// Symbolic links can be created and read. Where they cannot, creating one fails with
    /// [`ErrorKind::NotSupported`](crate::ErrorKind::NotSupported).
    pub symlinks: bool,
    /// A rename replaces what is at its target in one step. Where it does not, the old
    /// entry is removed first, and for a moment neither is there.
    pub atomic_rename: bool,
    /// Resolution of stored modification times, in nanoseconds: a time set is stored
    /// rounded down to a multiple of it (1 for most local file systems, one second for FTP,
    /// two for FAT).
    pub mtime_resolution_ns: u64,
}

impl Capabilities {
    /// Everything a local POSIX file system can do: times to the nanosecond, permission
    /// bits and owners, links, atomic renames. A backend that can do less starts from here
    /// and turns off what it lacks (`caps.symlinks = false;`); capabilities added later are
    /// on here.
    pub fn full() -> Capabilities {
        Capabilities {
            set_mtime: true,
            permissions: true,
            symlinks: true,
            atomic_rename: true,
            mtime_resolution_ns: 1,
        }
    }
}

/// Name prefix of the temporary files ferrysync writes before renaming them into place.
/// Listings set them aside; the engine removes leftovers of interrupted runs.
pub const TEMP_PREFIX: &str = ".ferry-tmp.";

/// Whether a file name is one of ferrysync's temporaries.
pub fn is_temp_name(name: &[u8]) -> bool {
    name.starts_with(TEMP_PREFIX.as_bytes())
}

/// A fresh temporary name in the same folder as `path`.
pub(crate) fn temp_sibling(path: &RelPath) -> RelPath {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mix = (u64::from(std::process::id()) << 40) ^ (n << 20) ^ nanos;
    let name = format!("{TEMP_PREFIX}{mix:016x}");
    let parent = path.parent().unwrap_or_default();
    parent
        .join(name.as_bytes())
        .expect("a temporary name is a valid file name")
}

/// One replica's tree, reachable through blocking calls from any thread.
///
/// Every backend keeps the same contract, checked by one shared suite of checks
/// (`transport::conformance`, with the `test-support` feature) that every backend's tests
/// run. In short: errors by meaning naming the path that failed; nothing is read through a
/// link unless the transport follows links for reading, and nothing is ever written
/// through one (a link where a folder is needed is an
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming the link); what a
/// backend cannot store ([`Capabilities`]) is left out, never an error.
pub trait Transport: Send + Sync + std::fmt::Debug {
    /// A human-readable name of the root (a path or URL without secrets).
    fn describe(&self) -> String;

    /// What this backend can do.
    fn capabilities(&self) -> Capabilities;

    /// The metadata of `path` without following a final symlink; `None` when it does not
    /// exist (nor a folder on the way to it). The entry's path is `path`.
    ///
    /// # Errors
    /// Any failure other than "not found": a link on the way in a transport that does not
    /// follow links for reading (naming the link), a file where a folder is needed on the
    /// way, permission and I/O failures.
    fn stat(&self, path: &RelPath) -> Result<Option<Entry>>;

    /// The metadata of `path`, following symlinks: wherever they lead in a transport that
    /// follows links for reading, otherwise only while they lead to entries below the root.
    /// `None` when nothing is there, also for a link that leads nowhere; the entry's path is
    /// `path`, whatever the links led to.
    ///
    /// # Errors
    /// Not found, permission and I/O failures; a link leading out of the root in a transport
    /// that does not follow links.
    fn stat_follow(&self, path: &RelPath) -> Result<Option<Entry>>;

    /// The direct children of the folder `dir`, in no particular order (ferrysync's own
    /// temporaries included: the walk sets them aside for clean-up). Each entry's path is the
    /// full relative path.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when the folder is not there; a
    /// file is no folder to list; a link at `dir` or on the way in a transport that does not
    /// follow links for reading (naming the link); permission and I/O failures.
    fn read_dir(&self, dir: &RelPath) -> Result<Vec<Entry>>;

    /// Opens a file for reading. Links, at `path` or on the way, are read through only in a
    /// transport that follows links for reading.
    ///
    /// # Errors
    /// Not found, a link (see above), a folder (when opened or at the first read),
    /// permission and I/O failures.
    fn open(&self, path: &RelPath) -> Result<Box<dyn Read + Send>>;

    /// Writes a file from `source`, then applies `meta` (what of it the backend stores:
    /// [`Capabilities`]); returns the bytes written.
    ///
    /// - The folder holding `path` must exist. When it does not, the write fails with
    ///   [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) naming `path` *before anything
    ///   is read from `source`*, so that the caller can make the folder and write again from
    ///   the same source.
    /// - A file, link or special entry at `path` is replaced (a link is never written
    ///   through); a folder is not.
    /// - A [`Source::File`] is copied from its start, whatever the file's position.
    ///
    /// # Errors
    /// Any failure; with [`WriteMode::Atomic`] the target is then as it was and no
    /// temporary is left, with [`WriteMode::Direct`] the target may be torn.
    fn write(
        &self,
        path: &RelPath,
        source: Source<'_>,
        meta: &Meta,
        mode: WriteMode,
    ) -> Result<u64>;

    /// Creates a folder (its parent must exist); succeeds if it already is a folder. The root
    /// is created when missing.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) naming `path` when its parent is
    /// missing; a link at `path` or on the way (naming the link); a non-folder in the way;
    /// permission and I/O failures.
    fn create_dir(&self, path: &RelPath) -> Result<()>;

    /// Applies metadata to an existing entry (folders get their mtime after their contents),
    /// what of it the backend stores: the time where times can be set (rounded to the
    /// backend's resolution), permission bits where there are some. A link gets its own
    /// time, never its target's, and no permission bits.
    ///
    /// # Errors
    /// Not found, a link on the way, permission and I/O failures.
    fn set_meta(&self, path: &RelPath, meta: &Meta) -> Result<()>;

    /// Removes a file or symlink (the link itself, never its target); never a folder.
    ///
    /// # Errors
    /// Not found, a folder, a link on the way, permission and I/O failures.
    fn remove_file(&self, path: &RelPath) -> Result<()>;

    /// Removes an empty folder; never a file or a link (not even one to a folder).
    ///
    /// # Errors
    /// Not found, not empty, not a folder, a link on the way, permission and I/O failures.
    fn remove_dir(&self, path: &RelPath) -> Result<()>;

    /// Renames a file, link or folder (with everything below it) within this replica; a file
    /// or link at `to` is replaced (atomically where [`Capabilities::atomic_rename`]), a
    /// folder never by a file. The folder of `to` must exist. The entry keeps its contents,
    /// times and id; renaming an entry onto itself changes nothing.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when `from` or the folder of `to`
    /// is missing; a file onto a folder, a folder into itself; a link on the way;
    /// permission and I/O failures.
    fn rename(&self, from: &RelPath, to: &RelPath) -> Result<()>;

    /// Renames an entry within this replica like [`Transport::rename`], but never replaces
    /// one: fails with [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists) when
    /// something is at `to`. What keeps stored versions from overwriting each other.
    ///
    /// The default looks first and then renames, which a concurrent writer could race;
    /// backends that can do it atomically override it (the local one does).
    ///
    /// # Errors
    /// [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists), and as
    /// [`Transport::rename`].
    fn rename_no_replace(&self, from: &RelPath, to: &RelPath) -> Result<()> {
        if self.stat(to)?.is_some() {
            return Err(
                crate::Error::new(crate::ErrorKind::AlreadyExists, "already exists")
                    .with_path(to.to_path(std::path::Path::new(&self.describe()))),
            );
        }
        self.rename(from, to)
    }

    /// The target of a symlink, as stored (the link is not followed).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when `path` is not a
    /// link; not found, a link on the way, I/O failures.
    fn read_link(&self, path: &RelPath) -> Result<Vec<u8>>;

    /// Creates a symlink at `path` pointing to `target`, stored as given (it may be absolute
    /// or lead nowhere).
    ///
    /// # Errors
    /// [`ErrorKind::NotSupported`](crate::ErrorKind::NotSupported) where links do not exist
    /// ([`Capabilities::symlinks`]); [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists)
    /// when something is at `path`; a link on the way; permission and I/O failures.
    fn symlink(&self, path: &RelPath, target: &[u8]) -> Result<()>;

    /// The local file-system path of `path`, for backends that have one: for messages and
    /// for tools that take paths. Writing through it would follow links a backend's own
    /// calls never follow; use the transport's calls instead.
    fn local_path(&self, _path: &RelPath) -> Option<PathBuf> {
        None
    }

    /// The file `path` opened for reading as a local file, resolved the transport's way (a
    /// local transport follows no link below its root unless it follows links for reading),
    /// for fast copies ([`Source::File`]) and hashing; `None` for backends without local
    /// files (read them with [`Transport::open`]).
    ///
    /// # Errors
    /// As [`Transport::open`].
    fn open_local(&self, _path: &RelPath) -> Result<Option<std::fs::File>> {
        Ok(None)
    }

    /// The local folder behind this transport, when it is one (for renames between two local
    /// trees, [`LocalTransport::rename_to`]).
    fn as_local(&self) -> Option<&LocalTransport> {
        None
    }

    /// Creates `path` and every missing parent folder.
    ///
    /// # Errors
    /// As [`Transport::create_dir`].
    fn create_dir_all(&self, path: &RelPath) -> Result<()> {
        // The root too is made when missing.
        if self.stat(path)?.is_some_and(|e| e.kind == EntryKind::Dir) {
            return Ok(());
        }
        if let Some(parent) = path.parent() {
            self.create_dir_all(&parent)?;
        }
        self.create_dir(path)
    }

    /// Reads a whole (small) file.
    ///
    /// # Errors
    /// As [`Transport::open`] plus read failures.
    fn read_to_vec(&self, path: &RelPath) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.open(path)?.read_to_end(&mut out).map_err(|e| {
            crate::Error::io(path.to_path(std::path::Path::new(&self.describe())), e)
        })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::ExactStream;

    fn read_all(data: &[u8], size: u64) -> (std::io::Result<Vec<u8>>, bool) {
        let mut stream = ExactStream::new(data, size);
        let mut out = Vec::new();
        let result = stream.read_to_end(&mut out).map(|_| out);
        (result, stream.failed())
    }

    #[test]
    fn a_stream_of_the_size_listed_reads_through() {
        let (read, failed) = read_all(b"hello", 5);
        assert_eq!(read.unwrap(), b"hello");
        assert!(!failed);
        assert_eq!(read_all(b"", 0).0.unwrap(), b"");
    }

    #[test]
    fn a_stream_that_ends_early_fails_at_its_end() {
        let (read, failed) = read_all(b"hel", 5);
        let e = read.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
        assert!(e.to_string().contains("after 3 of 5 bytes"), "{e}");
        assert!(failed);
    }

    #[test]
    fn a_stream_longer_than_listed_is_busy() {
        let (read, failed) = read_all(b"hello, world", 5);
        let e = crate::Error::io("f", read.unwrap_err());
        assert_eq!(e.kind(), crate::ErrorKind::Busy);
        assert!(failed);
    }
}
