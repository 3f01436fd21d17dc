//! Opening paths beneath a folder's descriptor without following links (safety rule 8).
//!
//! [`open`] resolves a relative path below a folder's descriptor so that no component may be
//! a symbolic link: with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)` where the kernel has
//! it (Linux 5.6), otherwise by opening one component after the other with `O_NOFOLLOW`. The
//! kernel checks each component as it walks, so a link swapped in at any moment makes the
//! call fail instead of leading elsewhere. [`open_following`] follows links as long as they
//! stay below the folder (`RESOLVE_BENEATH` alone), for reads only.
//!
//! Paths are [`RelPath`](crate::path::RelPath) bytes: `/`-separated names, never empty, `.`
//! or `..`.

use std::collections::VecDeque;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU8, Ordering};

use rustix::fs::{fstat, openat, openat2, readlinkat, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// Whether `openat2` works here: 0 not known yet, 1 yes, 2 no (`ENOSYS`: the walk instead).
static OPENAT2: AtomicU8 = AtomicU8::new(0);

/// At most this many links are followed by [`open_following`] (the kernel's limit).
const MAX_LINKS: u32 = 40;

/// Opens `rel` below `dir` with `flags`, following no link in any component.
///
/// A link as the final component fails too: with `ELOOP` for reads and writes (`O_NOFOLLOW`
/// is added), with `ELOOP` or `ENOTDIR` for `O_PATH | O_DIRECTORY`. Callers never pass
/// `O_PATH` without `O_DIRECTORY` (the walk would then open the link itself). `walk_only`
/// skips `openat2` (tests of the fallback).
pub(super) fn open(
    dir: BorrowedFd<'_>,
    rel: &[u8],
    flags: OFlags,
    walk_only: bool,
) -> Result<OwnedFd, Errno> {
    let flags = flags | OFlags::CLOEXEC | OFlags::NOFOLLOW;
    if !walk_only && OPENAT2.load(Ordering::Relaxed) != 2 {
        let resolve =
            ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
        if let Some(result) = with_openat2(|| openat2(dir, rel, flags, Mode::empty(), resolve)) {
            return result;
        }
    }
    walk(dir, rel, flags)
}

/// Opens `rel` below `dir` with `flags`, following links as long as they lead to entries
/// below `dir`: `EXDEV` when one leads outside (an absolute target, or `..` past `dir`),
/// `ELOOP` after too many.
pub(super) fn open_following(
    dir: BorrowedFd<'_>,
    rel: &[u8],
    flags: OFlags,
    walk_only: bool,
) -> Result<OwnedFd, Errno> {
    let flags = flags | OFlags::CLOEXEC;
    if !walk_only && OPENAT2.load(Ordering::Relaxed) != 2 {
        let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
        if let Some(result) = with_openat2(|| openat2(dir, rel, flags, Mode::empty(), resolve)) {
            return result;
        }
    }
    walk_following(dir, rel, flags)
}

/// Runs an `openat2` call; `None` when the kernel has no `openat2` (remembered).
fn with_openat2(call: impl Fn() -> Result<OwnedFd, Errno>) -> Option<Result<OwnedFd, Errno>> {
    // EAGAIN: a rename elsewhere raced the lookup; the kernel asks to try again.
    let mut result = call();
    for _ in 0..16 {
        if !matches!(result, Err(Errno::AGAIN)) {
            break;
        }
        result = call();
    }
    match result {
        Err(Errno::NOSYS) => {
            OPENAT2.store(2, Ordering::Relaxed);
            None
        }
        other => {
            OPENAT2.store(1, Ordering::Relaxed);
            Some(other)
        }
    }
}

/// The per-component walk: every folder on the way opened `O_PATH | O_DIRECTORY |
/// O_NOFOLLOW` (a link there fails with `ENOTDIR`), the final name with `flags`.
fn walk(dir: BorrowedFd<'_>, rel: &[u8], flags: OFlags) -> Result<OwnedFd, Errno> {
    let mut names = rel.split(|&b| b == b'/').filter(|n| !n.is_empty());
    let Some(mut name) = names.next() else {
        return openat(dir, ".", flags, Mode::empty());
    };
    let mut here: Option<OwnedFd> = None;
    for next in names {
        let at = here.as_ref().map_or(dir, AsFd::as_fd);
        here = Some(openat(at, name, folder_flags(), Mode::empty())?);
        name = next;
    }
    openat(
        here.as_ref().map_or(dir, AsFd::as_fd),
        name,
        flags,
        Mode::empty(),
    )
}

/// How folders on the way are opened.
pub(super) fn folder_flags() -> OFlags {
    OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

/// [`open_following`] without `openat2`: each name opened without following it; a link's
/// target is read and walked in its place, `..` goes back one folder (never above `dir`).
fn walk_following(dir: BorrowedFd<'_>, rel: &[u8], flags: OFlags) -> Result<OwnedFd, Errno> {
    let mut todo: VecDeque<Vec<u8>> = split(rel).collect();
    // The folders walked into, below `dir`.
    let mut folders: Vec<OwnedFd> = Vec::new();
    let mut links = 0;
    while let Some(name) = todo.pop_front() {
        let here = folders.last().map_or(dir, AsFd::as_fd);
        if name == b".." {
            folders.pop().ok_or(Errno::XDEV)?;
            continue;
        }
        let fd = openat(
            here,
            name.as_slice(),
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        match FileType::from_raw_mode(fstat(&fd)?.st_mode) {
            FileType::Symlink => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(Errno::LOOP);
                }
                let target = readlinkat(&fd, "", Vec::new())?.into_bytes();
                if target.first() == Some(&b'/') {
                    return Err(Errno::XDEV);
                }
                for part in split(&target).rev() {
                    todo.push_front(part);
                }
            }
            FileType::Directory => folders.push(fd),
            _ if todo.is_empty() && flags.contains(OFlags::PATH) => return Ok(fd),
            _ if todo.is_empty() => {
                return openat(
                    here,
                    name.as_slice(),
                    flags | OFlags::NOFOLLOW,
                    Mode::empty(),
                )
            }
            _ => return Err(Errno::NOTDIR),
        }
    }
    // The path ends on a folder (possibly `dir` itself).
    let at = folders.last().map_or(dir, AsFd::as_fd);
    openat(at, ".", flags, Mode::empty())
}

/// The names of a path, without empty and `.` ones (`..` kept).
fn split(path: &[u8]) -> impl DoubleEndedIterator<Item = Vec<u8>> + '_ {
    path.split(|&b| b == b'/')
        .filter(|n| !n.is_empty() && *n != b".")
        .map(<[u8]>::to_vec)
}
