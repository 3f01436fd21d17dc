//! Executing one folder's plan: phases in a safe order, files on a worker pool.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::replica::{ApplyContext, Replica};
use super::report::{ActionOutcome, ConflictOutcome, Event, Problem, Progress, Report, RunOptions};
use crate::compare::blake3_file;
use crate::error::{Error, ErrorKind, Result};
use crate::filter::Filter;
use crate::path::RelPath;
use crate::plan::{Action, ActionKind, ConflictKind, FolderPlan, Reason, Resolution, Summary};
use crate::profile::{ConflictLoser, ConflictPolicy};
use crate::profile::{DeletionMode, Profile, SymlinkMode};
use crate::scan::{scan, Listing, ScanOptions};
use crate::state::{BaseEntry, BaseWriter};
use crate::transport::{
    entry_from_metadata, temp_sibling, Entry, EntryKind, ExactStream, Meta, Source, Transport,
    WriteMode,
};
use crate::versions::Versions;
use crate::vocab::Side;

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
}

impl TreeReplica {
    /// The tree `dst`.
    pub(crate) fn new(dst: Arc<dyn Transport>) -> TreeReplica {
        TreeReplica {
            dst,
            folder_metadata: true,
        }
    }

    /// The tree inside a new snapshot folder, `dst`: its folders keep the times they were
    /// made at (a folder metadata update the plan asks for is still made).
    pub(crate) fn inside_snapshot(dst: Arc<dyn Transport>) -> TreeReplica {
        TreeReplica {
            dst,
            folder_metadata: false,
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
        run_folder(plan, ctx, sides, self.folder_metadata, report)
    }
}

/// Executes one folder's plan over `sides` (the source, then the destination).
fn run_folder(
    plan: &FolderPlan,
    ctx: &ApplyContext<'_>,
    sides: [Arc<dyn Transport>; 2],
    folder_metadata: bool,
    report: &mut Report,
) -> Result<()> {
    let (profile, opts, threads, state) = (ctx.profile, ctx.opts, ctx.threads, ctx.state);
    let two_way = profile.operation == crate::profile::Operation::Synchronize;
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
        if two_way {
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
        folder_metadata,
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

/// `err`, from keeping the old version of a file (`shown`) in its versions folder, as the
/// file's error: it names the file, and says where its version was to go. The file is left
/// as it was.
fn version_not_kept(err: Error, shown: PathBuf) -> Error {
    let at = match err.path() {
        Some(p) if p != shown => format!(" ({})", p.display()),
        _ => String::new(),
    };
    let message = format!(
        "left as it was: its old version could not be kept{at}: {}",
        err.message()
    );
    let retryable = err.is_retryable();
    Error::new(err.kind(), message)
        .with_path(shown)
        .retryable(retryable)
        .with_source(err)
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

    /// The entry at `path` on `side` now (following links when the profile follows them).
    fn entry_on(&self, side: Side, path: &RelPath) -> Result<Entry> {
        let t = self.side(side);
        let found = if self.profile.copy.symlinks == SymlinkMode::Follow {
            t.stat_follow(path)?
        } else {
            t.stat(path)?
        };
        found.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("vanished from the {} since the scan", side.name()),
            )
            .with_path(self.local(side, path))
        })
    }

    /// `path` on `side` as errors name it: its local path, or the path below the side's
    /// description (`memory:dst/a/b`, a URL).
    fn local(&self, side: Side, path: &RelPath) -> PathBuf {
        let t = self.side(side);
        t.local_path(path)
            .unwrap_or_else(|| path.to_path(std::path::Path::new(&t.describe())))
    }

    fn meta_of(&self, e: &Entry) -> Meta {
        Meta {
            mtime_ns: e.mtime_ns,
            mode: (self.profile.copy.preserve_permissions && e.mode != 0).then_some(e.mode),
            owner: if self.profile.copy.preserve_owner {
                e.owner
            } else {
                None
            },
        }
    }

    /// Copies the file or link at `a.path` from the other side to side `a.to`.
    fn copy(&self, a: &Action) -> Result<u64> {
        let (from, to) = (a.to.other(), a.to);
        let follow = self.profile.copy.symlinks == SymlinkMode::Follow;
        if a.entry == EntryKind::Symlink && !follow {
            self.preserve_replaced(a)?;
            return self.copy_link(a);
        }
        // One path lookup: the open file answers every later question (fstat, not lstat).
        // A backend without local files is read as a stream.
        let local = self.local(from, &a.path);
        let src = self.side(from);
        let file = src.open_local(&a.path)?;
        let before = match &file {
            Some(f) => f
                .metadata()
                .map(|md| entry_from_metadata(a.path.clone(), &md))
                .map_err(|e| Error::io(&local, e))?,
            None => self.entry_on(from, &a.path)?,
        };
        if before.kind != EntryKind::File {
            return Err(Error::invalid("not a file any more").with_path(&local));
        }
        self.check_unchanged_since_scan(a, &before)?;
        self.preserve_replaced(a)?;
        let meta = self.meta_of(&before);
        // In place when the profile says "copy directly", else atomically. A backend without
        // atomic renames (`Capabilities::atomic_rename`) makes an atomic write its own way
        // (a temporary, then the old file removed and the temporary renamed in), so the
        // name never holds a torn file, only for a moment none: never a direct write for it.
        let mode = if self.profile.copy.copy_directly {
            WriteMode::Direct
        } else {
            WriteMode::Atomic
        };
        // The transport copies the file as `before` saw it and checks it again before the
        // copy takes the name (atomic) or after it was written (direct): a torn copy never
        // replaces the target.
        // A stream must give the size seen, no more and no less: a transfer that breaks off
        // or a file that changes meanwhile never replaces the target.
        let stream = match file {
            Some(_) => None,
            None => Some(Mutex::new(ExactStream::new(
                src.open(&a.path)?,
                before.size,
            ))),
        };
        let side = self.side(to);
        let write = || match (&file, &stream) {
            (Some(file), _) => {
                let source = Source::File {
                    file,
                    size: before.size,
                    mtime_ns: before.mtime_ns,
                };
                side.write(&a.path, source, &meta, mode)
            }
            (None, Some(stream)) => {
                let mut input = stream.lock().unwrap_or_else(|p| p.into_inner());
                side.write(&a.path, Source::Stream(&mut *input), &meta, mode)
            }
            (None, None) => Err(Error::invalid("no source to copy").with_path(&local)),
        };
        // A source that changed, or whose stream failed, is what the error is about.
        let read_failed = || {
            stream
                .as_ref()
                .is_some_and(|s| s.lock().unwrap_or_else(|p| p.into_inner()).failed())
        };
        let bytes = self.with_parent(to, &a.path, write).map_err(|e| {
            if e.kind() == ErrorKind::Busy || read_failed() {
                e.with_path(&local)
            } else {
                e
            }
        })?;
        // A backend that took fewer bytes than the source gave, and said nothing.
        if bytes != before.size {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!(
                    "{bytes} of {} bytes written; copied again on the next run",
                    before.size
                ),
            )
            .with_path(self.local(to, &a.path)));
        }
        if self.profile.copy.verify {
            self.verify(a)?;
        }
        Ok(bytes)
    }

    /// Two-way: a copy reads the entry the plan saw and replaces only what the plan saw, so an
    /// edit made on either side while the run works is never overwritten or copied half-done:
    /// the path is left for the next run.
    fn check_unchanged_since_scan(&self, a: &Action, read: &Entry) -> Result<()> {
        if self.state.is_none() || (a.source.is_none() && a.destination.is_none()) {
            return Ok(());
        }
        let planned = |side: Side| match side {
            Side::Source => a.source,
            Side::Destination => a.destination,
        };
        let (from, to) = (a.to.other(), a.to);
        let busy = |side: Side| {
            Err(Error::new(
                ErrorKind::Busy,
                format!(
                    "changed on the {} since the scan; left for the next run",
                    side.name()
                ),
            )
            .with_path(self.local(side, &a.path)))
        };
        if let Some(p) = planned(from) {
            if (p.size, p.mtime_ns) != (read.size, read.mtime_ns) {
                return busy(from);
            }
        }
        match (planned(to), self.side(to).stat(&a.path)?) {
            (_, None) => Ok(()),
            (Some(p), Some(now))
                if now.kind == EntryKind::Dir
                    || (p.size, p.mtime_ns) == (now.size, now.mtime_ns) =>
            {
                Ok(())
            }
            _ => busy(to),
        }
    }

    /// With versions on, the file a copy replaces goes to its side's versions folder.
    fn preserve_replaced(&self, a: &Action) -> Result<()> {
        let present = match a.to {
            Side::Source => a.source.is_some(),
            Side::Destination => a.destination.is_some(),
        };
        if let (Some(versions), true) = (&self.versions[a.to as usize], present) {
            if self.profile.versions.enabled() && a.reason != Reason::Replaced {
                if let Some(old) = self.side(a.to).stat(&a.path)? {
                    if old.kind != EntryKind::Dir {
                        versions
                            .preserve(&a.path, self.now_ns)
                            .map_err(|e| version_not_kept(e, self.local(a.to, &a.path)))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Copies a symbolic link as a link: made under a temporary name, renamed into place.
    fn copy_link(&self, a: &Action) -> Result<u64> {
        let (from, to) = (a.to.other(), a.to);
        let before = self.entry_on(from, &a.path)?;
        self.check_unchanged_since_scan(a, &before)?;
        let target = self.side(from).read_link(&a.path)?;
        let temp = temp_sibling(&a.path);
        let dst = self.side(to);
        self.with_parent(to, &a.path, || dst.symlink(&temp, &target))?;
        dst.rename(&temp, &a.path).inspect_err(|_| {
            let _ = dst.remove_file(&temp);
        })?;
        dst.set_meta(
            &a.path,
            &Meta {
                mode: None,
                ..self.meta_of(&before)
            },
        )?;
        Ok(0)
    }

    /// Runs `op`; when the folder on `side` is missing (a versioned backup, a folder deleted
    /// meanwhile), creates it and runs `op` again.
    fn with_parent<T>(&self, side: Side, path: &RelPath, op: impl Fn() -> Result<T>) -> Result<T> {
        match op() {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                if let Some(parent) = path.parent() {
                    self.side(side).create_dir_all(&parent)?;
                }
                op()
            }
            other => other,
        }
    }

    fn verify(&self, a: &Action) -> Result<()> {
        let (s, d) = (
            blake3_file(self.side(a.to.other()), &a.path)?,
            blake3_file(self.side(a.to), &a.path)?,
        );
        if s != d {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!("copy differs from the {} (BLAKE3)", a.to.other().name()),
            )
            .with_path(self.local(a.to, &a.path)));
        }
        Ok(())
    }

    fn update_meta(&self, a: &Action) -> Result<u64> {
        let e = self.entry_on(a.to.other(), &a.path)?;
        let meta = self.meta_of(&e);
        self.side(a.to).set_meta(&a.path, &meta).map(|()| 0)
    }

    fn delete_moved_source(&self, a: &Action) -> Result<u64> {
        let (src, dst) = (self.side(Side::Source), self.side(Side::Destination));
        let e = self.entry_on(Side::Source, &a.path)?;
        let shown = || self.local(Side::Source, &a.path);
        match e.kind {
            EntryKind::Symlink => {
                if src.read_link(&a.path)? != dst.read_link(&a.path)? {
                    return Err(Error::new(
                        ErrorKind::Corrupt,
                        "destination link differs; source kept",
                    )
                    .with_path(shown()));
                }
            }
            _ => {
                if blake3_file(src, &a.path)? != blake3_file(dst, &a.path)? {
                    return Err(Error::new(
                        ErrorKind::Corrupt,
                        "destination differs from the source; source kept",
                    )
                    .with_path(shown()));
                }
            }
        }
        src.remove_file(&a.path).map(|()| 0)
    }

    /// Deletes the file or link at `a.path` on side `a.to` as the profile says.
    fn delete(&self, a: &Action) -> Result<u64> {
        let side = self.side(a.to);
        if self.state.is_some() {
            // Two-way: a file edited since the scan is not deleted; the next run sees the edit.
            let planned = match a.to {
                Side::Source => a.source,
                Side::Destination => a.destination,
            };
            if let (Some(p), Some(now)) = (planned, side.stat(&a.path)?) {
                if now.kind != EntryKind::Dir && (p.size, p.mtime_ns) != (now.size, now.mtime_ns) {
                    return Err(Error::new(
                        ErrorKind::Busy,
                        format!("changed on the {} since the scan; not deleted", a.to.name()),
                    )
                    .with_path(self.local(a.to, &a.path)));
                }
            }
        }
        // A link holds nothing to keep as a version: it goes for good (the link, never what it
        // points to).
        let mode = match self.profile.versions.deleted_files {
            DeletionMode::Versions if a.entry == EntryKind::Symlink => DeletionMode::Erase,
            mode => mode,
        };
        match mode {
            DeletionMode::Versions => match &self.versions[a.to as usize] {
                Some(v) => v
                    .preserve(&a.path, self.now_ns)
                    .map_err(|e| version_not_kept(e, self.local(a.to, &a.path)))?,
                None => {
                    return Err(Error::invalid(
                        "versions.deleted-files is \"versions\" but no versions are kept",
                    ))
                }
            },
            DeletionMode::Trash => side
                .as_local()
                .ok_or_else(|| {
                    Error::not_supported(format!(
                        "moving files of {} to the trash",
                        side.describe()
                    ))
                    .with_path(self.local(a.to, &a.path))
                })?
                .move_to_trash(&a.path)?,
            DeletionMode::Erase => match side.remove_file(&a.path) {
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                other => other?,
            },
        }
        Ok(0)
    }

    /// Whether the folder at `path` on `side` is gone or holds nothing.
    fn empty_or_gone(&self, side: Side, path: &RelPath) -> bool {
        match self.side(side).read_dir(path) {
            Ok(entries) => entries.is_empty(),
            Err(e) => e.kind() == ErrorKind::NotFound,
        }
    }

    /// Removes a destination folder whose listed contents are gone. A folder that still holds
    /// entries the filters exclude is kept, with a warning: excluded files are never deleted.
    fn delete_dir(&self, a: &Action) {
        let side = self.side(a.to);
        match side.remove_dir(&a.path) {
            Ok(()) => self.done(a, 0),
            Err(e) if e.kind() == ErrorKind::NotFound => self.done(a, 0),
            Err(e) => match side.read_dir(&a.path) {
                Ok(rest) if !rest.is_empty() => {
                    // Entries the run meant to delete but could not (their errors are
                    // reported), or entries the filters exclude.
                    let failed = rest.iter().any(|r| {
                        self.plan
                            .actions
                            .iter()
                            .any(|x| x.kind == ActionKind::Delete && x.path == r.path)
                    });
                    let why = if failed {
                        "folder kept: entries in it could not be deleted"
                    } else {
                        "folder kept: it holds entries excluded from synchronization"
                    };
                    self.warn(
                        self.shown(a.to, &a.path),
                        ErrorKind::AlreadyExists,
                        why.into(),
                    );
                }
                _ => self.failed(a, &e),
            },
        }
    }

    /// Gives every folder the run touched the times and permissions of the other side's
    /// folder, deepest first, and carries out the plan's folder metadata updates: each of
    /// those completes (or fails) here, once, as every action does.
    fn restore_folder_metadata(&self) {
        // Each folder, with the update the plan asks for it, if any (else it was touched:
        // made, written into, emptied).
        let mut dirs: BTreeMap<(RelPath, Side), Option<&Action>> = BTreeMap::new();
        for a in &self.plan.actions {
            match a.kind {
                ActionKind::UpdateMeta if a.entry == EntryKind::Dir => {
                    dirs.insert((a.path.clone(), a.to), Some(a));
                }
                ActionKind::CreateDir if self.folder_metadata => {
                    dirs.entry((a.path.clone(), a.to)).or_default();
                }
                ActionKind::CreateDir
                | ActionKind::Copy
                | ActionKind::UpdateMeta
                | ActionKind::Delete
                | ActionKind::Rename => {}
                _ => continue,
            }
            if let Some(parent) = a.path.parent().filter(|_| self.folder_metadata) {
                dirs.entry((parent, a.to)).or_default();
            }
        }
        if self.folder_metadata && self.profile.operation != crate::profile::Operation::Synchronize
        {
            dirs.entry((RelPath::root(), Side::Destination))
                .or_default();
        }
        // A failed run makes no folder more permissive: a folder in or below which something
        // failed takes the source's mode only when it grants nothing the folder lacks (the
        // source's would leave a read-only folder the run could not write into writable).
        let failed_at: Vec<(Side, RelPath)> = self
            .lock()
            .failed_at
            .iter()
            .map(|(side, path, _)| (*side, path.clone()))
            .collect();
        for ((dir, to), planned) in dirs.iter().rev() {
            let needed = self.folder_metadata_needed(dir, *to, *planned, &failed_at);
            let set = |meta: Option<Meta>| match meta {
                Some(meta) => self.side(*to).set_meta(dir, &meta),
                None => Ok(()),
            };
            match planned {
                Some(a) => match needed.and_then(set) {
                    Ok(()) => self.done(a, 0),
                    Err(e) => self.failed(a, &e),
                },
                // A folder only touched: gone or unreadable, it is left alone; a failure
                // to set what it needs is a warning.
                None => {
                    if let Err(e) = needed.map(set).unwrap_or(Ok(())) {
                        self.warn(
                            e.path().map(|p| p.display().to_string()),
                            e.kind(),
                            format!("folder times not set: {}", e.message()),
                        );
                    }
                }
            }
        }
    }

    /// What the folder `dir` on side `to` needs to get the times and permissions of the
    /// other side's folder; `None` when it has them. For an update the plan asks for
    /// (`planned`) whose other folder is gone since (a move removed the source folder it
    /// emptied), the time the plan saw.
    ///
    /// # Errors
    /// Either folder missing (or no folder), failures looking at them.
    fn folder_metadata_needed(
        &self,
        dir: &RelPath,
        to: Side,
        planned: Option<&Action>,
        failed_at: &[(Side, RelPath)],
    ) -> Result<Option<Meta>> {
        let folder_on = |side: Side, found: Option<Entry>| {
            found.filter(|e| e.kind == EntryKind::Dir).ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("no folder here on the {} any more", side.name()),
                )
                .with_path(self.local(side, dir))
            })
        };
        let now = folder_on(to, self.side(to).stat(dir)?)?;
        let seen = planned.and_then(|a| match to {
            Side::Source => a.destination,
            Side::Destination => a.source,
        });
        let mut meta = match (self.side(to.other()).stat_follow(dir)?, seen) {
            (None, Some(seen)) => Meta {
                mtime_ns: seen.mtime_ns,
                ..Meta::default()
            },
            (found, _) => self.meta_of(&folder_on(to.other(), found)?),
        };
        let loosens = meta.mode.is_some_and(|m| m & !now.mode != 0);
        if loosens
            && failed_at
                .iter()
                .any(|(side, path)| *side == to && path.starts_with(dir))
        {
            meta.mode = None;
        }
        let same_mode = meta.mode.is_none_or(|m| m == now.mode);
        Ok((now.mtime_ns != meta.mtime_ns || !same_mode).then_some(meta))
    }
}

/// Two-way steps: the state, renames and conflicts.
impl Folder<'_> {
    /// Tells the state what a completed action left on both sides.
    fn record(&self, state: &BaseWriter, a: &Action) -> Result<()> {
        match (a.kind, a.reason) {
            // A folder left empty is forgotten once it is gone from both sides.
            (ActionKind::Delete, Reason::Emptied)
                if self.side(a.to.other()).stat(&a.path)?.is_some() =>
            {
                Ok(())
            }
            (ActionKind::Delete, _) | (ActionKind::Record, Reason::Forgotten) => {
                state.forget(&a.path)
            }
            (ActionKind::Rename, _) => {
                if let Some(from) = &a.from {
                    state.forget(from)?;
                }
                self.record_path(state, &a.path)
            }
            (ActionKind::Conflict, _) => Ok(()),
            (ActionKind::Record, _) => self.record_as_planned(state, a),
            _ => self.record_path(state, &a.path),
        }
    }

    /// Records what a record action found equal, unless either side changed since the scan:
    /// the next run sees that change.
    fn record_as_planned(&self, state: &BaseWriter, a: &Action) -> Result<()> {
        let follow = self.profile.copy.symlinks == SymlinkMode::Follow;
        if a.entry != EntryKind::Dir {
            for (side, planned) in [(Side::Source, a.source), (Side::Destination, a.destination)] {
                let t = self.side(side);
                // As the scan listed it.
                let now = if follow {
                    t.stat_follow(&a.path)?
                } else {
                    t.stat(&a.path)?
                };
                let same = match (planned, &now) {
                    (Some(p), Some(n)) => (p.size, p.mtime_ns) == (n.size, n.mtime_ns),
                    (None, _) => true,
                    (Some(_), None) => false,
                };
                if !same {
                    return Ok(());
                }
            }
        }
        self.record_path(state, &a.path)
    }

    /// Records `path` when both sides now hold equal entries there (with its content hash
    /// when the profile compares contents).
    fn record_path(&self, state: &BaseWriter, path: &RelPath) -> Result<()> {
        let src = self.side(Side::Source).stat(path)?;
        let dst = self.side(Side::Destination).stat(path)?;
        if let (Some(s), Some(d)) = (src, dst) {
            if s.kind == d.kind && (s.kind == EntryKind::Dir || s.size == d.size) {
                let hash = super::two_way::base_hash(self.profile, self.side(Side::Source), &s);
                return state.put(BaseEntry::from_entries(&s, &d, hash));
            }
        }
        Ok(())
    }

    /// Renames `a.from` to `a.path` on side `a.to`, as the other side did.
    fn rename(&self, a: &Action) -> Result<u64> {
        let from = a
            .from
            .as_ref()
            .ok_or_else(|| Error::invalid("a rename without its old path"))?;
        let side = self.side(a.to);
        if side.stat(&a.path)?.is_some() && !same_when_folded(from, &a.path) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                "cannot rename: the new name is taken since the scan",
            )
            .with_path(self.local(a.to, &a.path)));
        }
        self.with_parent(a.to, &a.path, || side.rename(from, &a.path))?;
        Ok(0)
    }

    /// Carries out a two-way conflict's resolution; a prompt asks the run's [`Prompt`](super::Prompt).
    fn resolve(&self, a: &Action, resolution: Resolution) {
        let resolution = match resolution {
            Resolution::Prompt => {
                let policy = self
                    .opts
                    .prompt
                    .as_ref()
                    .and_then(|p| p.resolve_conflict(&self.plan.folder, a))
                    .unwrap_or(ConflictPolicy::KeepBoth);
                match Resolution::for_policy(policy, a.source, a.destination) {
                    Resolution::Prompt => Resolution::KeepBoth(newer_side(a)),
                    r => r,
                }
            }
            r => r,
        };
        let mut renamed = None;
        let resolved = match resolution {
            Resolution::Skip | Resolution::Prompt => {
                self.warn(
                    self.shown(a.to, &a.path),
                    ErrorKind::AlreadyExists,
                    "conflict left alone: both sides changed".into(),
                );
                self.lock().done.conflicts += 1;
                true
            }
            Resolution::Wins(winner) => self.step(a, || {
                let (bytes, copy) = self.loser_kept(a, winner)?;
                renamed = copy;
                Ok(bytes)
            }),
            Resolution::KeepBoth(newer) => self.step(a, || {
                let (bytes, copy) = self.keep_both(a, newer)?;
                renamed = Some(copy);
                Ok(bytes)
            }),
        };
        let kind = match a.reason {
            Reason::Conflict(kind) => kind,
            _ => ConflictKind::BothChanged,
        };
        self.lock().conflicts.push(ConflictOutcome {
            folder: self.plan.folder.clone(),
            path: a.path.clone(),
            kind,
            source: a.source,
            destination: a.destination,
            resolution: if resolution == Resolution::Prompt {
                Resolution::Skip
            } else {
                resolution
            },
            conflict_copy: renamed,
            resolved,
        });
    }

    /// The winner's version replaces the loser's, which the profile's `conflict-loser` keeps:
    /// in its side's versions folder, or renamed beside the winner on both sides (then its
    /// name is returned).
    fn loser_kept(&self, a: &Action, winner: Side) -> Result<(u64, Option<RelPath>)> {
        let loser = winner.other();
        if self.profile.sync.conflict_loser == ConflictLoser::Rename {
            if let Some(old) = self.side(loser).stat(&a.path)? {
                if old.kind != EntryKind::Dir {
                    let (bytes, copy) = self.keep_both(a, winner)?;
                    return Ok((bytes, Some(copy)));
                }
            }
        }
        self.loser_goes(a, winner).map(|bytes| (bytes, None))
    }

    /// The winner's version replaces the loser's, which goes to its side's versions folder
    /// (also when the winner deleted the path).
    fn loser_goes(&self, a: &Action, winner: Side) -> Result<u64> {
        let loser = winner.other();
        let versions = self.conflict_versions(loser)?;
        if let Some(old) = self.side(loser).stat(&a.path)? {
            if old.kind == EntryKind::Dir {
                return Err(Error::invalid("a folder cannot lose a conflict")
                    .with_path(self.local(loser, &a.path)));
            }
            versions
                .preserve(&a.path, self.now_ns)
                .map_err(|e| version_not_kept(e, self.local(loser, &a.path)))?;
        }
        let bytes = match self.side(winner).stat(&a.path)? {
            Some(w) if w.kind == EntryKind::Dir => {
                self.side(loser).create_dir_all(&a.path)?;
                0
            }
            Some(w) => self.copy(&Action {
                kind: ActionKind::Copy,
                to: loser,
                entry: w.kind,
                source: None,
                destination: None,
                ..a.clone()
            })?,
            None => 0,
        };
        if let Some(state) = self.state {
            if self.side(winner).stat(&a.path)?.is_some() {
                self.record_path(state, &a.path)?;
            } else {
                state.forget(&a.path)?;
            }
        }
        Ok(bytes)
    }

    /// Keeps both versions: the older (or the non-folder, or the loser of a policy) is renamed
    /// with the conflict name on its side and copied to the other; the version on side
    /// `newer` keeps the name on both sides.
    fn keep_both(&self, a: &Action, newer: Side) -> Result<(u64, RelPath)> {
        let older = newer.other();
        let Some(old) = self.side(older).stat(&a.path)? else {
            // Nothing to keep on that side (deleted meanwhile): the newer simply wins.
            return self.loser_goes(a, newer).map(|b| (b, a.path.clone()));
        };
        let renamed = self.rename_to_conflict_name(older, &a.path)?;
        let copy_to = |to: Side, path: &RelPath, kind: EntryKind| {
            self.copy(&Action {
                kind: ActionKind::Copy,
                path: path.clone(),
                to,
                entry: kind,
                source: None,
                destination: None,
                reason: Reason::New,
                from: None,
                resolution: None,
                size: 0,
            })
        };
        let mut bytes = copy_to(newer, &renamed, old.kind)?;
        let kept = self.side(newer).stat(&a.path)?;
        match &kept {
            Some(n) if n.kind == EntryKind::Dir => self.side(older).create_dir_all(&a.path)?,
            Some(n) => bytes += copy_to(older, &a.path, n.kind)?,
            None => {}
        }
        if let Some(state) = self.state {
            self.record_path(state, &renamed)?;
            match kept {
                Some(_) => self.record_path(state, &a.path)?,
                // A deletion won: the name is gone from both sides.
                None => state.forget(&a.path)?,
            }
        }
        Ok((bytes, renamed))
    }

    /// The versions folder conflict losers go to on `side`: the profile's, keeping every
    /// version when the profile keeps none (a loser is never destroyed).
    fn conflict_versions(&self, side: Side) -> Result<Versions> {
        if let Some(v) = &self.versions[side as usize] {
            if self.profile.versions.enabled() {
                return Ok(v.clone());
            }
        }
        let mut opts = self.profile.versions.clone();
        opts.keep = u32::MAX;
        Versions::new(self.sides[side as usize].clone(), &opts)
    }

    /// A free name for the older version of a conflict, from the profile's template.
    /// Renames the older version of a conflict on `side` to a free name from the profile's
    /// template, never replacing anything (a name taken meanwhile, by anyone, is passed
    /// over): `NAME`, then `NAME 2`, `NAME 3`, … with the number before the extension when
    /// the template ends with `{ext}`. A name the other side holds is passed over too.
    fn rename_to_conflict_name(&self, side: Side, path: &RelPath) -> Result<RelPath> {
        let name = String::from_utf8_lossy(path.file_name()).into_owned();
        let (stem, ext) = match name.rfind('.') {
            Some(i) if i > 0 => (&name[..i], &name[i..]),
            _ => (name.as_str(), ""),
        };
        let now = chrono::Local::now();
        let template = &self.profile.sync.conflict_name;
        // The number goes before the extension where the template ends with it.
        let (template, tail) = match template.strip_suffix("{ext}") {
            Some(head) => (head, ext),
            None => (template.as_str(), ""),
        };
        let base = template
            .replace("{stem}", stem)
            .replace("{ext}", ext)
            .replace("{name}", &name)
            .replace("{date}", &now.format("%Y-%m-%d").to_string())
            .replace("{time}", &now.format("%H%M%S").to_string())
            .replace("{host}", &host_name());
        for n in 1..1000 {
            let candidate = if n == 1 {
                format!("{base}{tail}")
            } else {
                format!("{base} {n}{tail}")
            };
            let rel = match path.parent() {
                Some(p) if !p.is_root() => RelPath::new(format!("{}/{candidate}", p.display()))?,
                _ => RelPath::new(&candidate)?,
            };
            if self.side(side.other()).stat(&rel)?.is_some() {
                continue;
            }
            match self.side(side).rename_no_replace(path, &rel) {
                Ok(()) => return Ok(rel),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        Err(
            Error::new(ErrorKind::AlreadyExists, "no free conflict name")
                .with_path(self.local(side, path)),
        )
    }
}

/// Whether two paths differ only by letter case (a case-only rename).
fn same_when_folded(a: &RelPath, b: &RelPath) -> bool {
    String::from_utf8_lossy(a.as_bytes()).to_lowercase()
        == String::from_utf8_lossy(b.as_bytes()).to_lowercase()
}

/// This machine's name, for conflict copies (`uname`'s node name, as `hostname` prints it).
fn host_name() -> String {
    let uname = rustix::system::uname();
    let name = String::from_utf8_lossy(uname.nodename().to_bytes());
    match name.trim() {
        "" => "localhost".into(),
        name => name.into(),
    }
}

/// The side whose version of a conflict is newer (the source on a tie).
fn newer_side(a: &Action) -> Side {
    match Resolution::for_policy(ConflictPolicy::Newer, a.source, a.destination) {
        Resolution::Wins(side) => side,
        _ => Side::Source,
    }
}

#[cfg(test)]
mod tests {
    /// Issue 11, item 9: the name conflict copies carry is the machine's, as `uname -n`
    /// prints it (read through rustix, not from /proc).
    #[test]
    fn the_host_name_is_the_machines() {
        let out = std::process::Command::new("uname")
            .arg("-n")
            .output()
            .unwrap();
        assert_eq!(
            super::host_name(),
            String::from_utf8_lossy(&out.stdout).trim()
        );
    }
}
