//! The schema of the state database and its migrations: one step per version, the version
//! in `PRAGMA user_version`, ferrysync's `PRAGMA application_id`, and the settings of every
//! connection.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use super::db::sql_error;
use super::StateDb;
use crate::error::{Error, ErrorKind, Result};

/// How long a connection waits for another one's write lock before giving up busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

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

impl StateDb {
    /// The schema version this release writes; [`open`](StateDb::open) upgrades older
    /// databases to it and refuses newer ones.
    pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;
}

/// A connection to the existing database at `path`, with the busy timeout and the
/// per-connection settings.
pub(super) fn connect(path: &Path) -> Result<Connection> {
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
pub(super) fn check_schema(conn: &Connection, path: &Path) -> Result<i64> {
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
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use std::fs::{self, File};
    use std::path::PathBuf;

    use super::*;
    use crate::state::db::tests::{key, open};

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
}
