//! Executing one folder's plan: phases in a safe order, files on a worker pool.
//!
//! This file holds the phases ([`TreeReplica`] and `run_folder`) and the bookkeeping of
//! every action (events, progress, the report); the steps are beside it: operations on
//! files, links and folders (`files.rs`), folder times and permissions (`folders.rs`), and
//! the two-way steps — the state, renames and conflicts (`conflicts.rs`).

mod conflicts;
mod files;
mod folders;

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::replica::{ApplyContext, Replica};
use super::report::{ActionOutcome, ConflictOutcome, Event, Problem, Progress, Report, RunOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::filter::Filter;
use crate::path::RelPath;
use crate::plan::{Action, ActionKind, FolderPlan, Reason, Summary};
use crate::profile::{DeletionMode, Profile};
use crate::scan::{scan, Listing, ScanOptions};
use crate::state::BaseWriter;
use crate::transport::Transport;
use crate::versions::Versions;
use crate::vocab::{EntryKind, Side};

/// Runs `f` on every item with `threads` workers.
pub(crate) fn parallel<T: Sync>(threads: usize, items: &[T], f: impl Fn(&T) + Sync) {
    let threads = threads.min(items.len()).max(1);
    if threads == 1 {
        items.iter().for_each(f);
        return;
    }
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                f(item);
            });
        }
    });
}

struct Folder<'a> {
    plan: &'a FolderPlan,
    profile: &'a Profile,
    opts: &'a RunOptions,
    /// The two sides, indexed by [`Side`]: the source, then the destination.
    sides: [Arc<dyn Transport>; 2],
    /// Each side's versions folder, when the run keeps versions.
    versions: [Option<Versions>; 2],
    /// Whether touched folders get the other side's times and permissions.
    folder_metadata: bool,
    /// Whether the plan writes the source too (two-way).
    writes_source: bool,
    now_ns: i64,
    items_total: u64,
    bytes_total: u64,
    items_done: AtomicU64,
    bytes_done: AtomicU64,
    last_progress_ns: AtomicI64,
    log: Mutex<Log>,
    /// Two-way: the base, updated as actions complete.
    state: Option<&'a BaseWriter>,
}

#[derive(Default)]
struct Log {
    done: Summary,
    bytes_written: u64,
    failed: u64,
    warnings: Vec<Problem>,
    errors: Vec<Problem>,
    conflicts: Vec<ConflictOutcome>,
    /// Where actions failed: the side, the path, and for a folder that could not be made the
    /// kind of its error.
    failed_at: Vec<(Side, RelPath, Option<ErrorKind>)>,
}

/// A file-level unit of work: an action, and for a move the source deletion that follows.
struct Job<'a> {
    action: &'a Action,
    then_delete_source: bool,
}

/// A tree behind a [`Transport`], written by the executor: the destination of copies,
/// mirrors and moves, both sides of a two-way pair, and the inside of a snapshot folder.
#[derive(Debug)]
pub(crate) struct TreeReplica {
    dst: Arc<dyn Transport>,
    /// Whether the folders a run touches get the times and permissions of the source's
    /// (not inside a snapshot folder, which keeps the time it was made).
    folder_metadata: bool,
    /// Whether plans write the source too (a two-way pair): then each side keeps its own
    /// versions, and neither root takes the other's times and permissions.
    writes_source: bool,
}

impl TreeReplica {
    /// The tree `dst`, the destination of a copy, mirror or move.
    pub(crate) fn new(dst: Arc<dyn Transport>) -> TreeReplica {
        TreeReplica {
            dst,
            folder_metadata: true,
            writes_source: false,
        }
    }

    /// The tree `dst` as the other side of a two-way pair: plans write both sides.
    pub(crate) fn two_way(dst: Arc<dyn Transport>) -> TreeReplica {
        TreeReplica {
            writes_source: true,
            ..TreeReplica::new(dst)
        }
    }

    /// The tree inside a new snapshot folder, `dst`: its folders keep the times they were
    /// made at (a folder metadata update the plan asks for is still made).
    pub(crate) fn inside_snapshot(dst: Arc<dyn Transport>) -> TreeReplica {
        TreeReplica {
            folder_metadata: false,
            ..TreeReplica::new(dst)
        }
    }
}

impl Replica for TreeReplica {
    fn list(&self, filter: &Filter, opts: &ScanOptions) -> Result<Listing> {
        if self.dst.stat_follow(&RelPath::root())?.is_none() {
            return Ok(Listing::default());
        }
        scan(&*self.dst, filter, opts)
    }

    /// Runs the executor's phases over the source and this tree. The tree is made if
    /// missing: a mirror of an empty source still makes the empty destination.
    fn apply(&self, plan: &FolderPlan, ctx: &ApplyContext<'_>, report: &mut Report) -> Result<()> {
        self.dst.create_dir_all(&RelPath::root())?;
        let sides = [Arc::clone(&ctx.source), Arc::clone(&self.dst)];
        run_folder(plan, ctx, sides, self, report)
    }
}

/// Executes one folder's plan over `sides` (the source, then the destination), as
/// `replica` (the destination's) says.
fn run_folder(
    plan: &FolderPlan,
    ctx: &ApplyContext<'_>,
    sides: [Arc<dyn Transport>; 2],
    replica: &TreeReplica,
    report: &mut Report,
) -> Result<()> {
    let (profile, opts, threads, state) = (ctx.profile, ctx.opts, ctx.threads, ctx.state);
    let needs_versions =
        profile.versions.enabled() || profile.versions.deleted_files == DeletionMode::Versions;
    let versions_of = |side: &Arc<dyn Transport>| {
        needs_versions
            .then(|| {
                ctx.engine
                    .versions_of(side.clone(), profile, Some(&opts.control))
            })
            .transpose()
    };
    // Two-way runs keep each side's replaced and deleted files on that side.
    let versions = [
        if replica.writes_source {
            versions_of(&sides[0])?
        } else {
            None
        },
        versions_of(&sides[1])?,
    ];
    let f = Folder {
        plan,
        profile,
        opts,
        sides,
        versions,
        folder_metadata: replica.folder_metadata,
        writes_source: replica.writes_source,
        now_ns: super::now_ns(),
        items_total: plan.actions.len() as u64,
        bytes_total: plan.summary.bytes_to_copy,
        items_done: AtomicU64::new(0),
        bytes_done: AtomicU64::new(0),
        last_progress_ns: AtomicI64::new(0),
        log: Mutex::new(Log::default()),
        state,
    };
    for temp in &plan.temporaries {
        let _ = f.side(Side::Destination).remove_file(temp);
    }
    for temp in &plan.source_temporaries {
        let _ = f.side(Side::Source).remove_file(temp);
    }
    // Two-way: what both sides already agree on is recorded first (cheap, and a run killed
    // early has then recorded it).
    for a in plan.actions.iter().filter(|a| a.kind == ActionKind::Record) {
        f.done(a, 0);
    }

    let deletes_allowed = !profile.copy.confirm_deletes
        || !plan
            .actions
            .iter()
            .any(|a| a.kind == ActionKind::Delete && is_unmatched(a))
        || opts.prompt.as_ref().is_none_or(|p| p.confirm_deletes(plan));

    // 0. Two-way conflicts are resolved; one-way conflicts are left alone, and reported.
    for a in plan
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::Conflict)
    {
        if let Some(resolution) = a.resolution {
            f.resolve(a, resolution);
            continue;
        }
        let shown = f.shown(a.to, &a.path);
        f.warn(
            shown,
            ErrorKind::AlreadyExists,
            format!(
                "left alone: the source has a {} here and the destination something else",
                a.entry.name()
            ),
        );
        f.lock().done.conflicts += 1;
    }
    // 0b. Two-way renames, before replaced folders go (entries moved out of one leave it
    //     first). One whose new folder does not exist yet (it replaces a file, say) is tried
    //     again once the folders are made.
    let renames: Vec<&Action> = plan
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::Rename)
        .collect();
    let later = Mutex::new(Vec::new());
    parallel(threads, &renames, |a| {
        if opts.control.proceed() {
            match f.rename(a) {
                Ok(n) => f.done(a, n),
                Err(_) => later.lock().unwrap_or_else(|p| p.into_inner()).push(*a),
            }
        }
    });
    let mut later = later.into_inner().unwrap_or_else(|p| p.into_inner());
    later.sort_by(|a, b| a.path.cmp(&b.path));
    // 1. Entries of another kind than the other side's go first.
    let mut replaced: Vec<&Action> = plan
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::Delete && a.reason == Reason::Replaced)
        .collect();
    replaced.sort_by(|a, b| b.path.cmp(&a.path));
    for a in replaced {
        if a.entry == EntryKind::Dir {
            f.delete_dir(a);
        } else {
            f.step(a, || f.delete(a));
        }
    }
    // 2. Folders, parents first (the plan is sorted).
    for a in plan
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::CreateDir)
    {
        if !opts.control.proceed() {
            break;
        }
        if !f.in_unmade_folder(a) {
            f.step(a, || f.side(a.to).create_dir_all(&a.path).map(|()| 0));
        }
    }
    for a in later {
        if opts.control.proceed() {
            f.step(a, || f.rename(a));
        }
    }
    // 3. Files, in parallel.
    let mut jobs = Vec::new();
    let actions = &plan.actions;
    for (i, a) in actions.iter().enumerate() {
        let moved_after = actions
            .get(i + 1)
            .is_some_and(|n| n.kind == ActionKind::DeleteSource && n.path == a.path);
        match a.kind {
            ActionKind::Copy => jobs.push(Job {
                action: a,
                then_delete_source: moved_after,
            }),
            ActionKind::UpdateMeta if a.entry != EntryKind::Dir => jobs.push(Job {
                action: a,
                then_delete_source: moved_after,
            }),
            ActionKind::DeleteSource if a.entry != EntryKind::Dir => {
                let after_copy = i > 0
                    && actions[i - 1].path == a.path
                    && matches!(
                        actions[i - 1].kind,
                        ActionKind::Copy | ActionKind::UpdateMeta
                    );
                if !after_copy {
                    jobs.push(Job {
                        action: a,
                        then_delete_source: false,
                    });
                }
            }
            _ => {}
        }
    }
    // Each worker takes one folder's files at a time: workers creating entries in the same
    // folder at once contend for its lock.
    let batches: Vec<&[Job<'_>]> = jobs
        .chunk_by(|a, b| parent_bytes(&a.action.path) == parent_bytes(&b.action.path))
        .collect();
    parallel(threads, &batches, |batch| {
        for job in batch.iter() {
            if !opts.control.proceed() {
                break;
            }
            f.file_job(job);
        }
    });
    // 4. Unmatched destination entries: files in parallel, then folders deepest first.
    let unmatched: Vec<&Action> = plan
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::Delete && is_unmatched(a))
        .collect();
    if deletes_allowed {
        let files: Vec<&Action> = unmatched
            .iter()
            .copied()
            .filter(|a| a.entry != EntryKind::Dir)
            .collect();
        parallel(threads, &files, |a| {
            if opts.control.proceed() {
                f.step(a, || f.delete(a));
            }
        });
        for a in unmatched.iter().rev().filter(|a| a.entry == EntryKind::Dir) {
            if !opts.control.proceed() {
                break;
            }
            // A folder left empty goes from one side only when the other side's copy is gone
            // or empty too (it may hold excluded entries): the sides stay alike.
            if a.reason == Reason::Emptied && !f.empty_or_gone(a.to.other(), &a.path) {
                continue;
            }
            f.delete_dir(a);
        }
    } else if !unmatched.is_empty() {
        f.warn(
            None,
            ErrorKind::Guard,
            format!(
                "{} deletions declined; destination entries kept",
                unmatched.len()
            ),
        );
    }
    // 5. Emptied source folders of a move (deepest first, as planned).
    for a in plan
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::DeleteSource && a.entry == EntryKind::Dir)
    {
        if !opts.control.proceed() {
            break;
        }
        if f.side(Side::Source).remove_dir(&a.path).is_ok() {
            f.done(a, 0);
        }
    }
    // 7. Folder times and permissions last, deepest first, so writing inside them cannot
    //    disturb them again.
    if !opts.control.is_cancelled() {
        f.restore_folder_metadata();
    }
    // Per-path limits (count, age) apply as versions are made; the total size needs a walk.
    for versions in f.versions.iter().flatten() {
        if profile.versions.max_total_size.is_some() {
            if let Err(e) = versions.clean(f.now_ns) {
                f.warn(
                    e.path().map(|p| p.display().to_string()),
                    e.kind(),
                    format!("versions not cleaned: {}", e.message()),
                );
            }
        }
    }
    f.progress(None, true);

    let log = f.log.into_inner().unwrap_or_else(|p| p.into_inner());
    report.done.merge(&log.done);
    report.bytes_written += log.bytes_written;
    report.failed += log.failed;
    report.warnings.extend(log.warnings);
    report.errors.extend(log.errors);
    report.conflicts.extend(log.conflicts);
    Ok(())
}

/// A deletion of what the other side no longer has (mirror) or deleted (two-way), or of a
/// folder a two-way run leaves empty.
pub(super) fn is_unmatched(a: &Action) -> bool {
    matches!(
        a.reason,
        Reason::Unmatched | Reason::Deleted | Reason::Emptied
    )
}

/// The bytes of a path's folder part (empty at the root).
fn parent_bytes(path: &RelPath) -> &[u8] {
    let bytes = path.as_bytes();
    &bytes[..bytes.iter().rposition(|&b| b == b'/').unwrap_or(0)]
}

impl Folder<'_> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn warn(&self, path: Option<String>, kind: ErrorKind, message: String) {
        let p = Problem::note(&self.plan.folder, path, kind, message);
        self.opts.emit(Event::Warning(p.clone()));
        self.lock().warnings.push(p);
    }

    fn done(&self, a: &Action, bytes: u64) {
        if let Some(state) = self.state {
            if let Err(e) = self.record(state, a) {
                self.warn(
                    self.shown(a.to, &a.path),
                    e.kind(),
                    format!("state not updated: {}", e.message()),
                );
            }
        }
        {
            let mut log = self.lock();
            let mut one = Summary::default();
            one.add(a);
            // What was written, not what was planned (a link copies no bytes).
            one.bytes_to_copy = bytes;
            log.done.merge(&one);
            log.bytes_written += bytes;
        }
        self.items_done.fetch_add(1, Ordering::Relaxed);
        self.bytes_done.fetch_add(bytes, Ordering::Relaxed);
        if self.opts.events.is_some() {
            self.opts.emit(Event::ActionDone {
                folder: self.plan.folder.clone(),
                action: a.clone(),
                outcome: ActionOutcome::Done,
            });
            self.progress(Some(&a.path), false);
        }
    }

    fn failed(&self, a: &Action, err: &Error) {
        let p = Problem::from_error(&self.plan.folder, err);
        let busy = err.kind() == ErrorKind::Busy;
        {
            let mut log = self.lock();
            if busy {
                log.warnings.push(p.clone());
            } else {
                log.failed += 1;
                log.errors.push(p.clone());
                let unmade = (a.kind == ActionKind::CreateDir).then_some(err.kind());
                log.failed_at.push((a.to, a.path.clone(), unmade));
            }
        }
        self.items_done.fetch_add(1, Ordering::Relaxed);
        self.opts.emit(if busy {
            Event::Warning(p)
        } else {
            Event::Error(p)
        });
        self.opts.emit(Event::ActionDone {
            folder: self.plan.folder.clone(),
            action: a.clone(),
            outcome: if busy {
                ActionOutcome::Skipped
            } else {
                ActionOutcome::Failed
            },
        });
    }

    fn progress(&self, current: Option<&RelPath>, force: bool) {
        if self.opts.events.is_none() {
            return;
        }
        let now = super::now_ns();
        let last = self.last_progress_ns.load(Ordering::Relaxed);
        let interval = self.opts.progress_interval.as_nanos() as i64;
        if !force
            && (now - last < interval
                || self
                    .last_progress_ns
                    .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err())
        {
            return;
        }
        self.opts.emit(Event::Progress(Progress {
            items_done: self.items_done.load(Ordering::Relaxed),
            items_total: self.items_total,
            bytes_done: self.bytes_done.load(Ordering::Relaxed),
            bytes_total: self.bytes_total,
            current: current.map(|p| p.to_string()),
        }));
    }

    /// Whether `a` creates an entry in a folder whose making failed: it is not tried (that
    /// would only fail on the folder again), and fails naming its own path.
    fn in_unmade_folder(&self, a: &Action) -> bool {
        let unmade = self
            .lock()
            .failed_at
            .iter()
            .find_map(|(side, dir, unmade)| {
                let kind = (*side == a.to && a.path.starts_with(dir) && a.path != *dir)
                    .then_some(*unmade)
                    .flatten()?;
                Some((dir.clone(), kind))
            });
        let Some((dir, kind)) = unmade else {
            return false;
        };
        let what = if a.kind == ActionKind::CreateDir {
            "not made"
        } else {
            "not copied"
        };
        let err = Error::new(
            kind,
            format!(
                "{what}: folder {} could not be made",
                self.local(a.to, &dir).display()
            ),
        )
        .with_path(self.local(a.to, &a.path));
        self.failed(a, &err);
        true
    }

    /// Runs one step, recording its outcome. Passing failures were already tried again by
    /// the sides' transports ([`super::request`]).
    fn step(&self, a: &Action, op: impl FnOnce() -> Result<u64>) -> bool {
        match op() {
            Ok(bytes) => {
                self.done(a, bytes);
                true
            }
            Err(e) => {
                self.failed(a, &e);
                false
            }
        }
    }

    fn file_job(&self, job: &Job<'_>) {
        let a = job.action;
        if a.kind == ActionKind::Copy && self.in_unmade_folder(a) {
            return;
        }
        let ok = match a.kind {
            ActionKind::Copy => self.step(a, || self.copy(a)),
            ActionKind::UpdateMeta => self.step(a, || self.update_meta(a)),
            // A move whose file the destination already holds: the source goes once the
            // contents are confirmed equal.
            ActionKind::DeleteSource => {
                self.step(a, || self.delete_moved_source(a));
                return;
            }
            _ => return,
        };
        if ok && job.then_delete_source {
            let del = Action {
                kind: ActionKind::DeleteSource,
                reason: Reason::Moved,
                to: Side::Source,
                ..a.clone()
            };
            self.step(&del, || self.delete_moved_source(&del));
        }
    }

    /// One side of the pair.
    fn side(&self, side: Side) -> &dyn Transport {
        &*self.sides[side as usize]
    }

    /// A path on one side as people read it.
    fn shown(&self, side: Side, path: &RelPath) -> Option<String> {
        Some(self.local(side, path).display().to_string())
    }

    /// `path` on `side` as errors name it: its local path, or the path below the side's
    /// description (`memory:dst/a/b`, a URL).
    fn local(&self, side: Side, path: &RelPath) -> PathBuf {
        let t = self.side(side);
        t.local_path(path)
            .unwrap_or_else(|| path.to_path(std::path::Path::new(&t.describe())))
    }
}
