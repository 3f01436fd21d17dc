//! Operations on single entries of either side: copying files and links, updating
//! metadata, deleting (into versions, the trash, or for good), and the checks that keep a
//! copy or a deletion from undoing an edit made while the run works.

use std::path::PathBuf;
use std::sync::Mutex;

use super::Folder;
use crate::compare::blake3_file;
use crate::error::{Error, ErrorKind, Result};
use crate::path::RelPath;
use crate::plan::{Action, ActionKind, Reason};
use crate::profile::{DeletionMode, SymlinkMode};
use crate::transport::{entry_from_metadata, temp_sibling, ExactStream, Source, WriteMode};
use crate::vocab::{Entry, EntryKind, Meta, Side};

impl Folder<'_> {
    /// The entry at `path` on `side` now (following links when the profile follows them).
    fn entry_on(&self, side: Side, path: &RelPath) -> Result<Entry> {
        let t = self.side(side);
        let found = if self.profile.copy.symlinks == SymlinkMode::Follow {
            t.stat_follow(path)?
        } else {
            t.stat(path)?
        };
        found.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("vanished from the {} since the scan", side.name()),
            )
            .with_path(self.local(side, path))
        })
    }

    pub(super) fn meta_of(&self, e: &Entry) -> Meta {
        Meta {
            mtime_ns: e.mtime_ns,
            mode: (self.profile.copy.preserve_permissions && e.mode != 0).then_some(e.mode),
            owner: if self.profile.copy.preserve_owner {
                e.owner
            } else {
                None
            },
        }
    }

    /// Copies the file or link at `a.path` from the other side to side `a.to`.
    pub(super) fn copy(&self, a: &Action) -> Result<u64> {
        let (from, to) = (a.to.other(), a.to);
        let follow = self.profile.copy.symlinks == SymlinkMode::Follow;
        if a.entry == EntryKind::Symlink && !follow {
            self.preserve_replaced(a)?;
            return self.copy_link(a);
        }
        // One path lookup: the open file answers every later question (fstat, not lstat).
        // A backend without local files is read as a stream.
        let local = self.local(from, &a.path);
        let src = self.side(from);
        let file = src.open_local(&a.path)?;
        let before = match &file {
            Some(f) => f
                .metadata()
                .map(|md| entry_from_metadata(a.path.clone(), &md))
                .map_err(|e| Error::io(&local, e))?,
            None => self.entry_on(from, &a.path)?,
        };
        if before.kind != EntryKind::File {
            return Err(Error::invalid("not a file any more").with_path(&local));
        }
        self.check_unchanged_since_scan(a, &before)?;
        self.preserve_replaced(a)?;
        let meta = self.meta_of(&before);
        // In place when the profile says "copy directly", else atomically. A backend without
        // atomic renames (`Capabilities::atomic_rename`) makes an atomic write its own way
        // (a temporary, then the old file removed and the temporary renamed in), so the
        // name never holds a torn file, only for a moment none: never a direct write for it.
        let mode = if self.profile.copy.copy_directly {
            WriteMode::Direct
        } else {
            WriteMode::Atomic
        };
        // The transport copies the file as `before` saw it and checks it again before the
        // copy takes the name (atomic) or after it was written (direct): a torn copy never
        // replaces the target.
        // A stream must give the size seen, no more and no less: a transfer that breaks off
        // or a file that changes meanwhile never replaces the target.
        let stream = match file {
            Some(_) => None,
            None => Some(Mutex::new(ExactStream::new(
                src.open(&a.path)?,
                before.size,
            ))),
        };
        let side = self.side(to);
        let write = || match (&file, &stream) {
            (Some(file), _) => {
                let source = Source::File {
                    file,
                    size: before.size,
                    mtime_ns: before.mtime_ns,
                };
                side.write(&a.path, source, &meta, mode)
            }
            (None, Some(stream)) => {
                let mut input = stream.lock().unwrap_or_else(|p| p.into_inner());
                side.write(&a.path, Source::Stream(&mut *input), &meta, mode)
            }
            (None, None) => Err(Error::invalid("no source to copy").with_path(&local)),
        };
        // A source that changed, or whose stream failed, is what the error is about.
        let read_failed = || {
            stream
                .as_ref()
                .is_some_and(|s| s.lock().unwrap_or_else(|p| p.into_inner()).failed())
        };
        let bytes = self.with_parent(to, &a.path, write).map_err(|e| {
            if e.kind() == ErrorKind::Busy || read_failed() {
                e.with_path(&local)
            } else {
                e
            }
        })?;
        // A backend that took fewer bytes than the source gave, and said nothing.
        if bytes != before.size {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!(
                    "{bytes} of {} bytes written; copied again on the next run",
                    before.size
                ),
            )
            .with_path(self.local(to, &a.path)));
        }
        if self.profile.copy.verify {
            self.verify(a)?;
        }
        Ok(bytes)
    }

    /// Two-way: a copy reads the entry the plan saw and replaces only what the plan saw, so an
    /// edit made on either side while the run works is never overwritten or copied half-done:
    /// the path is left for the next run.
    fn check_unchanged_since_scan(&self, a: &Action, read: &Entry) -> Result<()> {
        if self.state.is_none() || (a.source.is_none() && a.destination.is_none()) {
            return Ok(());
        }
        let planned = |side: Side| match side {
            Side::Source => a.source,
            Side::Destination => a.destination,
        };
        let (from, to) = (a.to.other(), a.to);
        let busy = |side: Side| {
            Err(Error::new(
                ErrorKind::Busy,
                format!(
                    "changed on the {} since the scan; left for the next run",
                    side.name()
                ),
            )
            .with_path(self.local(side, &a.path)))
        };
        if let Some(p) = planned(from) {
            if (p.size, p.mtime_ns) != (read.size, read.mtime_ns) {
                return busy(from);
            }
        }
        match (planned(to), self.side(to).stat(&a.path)?) {
            (_, None) => Ok(()),
            (Some(p), Some(now))
                if now.kind == EntryKind::Dir
                    || (p.size, p.mtime_ns) == (now.size, now.mtime_ns) =>
            {
                Ok(())
            }
            _ => busy(to),
        }
    }

    /// With versions on, the file a copy replaces goes to its side's versions folder.
    fn preserve_replaced(&self, a: &Action) -> Result<()> {
        let present = match a.to {
            Side::Source => a.source.is_some(),
            Side::Destination => a.destination.is_some(),
        };
        if let (Some(versions), true) = (&self.versions[a.to as usize], present) {
            if self.profile.versions.enabled() && a.reason != Reason::Replaced {
                if let Some(old) = self.side(a.to).stat(&a.path)? {
                    if old.kind != EntryKind::Dir {
                        versions
                            .preserve(&a.path, self.now_ns)
                            .map_err(|e| version_not_kept(e, self.local(a.to, &a.path)))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Copies a symbolic link as a link: made under a temporary name, renamed into place.
    fn copy_link(&self, a: &Action) -> Result<u64> {
        let (from, to) = (a.to.other(), a.to);
        let before = self.entry_on(from, &a.path)?;
        self.check_unchanged_since_scan(a, &before)?;
        let target = self.side(from).read_link(&a.path)?;
        let temp = temp_sibling(&a.path);
        let dst = self.side(to);
        self.with_parent(to, &a.path, || dst.symlink(&temp, &target))?;
        dst.rename(&temp, &a.path).inspect_err(|_| {
            let _ = dst.remove_file(&temp);
        })?;
        dst.set_meta(
            &a.path,
            &Meta {
                mode: None,
                ..self.meta_of(&before)
            },
        )?;
        Ok(0)
    }

    /// Runs `op`; when the folder on `side` is missing (a versioned backup, a folder deleted
    /// meanwhile), creates it and runs `op` again.
    pub(super) fn with_parent<T>(
        &self,
        side: Side,
        path: &RelPath,
        op: impl Fn() -> Result<T>,
    ) -> Result<T> {
        match op() {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                if let Some(parent) = path.parent() {
                    self.side(side).create_dir_all(&parent)?;
                }
                op()
            }
            other => other,
        }
    }

    fn verify(&self, a: &Action) -> Result<()> {
        let (s, d) = (
            blake3_file(self.side(a.to.other()), &a.path)?,
            blake3_file(self.side(a.to), &a.path)?,
        );
        if s != d {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!("copy differs from the {} (BLAKE3)", a.to.other().name()),
            )
            .with_path(self.local(a.to, &a.path)));
        }
        Ok(())
    }

    pub(super) fn update_meta(&self, a: &Action) -> Result<u64> {
        let e = self.entry_on(a.to.other(), &a.path)?;
        let meta = self.meta_of(&e);
        self.side(a.to).set_meta(&a.path, &meta).map(|()| 0)
    }

    pub(super) fn delete_moved_source(&self, a: &Action) -> Result<u64> {
        let (src, dst) = (self.side(Side::Source), self.side(Side::Destination));
        let e = self.entry_on(Side::Source, &a.path)?;
        let shown = || self.local(Side::Source, &a.path);
        match e.kind {
            EntryKind::Symlink => {
                if src.read_link(&a.path)? != dst.read_link(&a.path)? {
                    return Err(Error::new(
                        ErrorKind::Corrupt,
                        "destination link differs; source kept",
                    )
                    .with_path(shown()));
                }
            }
            _ => {
                if blake3_file(src, &a.path)? != blake3_file(dst, &a.path)? {
                    return Err(Error::new(
                        ErrorKind::Corrupt,
                        "destination differs from the source; source kept",
                    )
                    .with_path(shown()));
                }
            }
        }
        src.remove_file(&a.path).map(|()| 0)
    }

    /// Deletes the file or link at `a.path` on side `a.to` as the profile says.
    pub(super) fn delete(&self, a: &Action) -> Result<u64> {
        let side = self.side(a.to);
        if self.state.is_some() {
            // Two-way: a file edited since the scan is not deleted; the next run sees the edit.
            let planned = match a.to {
                Side::Source => a.source,
                Side::Destination => a.destination,
            };
            if let (Some(p), Some(now)) = (planned, side.stat(&a.path)?) {
                if now.kind != EntryKind::Dir && (p.size, p.mtime_ns) != (now.size, now.mtime_ns) {
                    return Err(Error::new(
                        ErrorKind::Busy,
                        format!("changed on the {} since the scan; not deleted", a.to.name()),
                    )
                    .with_path(self.local(a.to, &a.path)));
                }
            }
        }
        // A link holds nothing to keep as a version: it goes for good (the link, never what it
        // points to).
        let mode = match self.profile.versions.deleted_files {
            DeletionMode::Versions if a.entry == EntryKind::Symlink => DeletionMode::Erase,
            mode => mode,
        };
        match mode {
            DeletionMode::Versions => match &self.versions[a.to as usize] {
                Some(v) => v
                    .preserve(&a.path, self.now_ns)
                    .map_err(|e| version_not_kept(e, self.local(a.to, &a.path)))?,
                None => {
                    return Err(Error::invalid(
                        "versions.deleted-files is \"versions\" but no versions are kept",
                    ))
                }
            },
            DeletionMode::Trash => side
                .as_local()
                .ok_or_else(|| {
                    Error::not_supported(format!(
                        "moving files of {} to the trash",
                        side.describe()
                    ))
                    .with_path(self.local(a.to, &a.path))
                })?
                .move_to_trash(&a.path)?,
            DeletionMode::Erase => match side.remove_file(&a.path) {
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                other => other?,
            },
        }
        Ok(0)
    }

    /// Whether the folder at `path` on `side` is gone or holds nothing.
    pub(super) fn empty_or_gone(&self, side: Side, path: &RelPath) -> bool {
        match self.side(side).read_dir(path) {
            Ok(entries) => entries.is_empty(),
            Err(e) => e.kind() == ErrorKind::NotFound,
        }
    }

    /// Removes a destination folder whose listed contents are gone. A folder that still holds
    /// entries the filters exclude is kept, with a warning: excluded files are never deleted.
    pub(super) fn delete_dir(&self, a: &Action) {
        let side = self.side(a.to);
        match side.remove_dir(&a.path) {
            Ok(()) => self.done(a, 0),
            Err(e) if e.kind() == ErrorKind::NotFound => self.done(a, 0),
            Err(e) => match side.read_dir(&a.path) {
                Ok(rest) if !rest.is_empty() => {
                    // Entries the run meant to delete but could not (their errors are
                    // reported), or entries the filters exclude.
                    let failed = rest.iter().any(|r| {
                        self.plan
                            .actions
                            .iter()
                            .any(|x| x.kind == ActionKind::Delete && x.path == r.path)
                    });
                    let why = if failed {
                        "folder kept: entries in it could not be deleted"
                    } else {
                        "folder kept: it holds entries excluded from synchronization"
                    };
                    self.warn(
                        self.shown(a.to, &a.path),
                        ErrorKind::AlreadyExists,
                        why.into(),
                    );
                }
                _ => self.failed(a, &e),
            },
        }
    }
}

/// `err`, from keeping the old version of a file (`shown`) in its versions folder, as the
/// file's error: it names the file, and says where its version was to go. The file is left
/// as it was.
pub(super) fn version_not_kept(err: Error, shown: PathBuf) -> Error {
    let at = match err.path() {
        Some(p) if p != shown => format!(" ({})", p.display()),
        _ => String::new(),
    };
    let message = format!(
        "left as it was: its old version could not be kept{at}: {}",
        err.message()
    );
    let retryable = err.is_retryable();
    Error::new(err.kind(), message)
        .with_path(shown)
        .retryable(retryable)
        .with_source(err)
}
