//! The state database: SQLite (bundled), WAL, schema version in `PRAGMA user_version`.
//! CONTRACT STUB — to be implemented (see the doc comments for what each item must do).
#![allow(dead_code, unused_variables, missing_docs)]

use std::path::{Path, PathBuf};

use super::{Base, BaseEntry};
use crate::error::Result;
use crate::path::RelPath;

/// Identifies a folder pair: the profile's folder name and both resolved roots.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PairKey {
    pub folder: String,
    pub source: String,
    pub destination: String,
}

/// A pair's row id in one database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PairId(pub i64);

/// A pair as listed by [`StateDb::pairs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairInfo {
    pub id: PairId,
    pub key: PairKey,
    pub entries: u64,
    pub synced: bool,
    pub last_run_end_ns: Option<i64>,
}

/// One finished (or interrupted) run of a pair.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunRecord {
    pub started_ns: i64,
    pub ended_ns: Option<i64>,
    /// Actions done, failed, conflicts.
    pub done: u64,
    pub failed: u64,
    pub conflicts: u64,
    /// "ok", "errors", "cancelled", "guard"; None while running (or killed).
    pub outcome: Option<String>,
}

/// An open state database.
pub struct StateDb {
    path: PathBuf,
}

/// Held while a run works on a pair; released on drop (and by the OS if the process dies).
pub struct PairLock {}

/// Records base changes as actions complete, in batched transactions.
pub struct BaseWriter {}

impl StateDb {
    pub fn open(path: impl AsRef<Path>) -> Result<StateDb> {
        todo!()
    }
    pub fn default_path(profile: &str) -> Result<PathBuf> {
        todo!()
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn pair(&self, key: &PairKey) -> Result<PairId> {
        todo!()
    }
    pub fn pairs(&self) -> Result<Vec<PairInfo>> {
        todo!()
    }
    pub fn lock(&self, pair: PairId) -> Result<PairLock> {
        todo!()
    }
    pub fn base(&self, pair: PairId) -> Result<Base> {
        todo!()
    }
    pub fn writer(&self, pair: PairId) -> Result<BaseWriter> {
        todo!()
    }
    pub fn clear(&self, pair: PairId) -> Result<()> {
        todo!()
    }
    pub fn reset(&self, pair: PairId, entries: Vec<BaseEntry>) -> Result<()> {
        todo!()
    }
    pub fn begin_run(&self, pair: PairId, started_ns: i64) -> Result<i64> {
        todo!()
    }
    pub fn end_run(&self, run: i64, record: &RunRecord) -> Result<()> {
        todo!()
    }
    pub fn runs(&self, pair: PairId) -> Result<Vec<RunRecord>> {
        todo!()
    }
}

impl BaseWriter {
    pub fn put(&self, entry: BaseEntry) -> Result<()> {
        todo!()
    }
    pub fn forget(&self, path: &RelPath) -> Result<()> {
        todo!()
    }
    pub fn flush(&self) -> Result<()> {
        todo!()
    }
    pub fn finish(self, synced: bool) -> Result<()> {
        todo!()
    }
}
