//! The run history of a folder pair: when each run started and ended, what it did, and how
//! it ended.

use rusqlite::params;

use super::db::sql_error;
use super::{PairId, PairKey, StateDb};
use crate::error::{Error, ErrorKind, Result};

/// One finished (or interrupted) run of a pair.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunRecord {
    /// When the run started, ns since the epoch.
    pub started_ns: i64,
    /// When the run ended, ns since the epoch; None while running (or killed).
    pub ended_ns: Option<i64>,
    /// Actions done.
    pub done: u64,
    /// Actions failed.
    pub failed: u64,
    /// Conflicts met.
    pub conflicts: u64,
    /// "ok", "errors", "cancelled", "guard"; None while running (or killed).
    pub outcome: Option<String>,
}

impl StateDb {
    /// Records that a run of `pair` started at `started_ns` (ns since the epoch) and returns
    /// the run's id for [`end_run`](StateDb::end_run). Until then its outcome is None.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown pair; [`ErrorKind::Busy`] or
    /// [`ErrorKind::Io`] when the database cannot be written.
    pub(crate) fn begin_run(&self, pair: PairId, started_ns: i64) -> Result<i64> {
        self.folder(pair)?;
        let conn = self.conn();
        conn.execute(
            "INSERT INTO run (pair, started_ns) VALUES (?1, ?2)",
            params![pair.0, started_ns],
        )
        .map_err(|e| {
            sql_error(
                &self.path,
                &format!("cannot record a run of pair {pair}"),
                e,
            )
        })?;
        Ok(conn.last_insert_rowid())
    }

    /// Records how run `run` ended: its end, counts and outcome. The start recorded by
    /// [`begin_run`](StateDb::begin_run) is kept (`record.started_ns` is ignored).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown run; [`ErrorKind::Busy`] or
    /// [`ErrorKind::Io`] when the database cannot be written.
    pub(crate) fn end_run(&self, run: i64, record: &RunRecord) -> Result<()> {
        let changed = self
            .conn()
            .execute(
                "UPDATE run SET ended_ns = ?2, done = ?3, failed = ?4, conflicts = ?5, outcome = ?6
                 WHERE id = ?1",
                params![
                    run,
                    record.ended_ns,
                    record.done as i64,
                    record.failed as i64,
                    record.conflicts as i64,
                    record.outcome,
                ],
            )
            .map_err(|e| {
                sql_error(
                    &self.path,
                    &format!("cannot record the end of run {run}"),
                    e,
                )
            })?;
        if changed == 0 {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("no run {run} in the state database"),
            )
            .with_path(&self.path));
        }
        Ok(())
    }

    /// The runs of the pair `key` (as [`StateDb::pairs`] lists it), oldest first: its
    /// history.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when the database has no pair `key`; [`ErrorKind::Busy`],
    /// [`ErrorKind::Corrupt`] or [`ErrorKind::Io`] when the database cannot be read.
    pub fn runs(&self, key: &PairKey) -> Result<Vec<RunRecord>> {
        let pair = self.find(key)?.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!(
                    "no pair {:?} of {} and {} in the state database",
                    key.folder, key.source, key.destination
                ),
            )
            .with_path(&self.path)
        })?;
        self.runs_of(pair)
    }

    /// The runs of `pair`, oldest first.
    fn runs_of(&self, pair: PairId) -> Result<Vec<RunRecord>> {
        let conn = self.conn();
        let read = || -> rusqlite::Result<Vec<RunRecord>> {
            let mut stmt = conn.prepare_cached(
                "SELECT started_ns, ended_ns, done, failed, conflicts, outcome
                 FROM run WHERE pair = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([pair.0], |r| {
                Ok(RunRecord {
                    started_ns: r.get(0)?,
                    ended_ns: r.get(1)?,
                    done: r.get::<_, i64>(2)? as u64,
                    failed: r.get::<_, i64>(3)? as u64,
                    conflicts: r.get::<_, i64>(4)? as u64,
                    outcome: r.get(5)?,
                })
            })?;
            rows.collect()
        };
        read().map_err(|e| {
            sql_error(
                &self.path,
                &format!("cannot list the runs of pair {pair}"),
                e,
            )
        })
    }

    /// The id of the newest run of `pair` (ended or not), `None` before the first: a plan
    /// made when this was `x` is stale once it is no longer `x`.
    ///
    /// # Errors
    /// [`ErrorKind::Busy`], [`ErrorKind::Corrupt`] or [`ErrorKind::Io`] when the database
    /// cannot be read.
    pub(crate) fn last_run(&self, pair: PairId) -> Result<Option<i64>> {
        self.conn()
            .query_row("SELECT max(id) FROM run WHERE pair = ?1", [pair.0], |r| {
                r.get(0)
            })
            .map_err(|e| {
                sql_error(
                    &self.path,
                    &format!("cannot read the last run of pair {pair}"),
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
    fn runs_are_recorded_oldest_first() {
        let (_dir, db, pair) = open();
        let other = db.pair(&key("other")).unwrap();
        let first = db.begin_run(pair, 100).unwrap();
        db.begin_run(other, 150).unwrap();
        let record = RunRecord {
            started_ns: 0,
            ended_ns: Some(200),
            done: 5,
            failed: 1,
            conflicts: 2,
            outcome: Some("errors".into()),
        };
        db.end_run(first, &record).unwrap();
        let second = db.begin_run(pair, 300).unwrap();
        assert_ne!(first, second);
        let runs = db.runs(&key("docs")).unwrap();
        assert_eq!(
            runs,
            vec![
                RunRecord {
                    started_ns: 100,
                    ..record
                },
                RunRecord {
                    started_ns: 300,
                    ..RunRecord::default()
                },
            ]
        );
        let info = db.pairs().unwrap();
        assert_eq!(info[0].last_run_end_ns, Some(200));
        assert_eq!(info[1].last_run_end_ns, None);
        let err = db.end_run(9_999, &RunRecord::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let err = db.runs(&key("unknown")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(err.path(), Some(db.path()));
    }
}
