//! Intents: the copies a two-way run is about to make, written before it makes them and
//! forgotten when it completes, so that the next run after a crash can tell a propagated
//! copy the base never learned from a change ([`Base::settle`](super::Base::settle)).

use rusqlite::{params, Transaction, TransactionBehavior};
use serde::Serialize;

use super::base::{kind_code, kind_from_code, BaseEntry, SideStamp};
use super::db::sql_error;
use super::{PairId, StateDb};
use crate::error::{Error, ErrorKind, Result};
use crate::path::RelPath;
use crate::vocab::{Entry, EntryKind, Side};

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

impl StateDb {
    /// Records, in one transaction, the copies a run is about to make (replacing earlier
    /// intents for the same paths), so that a run killed after a copy but before the base
    /// learned it can tell the copy from a change ([`Base::settle`](super::Base::settle)).
    ///
    /// # Errors
    /// [`ErrorKind::Busy`] or [`ErrorKind::Io`] when the database cannot be written (it is
    /// then unchanged).
    pub(crate) fn add_intents(&self, pair: PairId, intents: &[Intent]) -> Result<()> {
        if intents.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn();
        let failed = |e| {
            sql_error(
                &self.path,
                &format!("cannot record the intents of pair {pair}"),
                e,
            )
        };
        let tx = Transaction::new(&mut conn, TransactionBehavior::Immediate).map_err(failed)?;
        let write = || -> rusqlite::Result<()> {
            let mut put = tx.prepare_cached(
                "INSERT OR REPLACE INTO intent (pair, path, side, kind, size, mtime_ns)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for i in intents {
                put.execute(params![
                    pair.0,
                    i.path.as_bytes(),
                    i.to as i64,
                    kind_code(i.kind),
                    i.size as i64,
                    i.mtime_ns,
                ])?;
            }
            Ok(())
        };
        write().map_err(failed)?;
        tx.commit().map_err(failed)
    }

    /// The intents of `pair` left by runs that did not complete.
    ///
    /// # Errors
    /// [`ErrorKind::Busy`], [`ErrorKind::Corrupt`] (a damaged row) or [`ErrorKind::Io`] when
    /// the database cannot be read.
    pub(crate) fn intents(&self, pair: PairId) -> Result<Vec<Intent>> {
        let conn = self.conn();
        let failed = |e| {
            sql_error(
                &self.path,
                &format!("cannot read the intents of pair {pair}"),
                e,
            )
        };
        let mut stmt = conn
            .prepare_cached("SELECT path, side, kind, size, mtime_ns FROM intent WHERE pair = ?1")
            .map_err(failed)?;
        let rows = stmt
            .query_map([pair.0], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .map_err(failed)?;
        let mut out = Vec::new();
        for row in rows {
            let (path, side, kind, size, mtime_ns) = row.map_err(failed)?;
            let bad = |what: String| {
                Error::new(ErrorKind::Corrupt, format!("intent of pair {pair}: {what}"))
                    .with_path(&self.path)
            };
            let path =
                RelPath::new(&path).map_err(|e| bad(format!("invalid path: {}", e.message())))?;
            let kind = kind_from_code(kind)
                .ok_or_else(|| bad(format!("unknown entry kind {kind} at {path}")))?;
            out.push(Intent {
                path,
                to: if side == 0 {
                    Side::Source
                } else {
                    Side::Destination
                },
                kind,
                size: size as u64,
                mtime_ns,
            });
        }
        Ok(out)
    }

    /// Forgets the intents of `pair` (a run completed: the base holds what they said).
    ///
    /// # Errors
    /// [`ErrorKind::Busy`] or [`ErrorKind::Io`] when the database cannot be written.
    pub(crate) fn clear_intents(&self, pair: PairId) -> Result<()> {
        self.conn()
            .execute("DELETE FROM intent WHERE pair = ?1", [pair.0])
            .map(|_| ())
            .map_err(|e| {
                sql_error(
                    &self.path,
                    &format!("cannot clear the intents of pair {pair}"),
                    e,
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::db::tests::{key, open};

    #[test]
    fn intents_are_kept_per_path_until_cleared_and_clear_drops_them() {
        let (_dir, db, pair) = open();
        let other = db.pair(&key("other")).unwrap();
        let intent = |path: &str, to: Side, size: u64| Intent {
            path: RelPath::new(path).unwrap(),
            to,
            kind: EntryKind::File,
            size,
            mtime_ns: 1_000 + size as i64,
        };
        db.add_intents(
            pair,
            &[
                intent("a", Side::Source, 1),
                intent("b", Side::Destination, 2),
            ],
        )
        .unwrap();
        db.add_intents(other, &[intent("a", Side::Source, 9)])
            .unwrap();
        // A later run's intent for the same path replaces the earlier one.
        db.add_intents(pair, &[intent("a", Side::Destination, 3)])
            .unwrap();
        let mut got = db.intents(pair).unwrap();
        got.sort_by(|x, y| x.path.cmp(&y.path));
        assert_eq!(
            got,
            [
                intent("a", Side::Destination, 3),
                intent("b", Side::Destination, 2)
            ]
        );
        db.clear_intents(pair).unwrap();
        assert!(db.intents(pair).unwrap().is_empty());
        assert_eq!(db.intents(other).unwrap().len(), 1);
        db.clear(other).unwrap();
        assert!(db.intents(other).unwrap().is_empty());
    }
}
