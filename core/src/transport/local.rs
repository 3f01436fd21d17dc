//! Local and network-mounted folders.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use filetime::FileTime;
use rustix::io::Errno;

use super::{
    mtime_ns, temp_sibling, Capabilities, Entry, EntryKind, Meta, Source, Transport, WriteMode,
};
use crate::error::{Error, ErrorKind, Result};
use crate::path::RelPath;

/// A folder on a local (or mounted network) file system.
#[derive(Debug, Clone)]
pub struct LocalTransport {
    root: PathBuf,
    may_chown: bool,
    /// The user and group new files get (this process's).
    own_ids: (u32, u32),
    /// Whether unnamed files (`O_TMPFILE`) can be named later: linking one needs `/proc`.
    unnamed_files: bool,
}

impl LocalTransport {
    /// A transport rooted at `root` (which need not exist yet).
    pub fn new(root: impl Into<PathBuf>) -> LocalTransport {
        let own_ids = process_ids();
        LocalTransport {
            root: root.into(),
            may_chown: own_ids.0 == 0,
            own_ids,
            unnamed_files: Path::new("/proc/self/fd").is_dir(),
        }
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn full(&self, path: &RelPath) -> PathBuf {
        path.to_path(&self.root)
    }

    fn io(&self, path: &RelPath, err: io::Error) -> Error {
        Error::io(self.full(path), err)
    }
}

/// This process's effective user and group, as `/proc/self` shows them.
fn process_ids() -> (u32, u32) {
    fs::metadata("/proc/self")
        .map(|m| (m.uid(), m.gid()))
        .unwrap_or((u32::MAX, u32::MAX))
}

/// The entry for `path` from its (not followed) metadata.
pub(crate) fn entry_from_metadata(path: RelPath, md: &fs::Metadata) -> Entry {
    let ft = md.file_type();
    let kind = if ft.is_file() {
        EntryKind::File
    } else if ft.is_dir() {
        EntryKind::Dir
    } else if ft.is_symlink() {
        EntryKind::Symlink
    } else {
        EntryKind::Special
    };
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

fn filetime_of(ns: i64) -> FileTime {
    FileTime::from_unix_time(
        ns.div_euclid(1_000_000_000),
        ns.rem_euclid(1_000_000_000) as u32,
    )
}

/// How a written file comes to exist.
#[derive(Clone, Copy)]
enum Create {
    /// Truncate the target, or create it.
    Replace,
    /// Create the target, which must not exist (a temporary name).
    New,
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

/// An I/O error at `path`, [`ErrorKind::Busy`] when it says the source changed meanwhile.
fn write_error(path: &Path, e: io::Error) -> Error {
    if e.get_ref().is_some_and(|inner| inner.is::<SourceChanged>()) {
        Error::new(ErrorKind::Busy, e.to_string()).with_path(path)
    } else {
        Error::io(path, e)
    }
}

/// Whether `linkat(fd, "", AT_EMPTY_PATH)` names unnamed files for this process (Linux 6.10
/// and later, or with `CAP_DAC_READ_SEARCH`): 0 not known yet, 1 yes, 2 no.
static EMPTY_PATH_LINKS: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Gives the unnamed file `file` the name `to`: directly where the kernel allows it, else
/// through `/proc/self/fd` (a lookup in `/proc` more).
fn link_unnamed(file: &File, to: &Path) -> io::Result<()> {
    use rustix::fs::{linkat, AtFlags, CWD};
    use std::sync::atomic::Ordering;
    let direct = EMPTY_PATH_LINKS.load(Ordering::Relaxed);
    if direct != 2 {
        match linkat(file, "", CWD, to, AtFlags::EMPTY_PATH) {
            Ok(()) => {
                EMPTY_PATH_LINKS.store(1, Ordering::Relaxed);
                return Ok(());
            }
            // Refused as such (ENOENT: no capability on older kernels).
            Err(e) if direct == 0 && matches!(e, Errno::NOENT | Errno::PERM) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let fd = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(file));
    linkat(CWD, fd.as_str(), CWD, to, AtFlags::SYMLINK_FOLLOW)?;
    if direct == 0 {
        EMPTY_PATH_LINKS.store(2, Ordering::Relaxed);
    }
    Ok(())
}

/// Renames `from` to `to` unless something is at `to` (then [`io::ErrorKind::AlreadyExists`]),
/// atomically: `renameat2(RENAME_NOREPLACE)`, or where the file system lacks it, a hard link
/// (which never replaces either) and the removal of `from`.
pub(crate) fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(Errno::INVAL | Errno::NOSYS | Errno::NOTSUP)
            if fs::symlink_metadata(from).is_ok_and(|m| !m.is_dir()) =>
        {
            fs::hard_link(from, to)?;
            fs::remove_file(from)
        }
        Err(e) => Err(e.into()),
    }
}

impl LocalTransport {
    /// Opens `target` for writing as `create` says, fills it and applies `meta`.
    fn write_into(
        &self,
        target: &Path,
        source: Source<'_>,
        meta: &Meta,
        create: Create,
    ) -> io::Result<u64> {
        let mut opts = OpenOptions::new();
        opts.write(true).mode(meta.mode.unwrap_or(0o644) | 0o200);
        match create {
            Create::New => opts.create_new(true),
            Create::Replace => opts.create(true).truncate(true),
        };
        let out = opts.open(target)?;
        self.fill(&out, source, meta)
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
            out.set_permissions(fs::Permissions::from_mode(mode))?;
        }
        filetime::set_file_handle_times(out, None, Some(filetime_of(meta.mtime_ns)))?;
        Ok(written)
    }

    /// An atomic write: the file is written unnamed (`O_TMPFILE`) in the target's folder and
    /// linked under the target's name once complete, or, when the target exists, linked
    /// under a temporary name renamed over it. Where unnamed files are not available, the
    /// file is written under a temporary name from the start.
    fn write_atomic(&self, path: &RelPath, source: Source<'_>, meta: &Meta) -> Result<u64> {
        let target = self.full(path);
        let dir = target.parent().unwrap_or(&self.root);
        let unnamed = if self.unnamed_files {
            let mode = meta.mode.unwrap_or(0o644) | 0o200;
            match rustix::fs::open(
                dir,
                rustix::fs::OFlags::TMPFILE
                    | rustix::fs::OFlags::WRONLY
                    | rustix::fs::OFlags::CLOEXEC,
                rustix::fs::Mode::from_raw_mode(mode),
            ) {
                Ok(fd) => Some(File::from(fd)),
                Err(e) if no_unnamed_files(e) => None,
                Err(e) => return Err(Error::io(&target, e.into())),
            }
        } else {
            None
        };
        let Some(out) = unnamed else {
            let temp = self.full(&temp_sibling(path));
            return self
                .write_into(&temp, source, meta, Create::New)
                .and_then(|n| fs::rename(&temp, &target).map(|()| n))
                .map_err(|e| {
                    let _ = fs::remove_file(&temp);
                    write_error(&target, e)
                });
        };
        let n = self
            .fill(&out, source, meta)
            .map_err(|e| write_error(&target, e))?;
        let link = |to: &Path| link_unnamed(&out, to);
        match link(&target) {
            Ok(()) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let temp = self.full(&temp_sibling(path));
                link(&temp)
                    .and_then(|()| {
                        fs::rename(&temp, &target).inspect_err(|_| {
                            let _ = fs::remove_file(&temp);
                        })
                    })
                    .map(|()| n)
                    .map_err(|e| Error::io(&target, e))
            }
            Err(e) => Err(Error::io(&target, e)),
        }
    }
}

impl Transport for LocalTransport {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            set_mtime: true,
            permissions: true,
            symlinks: true,
            atomic_rename: true,
            mtime_resolution_ns: 1,
        }
    }

    fn stat(&self, path: &RelPath) -> Result<Option<Entry>> {
        match fs::symlink_metadata(self.full(path)) {
            Ok(md) => Ok(Some(entry_from_metadata(path.clone(), &md))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(path, e)),
        }
    }

    fn stat_follow(&self, path: &RelPath) -> Result<Option<Entry>> {
        match fs::metadata(self.full(path)) {
            Ok(md) => Ok(Some(entry_from_metadata(path.clone(), &md))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(path, e)),
        }
    }

    fn read_dir(&self, dir: &RelPath) -> Result<Vec<Entry>> {
        let full = self.full(dir);
        let rd = fs::read_dir(&full).map_err(|e| Error::io(&full, e))?;
        let mut out = Vec::new();
        for item in rd {
            let item = item.map_err(|e| Error::io(&full, e))?;
            let name = item.file_name();
            let name = std::os::unix::ffi::OsStrExt::as_bytes(name.as_os_str());
            let path = dir.join(name)?;
            match item.metadata() {
                Ok(md) => out.push(entry_from_metadata(path, &md)),
                // Vanished between readdir and stat: not there any more.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(item.path(), e)),
            }
        }
        Ok(out)
    }

    fn open(&self, path: &RelPath) -> Result<Box<dyn Read + Send>> {
        let f = File::open(self.full(path)).map_err(|e| self.io(path, e))?;
        Ok(Box::new(f))
    }

    fn write(
        &self,
        path: &RelPath,
        source: Source<'_>,
        meta: &Meta,
        mode: WriteMode,
    ) -> Result<u64> {
        match mode {
            WriteMode::Direct => {
                let target = self.full(path);
                // A read-only target must be replaced, not opened for writing.
                if let Ok(md) = fs::symlink_metadata(&target) {
                    if md.permissions().readonly() || !md.is_file() {
                        fs::remove_file(&target).map_err(|e| Error::io(&target, e))?;
                    }
                }
                self.write_into(&target, source, meta, Create::Replace)
                    .map_err(|e| write_error(&target, e))
            }
            WriteMode::Atomic => self.write_atomic(path, source, meta),
        }
    }

    fn create_dir(&self, path: &RelPath) -> Result<()> {
        let full = self.full(path);
        match fs::create_dir(&full) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && full.is_dir() => Ok(()),
            Err(e) => Err(Error::io(&full, e)),
        }
    }

    fn set_meta(&self, path: &RelPath, meta: &Meta) -> Result<()> {
        let full = self.full(path);
        let md = fs::symlink_metadata(&full).map_err(|e| Error::io(&full, e))?;
        let mtime = filetime_of(meta.mtime_ns);
        if md.file_type().is_symlink() {
            if self.may_chown {
                if let Some((uid, gid)) = meta.owner {
                    std::os::unix::fs::lchown(&full, Some(uid), Some(gid))
                        .map_err(|e| Error::io(&full, e))?;
                }
            }
            return filetime::set_symlink_file_times(&full, mtime, mtime)
                .map_err(|e| Error::io(&full, e));
        }
        if self.may_chown {
            if let Some((uid, gid)) = meta.owner {
                std::os::unix::fs::chown(&full, Some(uid), Some(gid))
                    .map_err(|e| Error::io(&full, e))?;
            }
        }
        if let Some(mode) = meta.mode {
            if md.mode() & 0o7777 != mode {
                fs::set_permissions(&full, fs::Permissions::from_mode(mode))
                    .map_err(|e| Error::io(&full, e))?;
            }
        }
        let atime = FileTime::from_last_access_time(&md);
        filetime::set_file_times(&full, atime, mtime).map_err(|e| Error::io(&full, e))
    }

    fn remove_file(&self, path: &RelPath) -> Result<()> {
        let full = self.full(path);
        fs::remove_file(&full).map_err(|e| Error::io(&full, e))
    }

    fn remove_dir(&self, path: &RelPath) -> Result<()> {
        let full = self.full(path);
        fs::remove_dir(&full).map_err(|e| Error::io(&full, e))
    }

    fn rename(&self, from: &RelPath, to: &RelPath) -> Result<()> {
        let (a, b) = (self.full(from), self.full(to));
        fs::rename(&a, &b).map_err(|e| Error::io(&a, e))
    }

    fn rename_no_replace(&self, from: &RelPath, to: &RelPath) -> Result<()> {
        let (a, b) = (self.full(from), self.full(to));
        rename_no_replace(&a, &b).map_err(|e| {
            let named = if e.kind() == io::ErrorKind::AlreadyExists {
                &b
            } else {
                &a
            };
            Error::io(named, e)
        })
    }

    fn read_link(&self, path: &RelPath) -> Result<Vec<u8>> {
        let full = self.full(path);
        let target = fs::read_link(&full).map_err(|e| Error::io(&full, e))?;
        Ok(std::os::unix::ffi::OsStrExt::as_bytes(target.as_os_str()).to_vec())
    }

    fn symlink(&self, path: &RelPath, target: &[u8]) -> Result<()> {
        let full = self.full(path);
        let target = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(target);
        std::os::unix::fs::symlink(target, &full).map_err(|e| Error::io(&full, e))
    }

    fn local_path(&self, path: &RelPath) -> Option<PathBuf> {
        Some(self.full(path))
    }

    fn create_dir_all(&self, path: &RelPath) -> Result<()> {
        let full = self.full(path);
        fs::create_dir_all(&full).map_err(|e| Error::io(&full, e))
    }
}

#[cfg(test)]
mod tests {
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
}
