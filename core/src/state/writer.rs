//! Recording a run's completed actions in the base from many worker threads, in batched
//! transactions: a killed process leaves a consistent database holding every committed
//! batch.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, Transaction, TransactionBehavior};

use super::base::{put_entry, PUT_SQL};
use super::db::sql_error;
use super::schema::connect;
use super::{BaseEntry, PairId, StateDb};
use crate::error::{Error, Result};
use crate::path::RelPath;

/// A [`BaseWriter`] commits when this many operations are buffered…
const BATCH_OPS: usize = 1_000;

/// …or when this long has passed since its last commit, whichever comes first.
const BATCH_INTERVAL: Duration = Duration::from_millis(500);

const FORGET_SQL: &str = "DELETE FROM base WHERE pair = ?1 AND path = ?2";

/// Records base changes as actions complete, in batched transactions.
///
/// Shared by worker threads through `&BaseWriter`. [`put`](BaseWriter::put) and
/// [`forget`](BaseWriter::forget) buffer; a batch is committed in one transaction when
/// 1,000 operations are buffered or 500 ms have passed since the last commit (a background
/// thread sees to the latter), so a killed process loses at most the last batch and the
/// database stays consistent. Dropping a writer without [`finish`](BaseWriter::finish)
/// commits what it buffered (best effort) but does not mark the pair synced.
pub struct BaseWriter {
    shared: Arc<WriterShared>,
    ticker: Option<JoinHandle<()>>,
}

impl fmt::Debug for BaseWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BaseWriter")
            .field("path", &self.shared.path)
            .field("pair", &self.shared.pair)
            .finish_non_exhaustive()
    }
}

impl StateDb {
    /// A writer that records `pair`'s base changes as a run's actions complete.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for an unknown pair; [`ErrorKind::Busy`](crate::ErrorKind::Busy) or
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) when the writer's connection or thread cannot be set up.
    pub(crate) fn writer(&self, pair: PairId) -> Result<BaseWriter> {
        self.folder(pair)?;
        let shared = Arc::new(WriterShared {
            path: self.path.clone(),
            pair,
            conn: Mutex::new(connect(&self.path)?),
            pending: Mutex::new(Pending {
                ops: Vec::new(),
                kept: 0,
                last_commit: Instant::now(),
                stop: false,
            }),
            wake: Condvar::new(),
        });
        let ticking = Arc::clone(&shared);
        let ticker = std::thread::Builder::new()
            .name("ferrysync-state".into())
            .spawn(move || ticking.tick())
            .map_err(|e| Error::io(&self.path, e))?;
        Ok(BaseWriter {
            shared,
            ticker: Some(ticker),
        })
    }
}

/// One buffered base change.
enum Op {
    Put(BaseEntry),
    Forget(RelPath),
}

/// What a [`BaseWriter`] shares with its background thread.
struct WriterShared {
    path: PathBuf,
    pair: PairId,
    /// The writer's own connection; held during a whole commit, so batches commit in order.
    conn: Mutex<Connection>,
    pending: Mutex<Pending>,
    /// Wakes the background thread to stop.
    wake: Condvar,
}

struct Pending {
    /// Operations not committed yet, oldest first.
    ops: Vec<Op>,
    /// How many of `ops` a failed commit put back: they do not count toward the next batch,
    /// so a failing database is not retried on every call.
    kept: usize,
    last_commit: Instant,
    stop: bool,
}

/// Whether a commit waits for one in progress.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wait {
    Block,
    /// Leave the operations to the commit in progress or the next one.
    Skip,
}

impl BaseWriter {
    /// Records that `entry` is what both sides now hold at its path.
    ///
    /// # Errors
    /// When this call commits a batch and the commit fails ([`ErrorKind::Busy`](crate::ErrorKind::Busy),
    /// [`ErrorKind::Io`](crate::ErrorKind::Io), …). The batch stays buffered and is retried by a later commit.
    pub fn put(&self, entry: BaseEntry) -> Result<()> {
        self.push(Op::Put(entry))
    }

    /// Records that neither side holds `path` any more.
    ///
    /// # Errors
    /// As [`put`](BaseWriter::put).
    pub fn forget(&self, path: &RelPath) -> Result<()> {
        self.push(Op::Forget(path.clone()))
    }

    /// Commits every buffered operation.
    ///
    /// # Errors
    /// [`ErrorKind::Busy`](crate::ErrorKind::Busy), [`ErrorKind::Io`](crate::ErrorKind::Io), … when the commit fails; the operations stay
    /// buffered.
    pub fn flush(&self) -> Result<()> {
        self.shared.commit(false, Wait::Block)
    }

    /// Commits every buffered operation and, when `synced` (the run completed), marks the
    /// pair synced in the same transaction.
    ///
    /// # Errors
    /// As [`flush`](BaseWriter::flush); the pair is then not marked synced.
    pub fn finish(mut self, synced: bool) -> Result<()> {
        self.stop_ticker();
        self.shared.commit(synced, Wait::Block)
    }

    fn push(&self, op: Op) -> Result<()> {
        let due = {
            let mut p = self.shared.pending();
            p.ops.push(op);
            p.ops.len() - p.kept >= BATCH_OPS
        };
        if due {
            self.shared.commit(false, Wait::Skip)
        } else {
            Ok(())
        }
    }

    fn stop_ticker(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            self.shared.pending().stop = true;
            self.shared.wake.notify_all();
            let _ = ticker.join();
        }
    }
}

impl Drop for BaseWriter {
    fn drop(&mut self) {
        self.stop_ticker();
        // Best effort: what did not commit will be found again by the next run.
        let _ = self.shared.commit(false, Wait::Block);
    }
}

impl WriterShared {
    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The background thread: commits buffered operations once they are
    /// [`BATCH_INTERVAL`] old, until the writer stops it.
    fn tick(&self) {
        let mut p = self.pending();
        while !p.stop {
            let wait = if p.ops.is_empty() {
                BATCH_INTERVAL
            } else {
                BATCH_INTERVAL.saturating_sub(p.last_commit.elapsed())
            };
            if wait.is_zero() {
                drop(p);
                // A failure is reported by the next put, flush or finish, which retry it.
                let _ = self.commit(false, Wait::Block);
                p = self.pending();
            } else {
                p = match self.wake.wait_timeout(p, wait) {
                    Ok((p, _)) => p,
                    Err(poisoned) => poisoned.into_inner().0,
                };
            }
        }
    }

    /// Commits the buffered operations in one transaction, and marks the pair synced when
    /// `synced`. On failure the operations go back to the front of the buffer.
    fn commit(&self, synced: bool, wait: Wait) -> Result<()> {
        let mut conn = match wait {
            Wait::Block => self.conn.lock().unwrap_or_else(PoisonError::into_inner),
            Wait::Skip => match self.conn.try_lock() {
                Ok(conn) => conn,
                Err(std::sync::TryLockError::WouldBlock) => return Ok(()),
                Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            },
        };
        let ops = {
            let mut p = self.pending();
            p.last_commit = Instant::now();
            p.kept = 0;
            std::mem::take(&mut p.ops)
        };
        if ops.is_empty() && !synced {
            return Ok(());
        }
        match write_ops(&mut conn, self.pair, &ops, synced) {
            Ok(()) => Ok(()),
            Err(e) => {
                let doing = format!(
                    "cannot save {} base changes of pair {}",
                    ops.len(),
                    self.pair
                );
                let mut p = self.pending();
                let newer = std::mem::replace(&mut p.ops, ops);
                p.ops.extend(newer);
                p.kept = p.ops.len();
                Err(sql_error(&self.path, &doing, e))
            }
        }
    }
}

fn write_ops(
    conn: &mut Connection,
    pair: PairId,
    ops: &[Op],
    synced: bool,
) -> rusqlite::Result<()> {
    let tx = Transaction::new(conn, TransactionBehavior::Immediate)?;
    {
        let mut put = tx.prepare_cached(PUT_SQL)?;
        let mut forget = tx.prepare_cached(FORGET_SQL)?;
        for op in ops {
            match op {
                Op::Put(e) => put_entry(&mut put, pair, e)?,
                Op::Forget(path) => {
                    forget.execute(params![pair.0, path.as_bytes()])?;
                }
            }
        }
        if synced {
            tx.execute("UPDATE pair SET synced = 1 WHERE id = ?1", [pair.0])?;
        }
    }
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::db::tests::{numbered, open};

    #[test]
    fn writer_is_shared_by_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<BaseWriter>();
        assert_send_sync::<StateDb>();

        let (_dir, db, pair) = open();
        let w = db.writer(pair).unwrap();
        std::thread::scope(|s| {
            for t in 0..8 {
                let w = &w;
                s.spawn(move || {
                    for i in (t..4_000).step_by(8) {
                        w.put(numbered(i)).unwrap();
                        if i % 10 == 0 {
                            w.forget(&numbered(i).path).unwrap();
                        }
                    }
                });
            }
        });
        w.finish(true).unwrap();
        let base = db.base(pair).unwrap();
        assert_eq!(base.len(), 3_600);
        assert!((0..4_000).all(|i| base.get(&numbered(i).path).is_some() == (i % 10 != 0)));
    }

    #[test]
    fn writer_commits_full_batches_before_finish() {
        let (_dir, db, pair) = open();
        let w = db.writer(pair).unwrap();
        for i in 0..BATCH_OPS {
            w.put(numbered(i)).unwrap();
        }
        // Visible to another connection while the writer is still open: a killed process
        // would keep it.
        let seen = StateDb::open(db.path()).unwrap().base(pair).unwrap();
        assert_eq!(seen.len(), BATCH_OPS);
        assert!(!seen.is_synced());
        drop(w);
    }

    #[test]
    fn writer_commits_a_small_batch_after_the_interval() {
        let (_dir, db, pair) = open();
        let w = db.writer(pair).unwrap();
        w.put(numbered(1)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while db.base(pair).unwrap().is_empty() {
            assert!(Instant::now() < deadline, "never committed");
            std::thread::sleep(Duration::from_millis(20));
        }
        w.finish(false).unwrap();
    }

    #[test]
    fn writer_dropped_without_finish_keeps_its_entries_unsynced() {
        let (_dir, db, pair) = open();
        let w = db.writer(pair).unwrap();
        for i in 0..10 {
            w.put(numbered(i)).unwrap();
        }
        w.flush().unwrap();
        assert_eq!(db.base(pair).unwrap().len(), 10);
        w.put(numbered(10)).unwrap();
        drop(w);
        let base = db.base(pair).unwrap();
        assert_eq!(base.len(), 11);
        assert!(!base.is_synced());
    }

    #[test]
    fn finish_true_marks_the_pair_synced_and_false_does_not() {
        let (_dir, db, pair) = open();
        let w = db.writer(pair).unwrap();
        w.put(numbered(1)).unwrap();
        w.finish(false).unwrap();
        assert!(!db.base(pair).unwrap().is_synced());
        assert_eq!(db.base(pair).unwrap().len(), 1);
        db.writer(pair).unwrap().finish(true).unwrap();
        assert!(db.base(pair).unwrap().is_synced());
        assert!(db.pairs().unwrap()[0].synced);
    }
}
