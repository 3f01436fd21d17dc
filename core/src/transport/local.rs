//! Local and network-mounted folders.
//!
//! # Links (safety rule 8)
//!
//! The root is opened once, following links (the root is what the caller named). Every path
//! below it is resolved beneath that descriptor without following links in any component
//! ([`beneath`](super::beneath)), and the final name is acted on with `*at` calls that never
//! follow it (`unlinkat`, `renameat`, `mkdirat`, `symlinkat`, `linkat`, `utimensat` and
//! `fchownat` with `AT_SYMLINK_NOFOLLOW`, `openat` with `O_NOFOLLOW`). The kernel checks each
//! component as it resolves it, so a link planted or swapped in while a run goes on cannot
//! redirect a write: a link where a folder is needed is an error naming it, a link as the
//! final name is itself removed, renamed or replaced. Nothing outside the root is changed.
//!
//! Reads resolve the same way, except in a transport made with
//! [`LocalTransport::following_links`] (a source whose profile follows links), whose reads
//! go through links wherever they lead. Writes never follow links in either.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Read, Seek};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use filetime::FileTime;
use rustix::fs::{
    chownat, fstat, mkdirat, openat, readlinkat, renameat, statat, symlinkat, unlinkat, utimensat,
    AtFlags, FileType, Gid, Mode, OFlags, RawDir, Stat, Timespec, Timestamps, Uid, CWD, UTIME_OMIT,
};
use rustix::io::Errno;

use super::beneath;
use super::{
    mtime_ns, temp_sibling, Capabilities, Entry, EntryKind, Meta, Source, Transport, WriteMode,
};
use crate::error::{Error, ErrorKind, Result};
use crate::path::RelPath;

/// A folder on a local (or mounted network) file system.
///
/// Cheap to clone; clones share the root's descriptor.
#[derive(Debug, Clone)]
pub struct LocalTransport {
    root: PathBuf,
    /// The root folder, opened on first use (the root may not exist when the transport is
    /// made: a mirror creates its destination).
    root_dir: Arc<OnceLock<OwnedFd>>,
    /// Reads follow links (a source whose profile follows them); writes never do.
    follow_reads: bool,
    may_chown: bool,
    /// The user and group new files get (this process's).
    own_ids: (u32, u32),
    /// Whether unnamed files (`O_TMPFILE`) can be named later: linking one needs `/proc`.
    unnamed_files: bool,
    /// Resolve by the per-component walk even where `openat2` exists (tests of the fallback).
    walk_only: bool,
}

/// What a path is resolved for: the message for a link on the way says which.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

/// A folder of the tree open for `*at` calls: the root's descriptor, or one opened beneath it.
enum DirFd<'a> {
    Root(BorrowedFd<'a>),
    Below(OwnedFd),
}

impl AsFd for DirFd<'_> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            DirFd::Root(fd) => *fd,
            DirFd::Below(fd) => fd.as_fd(),
        }
    }
}

impl LocalTransport {
    /// A transport rooted at `root` (which need not exist yet). Neither reads nor writes
    /// follow links below the root; the root itself may be or contain links.
    pub fn new(root: impl Into<PathBuf>) -> LocalTransport {
        LocalTransport::with_reads(root.into(), false)
    }

    /// A transport rooted at `root` whose reads (`stat`, `read_dir`, `open`, `read_link`)
    /// follow links wherever they lead: for a source whose profile follows links. Writes
    /// never follow links, as with [`LocalTransport::new`].
    pub fn following_links(root: impl Into<PathBuf>) -> LocalTransport {
        LocalTransport::with_reads(root.into(), true)
    }

    fn with_reads(root: PathBuf, follow_reads: bool) -> LocalTransport {
        let own_ids = process_ids();
        LocalTransport {
            root,
            root_dir: Arc::new(OnceLock::new()),
            follow_reads,
            may_chown: own_ids.0 == 0,
            own_ids,
            unnamed_files: Path::new("/proc/self/fd").is_dir(),
            walk_only: false,
        }
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether reads follow links ([`LocalTransport::following_links`]).
    pub fn follows_links(&self) -> bool {
        self.follow_reads
    }

    /// A transport rooted at the folder `rel` below this root, created (with every missing
    /// parent) when missing. The folder is resolved and opened beneath this root without
    /// following links, once: a link planted under its name, or swapped in later, is never
    /// written through. Reads follow links as this transport's do.
    ///
    /// # Errors
    /// A link or a non-folder at `rel` or on the way, and permission and I/O failures.
    pub fn subtree(&self, rel: &RelPath) -> Result<LocalTransport> {
        if rel.is_root() {
            return Ok(self.clone());
        }
        let fd = self.make_dirs(rel)?;
        Ok(LocalTransport {
            root: self.full(rel),
            root_dir: Arc::new(OnceLock::from(fd)),
            ..self.clone()
        })
    }

    /// Renames `from` of this tree to `to` of `dest` (another local tree on the same file
    /// system), both resolved beneath their roots without following links; a file at `to`
    /// is replaced.
    ///
    /// # Errors
    /// Cross-device renames (`EXDEV`), links on the way, not found, permission and I/O
    /// failures.
    pub fn rename_to(&self, from: &RelPath, dest: &LocalTransport, to: &RelPath) -> Result<()> {
        let (a, a_name) = self.parent(from, Access::Write)?;
        let (b, b_name) = dest.parent(to, Access::Write)?;
        renameat(&a, a_name, &b, b_name).map_err(|e| self.io(from, e.into()))
    }

    /// Creates the folder `rel` (its parent must exist) beneath the root without following
    /// links; unlike [`Transport::create_dir`], a folder already there is
    /// [`ErrorKind::AlreadyExists`]: for folders that must be new (snapshots).
    ///
    /// # Errors
    /// Something at `rel` already, links on the way, permission and I/O failures.
    pub fn create_new_dir(&self, rel: &RelPath) -> Result<()> {
        let (dir, name) = self.parent(rel, Access::Write)?;
        mkdirat(&dir, name, Mode::from_raw_mode(0o777)).map_err(|e| self.io(rel, e.into()))
    }

    /// Renames `from` of this tree to `to` of `dest` unless something is at `to` (then
    /// [`ErrorKind::AlreadyExists`] naming `to`), atomically, both resolved beneath their
    /// roots without following links: `renameat2(RENAME_NOREPLACE)`, or where the file system
    /// lacks it, a hard link (which never replaces either) and the removal of `from`.
    ///
    /// # Errors
    /// `to` taken, cross-device renames (`EXDEV`), links on the way, not found, permission
    /// and I/O failures.
    pub fn rename_to_no_replace(
        &self,
        from: &RelPath,
        dest: &LocalTransport,
        to: &RelPath,
    ) -> Result<()> {
        use rustix::fs::{linkat, renameat_with, unlinkat, RenameFlags};
        let (a, a_name) = self.parent(from, Access::Write)?;
        let (b, b_name) = dest.parent(to, Access::Write)?;
        let taken = |e: Errno| {
            if e == Errno::EXIST {
                dest.io(to, e.into())
            } else {
                self.io(from, e.into())
            }
        };
        match renameat_with(&a, a_name, &b, b_name, RenameFlags::NOREPLACE) {
            Ok(()) => Ok(()),
            // No RENAME_NOREPLACE on this file system: a hard link never replaces either.
            // Folders have no hard links, and EINVAL is also "a folder into itself".
            Err(Errno::INVAL | Errno::NOSYS | Errno::NOTSUP)
                if statat(&a, a_name, AtFlags::SYMLINK_NOFOLLOW)
                    .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) != FileType::Directory) =>
            {
                linkat(&a, a_name, &b, b_name, AtFlags::empty()).map_err(taken)?;
                unlinkat(&a, a_name, AtFlags::empty()).map_err(|e| self.io(from, e.into()))
            }
            Err(e) => Err(taken(e)),
        }
    }

    /// Moves `path` to the user's trash. Its folder is resolved beneath the root without
    /// following links right before, and the trash is handed that folder as opened (through
    /// `/proc/self/fd`); the trash itself works on paths, so a link swapped into the folder's
    /// own path in the instant between the two could still redirect the move.
    ///
    /// # Errors
    /// Links on the way, and whatever keeps the trash from taking the file.
    pub fn move_to_trash(&self, path: &RelPath) -> Result<()> {
        let (dir, name) = self.parent(path, Access::Write)?;
        let shown = self.full(path);
        let target = if self.unnamed_files {
            PathBuf::from(format!("/proc/self/fd/{}", dir.as_fd().as_raw_fd()))
                .join(OsStr::from_bytes(name))
        } else {
            shown.clone()
        };
        trash::delete(&target).map_err(|e| {
            Error::new(ErrorKind::Io, format!("cannot move to the trash: {e}")).with_path(&shown)
        })
    }

    fn full(&self, path: &RelPath) -> PathBuf {
        path.to_path(&self.root)
    }

    fn io(&self, path: &RelPath, err: io::Error) -> Error {
        Error::io(self.full(path), err)
    }

    /// The root folder's descriptor, opened on first use.
    fn root_fd(&self) -> Result<BorrowedFd<'_>> {
        if let Some(fd) = self.root_dir.get() {
            return Ok(fd.as_fd());
        }
        let fd = rustix::fs::open(
            &self.root,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::io(&self.root, e.into()))?;
        Ok(self.root_dir.get_or_init(|| fd).as_fd())
    }

    /// Creates the root folder when missing (by its path: the root is not part of the tree).
    fn create_root(&self) -> Result<BorrowedFd<'_>> {
        match self.root_fd() {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                fs::create_dir_all(&self.root).map_err(|e| Error::io(&self.root, e))?;
                self.root_fd()
            }
            other => other,
        }
    }

    /// Opens `rel` (not the root) beneath the root with `flags`, following no link.
    fn open_beneath(&self, rel: &RelPath, flags: OFlags, access: Access) -> Result<OwnedFd> {
        beneath::open(self.root_fd()?, rel.as_bytes(), flags, self.walk_only)
            .map_err(|e| self.resolve_error(rel, e, access))
    }

    /// The folder `dir` open for `*at` calls.
    fn dir(&self, dir: &RelPath, access: Access) -> Result<DirFd<'_>> {
        if dir.is_root() {
            return self.root_fd().map(DirFd::Root);
        }
        self.open_beneath(dir, OFlags::PATH | OFlags::DIRECTORY, access)
            .map(DirFd::Below)
    }

    /// The folder holding `path`, open for `*at` calls, and `path`'s name in it.
    fn parent<'p>(&self, path: &'p RelPath, access: Access) -> Result<(DirFd<'_>, &'p [u8])> {
        let Some(parent) = path.parent() else {
            return Err(
                Error::invalid("the root folder has no name to act on").with_path(&self.root)
            );
        };
        let dir = self.dir(&parent, access).map_err(|e| {
            // "Not found" names the entry wanted, as a path-based call would.
            if e.kind() == ErrorKind::NotFound {
                Error::new(ErrorKind::NotFound, e.message()).with_path(self.full(path))
            } else {
                e
            }
        })?;
        Ok((dir, path.file_name()))
    }

    /// The error for a failed resolution of `rel`: a link on the way is named as such.
    fn resolve_error(&self, rel: &RelPath, e: Errno, access: Access) -> Error {
        if matches!(e, Errno::LOOP | Errno::XDEV | Errno::NOTDIR) {
            if let Some(link) = self.first_link(rel) {
                return self.link_error(&link, access);
            }
            if e != Errno::NOTDIR {
                // A link was there while the kernel resolved the path, and is gone now.
                return self.link_error(rel, access);
            }
        }
        self.io(rel, e.into())
    }

    /// The first component of `rel` that is a symbolic link now, if any (for messages).
    fn first_link(&self, rel: &RelPath) -> Option<RelPath> {
        let root = self.root_fd().ok()?;
        let mut at = RelPath::root();
        for name in rel.components() {
            at = at.join(name).ok()?;
            let st = statat(root, at.as_bytes(), AtFlags::SYMLINK_NOFOLLOW).ok()?;
            match FileType::from_raw_mode(st.st_mode) {
                FileType::Symlink => return Some(at),
                FileType::Directory => {}
                _ => return None,
            }
        }
        None
    }

    /// A link found where a folder (or, for reads, any entry) is needed.
    fn link_error(&self, at: &RelPath, access: Access) -> Error {
        let why = match access {
            Access::Write => "a symbolic link: ferrysync never writes through links",
            Access::Read => {
                "a symbolic link: ferrysync reads through links only in a source set to follow them"
            }
        };
        Error::new(ErrorKind::InvalidInput, why).with_path(self.full(at))
    }

    /// Creates the folder `rel` (not the root) and every missing parent, beneath the root
    /// and following no link, and opens it.
    fn make_dirs(&self, rel: &RelPath) -> Result<OwnedFd> {
        let root = self.create_root()?;
        let mut here: Option<OwnedFd> = None;
        let mut at = RelPath::root();
        for name in rel.components() {
            at = at.join(name)?;
            let dir = here.as_ref().map_or(root, AsFd::as_fd);
            here = Some(self.enter_or_make(dir, name, &at)?);
        }
        here.ok_or_else(|| Error::invalid("the root folder is not below itself"))
    }

    /// Opens the folder `name` of `dir` (`at` in the tree), making it first when missing.
    fn enter_or_make(&self, dir: BorrowedFd<'_>, name: &[u8], at: &RelPath) -> Result<OwnedFd> {
        let mut made = false;
        loop {
            match openat(dir, name, beneath::folder_flags(), Mode::empty()) {
                Ok(fd) => return Ok(fd),
                Err(Errno::NOENT) if !made => {
                    made = true;
                    match mkdirat(dir, name, Mode::from_raw_mode(0o777)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(self.io(at, e.into())),
                    }
                }
                Err(Errno::NOTDIR) if is_link_at(dir, name) => {
                    return Err(self.link_error(at, Access::Write))
                }
                Err(e) => return Err(self.io(at, e.into())),
            }
        }
    }

    /// Applies `meta` to the root folder as opened (named through `/proc/self/fd` where
    /// there is one, else by its path: the root is what the caller named).
    fn set_root_meta(&self, meta: &Meta) -> Result<()> {
        let fd = self.root_fd()?;
        let target = if self.unnamed_files {
            PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        } else {
            self.root.clone()
        };
        let err = |e: Errno| Error::io(&self.root, e.into());
        if self.may_chown {
            if let Some((uid, gid)) = meta.owner {
                let (uid, gid) = (Uid::from_raw(uid), Gid::from_raw(gid));
                rustix::fs::chown(&target, Some(uid), Some(gid)).map_err(err)?;
            }
        }
        if let Some(mode) = meta.mode {
            if fstat(fd).map_err(err)?.st_mode & 0o7777 != mode {
                rustix::fs::chmod(&target, Mode::from_raw_mode(mode)).map_err(err)?;
            }
        }
        utimensat(CWD, &target, &mtime_only(meta), AtFlags::empty()).map_err(err)
    }

    /// The metadata of the root as opened (its links followed); `None` when it is missing.
    fn stat_root(&self) -> Result<Option<Entry>> {
        let found = match self.root_fd() {
            Ok(fd) => fstat(fd).map(|st| entry_from_stat(RelPath::root(), &st)),
            // Not a folder (or not there): what the path holds says.
            Err(_) => {
                return match fs::metadata(&self.root) {
                    Ok(md) => Ok(Some(entry_from_metadata(RelPath::root(), &md))),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(Error::io(&self.root, e)),
                }
            }
        };
        found.map(Some).map_err(|e| Error::io(&self.root, e.into()))
    }

    /// `stat` beneath the root, following no link.
    fn stat_beneath(&self, path: &RelPath) -> Result<Option<Entry>> {
        if path.is_root() {
            return self.stat_root();
        }
        let (dir, name) = match self.parent(path, Access::Read) {
            Ok(found) => found,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        match statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(entry_from_stat(path.clone(), &st))),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(self.io(path, e.into())),
        }
    }

    /// `stat_follow` beneath the root: links are followed while they lead to entries below
    /// the root, never out of it.
    fn stat_follow_beneath(&self, path: &RelPath) -> Result<Option<Entry>> {
        if path.is_root() {
            return self.stat_root();
        }
        let root = match self.root_fd() {
            Ok(fd) => fd,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        match beneath::open_following(root, path.as_bytes(), OFlags::PATH, self.walk_only) {
            Ok(fd) => fstat(&fd)
                .map(|st| Some(entry_from_stat(path.clone(), &st)))
                .map_err(|e| self.io(path, e.into())),
            Err(Errno::NOENT) => Ok(None),
            Err(Errno::XDEV) => Err(Error::new(
                ErrorKind::InvalidInput,
                "a symbolic link leading out of the folder: not followed",
            )
            .with_path(self.full(path))),
            Err(e) => Err(self.io(path, e.into())),
        }
    }

    /// The folder `dir` open for reading its entries.
    fn open_dir_for_listing(&self, dir: &RelPath) -> Result<OwnedFd> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        if self.follow_reads {
            let full = self.full(dir);
            return rustix::fs::open(&full, flags, Mode::empty())
                .map_err(|e| Error::io(&full, e.into()));
        }
        if dir.is_root() {
            return openat(self.root_fd()?, ".", flags, Mode::empty())
                .map_err(|e| Error::io(&self.root, e.into()));
        }
        self.open_beneath(dir, flags, Access::Read)
    }

    /// The entries of the open folder `fd` (`dir` in the tree), each `stat`ed through the
    /// folder's descriptor without following it.
    fn list(&self, fd: &OwnedFd, dir: &RelPath) -> Result<Vec<Entry>> {
        let mut buf = Vec::with_capacity(32 * 1024);
        let mut items = RawDir::new(fd, buf.spare_capacity_mut());
        let mut out = Vec::new();
        while let Some(item) = items.next() {
            let item = item.map_err(|e| self.io(dir, e.into()))?;
            let name = item.file_name();
            if matches!(name.to_bytes(), b"." | b"..") {
                continue;
            }
            let path = dir.join(name.to_bytes())?;
            match statat(fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => out.push(entry_from_stat(path, &st)),
                // Vanished between readdir and stat: not there any more.
                Err(Errno::NOENT) => {}
                Err(e) => return Err(self.io(&path, e.into())),
            }
        }
        Ok(out)
    }

    /// Opens the file `path` for reading, the transport's way.
    fn open_file(&self, path: &RelPath) -> Result<File> {
        if self.follow_reads {
            return File::open(self.full(path)).map_err(|e| self.io(path, e));
        }
        if path.is_root() {
            return Err(Error::invalid("the root folder is not a file").with_path(&self.root));
        }
        self.open_beneath(path, OFlags::RDONLY, Access::Read)
            .map(File::from)
    }
}

/// This process's effective user and group, as `/proc/self` shows them.
fn process_ids() -> (u32, u32) {
    fs::metadata("/proc/self")
        .map(|m| (m.uid(), m.gid()))
        .unwrap_or((u32::MAX, u32::MAX))
}

/// Whether `name` in `dir` is a symbolic link now.
fn is_link_at(dir: BorrowedFd<'_>, name: &[u8]) -> bool {
    statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
        .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Symlink)
}

/// The kind of an entry from its mode bits.
fn kind_of(mode: u32) -> EntryKind {
    match FileType::from_raw_mode(mode) {
        FileType::RegularFile => EntryKind::File,
        FileType::Directory => EntryKind::Dir,
        FileType::Symlink => EntryKind::Symlink,
        _ => EntryKind::Special,
    }
}

/// The entry for `path` from its (not followed) metadata.
pub(crate) fn entry_from_metadata(path: RelPath, md: &fs::Metadata) -> Entry {
    let kind = kind_of(md.mode());
    Entry {
        path,
        kind,
        size: if kind == EntryKind::Dir { 0 } else { md.len() },
        mtime_ns: mtime_ns(md),
        mode: md.mode() & 0o7777,
        owner: Some((md.uid(), md.gid())),
        file_id: md.ino(),
    }
}

/// The entry for `path` from a `stat` result (field widths differ between architectures).
#[allow(clippy::unnecessary_cast)]
fn entry_from_stat(path: RelPath, st: &Stat) -> Entry {
    let mode = st.st_mode as u32;
    let kind = kind_of(mode);
    Entry {
        path,
        kind,
        size: if kind == EntryKind::Dir {
            0
        } else {
            st.st_size as u64
        },
        mtime_ns: st.st_mtime as i64 * 1_000_000_000 + st.st_mtime_nsec as i64,
        mode: mode & 0o7777,
        owner: Some((st.st_uid as u32, st.st_gid as u32)),
        file_id: st.st_ino as u64,
    }
}

fn filetime_of(ns: i64) -> FileTime {
    FileTime::from_unix_time(
        ns.div_euclid(1_000_000_000),
        ns.rem_euclid(1_000_000_000) as u32,
    )
}

/// Errors from `open(O_TMPFILE)` that mean the file system (or kernel) has no unnamed files.
fn no_unnamed_files(e: Errno) -> bool {
    matches!(
        e,
        Errno::OPNOTSUPP | Errno::ISDIR | Errno::INVAL | Errno::NOSYS
    )
}

/// Copies `len` bytes of `input` to `out` in the kernel (`copy_file_range`: no copy through
/// user space, shared extents where the file system can); a file that ends early ends the
/// copy. Falls back to reading and writing where the kernel cannot copy between the two.
fn copy_range(input: &File, out: &File, len: u64) -> io::Result<u64> {
    // From the start of `input` whatever its position: a retried write copies it all again.
    let mut done = 0u64;
    while done < len {
        let want = usize::try_from(len - done)
            .unwrap_or(usize::MAX)
            .min(1 << 30);
        let mut from = done;
        match rustix::fs::copy_file_range(input, Some(&mut from), out, None, want) {
            Ok(0) => break,
            Ok(n) => done += n as u64,
            Err(e) => {
                // The kernel cannot copy between these two (other file systems, old kernels).
                let unsupported = matches!(
                    e,
                    Errno::XDEV | Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP | Errno::BADF
                );
                if done > 0 || !unsupported {
                    return Err(e.into());
                }
                let mut input = input;
                input.seek(io::SeekFrom::Start(0))?;
                return io::copy(&mut input.take(len), &mut &*out);
            }
        }
    }
    Ok(done)
}

/// The error for a source that changed while it was copied.
fn changed_while_copied() -> io::Error {
    io::Error::other(SourceChanged)
}

/// Marks [`changed_while_copied`] errors so that they become [`ErrorKind::Busy`].
#[derive(Debug)]
struct SourceChanged;

impl std::fmt::Display for SourceChanged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("changed while being copied; will be copied on the next run")
    }
}

impl std::error::Error for SourceChanged {}

/// Whether `linkat(fd, "", AT_EMPTY_PATH)` names unnamed files for this process (Linux 6.10
/// and later, or with `CAP_DAC_READ_SEARCH`): 0 not known yet, 1 yes, 2 no.
static EMPTY_PATH_LINKS: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Gives the unnamed file `file` the name `name` in `dir`: directly where the kernel allows
/// it, else through `/proc/self/fd` (a lookup in `/proc` more).
fn link_unnamed(file: &File, dir: BorrowedFd<'_>, name: &[u8]) -> std::result::Result<(), Errno> {
    use rustix::fs::linkat;
    use std::sync::atomic::Ordering;
    let direct = EMPTY_PATH_LINKS.load(Ordering::Relaxed);
    if direct != 2 {
        match linkat(file, "", dir, name, AtFlags::EMPTY_PATH) {
            Ok(()) => {
                EMPTY_PATH_LINKS.store(1, Ordering::Relaxed);
                return Ok(());
            }
            // Refused as such (ENOENT: no capability on older kernels).
            Err(e) if direct == 0 && matches!(e, Errno::NOENT | Errno::PERM) => {}
            Err(e) => return Err(e),
        }
    }
    let fd = format!("/proc/self/fd/{}", file.as_raw_fd());
    linkat(CWD, fd.as_str(), dir, name, AtFlags::SYMLINK_FOLLOW)?;
    if direct == 0 {
        EMPTY_PATH_LINKS.store(2, Ordering::Relaxed);
    }
    Ok(())
}

/// Sets the permission bits of `name` in `dir` without following it: through the entry
/// opened `O_PATH | O_NOFOLLOW` (named by `/proc/self/fd`), or opened for reading where
/// there is no `/proc`. A link (swapped in meanwhile) is left alone: links have no
/// permissions of their own.
fn chmod_at(dir: BorrowedFd<'_>, name: &[u8], mode: u32) -> std::result::Result<(), Errno> {
    let mode = Mode::from_raw_mode(mode);
    let fd = openat(
        dir,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    if FileType::from_raw_mode(fstat(&fd)?.st_mode) == FileType::Symlink {
        return Ok(());
    }
    let by_proc = format!("/proc/self/fd/{}", fd.as_raw_fd());
    match rustix::fs::chmod(by_proc.as_str(), mode) {
        Err(Errno::NOENT) if !Path::new("/proc/self/fd").is_dir() => {
            let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
            rustix::fs::fchmod(openat(dir, name, flags, Mode::empty())?, mode)
        }
        other => other,
    }
}

impl LocalTransport {
    /// An I/O error writing `path`: [`ErrorKind::Busy`] when it says the source changed
    /// meanwhile (not retryable: the same write fails alike), the link message when a link
    /// stood in the way.
    fn write_error(&self, path: &RelPath, e: io::Error) -> Error {
        if e.get_ref().is_some_and(|inner| inner.is::<SourceChanged>()) {
            Error::new(ErrorKind::Busy, e.to_string())
                .with_path(self.full(path))
                .retryable(false)
        } else if e.raw_os_error() == Some(Errno::LOOP.raw_os_error()) {
            self.link_error(path, Access::Write)
        } else {
            self.io(path, e)
        }
    }

    /// Copies `source` into the open file `out` and applies `meta`; a file source is checked
    /// again afterwards (see [`Source::File`]).
    fn fill(&self, out: &File, source: Source<'_>, meta: &Meta) -> io::Result<u64> {
        let written = match source {
            Source::File {
                file,
                size,
                mtime_ns,
            } => {
                let n = copy_range(file, out, size)?;
                let now = file.metadata()?;
                if n != size || now.len() != size || super::mtime_ns(&now) != mtime_ns {
                    return Err(changed_while_copied());
                }
                n
            }
            Source::Stream(input) => io::copy(input, &mut &*out)?,
        };
        if self.may_chown {
            // A new file already belongs to us: only a different owner needs a call.
            if let Some((uid, gid)) = meta.owner.filter(|&o| o != self.own_ids) {
                std::os::unix::fs::fchown(out, Some(uid), Some(gid))?;
            }
        }
        if let Some(mode) = meta.mode {
            rustix::fs::fchmod(out, Mode::from_raw_mode(mode))?;
        }
        filetime::set_file_handle_times(out, None, Some(filetime_of(meta.mtime_ns)))?;
        Ok(written)
    }

    /// Writes `name` of `dir` in place: a read-only file, a file with other names (a hard
    /// link: writing it would change the file under its other names, maybe outside the root)
    /// or anything but a file there (a symbolic link included) is removed first, never
    /// written through.
    fn write_direct(
        &self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        source: Source<'_>,
        meta: &Meta,
    ) -> io::Result<u64> {
        if let Ok(st) = statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            if st.st_mode & 0o222 == 0
                || st.st_nlink > 1
                || FileType::from_raw_mode(st.st_mode) != FileType::RegularFile
            {
                unlinkat(dir, name, AtFlags::empty())?;
            }
        }
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let out = File::from(openat(dir, name, flags, new_file_mode(meta))?);
        self.fill(&out, source, meta)
    }

    /// Writes a new file `name` in `dir` (which must not exist: a temporary name).
    fn write_new(
        &self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        source: Source<'_>,
        meta: &Meta,
    ) -> io::Result<u64> {
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let out = File::from(openat(dir, name, flags, new_file_mode(meta))?);
        self.fill(&out, source, meta)
    }

    /// An atomic write: the file is written unnamed (`O_TMPFILE`) in the target's folder and
    /// linked under the target's name once complete, or, when the target exists, linked
    /// under a temporary name renamed over it. Where unnamed files are not available, the
    /// file is written under a temporary name from the start. A link at the target's name is
    /// replaced, never followed.
    fn write_atomic(
        &self,
        dir: BorrowedFd<'_>,
        path: &RelPath,
        source: Source<'_>,
        meta: &Meta,
    ) -> Result<u64> {
        let name = path.file_name();
        let unnamed = if self.unnamed_files {
            let flags = OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC;
            match openat(dir, ".", flags, new_file_mode(meta)) {
                Ok(fd) => Some(File::from(fd)),
                Err(e) if no_unnamed_files(e) => None,
                Err(e) => return Err(self.io(path, e.into())),
            }
        } else {
            None
        };
        let Some(out) = unnamed else {
            let temp = temp_sibling(path);
            let temp = temp.file_name();
            return self
                .write_new(dir, temp, source, meta)
                .and_then(|n| Ok(renameat(dir, temp, dir, name).map(|()| n)?))
                .map_err(|e| {
                    let _ = unlinkat(dir, temp, AtFlags::empty());
                    self.write_error(path, e)
                });
        };
        let n = self
            .fill(&out, source, meta)
            .map_err(|e| self.write_error(path, e))?;
        match link_unnamed(&out, dir, name) {
            Ok(()) => Ok(n),
            Err(Errno::EXIST) => {
                let temp = temp_sibling(path);
                let temp = temp.file_name();
                link_unnamed(&out, dir, temp)
                    .and_then(|()| {
                        renameat(dir, temp, dir, name).inspect_err(|_| {
                            let _ = unlinkat(dir, temp, AtFlags::empty());
                        })
                    })
                    .map(|()| n)
                    .map_err(|e| self.io(path, e.into()))
            }
            Err(e) => Err(self.io(path, e.into())),
        }
    }
}

/// Timestamps that set the modification time of `meta` and leave the access time alone.
fn mtime_only(meta: &Meta) -> Timestamps {
    Timestamps {
        last_access: Timespec {
            tv_sec: 0,
            tv_nsec: UTIME_OMIT,
        },
        last_modification: Timespec {
            tv_sec: meta.mtime_ns.div_euclid(1_000_000_000),
            tv_nsec: meta.mtime_ns.rem_euclid(1_000_000_000) as _,
        },
    }
}

/// The mode a written file is created with (writable by its owner until it is complete).
fn new_file_mode(meta: &Meta) -> Mode {
    Mode::from_raw_mode(meta.mode.unwrap_or(0o644) | 0o200)
}

impl Transport for LocalTransport {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::full()
    }

    fn stat(&self, path: &RelPath) -> Result<Option<Entry>> {
        if !self.follow_reads || path.is_root() {
            return self.stat_beneath(path);
        }
        match fs::symlink_metadata(self.full(path)) {
            Ok(md) => Ok(Some(entry_from_metadata(path.clone(), &md))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(path, e)),
        }
    }

    fn stat_follow(&self, path: &RelPath) -> Result<Option<Entry>> {
        if !self.follow_reads || path.is_root() {
            return self.stat_follow_beneath(path);
        }
        match fs::metadata(self.full(path)) {
            Ok(md) => Ok(Some(entry_from_metadata(path.clone(), &md))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(path, e)),
        }
    }

    fn read_dir(&self, dir: &RelPath) -> Result<Vec<Entry>> {
        let fd = self.open_dir_for_listing(dir)?;
        self.list(&fd, dir)
    }

    fn open(&self, path: &RelPath) -> Result<Box<dyn Read + Send>> {
        Ok(Box::new(self.open_file(path)?))
    }

    fn open_local(&self, path: &RelPath) -> Result<Option<File>> {
        self.open_file(path).map(Some)
    }

    fn write(
        &self,
        path: &RelPath,
        source: Source<'_>,
        meta: &Meta,
        mode: WriteMode,
    ) -> Result<u64> {
        let (dir, name) = self.parent(path, Access::Write)?;
        match mode {
            WriteMode::Direct => self
                .write_direct(dir.as_fd(), name, source, meta)
                .map_err(|e| self.write_error(path, e)),
            WriteMode::Atomic => self.write_atomic(dir.as_fd(), path, source, meta),
        }
    }

    fn create_dir(&self, path: &RelPath) -> Result<()> {
        if path.is_root() {
            return self.create_root().map(drop);
        }
        let (dir, name) = self.parent(path, Access::Write)?;
        match mkdirat(&dir, name, Mode::from_raw_mode(0o777)) {
            Ok(()) => Ok(()),
            Err(Errno::EXIST) => match statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => Ok(()),
                Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => {
                    Err(self.link_error(path, Access::Write))
                }
                _ => Err(self.io(path, Errno::EXIST.into())),
            },
            Err(e) => Err(self.io(path, e.into())),
        }
    }

    fn set_meta(&self, path: &RelPath, meta: &Meta) -> Result<()> {
        if path.is_root() {
            return self.set_root_meta(meta);
        }
        let (dir, name) = self.parent(path, Access::Write)?;
        let err = |e: Errno| self.io(path, e.into());
        let st = statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW).map_err(err)?;
        if self.may_chown {
            if let Some((uid, gid)) = meta.owner {
                let (uid, gid) = (Uid::from_raw(uid), Gid::from_raw(gid));
                chownat(&dir, name, Some(uid), Some(gid), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(err)?;
            }
        }
        if FileType::from_raw_mode(st.st_mode) != FileType::Symlink {
            if let Some(mode) = meta.mode {
                if st.st_mode & 0o7777 != mode {
                    chmod_at(dir.as_fd(), name, mode).map_err(err)?;
                }
            }
        }
        utimensat(&dir, name, &mtime_only(meta), AtFlags::SYMLINK_NOFOLLOW).map_err(err)
    }

    fn remove_file(&self, path: &RelPath) -> Result<()> {
        let (dir, name) = self.parent(path, Access::Write)?;
        unlinkat(&dir, name, AtFlags::empty()).map_err(|e| self.io(path, e.into()))
    }

    fn remove_dir(&self, path: &RelPath) -> Result<()> {
        let (dir, name) = self.parent(path, Access::Write)?;
        unlinkat(&dir, name, AtFlags::REMOVEDIR).map_err(|e| self.io(path, e.into()))
    }

    fn rename(&self, from: &RelPath, to: &RelPath) -> Result<()> {
        if from.parent() == to.parent() {
            let (dir, from_name) = self.parent(from, Access::Write)?;
            return renameat(&dir, from_name, &dir, to.file_name())
                .map_err(|e| self.io(from, e.into()));
        }
        self.rename_to(from, self, to)
    }

    fn rename_no_replace(&self, from: &RelPath, to: &RelPath) -> Result<()> {
        self.rename_to_no_replace(from, self, to)
    }

    fn read_link(&self, path: &RelPath) -> Result<Vec<u8>> {
        if self.follow_reads {
            let full = self.full(path);
            let target = fs::read_link(&full).map_err(|e| Error::io(&full, e))?;
            return Ok(target.into_os_string().into_vec());
        }
        let (dir, name) = self.parent(path, Access::Read)?;
        readlinkat(&dir, name, Vec::new())
            .map(|target| target.into_bytes())
            .map_err(|e| self.io(path, e.into()))
    }

    fn symlink(&self, path: &RelPath, target: &[u8]) -> Result<()> {
        let (dir, name) = self.parent(path, Access::Write)?;
        symlinkat(target, &dir, name).map_err(|e| self.io(path, e.into()))
    }

    fn local_path(&self, path: &RelPath) -> Option<PathBuf> {
        Some(self.full(path))
    }

    fn as_local(&self) -> Option<&LocalTransport> {
        Some(self)
    }

    fn create_dir_all(&self, path: &RelPath) -> Result<()> {
        let root = self.create_root()?;
        if path.is_root() {
            return Ok(());
        }
        // Mostly there already: one lookup.
        match beneath::open(
            root,
            path.as_bytes(),
            OFlags::PATH | OFlags::DIRECTORY,
            self.walk_only,
        ) {
            Ok(_) => Ok(()),
            Err(Errno::NOENT) => self.make_dirs(path).map(drop),
            Err(e) => Err(self.resolve_error(path, e, Access::Write)),
        }
    }
}
#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_rename_that_must_not_replace_never_does() {
        let dir = tempfile::tempdir().unwrap();
        let t = LocalTransport::new(dir.path());
        let rel = |s: &str| RelPath::new(s).unwrap();
        fs::write(dir.path().join("a"), b"a").unwrap();
        fs::write(dir.path().join("b"), b"b").unwrap();
        let err = t.rename_no_replace(&rel("a"), &rel("b")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        assert_eq!(err.path(), Some(&*dir.path().join("b")));
        assert_eq!(fs::read(dir.path().join("a")).unwrap(), b"a");
        assert_eq!(fs::read(dir.path().join("b")).unwrap(), b"b");
        t.rename_no_replace(&rel("a"), &rel("c")).unwrap();
        assert_eq!(fs::read(dir.path().join("c")).unwrap(), b"a");
        assert!(!dir.path().join("a").exists());
    }

    #[test]
    fn atomic_write_replaces_and_sets_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let t = LocalTransport::new(dir.path());
        let p = RelPath::new("f.txt").unwrap();
        fs::write(dir.path().join("f.txt"), b"old").unwrap();
        let meta = Meta {
            mtime_ns: 1_600_000_000_123_456_789,
            mode: Some(0o640),
            owner: None,
        };
        let mut data: &[u8] = b"new contents";
        let n = t
            .write(&p, Source::Stream(&mut data), &meta, WriteMode::Atomic)
            .unwrap();
        assert_eq!(n, 12);
        let e = t.stat(&p).unwrap().unwrap();
        assert_eq!(
            (e.size, e.mtime_ns, e.mode),
            (12, 1_600_000_000_123_456_789, 0o640)
        );
        // No temporaries left, and the listing never shows them.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// A source file with known contents and time, and the transport of another folder.
    fn setup(contents: &[u8]) -> (tempfile::TempDir, File, LocalTransport) {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("source");
        fs::write(&src, contents).unwrap();
        filetime::set_file_mtime(&src, filetime_of(1_500_000_000_000_000_007)).unwrap();
        fs::create_dir(dir.path().join("dest")).unwrap();
        let t = LocalTransport::new(dir.path().join("dest"));
        (dir, File::open(src).unwrap(), t)
    }

    fn meta() -> Meta {
        Meta {
            mtime_ns: 1_500_000_000_000_000_007,
            mode: Some(0o604),
            owner: None,
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn atomic_file_copies_create_new_files_and_replace_read_only_ones() {
        let (dir, file, t) = setup(b"0123456789");
        let dest = dir.path().join("dest");
        for (name, before) in [("new", None), ("old", Some(&b"previous, longer"[..]))] {
            let p = RelPath::new(name).unwrap();
            if let Some(b) = before {
                fs::write(dest.join(name), b).unwrap();
                fs::set_permissions(dest.join(name), fs::Permissions::from_mode(0o444)).unwrap();
            }
            let source = Source::of_file(&file).unwrap();
            let n = t.write(&p, source, &meta(), WriteMode::Atomic).unwrap();
            assert_eq!(n, 10, "{name}");
            assert_eq!(fs::read(dest.join(name)).unwrap(), b"0123456789", "{name}");
            let e = t.stat(&p).unwrap().unwrap();
            assert_eq!((e.mtime_ns, e.mode), (meta().mtime_ns, 0o604), "{name}");
        }
        assert_eq!(names(&dest), ["new", "old"], "no temporaries left");
    }

    #[test]
    fn a_source_that_changed_since_its_caller_looked_is_never_committed() {
        let (dir, file, t) = setup(b"0123456789");
        let dest = dir.path().join("dest");
        fs::write(dest.join("old"), b"keep me").unwrap();
        // The caller saw another time, or fewer bytes (the file grew): both are a change.
        let stale = [
            (10, 1_500_000_000_000_000_008),
            (4, 1_500_000_000_000_000_007),
        ];
        for (size, mtime_ns) in stale {
            for name in ["new", "old"] {
                let p = RelPath::new(name).unwrap();
                let source = Source::File {
                    file: &file,
                    size,
                    mtime_ns,
                };
                let e = t.write(&p, source, &meta(), WriteMode::Atomic).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::Busy, "{name} {size}: {e}");
                assert!(e.to_string().contains("changed while being copied"), "{e}");
            }
            assert_eq!(fs::read(dest.join("old")).unwrap(), b"keep me");
            assert_eq!(names(&dest), ["old"], "nothing new, no temporaries");
        }
    }

    #[test]
    fn direct_file_copies_report_a_changed_source_after_writing() {
        let (dir, file, t) = setup(b"abc");
        let p = RelPath::new("f").unwrap();
        let source = Source::File {
            file: &file,
            size: 3,
            mtime_ns: 1,
        };
        let e = t.write(&p, source, &meta(), WriteMode::Direct).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Busy);
        assert_eq!(fs::read(dir.path().join("dest/f")).unwrap(), b"abc");
    }

    #[test]
    fn a_retried_file_copy_starts_from_the_beginning_of_the_source() {
        let (dir, mut file, t) = setup(b"0123456789");
        // A first attempt (or anyone) moved the file position.
        let mut skip = [0u8; 6];
        file.read_exact(&mut skip).unwrap();
        let p = RelPath::new("f").unwrap();
        let source = Source::File {
            file: &file,
            size: 10,
            mtime_ns: 1_500_000_000_000_000_007,
        };
        t.write(&p, source, &meta(), WriteMode::Atomic).unwrap();
        assert_eq!(fs::read(dir.path().join("dest/f")).unwrap(), b"0123456789");
    }

    #[test]
    fn atomic_writes_into_a_missing_folder_are_not_found() {
        let (dir, file, t) = setup(b"x");
        let p = RelPath::new("no/such/folder/f").unwrap();
        for mode in [WriteMode::Atomic, WriteMode::Direct] {
            let e = t
                .write(&p, Source::of_file(&file).unwrap(), &meta(), mode)
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotFound, "{mode:?}: {e}");
        }
        assert!(names(&dir.path().join("dest")).is_empty());
    }

    #[test]
    fn without_unnamed_files_atomic_writes_go_through_a_temporary_name() {
        let (dir, file, mut t) = setup(b"0123456789");
        t.unnamed_files = false;
        let dest = dir.path().join("dest");
        fs::write(dest.join("old"), b"keep me").unwrap();
        let p = RelPath::new("new").unwrap();
        t.write(
            &p,
            Source::of_file(&file).unwrap(),
            &meta(),
            WriteMode::Atomic,
        )
        .unwrap();
        let stale = Source::File {
            file: &file,
            size: 10,
            mtime_ns: 0,
        };
        let e = t
            .write(
                &RelPath::new("old").unwrap(),
                stale,
                &meta(),
                WriteMode::Atomic,
            )
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Busy);
        assert_eq!(fs::read(dest.join("new")).unwrap(), b"0123456789");
        assert_eq!(fs::read(dest.join("old")).unwrap(), b"keep me");
        assert_eq!(names(&dest), ["new", "old"]);
    }

    /// Safety rule 8 (issue 10, items 3 and 4): links planted in a tree, at every position,
    /// never let a call change what lies outside the root.
    mod links {
        use std::os::unix::fs::symlink;
        use std::sync::atomic::{AtomicBool, Ordering};

        use super::*;

        /// What a tree holds: per path, its kind, contents or link target, mode and time.
        type State = Vec<(PathBuf, String, Vec<u8>, u32, i64)>;

        fn state(dir: &Path) -> State {
            let mut out = Vec::new();
            let mut todo = vec![dir.to_path_buf()];
            while let Some(d) = todo.pop() {
                for item in fs::read_dir(&d).unwrap() {
                    let path = item.unwrap().path();
                    let md = fs::symlink_metadata(&path).unwrap();
                    let (kind, data) = if md.is_symlink() {
                        (
                            "link",
                            fs::read_link(&path).unwrap().into_os_string().into_vec(),
                        )
                    } else if md.is_dir() {
                        todo.push(path.clone());
                        ("dir", Vec::new())
                    } else {
                        ("file", fs::read(&path).unwrap())
                    };
                    let rel = path.strip_prefix(dir).unwrap().to_path_buf();
                    out.push((rel, kind.into(), data, md.mode(), mtime_ns(&md)));
                }
            }
            out.sort();
            out
        }

        /// A root holding links of every kind, and a tree outside it.
        ///
        /// ```text
        /// outside/f, outside/sub/g, outside/sub/deeper/
        /// root/p      -> ../outside        a link where a folder is needed
        /// root/up     -> ../outside        an ancestor further up (paths up/sub/...)
        /// root/abs    -> /…/outside        absolute
        /// root/lf     -> ../outside/f      a final link to a file outside
        /// root/ld     -> ../outside/sub    a final link to a folder outside
        /// root/dangle -> ../outside/none   dangling (following it would create none)
        /// root/plain, root/real/
        /// ```
        struct Trees {
            dir: tempfile::TempDir,
        }

        impl Trees {
            fn new() -> Trees {
                let dir = tempfile::tempdir().unwrap();
                let t = Trees { dir };
                let (root, outside) = (t.root(), t.outside());
                fs::create_dir_all(outside.join("sub/deeper")).unwrap();
                fs::write(outside.join("f"), b"outside file").unwrap();
                fs::write(outside.join("sub/g"), b"outside g").unwrap();
                fs::create_dir_all(root.join("real")).unwrap();
                fs::write(root.join("plain"), b"plain").unwrap();
                for (name, target) in [
                    ("p", PathBuf::from("../outside")),
                    ("up", PathBuf::from("../outside")),
                    ("abs", outside.clone()),
                    ("lf", PathBuf::from("../outside/f")),
                    ("ld", PathBuf::from("../outside/sub")),
                    ("dangle", PathBuf::from("../outside/none")),
                ] {
                    symlink(target, root.join(name)).unwrap();
                }
                t
            }
            fn root(&self) -> PathBuf {
                self.dir.path().join("root")
            }
            fn outside(&self) -> PathBuf {
                self.dir.path().join("outside")
            }
            fn transport(&self, walk_only: bool) -> LocalTransport {
                let mut t = LocalTransport::new(self.root());
                t.walk_only = walk_only;
                t
            }
        }

        fn p(s: &str) -> RelPath {
            RelPath::new(s).unwrap()
        }

        fn stream_write(t: &LocalTransport, path: &RelPath, mode: WriteMode) -> Result<()> {
            let mut data: &[u8] = b"written";
            let meta = Meta {
                mtime_ns: 1_000_000_000_000_000_000,
                mode: Some(0o600),
                owner: None,
            };
            t.write(path, Source::Stream(&mut data), &meta, mode)
                .map(drop)
        }

        type Op = fn(&LocalTransport, &RelPath) -> Result<()>;

        /// Every mutating call, by name.
        const OPS: &[(&str, Op)] = &[
            ("write atomic", |t, p| stream_write(t, p, WriteMode::Atomic)),
            ("write direct", |t, p| stream_write(t, p, WriteMode::Direct)),
            ("write atomic, named temporary", |t, p| {
                let mut t = t.clone();
                t.unnamed_files = false;
                stream_write(&t, p, WriteMode::Atomic)
            }),
            ("create_dir", |t, p| t.create_dir(p)),
            ("create_dir_all", |t, p| t.create_dir_all(p)),
            ("create_dir_all below", |t, p| {
                t.create_dir_all(&p.join(b"x").unwrap().join(b"y").unwrap())
            }),
            ("set_meta", |t, p| {
                let meta = Meta {
                    mtime_ns: 1_000_000_000,
                    mode: Some(0o600),
                    owner: Some(process_ids()),
                };
                t.set_meta(p, &meta)
            }),
            ("remove_file", |t, p| t.remove_file(p)),
            ("remove_dir", |t, p| t.remove_dir(p)),
            ("rename away", |t, p| {
                t.rename(p, &RelPath::new("moved").unwrap())
            }),
            ("rename onto", |t, p| {
                t.rename(&RelPath::new("plain").unwrap(), p)
            }),
            ("rename within", |t, p| {
                let to = p.parent().unwrap().join(b"renamed").unwrap();
                t.rename(p, &to)
            }),
            ("symlink", |t, p| t.symlink(p, b"anywhere")),
            ("subtree", |t, p| {
                let sub = t.subtree(p)?;
                let mut data: &[u8] = b"in subtree";
                sub.write(
                    &RelPath::new("s.txt").unwrap(),
                    Source::Stream(&mut data),
                    &Meta::default(),
                    WriteMode::Atomic,
                )
                .map(drop)
            }),
            ("rename_to", |t, p| {
                let other = LocalTransport::new(t.root().join("real"));
                t.rename_to(p, &other, &RelPath::new("moved").unwrap())
            }),
        ];

        fn is_link_error(e: &Error, shown: &Path) -> bool {
            e.kind() == ErrorKind::InvalidInput
                && e.message().contains("symbolic link")
                && e.message().contains("never writes through links")
                && e.path() == Some(shown)
        }

        #[test]
        fn a_link_on_the_way_fails_every_write_naming_the_link_and_nothing_outside_changes() {
            let paths = [
                ("p/new", "p"),
                ("p/f", "p"),
                ("p/sub", "p"),
                ("up/sub/g", "up"),
                ("up/sub/new", "up"),
                ("up/sub/deeper", "up"),
                ("abs/f", "abs"),
                ("ld/g", "ld"),
                ("dangle/new", "dangle"),
            ];
            for walk_only in [false, true] {
                for (path, link) in paths {
                    for (op, call) in OPS {
                        let trees = Trees::new();
                        let before = state(&trees.outside());
                        let t = trees.transport(walk_only);
                        let e = call(&t, &p(path)).expect_err(&format!("{op} {path}"));
                        let shown = trees.root().join(link);
                        assert!(
                            is_link_error(&e, &shown),
                            "{op} {path} walk={walk_only}: {e}"
                        );
                        assert_eq!(
                            state(&trees.outside()),
                            before,
                            "{op} {path} walk={walk_only}"
                        );
                    }
                    // The trash is never reached either.
                    let trees = Trees::new();
                    let e = trees
                        .transport(walk_only)
                        .move_to_trash(&p(path))
                        .unwrap_err();
                    assert!(is_link_error(&e, &trees.root().join(link)), "{e}");
                }
            }
        }

        #[test]
        fn a_final_link_is_acted_on_itself_and_never_followed() {
            for walk_only in [false, true] {
                for name in ["lf", "ld", "abs", "dangle"] {
                    for (op, call) in OPS {
                        let trees = Trees::new();
                        let before = state(&trees.outside());
                        let root = trees.root();
                        let target = fs::read_link(root.join(name)).unwrap();
                        let t = trees.transport(walk_only);
                        let result = call(&t, &p(name));
                        let what = format!("{op} {name} walk={walk_only}: {result:?}");
                        assert_eq!(state(&trees.outside()), before, "{what}");
                        let now = fs::symlink_metadata(root.join(name));
                        let still_link = || {
                            assert_eq!(fs::read_link(root.join(name)).unwrap(), target, "{what}")
                        };
                        match *op {
                            // The link is replaced by the written file.
                            "write atomic" | "write direct" | "write atomic, named temporary" => {
                                result.expect(&what);
                                assert_eq!(fs::read(root.join(name)).unwrap(), b"written");
                                assert!(now.unwrap().is_file(), "{what}");
                            }
                            "rename onto" => {
                                result.expect(&what);
                                assert_eq!(fs::read(root.join(name)).unwrap(), b"plain");
                            }
                            // The link itself goes, or moves.
                            "remove_file" => {
                                result.expect(&what);
                                assert!(now.is_err(), "{what}");
                            }
                            "rename away" => {
                                result.expect(&what);
                                assert_eq!(fs::read_link(root.join("moved")).unwrap(), target);
                            }
                            "rename within" => {
                                result.expect(&what);
                                assert_eq!(fs::read_link(root.join("renamed")).unwrap(), target);
                            }
                            "rename_to" => {
                                result.expect(&what);
                                let moved = root.join("real/moved");
                                assert_eq!(fs::read_link(moved).unwrap(), target);
                            }
                            // Times of the link itself; links have no permissions.
                            "set_meta" => {
                                result.expect(&what);
                                still_link();
                            }
                            // A link where a folder is needed.
                            "create_dir"
                            | "create_dir_all"
                            | "create_dir_all below"
                            | "subtree" => {
                                let e = result.expect_err(&what);
                                assert!(is_link_error(&e, &root.join(name)), "{what}");
                                still_link();
                            }
                            "remove_dir" | "symlink" => {
                                result.expect_err(&what);
                                still_link();
                            }
                            other => panic!("no expectation for {other}"),
                        }
                    }
                }
            }
        }

        #[test]
        fn the_same_calls_work_where_no_link_is_in_the_way() {
            for walk_only in [false, true] {
                let trees = Trees::new();
                let t = trees.transport(walk_only);
                let root = trees.root();
                t.create_dir_all(&p("real/a/b/c")).unwrap();
                t.create_dir(&p("real/a/d")).unwrap();
                t.create_dir(&p("real/a/d")).unwrap();
                stream_write(&t, &p("real/a/b/c/f"), WriteMode::Atomic).unwrap();
                stream_write(&t, &p("real/a/b/c/f"), WriteMode::Atomic).unwrap();
                stream_write(&t, &p("real/a/b/c/g"), WriteMode::Direct).unwrap();
                t.symlink(&p("real/a/l"), b"b/c/f").unwrap();
                t.rename(&p("real/a/b/c/g"), &p("real/a/d/g")).unwrap();
                let meta = Meta {
                    mtime_ns: 1_234_000_000_567,
                    mode: Some(0o751),
                    owner: Some(process_ids()),
                };
                t.set_meta(&p("real/a/d"), &meta).unwrap();
                let d = t.stat(&p("real/a/d")).unwrap().unwrap();
                assert_eq!(
                    (d.kind, d.mode, d.mtime_ns),
                    (EntryKind::Dir, 0o751, 1_234_000_000_567)
                );
                assert_eq!(fs::read(root.join("real/a/b/c/f")).unwrap(), b"written");
                assert_eq!(fs::read(root.join("real/a/d/g")).unwrap(), b"written");
                t.remove_file(&p("real/a/l")).unwrap();
                t.remove_file(&p("real/a/d/g")).unwrap();
                t.remove_dir(&p("real/a/d")).unwrap();
                assert_eq!(names(&root.join("real/a")), ["b"]);
                // The root itself: created when missing, its metadata set through its descriptor.
                let fresh = LocalTransport::new(trees.dir.path().join("new/root"));
                fresh.create_dir_all(&RelPath::root()).unwrap();
                fresh.set_meta(&RelPath::root(), &meta).unwrap();
                let e = fresh.stat(&RelPath::root()).unwrap().unwrap();
                assert_eq!(
                    (e.kind, e.mode, e.mtime_ns),
                    (EntryKind::Dir, 0o751, 1_234_000_000_567)
                );
            }
        }

        #[test]
        fn a_direct_write_never_writes_through_a_hard_link_to_a_file_outside() {
            let trees = Trees::new();
            fs::hard_link(trees.outside().join("f"), trees.root().join("hard")).unwrap();
            let before = state(&trees.outside());
            stream_write(&trees.transport(false), &p("hard"), WriteMode::Direct).unwrap();
            assert_eq!(fs::read(trees.root().join("hard")).unwrap(), b"written");
            assert_eq!(state(&trees.outside()), before);
        }

        #[test]
        fn a_subtree_is_created_beneath_the_root_and_written_there() {
            let trees = Trees::new();
            let t = trees.transport(false);
            let sub = t.subtree(&p("real/2030-01-01 000000")).unwrap();
            assert_eq!(sub.root(), trees.root().join("real/2030-01-01 000000"));
            stream_write(&sub, &p("d/f"), WriteMode::Atomic).unwrap_err();
            sub.create_dir_all(&p("d")).unwrap();
            stream_write(&sub, &p("d/f"), WriteMode::Atomic).unwrap();
            let written = trees.root().join("real/2030-01-01 000000/d/f");
            assert_eq!(fs::read(written).unwrap(), b"written");
            // The subtree keeps its folder as opened, whatever its name comes to mean.
            fs::rename(
                trees.root().join("real/2030-01-01 000000"),
                trees.root().join("real/elsewhere"),
            )
            .unwrap();
            symlink(trees.outside(), trees.root().join("real/2030-01-01 000000")).unwrap();
            let before = state(&trees.outside());
            stream_write(&sub, &p("g"), WriteMode::Atomic).unwrap();
            assert!(trees.root().join("real/elsewhere/g").is_file());
            assert_eq!(state(&trees.outside()), before);
        }

        #[test]
        fn reads_never_go_through_links_unless_the_transport_follows_them() {
            for walk_only in [false, true] {
                let trees = Trees::new();
                let root = trees.root();
                symlink("real", root.join("in")).unwrap();
                fs::write(root.join("real/r"), b"inside").unwrap();
                let t = trees.transport(walk_only);
                let read_refused = |e: Error, link: &str| {
                    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
                    assert!(e.message().contains("symbolic link"), "{e}");
                    assert_eq!(e.path(), Some(root.join(link).as_path()), "{e}");
                };
                for (path, link) in [
                    ("p/f", "p"),
                    ("up/sub/g", "up"),
                    ("abs/f", "abs"),
                    ("in/r", "in"),
                ] {
                    read_refused(t.stat(&p(path)).unwrap_err(), link);
                    read_refused(t.open(&p(path)).map(drop).unwrap_err(), link);
                    read_refused(t.open_local(&p(path)).map(drop).unwrap_err(), link);
                    read_refused(t.read_link(&p(path)).map(drop).unwrap_err(), link);
                    read_refused(t.read_dir(&p(link)).map(drop).unwrap_err(), link);
                }
                read_refused(t.open(&p("lf")).map(drop).unwrap_err(), "lf");
                // A link is listed and stat'ed as a link, and its target read as stored.
                let listed = t.read_dir(&RelPath::root()).unwrap();
                let kind = |n: &str| listed.iter().find(|e| e.path == p(n)).unwrap().kind;
                assert_eq!(
                    (kind("p"), kind("lf"), kind("real")),
                    (EntryKind::Symlink, EntryKind::Symlink, EntryKind::Dir)
                );
                assert_eq!(t.stat(&p("lf")).unwrap().unwrap().kind, EntryKind::Symlink);
                assert_eq!(t.read_link(&p("lf")).unwrap(), b"../outside/f");
                // Followed only while it stays below the root.
                assert_eq!(
                    t.stat_follow(&p("in")).unwrap().unwrap().kind,
                    EntryKind::Dir
                );
                for name in ["lf", "ld", "abs", "p", "dangle"] {
                    let e = t.stat_follow(&p(name)).unwrap_err();
                    assert!(e.message().contains("leading out"), "{name}: {e}");
                }
                symlink("nothing", root.join("dangling-inside")).unwrap();
                assert_eq!(t.stat_follow(&p("dangling-inside")).unwrap(), None);

                // A source whose profile follows links reads through them.
                let mut f = LocalTransport::following_links(&root);
                f.walk_only = walk_only;
                assert_eq!(f.stat(&p("p/f")).unwrap().unwrap().kind, EntryKind::File);
                assert_eq!(f.stat_follow(&p("lf")).unwrap().unwrap().size, 12);
                assert_eq!(f.read_to_vec(&p("up/sub/g")).unwrap(), b"outside g");
                let mut file = f.open_local(&p("lf")).unwrap().unwrap();
                let mut text = String::new();
                file.read_to_string(&mut text).unwrap();
                assert_eq!(text, "outside file");
                let mut sub: Vec<_> = f
                    .read_dir(&p("ld"))
                    .unwrap()
                    .into_iter()
                    .map(|e| e.path)
                    .collect();
                sub.sort();
                assert_eq!(sub, [p("ld/deeper"), p("ld/g")]);
                // ...but never writes through them.
                let before = state(&trees.outside());
                let e = stream_write(&f, &p("p/f"), WriteMode::Atomic).unwrap_err();
                assert!(is_link_error(&e, &root.join("p")), "{e}");
                assert!(is_link_error(
                    &f.remove_file(&p("up/sub/g")).unwrap_err(),
                    &root.join("up")
                ));
                assert_eq!(state(&trees.outside()), before);
            }
        }

        #[test]
        fn links_inside_the_root_are_followed_by_stat_follow_without_openat2_as_with_it() {
            let trees = Trees::new();
            let root = trees.root();
            fs::create_dir_all(root.join("real/deep")).unwrap();
            fs::write(root.join("real/deep/x"), b"x").unwrap();
            symlink("real", root.join("in")).unwrap();
            symlink("in/deep/../deep", root.join("chain")).unwrap();
            symlink("../real/deep/x", root.join("real/up")).unwrap();
            symlink("real/../../outside", root.join("esc")).unwrap();
            symlink("loop2", root.join("loop1")).unwrap();
            symlink("loop1", root.join("loop2")).unwrap();
            symlink(".", root.join("here")).unwrap();
            for walk_only in [false, true] {
                let t = trees.transport(walk_only);
                let kind = |s: &str| t.stat_follow(&p(s)).map(|e| e.map(|e| (e.kind, e.size)));
                assert_eq!(
                    kind("in").unwrap(),
                    Some((EntryKind::Dir, 0)),
                    "walk={walk_only}"
                );
                assert_eq!(kind("chain").unwrap(), Some((EntryKind::Dir, 0)));
                assert_eq!(kind("chain/x").unwrap(), Some((EntryKind::File, 1)));
                assert_eq!(kind("real/up").unwrap(), Some((EntryKind::File, 1)));
                assert_eq!(kind("here").unwrap(), Some((EntryKind::Dir, 0)));
                assert_eq!(kind("in/nothing").unwrap(), None);
                assert!(kind("esc").unwrap_err().message().contains("leading out"));
                assert!(kind("esc/f").is_err());
                assert!(kind("loop1").is_err());
            }
        }

        #[test]
        fn a_folder_swapped_with_a_link_during_writes_never_lets_one_out() {
            use rustix::fs::{renameat_with, RenameFlags};
            for walk_only in [false, true] {
                let trees = Trees::new();
                let (root, outside) = (trees.root(), trees.outside());
                // Outside holds every name the writer uses, so any escape shows.
                for dir in ["", "in/"] {
                    fs::create_dir_all(outside.join(dir).join("x/y")).unwrap();
                    for i in 0..4 {
                        for name in ["f", "g", "l"] {
                            fs::write(outside.join(format!("{dir}{name}{i}")), b"out").unwrap();
                        }
                        fs::create_dir(outside.join(format!("{dir}d{i}"))).unwrap();
                    }
                }
                fs::create_dir_all(root.join("box/in")).unwrap();
                symlink(&outside, root.join("swap")).unwrap();
                let before = state(&outside);
                let stop = AtomicBool::new(false);
                let t = trees.transport(walk_only);
                std::thread::scope(|s| {
                    s.spawn(|| {
                        // box and swap trade places: now a folder, now a link to outside.
                        while !stop.load(Ordering::Relaxed) {
                            let _ = renameat_with(
                                CWD,
                                root.join("box").as_path(),
                                CWD,
                                root.join("swap").as_path(),
                                RenameFlags::EXCHANGE,
                            );
                        }
                    });
                    let meta = Meta {
                        mtime_ns: 1_000_000_000,
                        mode: Some(0o600),
                        owner: None,
                    };
                    for round in 0..400 {
                        let i = round % 4;
                        let dir = if round % 2 == 0 { "box" } else { "box/in" };
                        let at = |name: &str| p(&format!("{dir}/{name}{i}"));
                        let (f, g, d, l) = (at("f"), at("g"), at("d"), at("l"));
                        let _ = stream_write(&t, &f, WriteMode::Atomic);
                        let _ = stream_write(&t, &g, WriteMode::Direct);
                        let _ = t.set_meta(&f, &meta);
                        let _ = t.rename(&f, &g);
                        let _ = t.remove_file(&g);
                        let _ = t.create_dir(&d);
                        let _ = t.remove_dir(&d);
                        let _ = t.symlink(&l, b"x");
                        let _ = t.remove_file(&l);
                        let _ = t.create_dir_all(&p(&format!("{dir}/x/y/z")));
                        let _ = t.remove_dir(&p(&format!("{dir}/x/y/z")));
                    }
                    stop.store(true, Ordering::Relaxed);
                });
                assert_eq!(state(&outside), before, "walk={walk_only}");
            }
        }
    }
}
