//! Two-way state: per folder pair, the base — every path as it was after the last sync — kept
//! in a SQLite database (see [`StateDb`]), and the run history.

use serde::Serialize;

use crate::path::RelPath;
use crate::vocab::{Entry, EntryKind, Side};

mod db;

pub use db::{BaseWriter, PairId, PairInfo, PairKey, PairLock, RunRecord, StateDb};

/// One side's metadata of a base entry: what the planner compares a fresh listing against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SideStamp {
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
    /// Permission bits; 0 when unknown.
    pub mode: u32,
    /// File identity (inode number); 0 when unknown.
    pub file_id: u64,
}

impl From<&Entry> for SideStamp {
    fn from(e: &Entry) -> SideStamp {
        SideStamp {
            mtime_ns: e.mtime_ns,
            mode: e.mode,
            file_id: e.file_id,
        }
    }
}

/// A path as both sides held it after it was last synchronized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct BaseEntry {
    /// Path relative to both roots.
    pub path: RelPath,
    /// File, folder or link (the same on both sides).
    pub kind: EntryKind,
    /// Size in bytes (0 for folders; a link's target length).
    pub size: u64,
    /// BLAKE3 of the contents (a link's target), when the run computed it.
    #[serde(skip_serializing_if = "Option::is_none", with = "hex_hash")]
    pub hash: Option<[u8; 32]>,
    /// The source side's metadata.
    pub source: SideStamp,
    /// The destination side's metadata.
    pub destination: SideStamp,
}

impl BaseEntry {
    /// A base entry for a path both sides now hold equally: `src` and `dst` are the two
    /// sides' entries (same kind and size).
    pub fn from_entries(src: &Entry, dst: &Entry, hash: Option<[u8; 32]>) -> BaseEntry {
        BaseEntry {
            path: src.path.clone(),
            kind: src.kind,
            size: src.size,
            hash,
            source: SideStamp::from(src),
            destination: SideStamp::from(dst),
        }
    }

    /// One side's stamp.
    pub fn side(&self, side: Side) -> &SideStamp {
        match side {
            Side::Source => &self.source,
            Side::Destination => &self.destination,
        }
    }

    /// Whether `now` (this path on `side` as listed now) is unchanged since the base: same
    /// kind, and for files and links the same size and mtime (and permission bits when both are
    /// known and `modes` is set). Folders change only by changing kind.
    pub fn unchanged(&self, side: Side, now: &Entry, modes: bool) -> bool {
        if now.kind != self.kind {
            return false;
        }
        if self.kind == EntryKind::Dir {
            return true;
        }
        let s = self.side(side);
        let modes_equal = !modes || s.mode == 0 || now.mode == 0 || s.mode == now.mode;
        now.size == self.size && now.mtime_ns == s.mtime_ns && modes_equal
    }
}

/// A copy a run is about to make: `path` on side `to` will hold an entry of this kind, size
/// and modification time (the other side's, copied with its time). Intents are written before
/// the copies and forgotten when the run completes, so the next run after a crash can tell a
/// propagated copy the base never learned from a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Intent {
    /// Path relative to both roots.
    pub path: RelPath,
    /// The side the copy writes.
    pub to: Side,
    /// File or link.
    pub kind: EntryKind,
    /// Size in bytes (a link's target length).
    pub size: u64,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
}

impl Intent {
    /// The base entry this intent makes when `now` (its path on its side) is exactly what it
    /// promised: the copy completed, so both sides held that version (file id, mode and hash
    /// unknown). `None` when the copy did not happen or the entry changed since.
    pub fn settled_by(&self, now: &Entry) -> Option<BaseEntry> {
        if now.kind != self.kind || now.size != self.size || now.mtime_ns != self.mtime_ns {
            return None;
        }
        let stamp = SideStamp {
            mtime_ns: self.mtime_ns,
            mode: 0,
            file_id: 0,
        };
        Some(BaseEntry {
            path: self.path.clone(),
            kind: self.kind,
            size: self.size,
            hash: None,
            source: stamp,
            destination: stamp,
        })
    }
}

/// The base of one folder pair, sorted by path like a [`crate::Listing`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Base {
    entries: Vec<BaseEntry>,
    synced: bool,
}

impl Base {
    /// A base from entries in any order; `synced` says whether a run has completed since the
    /// pair's state was created or cleared (if not, the next run is a first run: a union).
    pub fn new(mut entries: Vec<BaseEntry>, synced: bool) -> Base {
        entries.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        entries.dedup_by(|a, b| a.path == b.path);
        Base { entries, synced }
    }

    /// The entries, sorted by path.
    pub fn entries(&self) -> &[BaseEntry] {
        &self.entries
    }

    /// The entry at `path`.
    pub fn get(&self, path: &RelPath) -> Option<&BaseEntry> {
        self.entries
            .binary_search_by(|e| e.path.cmp(path))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// Whether a run has completed since the state was created or cleared.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// Applies the intents of an interrupted run: where the side an intent wrote now holds
    /// exactly the entry it promised, the copy completed, so both sides held that version at
    /// the end of the copy: the base says so (no file id, no hash: unknown). Other intents
    /// (copies that did not happen, or entries changed since) are ignored.
    ///
    /// `sides` are the entries listed now on the source and on the destination, each sorted
    /// by path (a [`Listing`](crate::Listing)'s entries).
    ///
    /// Returns the settled paths, sorted: the run must record them, or the next run, with the
    /// intents gone, would see the copies as changes again.
    pub fn settle(&mut self, intents: &[Intent], sides: [&[Entry]; 2]) -> Vec<RelPath> {
        if intents.is_empty() || !self.synced {
            return Vec::new();
        }
        let mut settled = Vec::new();
        for i in intents {
            let listed = sides[i.to as usize];
            let now = listed
                .binary_search_by(|e| e.path.cmp(&i.path))
                .ok()
                .map(|at| &listed[at]);
            if let Some(entry) = now.and_then(|now| i.settled_by(now)) {
                settled.push(entry);
            }
        }
        if settled.is_empty() {
            return Vec::new();
        }
        settled.sort_by(|a, b| a.path.cmp(&b.path));
        let paths = settled.iter().map(|e| e.path.clone()).collect();
        let mut entries = std::mem::take(&mut self.entries);
        entries.retain(|e| settled.binary_search_by(|s| s.path.cmp(&e.path)).is_err());
        entries.extend(settled);
        *self = Base::new(entries, true);
        paths
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

mod hex_hash {
    use serde::Serializer;

    pub fn serialize<S: Serializer>(h: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
        match h {
            Some(h) => s.serialize_str(&blake3::Hash::from_bytes(*h).to_hex()),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, size: u64, mtime_ns: i64) -> Entry {
        Entry {
            path: RelPath::new(path).unwrap(),
            kind: EntryKind::File,
            size,
            mtime_ns,
            mode: 0o644,
            owner: None,
            file_id: 7,
        }
    }

    #[test]
    fn settle_takes_only_intents_whose_side_holds_what_they_promised() {
        let old = BaseEntry::from_entries(&file("done", 1, 10), &file("done", 1, 10), None);
        let untouched = BaseEntry::from_entries(&file("todo", 1, 10), &file("todo", 1, 10), None);
        let mut base = Base::new(vec![old, untouched.clone()], true);
        let intent = |path: &str| Intent {
            path: RelPath::new(path).unwrap(),
            to: Side::Destination,
            kind: EntryKind::File,
            size: 2,
            mtime_ns: 20,
        };
        // "done" was copied (the destination holds the promised entry); "todo" was not.
        let src = [file("done", 2, 20), file("todo", 2, 20)];
        let dst = [file("done", 2, 20), file("todo", 1, 10)];
        let settled = base.settle(&[intent("done"), intent("todo")], [&src, &dst]);
        assert_eq!(settled, [RelPath::new("done").unwrap()]);
        let done = base.get(&RelPath::new("done").unwrap()).unwrap();
        assert!(done.unchanged(Side::Source, &file("done", 2, 20), true));
        assert!(done.unchanged(Side::Destination, &file("done", 2, 20), true));
        assert_eq!(base.get(&untouched.path), Some(&untouched));
        // A first run ignores intents, as it ignores the base.
        let mut first = Base::new(Vec::new(), false);
        assert!(first.settle(&[intent("done")], [&src, &dst]).is_empty());
    }
}
