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
//! Decorators wrap a transport and are one themselves: [`Retrying`] tries calls that fail
//! for a passing reason again, with growing waits.

mod beneath;
mod local;
mod retrying;

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Result;
use crate::path::RelPath;

pub(crate) use local::entry_from_metadata;
pub use local::LocalTransport;
pub use retrying::{RetryPolicy, Retrying};

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A folder.
    Dir,
    /// A symbolic link (not followed).
    Symlink,
    /// A socket, FIFO or device: listed so it can be reported, never copied.
    Special,
}

impl EntryKind {
    /// The kebab-case name used in JSON and by the bindings.
    pub fn name(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Dir => "dir",
            EntryKind::Symlink => "symlink",
            EntryKind::Special => "special",
        }
    }
}

/// One file, folder or link of a replica, as listed: no contents, only metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the replica root.
    pub path: RelPath,
    /// File, folder or link.
    pub kind: EntryKind,
    /// Size in bytes (0 for folders).
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Permission bits (`0o7777` mask); 0 when the backend has none.
    pub mode: u32,
    /// Owner user and group ids, when the backend has them.
    pub owner: Option<(u32, u32)>,
    /// A stable file identity (inode number); 0 when unknown.
    pub file_id: u64,
}

impl Entry {
    /// Whether no write permission bit is set (the "read-only" attribute).
    pub fn is_read_only(&self) -> bool {
        self.mode != 0 && self.mode & 0o222 == 0
    }

    /// Whether the name starts with a dot (the "hidden" attribute on Unix).
    pub fn is_hidden(&self) -> bool {
        self.path.file_name().first() == Some(&b'.')
    }

    /// The metadata to give a copy of this entry.
    pub fn meta(&self) -> Meta {
        Meta {
            mtime_ns: self.mtime_ns,
            mode: (self.mode != 0).then_some(self.mode),
            owner: self.owner,
        }
    }
}

/// Metadata to apply to a written entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Meta {
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Permission bits to set, if any.
    pub mode: Option<u32>,
    /// Owner to set, if any (applied only when the process may change owners).
    pub owner: Option<(u32, u32)>,
}

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

/// A file's modification time in nanoseconds since the Unix epoch.
pub(crate) fn mtime_ns(md: &std::fs::Metadata) -> i64 {
    use std::os::unix::fs::MetadataExt;
    md.mtime() * 1_000_000_000 + md.mtime_nsec()
}

/// What a backend can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Modification times can be set exactly (to the nanosecond the backend stores).
    pub set_mtime: bool,
    /// Permission bits are stored.
    pub permissions: bool,
    /// Symbolic links can be created and read.
    pub symlinks: bool,
    /// Renames are atomic.
    pub atomic_rename: bool,
    /// Resolution of stored modification times, in nanoseconds.
    pub mtime_resolution_ns: u64,
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
pub trait Transport: Send + Sync + std::fmt::Debug {
    /// A human-readable name of the root (a path or URL without secrets).
    fn describe(&self) -> String;

    /// What this backend can do.
    fn capabilities(&self) -> Capabilities;

    /// The metadata of `path` without following a final symlink; `None` when it does not exist.
    ///
    /// # Errors
    /// Any failure other than "not found".
    fn stat(&self, path: &RelPath) -> Result<Option<Entry>>;

    /// The metadata of `path`, following symlinks: wherever they lead in a transport that
    /// follows links for reading, otherwise only while they lead to entries below the root.
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
    /// The folder cannot be read.
    fn read_dir(&self, dir: &RelPath) -> Result<Vec<Entry>>;

    /// Opens a file for reading.
    ///
    /// # Errors
    /// Not found, permission and I/O failures.
    fn open(&self, path: &RelPath) -> Result<Box<dyn Read + Send>>;

    /// Writes a file from `source`, then applies `meta`; returns the bytes written.
    ///
    /// # Errors
    /// Any failure; with [`WriteMode::Atomic`] the target is then untouched.
    fn write(
        &self,
        path: &RelPath,
        source: Source<'_>,
        meta: &Meta,
        mode: WriteMode,
    ) -> Result<u64>;

    /// Creates a folder (its parent must exist); succeeds if it already is a folder.
    ///
    /// # Errors
    /// Permission and I/O failures, or a non-folder in the way.
    fn create_dir(&self, path: &RelPath) -> Result<()>;

    /// Applies metadata to an existing entry (folders get their mtime after their contents).
    ///
    /// # Errors
    /// Not found, permission and I/O failures.
    fn set_meta(&self, path: &RelPath, meta: &Meta) -> Result<()>;

    /// Removes a file or symlink.
    ///
    /// # Errors
    /// Not found, permission and I/O failures.
    fn remove_file(&self, path: &RelPath) -> Result<()>;

    /// Removes an empty folder.
    ///
    /// # Errors
    /// Not found, not empty, permission and I/O failures.
    fn remove_dir(&self, path: &RelPath) -> Result<()>;

    /// Renames an entry within this replica, replacing a file at `to`; parents of `to` must
    /// exist.
    ///
    /// # Errors
    /// Not found, permission and I/O failures.
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
            return Err(crate::Error::new(
                crate::ErrorKind::AlreadyExists,
                format!("{to} already exists"),
            ));
        }
        self.rename(from, to)
    }

    /// The target of a symlink, as stored.
    ///
    /// # Errors
    /// Not a link, not found, I/O failures.
    fn read_link(&self, path: &RelPath) -> Result<Vec<u8>>;

    /// Creates a symlink at `path` pointing to `target`.
    ///
    /// # Errors
    /// [`ErrorKind::NotSupported`](crate::ErrorKind::NotSupported) where links do not exist;
    /// permission and I/O failures.
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
        if path.is_root() || self.stat(path)?.is_some_and(|e| e.kind == EntryKind::Dir) {
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
        self.open(path)?
            .read_to_end(&mut out)
            .map_err(|e| crate::Error::io(path.as_os_str(), e))?;
        Ok(out)
    }
}
