//! The state database: one SQLite file per profile (bundled SQLite, WAL journal,
//! `synchronous=NORMAL`), its schema version in `PRAGMA user_version`.
//!
//! Per folder pair it keeps the base (every path as both sides held it after the last sync),
//! whether a run has completed since the pair was created or cleared, and the run history.
//! [`BaseWriter`] records completed actions from many worker threads in batched
//! transactions, so a killed process leaves a consistent database holding every committed
//! batch. [`PairLock`] keeps two runs, also of two processes, off the same pair.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::types::ValueRef;
use rusqlite::{
    params, Connection, ErrorCode, OpenFlags, OptionalExtension, Row, Statement, Transaction,
    TransactionBehavior,
};

use super::{Base, BaseEntry, Intent, SideStamp};
use crate::error::{Error, ErrorKind, Result};
use crate::path::RelPath;
use crate::vocab::{EntryKind, Side};

/// How long a connection waits for another one's write lock before giving up busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A [`BaseWriter`] commits when this many operations are buffered…
const BATCH_OPS: usize = 1_000;

/// …or when this long has passed since its last commit, whichever comes first.
const BATCH_INTERVAL: Duration = Duration::from_millis(500);

/// `PRAGMA application_id` of a ferrysync state database ("FRYS").
const APPLICATION_ID: i64 = 0x4652_5953;

/// The schema, one step per version: `MIGRATIONS[n]` upgrades version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1: pairs, their base and their runs.
    "CREATE TABLE pair (
        id          INTEGER PRIMARY KEY,
        folder      TEXT NOT NULL,
        source      TEXT NOT NULL,
        destination TEXT NOT NULL,
        synced      INTEGER NOT NULL DEFAULT 0,
        UNIQUE (folder, source, destination)
    );
    CREATE TABLE base (
        pair         INTEGER NOT NULL REFERENCES pair (id) ON DELETE CASCADE,
        path         BLOB NOT NULL,
        kind         INTEGER NOT NULL,
        size         INTEGER NOT NULL,
        hash         BLOB,
        src_mtime_ns INTEGER NOT NULL,
        src_mode     INTEGER NOT NULL,
        src_file_id  INTEGER NOT NULL,
        dst_mtime_ns INTEGER NOT NULL,
        dst_mode     INTEGER NOT NULL,
        dst_file_id  INTEGER NOT NULL,
        PRIMARY KEY (pair, path)
    ) WITHOUT ROWID;
    CREATE TABLE run (
        id         INTEGER PRIMARY KEY,
        pair       INTEGER NOT NULL REFERENCES pair (id) ON DELETE CASCADE,
        started_ns INTEGER NOT NULL,
        ended_ns   INTEGER,
        done       INTEGER NOT NULL DEFAULT 0,
        failed     INTEGER NOT NULL DEFAULT 0,
        conflicts  INTEGER NOT NULL DEFAULT 0,
        outcome    TEXT
    );
    CREATE INDEX run_by_pair ON run (pair, id);",
    // 1 -> 2: copies a run is about to make, written before it makes them (see `Intent`).
    "CREATE TABLE intent (
        pair     INTEGER NOT NULL REFERENCES pair (id) ON DELETE CASCADE,
        path     BLOB NOT NULL,
        side     INTEGER NOT NULL,
        kind     INTEGER NOT NULL,
        size     INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        PRIMARY KEY (pair, path)
    ) WITHOUT ROWID;",
];

const PUT_SQL: &str = "INSERT OR REPLACE INTO base (pair, path, kind, size, hash, \
     src_mtime_ns, src_mode, src_file_id, dst_mtime_ns, dst_mode, dst_file_id) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

const FORGET_SQL: &str = "DELETE FROM base WHERE pair = ?1 AND path = ?2";

const BASE_SQL: &str = "SELECT path, kind, size, hash, src_mtime_ns, src_mode, src_file_id, \
     dst_mtime_ns, dst_mode, dst_file_id FROM base WHERE pair = ?1";

/// Identifies a folder pair: the profile's folder name and both resolved roots.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PairKey {
    /// The folder's name in the profile.
    pub folder: String,
    /// The source root, resolved (variables expanded).
    pub source: String,
    /// The destination root, resolved (variables expanded).
    pub destination: String,
}

/// A pair's row id in one database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PairId(pub i64);

impl fmt::Display for PairId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A pair as listed by [`StateDb::pairs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairInfo {
    /// The pair's id in this database.
    pub id: PairId,
    /// The folder name and roots.
    pub key: PairKey,
    /// Number of base entries.
    pub entries: u64,
    /// Whether a run has completed since the pair was created or cleared.
    pub synced: bool,
    /// When the latest ended run ended, ns since the epoch; None before any run ended.
    pub last_run_end_ns: Option<i64>,
}

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

/// An open state database.
///
/// One connection, shared by the methods through a mutex, so a `StateDb` is `Send + Sync`;
/// each [`BaseWriter`] has its own. Other processes may open the same file: SQLite's locks
/// and the busy timeout serialize their writes, and [`StateDb::lock`] keeps two runs off the
/// same pair.
pub struct StateDb {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl fmt::Debug for StateDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateDb").field("path", &self.path).finish()
    }
}

/// Held while a run works on a pair; released on drop (and by the OS if the process dies).
///
/// The lock is an advisory `flock` on `<database>.pair-<id>.lock`, which holds the pid of
/// the holder for the message another run gets. The file stays when the lock is released:
/// deleting it would let two processes lock two different files of the same name.
#[derive(Debug)]
pub struct PairLock {
    path: PathBuf,
    // Closing the file releases the lock.
    _file: File,
}

impl PairLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

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
    /// The schema version this release writes; [`open`](StateDb::open) upgrades older
    /// databases to it and refuses newer ones.
    pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

    /// Opens the database at `path`, creating it and its parent folders when missing, and
    /// upgrades its schema to [`SCHEMA_VERSION`](StateDb::SCHEMA_VERSION).
    ///
    /// # Errors
    /// [`ErrorKind::Corrupt`] when the file is not a SQLite database or is damaged;
    /// [`ErrorKind::NotSupported`] when its schema is newer than this release knows;
    /// [`ErrorKind::InvalidInput`] for a SQLite database of another application;
    /// [`ErrorKind::PermissionDenied`], [`ErrorKind::Busy`] or [`ErrorKind::Io`] when it
    /// cannot be created, read or upgraded. Every error names `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<StateDb> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        // Opening the file ourselves first gives the operating system's reason (permission
        // denied, a folder in the way) rather than SQLite's "unable to open database file".
        open_or_create(&path)?;
        let mut conn = connect(&path)?;
        let version = check_schema(&conn, &path)?;
        let failed = |e| sql_error(&path, "cannot switch the state database to WAL", e);
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
            .map_err(failed)?;
        if version < i64::from(StateDb::SCHEMA_VERSION) {
            migrate(&mut conn, &path)?;
        }
        Ok(StateDb {
            path,
            conn: Mutex::new(conn),
        })
    }

    /// The per-user database of `profile`: `$XDG_DATA_HOME/ferrysync/<profile>.sqlite` (a
    /// relative `XDG_DATA_HOME` is ignored, as the XDG specification says), else
    /// `$HOME/.local/share/ferrysync/<profile>.sqlite` (the home folder of the user database
    /// when `HOME` is unset or empty), with `/`, `\`, NUL and control characters of the
    /// profile name replaced by `_`.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when there is no absolute `XDG_DATA_HOME` and no home folder.
    pub fn default_path(profile: &str) -> Result<PathBuf> {
        default_path_in(dirs::data_dir(), profile)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The id of the pair `key`, creating the pair (unsynced, with an empty base) when it is
    /// new.
    ///
    /// # Errors
    /// [`ErrorKind::Busy`], [`ErrorKind::Corrupt`] or [`ErrorKind::Io`] when the database
    /// cannot be read or written.
    pub fn pair(&self, key: &PairKey) -> Result<PairId> {
        let conn = self.conn();
        let params = params![key.folder, key.source, key.destination];
        let find = || {
            conn.prepare_cached(
                "SELECT id FROM pair WHERE folder = ?1 AND source = ?2 AND destination = ?3",
            )?
            .query_row(params, |r| r.get(0))
            .optional()
        };
        let id = match find() {
            Ok(Some(id)) => id,
            Ok(None) => conn
                .execute(
                    "INSERT OR IGNORE INTO pair (folder, source, destination) VALUES (?1, ?2, ?3)",
                    params,
                )
                .and_then(|_| find())
                .and_then(|id| id.ok_or(rusqlite::Error::QueryReturnedNoRows))
                .map_err(|e| {
                    sql_error(&self.path, &format!("cannot add pair {:?}", key.folder), e)
                })?,
            Err(e) => {
                let doing = format!("cannot look up pair {:?}", key.folder);
                return Err(sql_error(&self.path, &doing, e));
            }
        };
        Ok(PairId(id))
    }

    /// Every pair with its number of base entries, synced flag and last run end, by id.
    ///
    /// # Errors
    /// [`ErrorKind::Busy`], [`ErrorKind::Corrupt`] or [`ErrorKind::Io`] when the database
    /// cannot be read.
    pub fn pairs(&self) -> Result<Vec<PairInfo>> {
        let conn = self.conn();
        let read = || -> rusqlite::Result<Vec<PairInfo>> {
            let mut stmt = conn.prepare_cached(
                "SELECT p.id, p.folder, p.source, p.destination, p.synced,
                    (SELECT count(*) FROM base b WHERE b.pair = p.id),
                    (SELECT max(r.ended_ns) FROM run r WHERE r.pair = p.id)
                 FROM pair p ORDER BY p.id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(PairInfo {
                    id: PairId(r.get(0)?),
                    key: PairKey {
                        folder: r.get(1)?,
                        source: r.get(2)?,
                        destination: r.get(3)?,
                    },
                    synced: r.get(4)?,
                    entries: r.get::<_, i64>(5)? as u64,
                    last_run_end_ns: r.get(6)?,
                })
            })?;
            rows.collect()
        };
        read().map_err(|e| sql_error(&self.path, "cannot list the pairs", e))
    }

    /// Locks `pair` for a run until the returned lock is dropped.
    ///
    /// A lock left by a process that died is free again (the operating system released it)
    /// and is simply taken.
    ///
    /// # Errors
    /// [`ErrorKind::Busy`] naming the holder's process and the database when another run,
    /// in this process or another, holds the pair; [`ErrorKind::NotFound`] for an unknown
    /// pair; an I/O error when the lock file cannot be created.
    pub fn lock(&self, pair: PairId) -> Result<PairLock> {
        let folder = self.folder(pair)?;
        let path = self.lock_path(pair);
        let mut file = open_or_create(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                // The holder writes its pid just after locking; an empty or unreadable file
                // names no process.
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let by = match holder.trim().parse::<u32>() {
                    Ok(pid) => format!("process {pid}"),
                    Err(_) => "another process".to_string(),
                };
                return Err(Error::new(
                    ErrorKind::Busy,
                    format!("pair {folder:?} is being synchronized by {by}"),
                )
                .with_path(&self.path));
            }
            Err(fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        file.set_len(0)
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .map_err(|e| Error::io(&path, e))?;
        Ok(PairLock { path, _file: file })
    }

    /// The base of `pair`, sorted by path, with its synced flag.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown pair; [`ErrorKind::Corrupt`] when a row does
    /// not hold a valid entry; [`ErrorKind::Busy`] or [`ErrorKind::Io`] when the database
    /// cannot be read.
    pub fn base(&self, pair: PairId) -> Result<Base> {
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

    /// A writer that records `pair`'s base changes as a run's actions complete.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown pair; [`ErrorKind::Busy`] or
    /// [`ErrorKind::Io`] when the writer's connection or thread cannot be set up.
    pub fn writer(&self, pair: PairId) -> Result<BaseWriter> {
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

    /// Forgets the base of `pair` and marks it unsynced: the next run is a first run, which
    /// treats everything on one side only as new.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown pair; [`ErrorKind::Busy`] or
    /// [`ErrorKind::Io`] when the database cannot be written.
    pub fn clear(&self, pair: PairId) -> Result<()> {
        self.replace(pair, &[], false, "cannot clear the base of pair")
    }

    /// Replaces the base of `pair` with `entries` and marks it synced, in one transaction.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown pair; [`ErrorKind::Busy`] or
    /// [`ErrorKind::Io`] when the database cannot be written (it is then unchanged).
    pub fn reset(&self, pair: PairId, entries: Vec<BaseEntry>) -> Result<()> {
        self.replace(pair, &entries, true, "cannot reset the base of pair")
    }

    /// Records that a run of `pair` started at `started_ns` (ns since the epoch) and returns
    /// the run's id for [`end_run`](StateDb::end_run). Until then its outcome is None.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown pair; [`ErrorKind::Busy`] or
    /// [`ErrorKind::Io`] when the database cannot be written.
    pub fn begin_run(&self, pair: PairId, started_ns: i64) -> Result<i64> {
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
    pub fn end_run(&self, run: i64, record: &RunRecord) -> Result<()> {
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

    /// The runs of `pair`, oldest first.
    ///
    /// # Errors
    /// [`ErrorKind::Busy`], [`ErrorKind::Corrupt`] or [`ErrorKind::Io`] when the database
    /// cannot be read.
    pub fn runs(&self, pair: PairId) -> Result<Vec<RunRecord>> {
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
    pub fn last_run(&self, pair: PairId) -> Result<Option<i64>> {
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

    /// Records, in one transaction, the copies a run is about to make (replacing earlier
    /// intents for the same paths), so that a run killed after a copy but before the base
    /// learned it can tell the copy from a change ([`Base::settle`]).
    ///
    /// # Errors
    /// [`ErrorKind::Busy`] or [`ErrorKind::Io`] when the database cannot be written (it is
    /// then unchanged).
    pub fn add_intents(&self, pair: PairId, intents: &[Intent]) -> Result<()> {
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
    pub fn intents(&self, pair: PairId) -> Result<Vec<Intent>> {
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
    pub fn clear_intents(&self, pair: PairId) -> Result<()> {
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

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The lock file of `pair`: `<database>.pair-<id>.lock`.
    fn lock_path(&self, pair: PairId) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".pair-{pair}.lock"));
        PathBuf::from(name)
    }

    /// The folder name of `pair`; NotFound for an unknown pair.
    fn folder(&self, pair: PairId) -> Result<String> {
        self.conn()
            .prepare_cached("SELECT folder FROM pair WHERE id = ?1")
            .and_then(|mut s| s.query_row([pair.0], |r| r.get(0)).optional())
            .map_err(|e| sql_error(&self.path, &format!("cannot look up pair {pair}"), e))?
            .ok_or_else(|| unknown_pair(&self.path, pair))
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
    /// When this call commits a batch and the commit fails ([`ErrorKind::Busy`],
    /// [`ErrorKind::Io`], …). The batch stays buffered and is retried by a later commit.
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
    /// [`ErrorKind::Busy`], [`ErrorKind::Io`], … when the commit fails; the operations stay
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

/// Runs [`PUT_SQL`] for `e`. Sizes and file ids are stored as their bits in SQLite's signed
/// integers.
fn put_entry(stmt: &mut Statement<'_>, pair: PairId, e: &BaseEntry) -> rusqlite::Result<()> {
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

/// Opens `path` for reading and writing, creating it empty when missing (never truncating).
fn open_or_create(path: &Path) -> Result<fs::File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| Error::io(path, e))
}

/// The entry kind stored as `code` ([`kind_code`]'s inverse).
fn kind_from_code(code: i64) -> Option<EntryKind> {
    Some(match code {
        0 => EntryKind::File,
        1 => EntryKind::Dir,
        2 => EntryKind::Symlink,
        3 => EntryKind::Special,
        _ => return None,
    })
}

fn kind_code(kind: EntryKind) -> i64 {
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

fn unknown_pair(db: &Path, pair: PairId) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("no pair {pair} in the state database"),
    )
    .with_path(db)
}

/// A connection to the existing database at `path`, with the busy timeout and the
/// per-connection settings.
fn connect(path: &Path) -> Result<Connection> {
    let failed = |e| sql_error(path, "cannot open the state database", e);
    // No URI parsing: a file named "file:…" is a file.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(failed)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(failed)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(failed)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(failed)?;
    Ok(conn)
}

/// The schema version of the database, refusing one newer than this release knows and a
/// SQLite database that belongs to another application.
fn check_schema(conn: &Connection, path: &Path) -> Result<i64> {
    let failed = |e| sql_error(path, "cannot read the state database", e);
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(failed)?;
    if version > i64::from(StateDb::SCHEMA_VERSION) || version < 0 {
        return Err(Error::new(
            ErrorKind::NotSupported,
            format!(
                "state database has schema version {version}, newer than version {} that this release knows",
                StateDb::SCHEMA_VERSION
            ),
        )
        .with_path(path));
    }
    let foreign = if version == 0 {
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .map_err(failed)?;
        tables > 0
    } else {
        let id: i64 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(failed)?;
        id != APPLICATION_ID
    };
    if foreign {
        return Err(Error::invalid(
            "not a ferrysync state database: a SQLite database of another application",
        )
        .with_path(path));
    }
    Ok(version)
}

/// Upgrades the schema step by step to [`StateDb::SCHEMA_VERSION`], in one transaction.
fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let failed = |e| sql_error(path, "cannot upgrade the state database", e);
    let tx = Transaction::new(conn, TransactionBehavior::Immediate).map_err(failed)?;
    // Another process may have upgraded it while this one waited for the write lock.
    let version = check_schema(&tx, path)?;
    for step in &MIGRATIONS[version as usize..] {
        tx.execute_batch(step).map_err(failed)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(failed)?;
    tx.pragma_update(None, "user_version", StateDb::SCHEMA_VERSION)
        .map_err(failed)?;
    tx.commit().map_err(failed)
}

/// A SQLite error by meaning: `doing` says what failed.
fn sql_error(path: &Path, doing: &str, err: rusqlite::Error) -> Error {
    let kind = match &err {
        rusqlite::Error::SqliteFailure(e, _) => match e.code {
            ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt => ErrorKind::Corrupt,
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => ErrorKind::Busy,
            ErrorCode::DiskFull => ErrorKind::NoSpace,
            ErrorCode::PermissionDenied
            | ErrorCode::ReadOnly
            | ErrorCode::AuthorizationForStatementDenied => ErrorKind::PermissionDenied,
            _ => ErrorKind::Io,
        },
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::IntegralValueOutOfRange(..) => ErrorKind::Corrupt,
        _ => ErrorKind::Io,
    };
    Error::new(kind, format!("{doing}: {err}"))
        .with_path(path)
        .with_source(err)
}

/// The database file of `profile` in the per-user data folder `data` (see
/// [`StateDb::default_path`]).
fn default_path_in(data: Option<PathBuf>, profile: &str) -> Result<PathBuf> {
    let data = data.ok_or_else(|| {
        Error::new(
            ErrorKind::NotFound,
            "no folder for the state database: neither XDG_DATA_HOME nor a home folder is known",
        )
    })?;
    Ok(data
        .join("ferrysync")
        .join(format!("{}.sqlite", file_name_of(profile))))
}

/// `profile` made safe as a file name: `/`, `\`, NUL and control characters become `_`.
fn file_name_of(profile: &str) -> String {
    if profile.is_empty() {
        return "_".to_string();
    }
    profile
        .chars()
        .map(|c| match c {
            '/' | '\\' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Child, Command, Stdio};

    fn key(folder: &str) -> PairKey {
        PairKey {
            folder: folder.into(),
            source: "/src".into(),
            destination: "/dst".into(),
        }
    }

    fn entry(path: &[u8], hash: Option<[u8; 32]>) -> BaseEntry {
        BaseEntry {
            path: RelPath::new(path).unwrap(),
            kind: EntryKind::File,
            size: path.len() as u64,
            hash,
            source: SideStamp {
                mtime_ns: 1_700_000_000_123_456_789,
                mode: 0o644,
                file_id: u64::MAX - 1,
            },
            destination: SideStamp {
                mtime_ns: -5,
                mode: 0,
                file_id: 42,
            },
        }
    }

    fn numbered(i: usize) -> BaseEntry {
        entry(format!("d{}/f{i}", i % 97).as_bytes(), None)
    }

    fn open() -> (tempfile::TempDir, StateDb, PairId) {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(dir.path().join("sub/dir/p.sqlite")).unwrap();
        let pair = db.pair(&key("docs")).unwrap();
        (dir, db, pair)
    }

    #[test]
    fn schema_version_is_set_and_a_newer_one_is_refused() {
        let (_dir, db, _) = open();
        let conn = Connection::open(db.path()).unwrap();
        let version: u32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, StateDb::SCHEMA_VERSION);
        assert!(version >= 1);
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        drop(db);
        // Opening again keeps the data.
        let db = StateDb::open(conn.path().unwrap()).unwrap();
        assert_eq!(db.pairs().unwrap().len(), 1);
        drop(db);

        let newer = StateDb::SCHEMA_VERSION + 1;
        conn.pragma_update(None, "user_version", newer).unwrap();
        let path = PathBuf::from(conn.path().unwrap());
        drop(conn);
        let err = StateDb::open(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotSupported);
        assert_eq!(err.path(), Some(path.as_path()));
        assert!(err.message().contains(&format!("version {newer}")), "{err}");
        assert!(
            err.message()
                .contains(&format!("version {}", StateDb::SCHEMA_VERSION)),
            "{err}"
        );
    }

    #[test]
    fn migration_upgrades_an_empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.sqlite");
        File::create(&path).unwrap();
        let db = StateDb::open(&path).unwrap();
        let pair = db.pair(&key("docs")).unwrap();
        assert!(db.base(pair).unwrap().is_empty());
    }

    #[test]
    fn a_file_that_is_not_a_database_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.sqlite");
        fs::write(&path, "these are my notes, not a database\n".repeat(100)).unwrap();
        let err = StateDb::open(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
        assert_eq!(err.path(), Some(path.as_path()));
        assert!(err.message().starts_with("cannot "), "{err}");
        // Nothing was written into it.
        assert!(fs::read_to_string(&path).unwrap().starts_with("these are"));
    }

    #[test]
    fn a_database_of_another_application_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.sqlite");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE pair (x); INSERT INTO pair VALUES (1);")
            .unwrap();
        drop(conn);
        let err = StateDb::open(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert_eq!(err.path(), Some(path.as_path()));
    }

    #[test]
    fn pairs_are_keyed_by_folder_and_both_roots() {
        let (_dir, db, pair) = open();
        assert_eq!(db.pair(&key("docs")).unwrap(), pair);
        let other_root = PairKey {
            destination: "/elsewhere".into(),
            ..key("docs")
        };
        let other = db.pair(&other_root).unwrap();
        assert_ne!(other, pair);
        assert_ne!(db.pair(&key("photos")).unwrap(), pair);
        let pairs = db.pairs().unwrap();
        assert_eq!(pairs.len(), 3);
        assert_eq!(pairs[0].key, key("docs"));
        assert_eq!(pairs[1].key, other_root);
        assert!(!pairs[0].synced);
        let err = db.base(PairId(999)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
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
        let runs = db.runs(pair).unwrap();
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
    }

    #[test]
    fn pair_lock_is_busy_while_held_and_free_after_drop() {
        let (_dir, db, pair) = open();
        let other = db.pair(&key("other")).unwrap();
        let lock = db.lock(pair).unwrap();
        let held = fs::read_to_string(lock.path()).unwrap();
        assert_eq!(held.trim(), std::process::id().to_string());

        // Also through a second handle of the same database.
        let again = StateDb::open(db.path()).unwrap();
        let err = again.lock(pair).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Busy);
        assert_eq!(err.path(), Some(db.path()));
        assert_eq!(
            err.message(),
            format!(
                "pair \"docs\" is being synchronized by process {}",
                std::process::id()
            )
        );
        // Another pair is free.
        let _other = db.lock(other).unwrap();

        drop(lock);
        let _lock = again.lock(pair).unwrap();
    }

    /// Holds `file` locked in a child process which writes its pid into it, as a run does;
    /// the process itself holds the lock, so killing it releases the lock.
    fn hold_in_child(file: &Path) -> Child {
        Command::new("sh")
            .arg("-c")
            .arg("exec 9>>\"$1\" && flock 9 && echo $$ >\"$1\" && exec sleep 60")
            .arg("sh")
            .arg(file)
            .stdin(Stdio::null())
            .spawn()
            .expect("sh and flock from util-linux")
    }

    #[test]
    fn pair_lock_held_by_another_process_is_busy_until_it_dies() {
        let (_dir, db, pair) = open();
        // A stale pid of a process long gone is no obstacle.
        let lock_file = db.lock_path(pair);
        fs::write(&lock_file, "999999999\n").unwrap();
        drop(db.lock(pair).unwrap());

        let mut child = hold_in_child(&lock_file);
        let expected = format!(
            "pair \"docs\" is being synchronized by process {}",
            child.id()
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        let err = loop {
            match db.lock(pair) {
                Err(e) if e.message() == expected => break e,
                // Not locked by the child yet, or its pid not written yet.
                Err(e) => assert_eq!(e.kind(), ErrorKind::Busy, "{e}"),
                Ok(lock) => drop(lock),
            }
            assert!(Instant::now() < deadline, "the child never took the lock");
            assert!(child.try_wait().unwrap().is_none(), "the child died");
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(err.kind(), ErrorKind::Busy);
        assert_eq!(err.path(), Some(db.path()));
        assert!(db.lock(pair).is_err());

        child.kill().unwrap();
        child.wait().unwrap();
        let lock = db.lock(pair).unwrap();
        assert_eq!(
            fs::read_to_string(lock.path()).unwrap().trim(),
            std::process::id().to_string()
        );
    }

    #[test]
    fn default_path_is_in_the_data_folder_with_a_safe_name() {
        let data = || Some(PathBuf::from("/xdg"));
        assert_eq!(
            default_path_in(data(), "work").unwrap(),
            Path::new("/xdg/ferrysync/work.sqlite")
        );
        assert_eq!(
            default_path_in(data(), "a/b\\c\0d\ne\u{7f}f g").unwrap(),
            Path::new("/xdg/ferrysync/a_b_c_d_e_f g.sqlite")
        );
        assert_eq!(
            default_path_in(data(), "").unwrap(),
            Path::new("/xdg/ferrysync/_.sqlite")
        );
        let err = default_path_in(None, "work").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        // Where it is looked up, the CLI's tests check with real environments.
        let found = StateDb::default_path("work").unwrap();
        assert_eq!(
            Some(found),
            dirs::data_dir().map(|d| d.join("ferrysync/work.sqlite"))
        );
    }
}
