//! The state database: one SQLite file per profile (bundled SQLite, WAL journal,
//! `synchronous=NORMAL`), opened and upgraded to this release's schema (`schema.rs`), and
//! the folder pairs it keeps; how SQLite's failures read as [`Error`]s.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::{params, Connection, ErrorCode, OptionalExtension};

use super::schema::{check_schema, connect, migrate};
use crate::error::{Error, ErrorKind, Result};

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
pub(crate) struct PairId(pub(crate) i64);

impl fmt::Display for PairId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A pair as listed by [`StateDb::pairs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairInfo {
    /// The pair's id in this database.
    pub(crate) id: PairId,
    /// The folder name and roots.
    pub key: PairKey,
    /// Number of base entries.
    pub entries: u64,
    /// Whether a run has completed since the pair was created or cleared.
    pub synced: bool,
    /// When the latest ended run ended, ns since the epoch; None before any run ended.
    pub last_run_end_ns: Option<i64>,
}

/// An open state database.
///
/// One connection, shared by the methods through a mutex, so a `StateDb` is `Send + Sync`;
/// a run records its base through a connection of its own. Other processes may open the
/// same file: SQLite's locks and the busy timeout serialize their writes, and a lock per
/// pair keeps two runs off the same pair.
///
/// Outside the engine, a state database is read: its pairs ([`StateDb::pairs`]) and each
/// pair's history ([`StateDb::runs`]).
pub struct StateDb {
    pub(super) path: PathBuf,
    pub(super) conn: Mutex<Connection>,
}

impl fmt::Debug for StateDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateDb").field("path", &self.path).finish()
    }
}

impl StateDb {
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
    pub(crate) fn pair(&self, key: &PairKey) -> Result<PairId> {
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

    /// The id of the pair `key`, `None` when the database has none.
    ///
    /// # Errors
    /// [`ErrorKind::Busy`], [`ErrorKind::Corrupt`] or [`ErrorKind::Io`] when the database
    /// cannot be read.
    pub(crate) fn find(&self, key: &PairKey) -> Result<Option<PairId>> {
        self.conn()
            .prepare_cached(
                "SELECT id FROM pair WHERE folder = ?1 AND source = ?2 AND destination = ?3",
            )
            .and_then(|mut s| {
                s.query_row(params![key.folder, key.source, key.destination], |r| {
                    r.get(0)
                })
                .optional()
            })
            .map(|id| id.map(PairId))
            .map_err(|e| {
                sql_error(
                    &self.path,
                    &format!("cannot look up pair {:?}", key.folder),
                    e,
                )
            })
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

    pub(super) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The folder name of `pair`; NotFound for an unknown pair.
    pub(super) fn folder(&self, pair: PairId) -> Result<String> {
        self.conn()
            .prepare_cached("SELECT folder FROM pair WHERE id = ?1")
            .and_then(|mut s| s.query_row([pair.0], |r| r.get(0)).optional())
            .map_err(|e| sql_error(&self.path, &format!("cannot look up pair {pair}"), e))?
            .ok_or_else(|| unknown_pair(&self.path, pair))
    }
}

/// Opens `path` for reading and writing, creating it empty when missing (never truncating).
pub(super) fn open_or_create(path: &Path) -> Result<fs::File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| Error::io(path, e))
}

pub(super) fn unknown_pair(db: &Path, pair: PairId) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("no pair {pair} in the state database"),
    )
    .with_path(db)
}

/// A SQLite error by meaning: `doing` says what failed.
pub(super) fn sql_error(path: &Path, doing: &str, err: rusqlite::Error) -> Error {
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
pub(super) mod tests {
    use super::*;
    use crate::path::RelPath;
    use crate::state::{BaseEntry, SideStamp};
    use crate::vocab::EntryKind;

    pub(crate) fn key(folder: &str) -> PairKey {
        PairKey {
            folder: folder.into(),
            source: "/src".into(),
            destination: "/dst".into(),
        }
    }

    pub(crate) fn entry(path: &[u8], hash: Option<[u8; 32]>) -> BaseEntry {
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

    pub(crate) fn numbered(i: usize) -> BaseEntry {
        entry(format!("d{}/f{i}", i % 97).as_bytes(), None)
    }

    pub(crate) fn open() -> (tempfile::TempDir, StateDb, PairId) {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(dir.path().join("sub/dir/p.sqlite")).unwrap();
        let pair = db.pair(&key("docs")).unwrap();
        (dir, db, pair)
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
