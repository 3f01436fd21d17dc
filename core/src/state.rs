//! Two-way state: per folder pair, the base — every path as it was after the last sync — kept
//! in a SQLite database (see [`StateDb`]), and the run history.
//!
//! One concept per file: the database and its pairs (`db.rs`), its schema and migrations
//! (`schema.rs`), the base and how it is stored (`base.rs`), the [`BaseWriter`] that records
//! completed actions from many worker threads in batched transactions (`writer.rs`), the run
//! history (`runs.rs`), the intents of copies about to be made (`intents.rs`), and the
//! [`PairLock`] that keeps two runs, also of two processes, off the same pair (`lock.rs`).

mod base;
mod db;
mod intents;
mod lock;
mod runs;
mod schema;
mod writer;

#[cfg(test)]
pub(crate) use base::SideStamp;
pub(crate) use base::{Base, BaseEntry};
pub(crate) use db::PairId;
pub use db::{PairInfo, PairKey, StateDb};
pub(crate) use intents::Intent;
pub(crate) use lock::PairLock;
pub use runs::RunRecord;
pub(crate) use writer::BaseWriter;
