//! What a folder pair's destination is: a [`Replica`].
//!
//! The planner compares two listings and never knows what stands behind them; the engine
//! asks the destination's replica for its listing and hands it the plan to carry out. The
//! replica is picked from the profile's operation once, by [`for_operation`]; nothing else in
//! the engine branches on what the destination is.
//!
//! | replica | lists itself as | applies a plan by |
//! |---|---|---|
//! | [`TreeReplica`] (copy, mirror, move, two-way) | a scan of its tree | the executor's phases, through the [`Transport`]s of both sides |
//! | [`SnapshotSet`] (versioned backup) | the latest version of every file across its snapshot folders | making a new snapshot folder and writing the plan's copies into it with a tree replica |
//!
//! Replicas to come list themselves from their own index and write their own way: a single
//! ZIP (from its central directory, with a ZIP writer), a backup chain (from the index files
//! beside its archives) and a packet outbox (from the packet state). None of that assumes a
//! tree: a replica gets the source as a [`Transport`], and reports what it did into the
//! run's [`Report`] and events.
//!
//! Two-way runs write both sides: the source is a tree too, and the tree replica writes it
//! through the same executor ([`TreeReplica::two_way`]: each side keeps its own versions;
//! the state of the pair is in the [`ApplyContext`]). Whether both sides are written is
//! the replica's to know: the executor never asks for the operation.

use std::sync::Arc;

use super::report::{Report, RunOptions};
use crate::error::Result;
use crate::filter::Filter;
use crate::location::Location;
use crate::plan::FolderPlan;
use crate::profile::{Operation, Profile};
use crate::scan::{Listing, ScanOptions};
use crate::state::BaseWriter;
use crate::transport::Transport;

pub(crate) use super::execute::TreeReplica;
pub(crate) use super::snapshot::SnapshotSet;

/// A folder pair's destination: something that lists itself for the planner and carries out
/// the plans made against that listing.
pub(crate) trait Replica: Send + Sync + std::fmt::Debug {
    /// Where a plan made now writes: the plan's destination. `at` is the destination's
    /// location, `stamp` the run's time as snapshot names spell it (a replica that adds
    /// something new each run names it after the stamp).
    fn target(&self, at: &Location, stamp: &str) -> Location {
        let _ = stamp;
        at.clone()
    }

    /// This replica as the planner sees it, walked with `filter` and `opts`: what a copy
    /// compares against. Empty when the replica does not exist yet.
    ///
    /// # Errors
    /// Failures reading the replica (a missing replica is no error), cancelling.
    fn list(&self, filter: &Filter, opts: &ScanOptions) -> Result<Listing>;

    /// Carries out `plan`, made against [`Replica::list`] and the source `ctx` gives, as
    /// `ctx` says; what was done, failed or warned about goes into `report` (and the run's
    /// events). Not called for dry runs.
    ///
    /// # Errors
    /// Only failures that stop the whole folder (the replica cannot be made); a failed
    /// action is reported, not returned.
    fn apply(&self, plan: &FolderPlan, ctx: &ApplyContext<'_>, report: &mut Report) -> Result<()>;
}

/// What applying a plan needs besides the replica: the run and the source.
pub(crate) struct ApplyContext<'a> {
    /// The engine running the plan (its factory opens versions folders outside the tree).
    pub(crate) engine: &'a super::Engine,
    /// The profile being run.
    pub(crate) profile: &'a Profile,
    /// The run's options (events, prompts, cancel and pause).
    pub(crate) opts: &'a RunOptions,
    /// Worker threads.
    pub(crate) threads: usize,
    /// The source the plan reads from (two-way: the other side, which it writes too).
    pub(crate) source: Arc<dyn Transport>,
    /// Two-way: the pair's base, told of every completed action.
    pub(crate) state: Option<&'a BaseWriter>,
}

/// The destination `dst` of a folder pair as `operation` uses it.
pub(crate) fn for_operation(operation: Operation, dst: Arc<dyn Transport>) -> Box<dyn Replica> {
    match operation {
        Operation::VersionedBackup => Box::new(SnapshotSet::new(dst)),
        Operation::Copy | Operation::Mirror | Operation::Move => Box::new(TreeReplica::new(dst)),
        Operation::Synchronize => Box::new(TreeReplica::two_way(dst)),
    }
}
