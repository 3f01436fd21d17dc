//! Local and network-mounted folders.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use filetime::FileTime;

use super::{temp_sibling, Capabilities, Entry, EntryKind, Meta, Source, Transport, WriteMode};
use crate::error::{Error, Result};
use crate::path::RelPath;

/// A folder on a local (or mounted network) file system.
#[derive(Debug, Clone)]
pub struct LocalTransport {
    root: PathBuf,
    may_chown: bool,
    /// The user and group new files get (this process's).
    own_ids: (u32, u32),
}

impl LocalTransport {
    /// A transport rooted at `root` (which need not exist yet).
    pub fn new(root: impl Into<PathBuf>) -> LocalTransport {
        let own_ids = process_ids();
        LocalTransport {
            root: root.into(),
            may_chown: own_ids.0 == 0,
            own_ids,
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
        mtime_ns: md.mtime() * 1_000_000_000 + md.mtime_nsec(),
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

impl LocalTransport {
    fn write_into(
        &self,
        target: &Path,
        source: Source<'_>,
        meta: &Meta,
        create_new: bool,
    ) -> io::Result<u64> {
        let mut opts = OpenOptions::new();
        opts.write(true).mode(meta.mode.unwrap_or(0o644) | 0o200);
        if create_new {
            opts.create_new(true);
        } else {
            opts.create(true).truncate(true);
        }
        let mut out = opts.open(target)?;
        let written = match source {
            Source::File(mut input) => {
                // File-to-file io::copy uses copy_file_range (reflink-capable) on Linux.
                io::copy(&mut input, &mut out)?
            }
            Source::Stream(input) => io::copy(input, &mut out)?,
        };
        if self.may_chown {
            // A new file already belongs to us: only a different owner needs a call.
            if let Some((uid, gid)) = meta.owner.filter(|&o| o != self.own_ids) {
                std::os::unix::fs::fchown(&out, Some(uid), Some(gid))?;
            }
        }
        if let Some(mode) = meta.mode {
            out.set_permissions(fs::Permissions::from_mode(mode))?;
        }
        filetime::set_file_handle_times(&out, None, Some(filetime_of(meta.mtime_ns)))?;
        Ok(written)
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
                self.write_into(&target, source, meta, false)
                    .map_err(|e| Error::io(&target, e))
            }
            WriteMode::Atomic => {
                let temp = self.full(&temp_sibling(path));
                let target = self.full(path);
                let result = self
                    .write_into(&temp, source, meta, true)
                    .and_then(|n| fs::rename(&temp, &target).map(|()| n));
                match result {
                    Ok(n) => Ok(n),
                    Err(e) => {
                        let _ = fs::remove_file(&temp);
                        Err(Error::io(&target, e))
                    }
                }
            }
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
}
