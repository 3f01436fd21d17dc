//! The words every layer shares: what a replica's entries are ([`Entry`], [`EntryKind`],
//! [`Meta`]), which side of a folder pair ([`Side`]), one side's size and time ([`Stamp`]),
//! and the token that cancels and pauses a run ([`RunControl`]).
//!
//! This module sits at the bottom of the crate: it imports nothing of it but
//! [`RelPath`](crate::RelPath), so every module can use these words without importing one
//! above it (see `docs/ARCHITECTURE.md`).

mod control;

use serde::Serialize;

use crate::path::RelPath;

pub use control::RunControl;

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

/// Which side of a folder pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    /// The folder pair's source (left, "path 1").
    Source,
    /// The folder pair's destination (right, "path 2").
    #[default]
    Destination,
}

impl Side {
    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::Source => Side::Destination,
            Side::Destination => Side::Source,
        }
    }

    /// The kebab-case name used in JSON and by the bindings.
    pub fn name(self) -> &'static str {
        match self {
            Side::Source => "source",
            Side::Destination => "destination",
        }
    }
}

/// Size and time of one side of an action, for the preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Stamp {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
}

impl From<&Entry> for Stamp {
    fn from(e: &Entry) -> Stamp {
        Stamp {
            size: e.size,
            mtime_ns: e.mtime_ns,
        }
    }
}
