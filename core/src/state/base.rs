//! The base of a folder pair: every path as both sides held it after the last sync, and
//! how it is stored (one row per path; sizes and file ids as their bits in SQLite's signed
//! integers).

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{
    params, Connection, OptionalExtension, Row, Statement, Transaction, TransactionBehavior,
};
use serde::Serialize;

use super::db::{sql_error, unknown_pair};
use super::intents::Intent;
use super::{PairId, StateDb};
use crate::error::{Error, ErrorKind, Result};
use crate::path::RelPath;
use crate::vocab::{Entry, EntryKind, Side};

pub(super) const PUT_SQL: &str = "INSERT OR REPLACE INTO base (pair, path, kind, size, hash, \
     src_mtime_ns, src_mode, src_file_id, dst_mtime_ns, dst_mode, dst_file_id) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

const BASE_SQL: &str = "SELECT path, kind, size, hash, src_mtime_ns, src_mode, src_file_id, \
     dst_mtime_ns, dst_mode, dst_file_id FROM base WHERE pair = ?1";

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
    #[cfg(test)]
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
    #[cfg(test)]
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

impl StateDb {
    /// The base of `pair`, sorted by path, with its synced flag.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown pair; [`ErrorKind::Corrupt`] when a row does
    /// not hold a valid entry; [`ErrorKind::Busy`] or [`ErrorKind::Io`] when the database
    /// cannot be read.
    pub(crate) fn base(&self, pair: PairId) -> Result<Base> {
        let mut conn = self.conn();
        let doing = || format!("cannot read the base of pair {pair}");
        let failed = |e| sql_error(&self.path, &doing(), e);
        // One read transaction: the flag and the rows come from the same snapshot.
        let tx = Transaction::new(&mut conn, TransactionBehavior::Deferred).map_err(failed)?;
        let synced = pair_synced(&tx, &self.path, pair)?;
        let mut stmt = tx.prepare_cached(BASE_SQL).map_err(failed)?;
        let mut rows = stmt.query([pair.0]).map_err(failed)?;
        let mut entries = Vec::new();
        while let Some(row) = rows.next().map_err(failed)? {
            entries.push(entry_from_row(row, &self.path, pair)?);
        }
        Ok(Base::new(entries, synced))
    }

    /// Forgets the base of `pair` and marks it unsynced: the next run is a first run, which
    /// treats everything on one side only as new.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown pair; [`ErrorKind::Busy`] or
    /// [`ErrorKind::Io`] when the database cannot be written.
    pub(crate) fn clear(&self, pair: PairId) -> Result<()> {
        self.replace(pair, &[], false, "cannot clear the base of pair")
    }

    /// Replaces the base of `pair` with `entries` and marks it synced, in one transaction.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown pair; [`ErrorKind::Busy`] or
    /// [`ErrorKind::Io`] when the database cannot be written (it is then unchanged).
    pub(crate) fn reset(&self, pair: PairId, entries: Vec<BaseEntry>) -> Result<()> {
        self.replace(pair, &entries, true, "cannot reset the base of pair")
    }

    /// Replaces the base of `pair` with `entries` and sets its synced flag, in one
    /// transaction.
    fn replace(
        &self,
        pair: PairId,
        entries: &[BaseEntry],
        synced: bool,
        doing: &str,
    ) -> Result<()> {
        let mut conn = self.conn();
        let failed = |e| sql_error(&self.path, &format!("{doing} {pair}"), e);
        let tx = Transaction::new(&mut conn, TransactionBehavior::Immediate).map_err(failed)?;
        pair_synced(&tx, &self.path, pair)?;
        let write = || -> rusqlite::Result<()> {
            tx.execute("DELETE FROM base WHERE pair = ?1", [pair.0])?;
            tx.execute("DELETE FROM intent WHERE pair = ?1", [pair.0])?;
            let mut put = tx.prepare_cached(PUT_SQL)?;
            for e in entries {
                put_entry(&mut put, pair, e)?;
            }
            tx.execute(
                "UPDATE pair SET synced = ?2 WHERE id = ?1",
                params![pair.0, synced],
            )?;
            Ok(())
        };
        write().map_err(failed)?;
        tx.commit().map_err(failed)
    }
}

/// Runs [`PUT_SQL`] for `e`. Sizes and file ids are stored as their bits in SQLite's signed
/// integers.
pub(super) fn put_entry(
    stmt: &mut Statement<'_>,
    pair: PairId,
    e: &BaseEntry,
) -> rusqlite::Result<()> {
    stmt.execute(params![
        pair.0,
        e.path.as_bytes(),
        kind_code(e.kind),
        e.size as i64,
        e.hash.as_ref().map(|h| &h[..]),
        e.source.mtime_ns,
        e.source.mode,
        e.source.file_id as i64,
        e.destination.mtime_ns,
        e.destination.mode,
        e.destination.file_id as i64,
    ])?;
    Ok(())
}

/// A row of [`BASE_SQL`] as an entry.
fn entry_from_row(row: &Row<'_>, db: &Path, pair: PairId) -> Result<BaseEntry> {
    let failed = |e| sql_error(db, &format!("cannot read the base of pair {pair}"), e);
    let bad = |what: String| {
        Error::new(
            ErrorKind::Corrupt,
            format!("base of pair {pair} is damaged: {what}"),
        )
        .with_path(db)
    };
    let int = |i: usize| row.get::<_, i64>(i).map_err(failed);
    let mode = |i: usize| {
        let m = int(i)?;
        u32::try_from(m).map_err(|_| bad(format!("permission bits {m} out of range")))
    };
    let path = match row.get_ref(0).map_err(failed)? {
        ValueRef::Blob(b) => {
            RelPath::new(b).map_err(|e| bad(format!("invalid path: {}", e.message())))?
        }
        other => return Err(bad(format!("a path of type {}", other.data_type()))),
    };
    let code = int(1)?;
    let kind =
        kind_from_code(code).ok_or_else(|| bad(format!("unknown entry kind {code} at {path}")))?;
    let hash = match row.get_ref(3).map_err(failed)? {
        ValueRef::Null => None,
        ValueRef::Blob(b) => Some(
            <[u8; 32]>::try_from(b)
                .map_err(|_| bad(format!("a hash of {} bytes at {path}", b.len())))?,
        ),
        other => {
            return Err(bad(format!(
                "a hash of type {} at {path}",
                other.data_type()
            )))
        }
    };
    Ok(BaseEntry {
        kind,
        size: int(2)? as u64,
        hash,
        source: SideStamp {
            mtime_ns: int(4)?,
            mode: mode(5)?,
            file_id: int(6)? as u64,
        },
        destination: SideStamp {
            mtime_ns: int(7)?,
            mode: mode(8)?,
            file_id: int(9)? as u64,
        },
        path,
    })
}

/// The entry kind stored as `code` ([`kind_code`]'s inverse).
pub(super) fn kind_from_code(code: i64) -> Option<EntryKind> {
    Some(match code {
        0 => EntryKind::File,
        1 => EntryKind::Dir,
        2 => EntryKind::Symlink,
        3 => EntryKind::Special,
        _ => return None,
    })
}

pub(super) fn kind_code(kind: EntryKind) -> i64 {
    match kind {
        EntryKind::File => 0,
        EntryKind::Dir => 1,
        EntryKind::Symlink => 2,
        EntryKind::Special => 3,
    }
}

/// The synced flag of `pair`; NotFound for an unknown pair.
fn pair_synced(conn: &Connection, db: &Path, pair: PairId) -> Result<bool> {
    conn.prepare_cached("SELECT synced FROM pair WHERE id = ?1")
        .and_then(|mut s| s.query_row([pair.0], |r| r.get(0)).optional())
        .map_err(|e| sql_error(db, &format!("cannot look up pair {pair}"), e))?
        .ok_or_else(|| unknown_pair(db, pair))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::db::tests::{entry, key, numbered, open};

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
        assert_eq!((done.kind, done.size), (EntryKind::File, 2));
        assert_eq!((done.source.mtime_ns, done.destination.mtime_ns), (20, 20));
        assert_eq!(base.get(&untouched.path), Some(&untouched));
        // A first run ignores intents, as it ignores the base.
        let mut first = Base::new(Vec::new(), false);
        assert!(first.settle(&[intent("done")], [&src, &dst]).is_empty());
    }

    #[test]
    fn base_round_trips_non_utf8_paths_and_missing_hashes() {
        let (_dir, db, pair) = open();
        let hashed = entry(b"a/b.txt", Some(*blake3::hash(b"x").as_bytes()));
        let latin1 = entry(b"caf\xe9/men\xfc", None);
        let mut folder = entry(b"a", None);
        folder.kind = EntryKind::Dir;
        folder.size = 0;
        let mut link = entry(b"a.lnk", Some([7; 32]));
        link.kind = EntryKind::Symlink;
        let gone = entry(b"gone", None);
        let w = db.writer(pair).unwrap();
        for e in [&hashed, &latin1, &folder, &link, &gone] {
            w.put(e.clone()).unwrap();
        }
        w.forget(&gone.path).unwrap();
        w.finish(true).unwrap();

        let base = db.base(pair).unwrap();
        assert!(base.is_synced());
        let expected = Base::new(vec![hashed.clone(), latin1.clone(), folder, link], true);
        assert_eq!(base, expected);
        assert_eq!(base.get(&latin1.path), Some(&latin1));
        assert_eq!(base.get(&latin1.path).unwrap().hash, None);
        assert_eq!(base.get(&hashed.path), Some(&hashed));
        assert_eq!(base.get(&gone.path), None);
        // Another pair's base is separate.
        let other = db.pair(&key("other")).unwrap();
        assert!(db.base(other).unwrap().is_empty());
    }

    #[test]
    fn base_loads_100k_entries() {
        let (_dir, db, pair) = open();
        let w = db.writer(pair).unwrap();
        for i in 0..100_000 {
            w.put(numbered(i)).unwrap();
        }
        w.finish(true).unwrap();
        let base = db.base(pair).unwrap();
        assert_eq!(base.len(), 100_000);
        assert!(base.is_synced());
        assert!(base.entries().windows(2).all(|w| w[0].path < w[1].path));
        assert_eq!(base.get(&numbered(54_321).path), Some(&numbered(54_321)));
        let info = &db.pairs().unwrap()[0];
        assert_eq!(info.entries, 100_000);
    }

    #[test]
    fn clear_forgets_the_base_and_reset_replaces_it() {
        let (_dir, db, pair) = open();
        let other = db.pair(&key("other")).unwrap();
        db.reset(other, vec![numbered(7)]).unwrap();
        db.reset(pair, (0..5).map(numbered).collect()).unwrap();
        let base = db.base(pair).unwrap();
        assert_eq!(base.len(), 5);
        assert!(base.is_synced());

        db.reset(pair, vec![numbered(9)]).unwrap();
        assert_eq!(db.base(pair).unwrap(), Base::new(vec![numbered(9)], true));

        db.clear(pair).unwrap();
        let base = db.base(pair).unwrap();
        assert!(base.is_empty());
        assert!(!base.is_synced());
        // The other pair is untouched.
        assert_eq!(db.base(other).unwrap(), Base::new(vec![numbered(7)], true));
        assert_eq!(
            db.clear(PairId(999)).unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }
}
