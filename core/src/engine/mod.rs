//! Running profiles: plan every folder pair, check the guards, then execute on a worker pool.
//!
//! Each pair's destination is a replica (`replica.rs`), picked from the operation once: it
//! lists itself for the planner and applies the plan its own way (a tree through the
//! executor's phases, a versioned backup's snapshot set by adding a snapshot folder).

mod execute;
mod replica;
mod report;
mod roots;
mod run;
mod snapshot;
#[cfg(test)]
mod tests;
mod two_way;

use std::sync::Arc;
use std::time::Instant;

pub use report::{
    ActionOutcome, ConflictOutcome, ConflictQuestion, DeletesQuestion, Event, EventSink, Problem,
    Progress, Prompt, Report, RunOptions, RunStatus,
};
pub use run::{Answer, Next, Question, Run, StartOptions, DEFAULT_PROMPT_TIMEOUT, EVENT_QUEUE};

use crate::compare::Comparator;
use crate::error::{Error, ErrorKind, Result};
use crate::filter::Filter;
use crate::location::Location;
use crate::path::RelPath;
use crate::plan::{
    ActionKind, ContentVerdicts, FolderPlan, PairPlan, Plan, Planner, Reason, Summary,
    TwoWayContext,
};
use crate::profile::VersionsOptions;
use crate::profile::{
    DeleteLimit, DeletionMode, Folder, IfUnavailable, Operation, Profile, SymlinkMode,
};
use crate::scan::{scan, Listing, ScanOptions};
use crate::transport::{
    Capabilities, EntryKind, LocalTransports, RetryPolicy, Role, Transport, TransportFactory,
    TransportRequest,
};
use crate::versions::Versions;
use crate::vocab::RunControl;

/// Runs profiles. Cheap to create and to clone; one engine may run several profiles at once
/// from different threads.
///
/// Every tree the engine reads or writes comes from its [`TransportFactory`]
/// ([`LocalTransports`] unless [`Engine::builder`] sets another).
#[derive(Debug, Clone)]
pub struct Engine {
    threads: Option<usize>,
    transports: Arc<dyn TransportFactory>,
}

impl Default for Engine {
    fn default() -> Engine {
        Engine::builder().build()
    }
}

/// Builds an [`Engine`] with settings other than the defaults:
///
/// ```
/// use ferrysync::transport::LocalTransports;
/// use ferrysync::Engine;
///
/// let engine = Engine::builder().threads(4).transports(LocalTransports).build();
/// # let _ = engine;
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct EngineBuilder {
    threads: Option<usize>,
    transports: Arc<dyn TransportFactory>,
}

impl EngineBuilder {
    /// Uses `threads` workers for profiles that do not set their own (0: the default).
    pub fn threads(mut self, threads: usize) -> EngineBuilder {
        self.threads = (threads > 0).then_some(threads);
        self
    }

    /// Gets every transport from `factory` instead of [`LocalTransports`].
    pub fn transports(mut self, factory: impl TransportFactory + 'static) -> EngineBuilder {
        self.transports = Arc::new(factory);
        self
    }

    /// The engine.
    pub fn build(self) -> Engine {
        Engine {
            threads: self.threads,
            transports: self.transports,
        }
    }
}

/// Worker threads when neither the profile nor the engine says: measured on 2-core machines
/// with local disks, where copying is bound by file-system latency, not CPU.
const DEFAULT_THREADS: usize = 8;

/// The folder at a destination root where ferrysync keeps its own data (versions).
const STATE_FOLDER: &str = ".ferrysync";

impl Engine {
    /// An engine with default settings.
    pub fn new() -> Engine {
        Engine::default()
    }

    /// An engine to be built with other settings than the defaults.
    pub fn builder() -> EngineBuilder {
        EngineBuilder {
            threads: None,
            transports: Arc::new(LocalTransports),
        }
    }

    /// Uses `threads` workers for profiles that do not set their own.
    pub fn with_threads(mut self, threads: usize) -> Engine {
        self.threads = (threads > 0).then_some(threads);
        self
    }

    /// The transport of `location` opened as `role` from this engine's factory, outside a
    /// run (no links followed, no retries): for programs that list, restore or inspect a
    /// tree the way the engine sees it.
    ///
    /// # Errors
    /// What the factory refuses: [`ErrorKind::NotSupported`] for a scheme without a backend
    /// (every remote one, for the default factory).
    pub fn transport(&self, location: &Location, role: Role) -> Result<Arc<dyn Transport>> {
        self.transports
            .transport(location, &TransportRequest::new(role))
    }

    /// The versions folder of the destination `destination`, placed as `opts` say (an
    /// absolute folder outside the destination is opened from this engine's factory too).
    ///
    /// # Errors
    /// As [`Engine::transport`], and as [`Versions::new`].
    pub fn versions(&self, destination: &Location, opts: &VersionsOptions) -> Result<Versions> {
        let tree = self.transport(destination, Role::Destination)?;
        Versions::open(tree, opts, |folder| {
            self.transport(&Location::local(folder), Role::Versions)
        })
    }

    /// A tree of `profile` opened as `role` from the factory, as a plan (`run` is `None`) or
    /// a run uses it ([`request`]). The one way the engine gets a transport.
    pub(crate) fn side(
        &self,
        location: &Location,
        role: Role,
        profile: &Profile,
        run: Option<&RunControl>,
    ) -> Result<Arc<dyn Transport>> {
        self.transports
            .transport(location, &request(profile, role, run))
    }

    /// The transports of a folder pair's two sides, the source then the destination, from
    /// the factory: for a plan (`run` is `None`) or a run.
    ///
    /// # Errors
    /// A root that does not parse (an undefined variable in it), what the factory refuses.
    pub(crate) fn sides(
        &self,
        profile: &Profile,
        folder: &Folder,
        run: Option<&RunControl>,
    ) -> Result<[Arc<dyn Transport>; 2]> {
        Ok([
            self.side(&folder.source_location()?, Role::Source, profile, run)?,
            self.side(
                &folder.destination_location()?,
                Role::Destination,
                profile,
                run,
            )?,
        ])
    }

    /// The versions folder of one side, `tree`, as `profile` places it; a folder outside the
    /// side comes from the factory (tried again as the profile says during a run).
    pub(crate) fn versions_of(
        &self,
        tree: Arc<dyn Transport>,
        profile: &Profile,
        run: Option<&RunControl>,
    ) -> Result<Versions> {
        Versions::open(tree, &profile.versions, |folder| {
            self.side(&Location::local(folder), Role::Versions, profile, run)
        })
    }

    /// The preview: what running `profile` would do now. A disabled profile is planned too;
    /// the plan says so ([`Plan::disabled`]), and running it is refused unless forced.
    /// Folders the profile disables are listed as skipped.
    ///
    /// # Errors
    /// An invalid profile, a filter that does not compile, or an unavailable folder whose
    /// policy is "abort".
    pub fn plan(&self, profile: &Profile) -> Result<Plan> {
        self.plan_with(profile, &RunOptions::default())
    }

    /// The preview of the folders `opts` selects.
    ///
    /// # Errors
    /// As [`Engine::plan`].
    pub fn plan_with(&self, profile: &Profile, opts: &RunOptions) -> Result<Plan> {
        profile.validate()?;
        let now_ns = now_ns();
        let backup_stamp = snapshot::name(chrono::Local::now());
        let selected = self.selected(profile, opts)?;
        let mut folders = Vec::new();
        for folder in &profile.folders {
            if selected.iter().any(|f| std::ptr::eq(*f, folder)) {
                folders.push(self.plan_folder(profile, folder, opts, now_ns, &backup_stamp)?);
            } else if opts.folders.is_empty() {
                folders.push(disabled(folder));
            }
        }
        Ok(Plan {
            profile: profile.name.clone(),
            operation: profile.operation,
            disabled: !profile.enabled,
            folders,
        })
    }

    /// Plans and runs `profile`. A disabled profile does not run unless forced; folders the
    /// profile disables are skipped and reported ([`Report::skipped_folders`]).
    ///
    /// # Errors
    /// Everything [`Engine::plan`] rejects, [`ErrorKind::InvalidInput`] for a disabled profile
    /// (unless [`RunOptions::force`]), and [`ErrorKind::Guard`] when a guard stops the run
    /// before anything changed. Per-file failures are not errors: they are in the report.
    pub fn run(&self, profile: &Profile, opts: &RunOptions) -> Result<Report> {
        let started = Instant::now();
        refuse_disabled(profile, opts)?;
        match self.plan_with(profile, opts) {
            Ok(plan) => self.execute(profile, &plan, opts),
            // Cancelled while scanning: nothing changed, and the caller gets the usual report.
            Err(e) if e.kind() == ErrorKind::Cancelled => {
                let mut report = Report::new(&profile.name, opts.dry_run);
                report.status = RunStatus::Cancelled;
                report.duration = started.elapsed();
                opts.emit(Event::Finished(Box::new(report.clone())));
                Ok(report)
            }
            Err(e) => Err(e),
        }
    }

    /// Runs a plan made by [`Engine::plan`] for `profile` (after showing it, say).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for a disabled profile (unless [`RunOptions::force`]);
    /// [`ErrorKind::Guard`] when a guard objects (nothing is changed then).
    pub fn execute(&self, profile: &Profile, plan: &Plan, opts: &RunOptions) -> Result<Report> {
        let started = Instant::now();
        profile.validate()?;
        refuse_disabled(profile, opts)?;
        for folder in &plan.folders {
            if profile.operation == Operation::Synchronize {
                two_way::check_guards(profile, folder, opts.force)?;
            } else {
                check_delete_limit(profile, folder, opts.force)?;
            }
        }
        // Every two-way pair is locked before the first runs: a pair another process holds
        // stops the run before anything changed.
        let mut locked = Vec::new();
        if profile.operation == Operation::Synchronize && !opts.dry_run {
            for folder in &plan.folders {
                locked.push(match folder.skipped {
                    Some(_) => None,
                    None => Some(two_way::LockedPair::lock(
                        folder,
                        pair_of(profile, folder)?,
                    )?),
                });
            }
        }
        let mut report = Report::new(&profile.name, opts.dry_run);
        opts.emit(Event::Started {
            profile: profile.name.clone(),
            summary: plan.summary(),
        });
        let threads = match profile.copy.threads {
            0 => self.threads.unwrap_or(DEFAULT_THREADS),
            n => n,
        };
        // A folder skipped as unavailable under the "warning" policy leaves the run incomplete.
        let mut incomplete = false;
        for (i, folder) in plan.folders.iter().enumerate() {
            if let Some(why) = &folder.skipped {
                if folder.disabled {
                    report.skipped_folders.push(Problem {
                        folder: folder.folder.clone(),
                        path: None,
                        kind: Problem::DISABLED,
                        message: why.clone(),
                    });
                    continue;
                }
                let p = Problem::note(
                    &folder.folder,
                    Some(folder.source.to_string()),
                    ErrorKind::Unavailable,
                    why.clone(),
                );
                let policy = profile
                    .folders
                    .iter()
                    .find(|f| f.name == folder.folder)
                    .map_or(IfUnavailable::default(), |f| f.if_unavailable);
                if policy == IfUnavailable::Warning {
                    opts.emit(Event::Warning(p.clone()));
                    report.warnings.push(p.clone());
                    incomplete = true;
                }
                report.skipped_folders.push(p);
                continue;
            }
            for w in &folder.warnings {
                let p = Problem::note(&folder.folder, None, ErrorKind::Io, w.clone());
                opts.emit(Event::Warning(p.clone()));
                report.warnings.push(p);
            }
            if opts.control.is_cancelled() {
                break;
            }
            opts.emit(Event::FolderStarted {
                folder: folder.folder.clone(),
            });
            let pair = locked.get_mut(i).and_then(Option::take);
            if opts.dry_run {
                report.done.merge(&folder.summary);
                continue;
            }
            let sides = self.sides(profile, pair_of(profile, folder)?, Some(&opts.control))?;
            apply_folder(
                self,
                profile,
                folder,
                opts,
                threads,
                pair,
                sides,
                &mut report,
            )?;
        }
        report.status = if opts.control.is_cancelled() {
            RunStatus::Cancelled
        } else if !report.errors.is_empty() {
            RunStatus::Errors
        } else if incomplete {
            RunStatus::Incomplete
        } else {
            RunStatus::Ok
        };
        report.duration = started.elapsed();
        opts.emit(Event::Finished(Box::new(report.clone())));
        Ok(report)
    }

    /// Forgets the two-way state of every selected folder pair of `profile` ("Clear"): the
    /// next run is a first run, a union that deletes nothing.
    ///
    /// # Errors
    /// A profile that is not a two-way one, a state database that cannot be opened, or a
    /// pair being synchronized by another run ([`ErrorKind::Busy`]).
    pub fn clear_state(&self, profile: &Profile) -> Result<()> {
        two_way::require(profile)?;
        let db = two_way::state_path(profile)?;
        if !db.exists() {
            return Ok(());
        }
        for folder in self.selected(profile, &RunOptions::default())? {
            two_way::clear(&db, folder)?;
        }
        Ok(())
    }

    /// Records both sides of every selected folder pair as they are now as in sync
    /// ("Reset"): paths whose entries are equal on both sides (same kind; files of equal size
    /// and time, or equal contents) form the new base; paths that differ are left out, so the
    /// next run treats them as created on both sides. Returns the entries recorded.
    ///
    /// # Errors
    /// As [`Engine::clear_state`], and everything [`Engine::plan`] rejects.
    pub fn reset_state(&self, profile: &Profile) -> Result<u64> {
        two_way::require(profile)?;
        let opts = RunOptions {
            resync: true,
            ..RunOptions::default()
        };
        let plan = self.plan_with(profile, &opts)?;
        let db = two_way::state_path(profile)?;
        let mut recorded = 0;
        let planned = plan.folders.iter().filter(|fp| !fp.disabled);
        for (fp, folder) in planned.zip(self.selected(profile, &opts)?) {
            if fp.skipped.is_some() {
                continue;
            }
            let [src, dst] = self.sides(profile, folder, None)?;
            recorded += two_way::reset(profile, &db, folder, fp, [&*src, &*dst])?;
        }
        Ok(recorded)
    }

    /// The folders a run takes part in: those `opts` names, or else every enabled one.
    fn selected<'p>(&self, profile: &'p Profile, opts: &RunOptions) -> Result<Vec<&'p Folder>> {
        for name in &opts.folders {
            if !profile.folders.iter().any(|f| &f.name == name) {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("profile {:?} has no folder {name:?}", profile.name),
                ));
            }
        }
        Ok(profile
            .folders
            .iter()
            .filter(|f| {
                if opts.folders.is_empty() {
                    f.enabled
                } else {
                    opts.folders.contains(&f.name)
                }
            })
            .collect())
    }

    fn plan_folder(
        &self,
        profile: &Profile,
        folder: &Folder,
        opts: &RunOptions,
        now_ns: i64,
        backup_stamp: &str,
    ) -> Result<FolderPlan> {
        let sides = self.sides(profile, folder, None)?;
        self.plan_sides(profile, folder, opts, now_ns, backup_stamp, sides)
    }

    /// Plans one folder pair over the transports of its two sides (the source, then the
    /// destination).
    fn plan_sides(
        &self,
        profile: &Profile,
        folder: &Folder,
        opts: &RunOptions,
        now_ns: i64,
        backup_stamp: &str,
        [src, dst]: [Arc<dyn Transport>; 2],
    ) -> Result<FolderPlan> {
        let source = folder.source_location()?;
        let destination = folder.destination_location()?;
        let replica = replica::for_operation(profile.operation, Arc::clone(&dst));
        let filter = Filter::new(&folder.effective_filters(profile), now_ns).map_err(|e| {
            Error::new(
                e.kind(),
                format!("folder {:?}: {}", folder.name, e.message()),
            )
        })?;
        // ferrysync's own folder (default versions, later state) is never synchronized.
        let mut skip = vec![RelPath::new(STATE_FOLDER)?];
        // The marker identifies the destination drive: never copied over or deleted.
        if let Some((marker, _)) = folder.marker_spec()? {
            skip.push(marker);
        }
        if profile.versions.enabled() || profile.versions.deleted_files == DeletionMode::Versions {
            if let Some(inside) = self
                .versions_of(dst.clone(), profile, None)?
                .inside_destination()
            {
                skip.push(inside.clone());
            }
        }
        let scan_opts = ScanOptions {
            recursive: folder.include_subfolders,
            symlinks: profile.copy.symlinks,
            skip,
            threads: 4,
            control: Some(opts.control.clone()),
        };
        let reach = roots::Reach {
            filter: &filter,
            recursive: scan_opts.recursive,
            skip: &scan_opts.skip,
        };
        // Roots are compared by identity where both are local folders.
        let root = RelPath::root();
        if let (Some(source), Some(destination)) = (src.local_path(&root), dst.local_path(&root)) {
            roots::check(&folder.name, &source, &destination, &reach)?;
        }
        let skipped = |why: String| -> Result<FolderPlan> {
            let mut fp = FolderPlan::new(
                &folder.name,
                source.clone(),
                destination.clone(),
                Vec::new(),
            );
            fp.skipped = Some(why);
            Ok(fp)
        };

        if let Some(why) = check_marker(folder, &*dst)? {
            return unavailable(folder, why, skipped);
        }
        // The symlink mode is about the source's links. A side that is written lists its links
        // as links (never following them to write or delete: safety rule 8); which of them the
        // planner sees is settled against the other side once both are scanned.
        let mode = profile.copy.symlinks;
        let two_way_follows =
            profile.operation == Operation::Synchronize && mode == SymlinkMode::Follow;
        let written_opts = ScanOptions {
            symlinks: SymlinkMode::Copy,
            ..scan_opts.clone()
        };
        let (src_opts, dst_opts) = match profile.operation {
            // Both sides are written; following for reading stays (the transport refuses
            // every write through a link).
            _ if two_way_follows => (&scan_opts, &scan_opts),
            Operation::Synchronize => (&written_opts, &written_opts),
            _ => (&scan_opts, &written_opts),
        };
        let (src_listing, dst_listing) = std::thread::scope(|s| {
            let d = s.spawn(|| replica.list(&filter, dst_opts));
            let srcl = scan(&*src, &filter, src_opts);
            (
                srcl,
                d.join().unwrap_or_else(|_| {
                    Err(Error::new(ErrorKind::Io, "destination scan panicked"))
                }),
            )
        });
        let src_listing = match src_listing {
            Ok(l) => l,
            Err(e) if e.kind() == ErrorKind::Cancelled => return Err(e),
            Err(e) => {
                return unavailable(
                    folder,
                    format!("source unavailable: {}", e.message()),
                    skipped,
                )
            }
        };
        let dst_listing = dst_listing?;
        let (src_listing, dst_listing) = if two_way_follows {
            (src_listing, dst_listing)
        } else if profile.operation == Operation::Synchronize {
            let dst_listing = dst_listing.links_seen_against(&src_listing, mode);
            (
                src_listing.links_seen_against(&dst_listing, mode),
                dst_listing,
            )
        } else {
            let mut src_listing = src_listing;
            src_listing.shield_left_out_links();
            let dst_listing = dst_listing.links_seen_against(&src_listing, mode);
            (src_listing, dst_listing)
        };

        let (src_caps, dst_caps) = (src.capabilities(), dst.capabilities());
        if profile.operation == Operation::Synchronize {
            // Both sides are written: times count where both keep them.
            let written = Capabilities {
                set_mtime: src_caps.set_mtime && dst_caps.set_mtime,
                ..dst_caps
            };
            let comparator =
                Comparator::new(&profile.comparison)?.with_capabilities(&src_caps, &written);
            let state = two_way::state_path(profile)?;
            let key = two_way::pair_key(folder, &source, &destination);
            let loaded =
                two_way::load_base(&state, &key, opts.resync, (&src_listing, &dst_listing))?;
            let (base, last_run) = (&loaded.base, loaded.last_run);
            let PairPlan {
                mut actions,
                changes: [source_changes, destination_changes],
            } = two_way::plan_pair(
                profile,
                &comparator,
                &*src,
                &*dst,
                &src_listing,
                &dst_listing,
                base,
            )?;
            two_way::record_settled(&mut actions, &loaded.settled, &src_listing);
            let mut fp = FolderPlan::new(&folder.name, source, destination, actions);
            fp.destination_entries = dst_listing.len() as u64;
            fp.source_entries = src_listing.len() as u64;
            fp.two_way = Some(TwoWayContext {
                state: state.display().to_string(),
                base_entries: base.len() as u64,
                first_run: !base.is_synced(),
                source_entries: src_listing.len() as u64,
                source_exists: src.stat_follow(&RelPath::root())?.is_some(),
                destination_exists: dst.stat_follow(&RelPath::root())?.is_some(),
                last_run,
                source_changes,
                destination_changes,
            });
            fp.warnings = listing_warnings(&src_listing, &dst_listing);
            fp.temporaries = dst_listing.temporaries().to_vec();
            fp.source_temporaries = src_listing.temporaries().to_vec();
            return Ok(fp);
        }
        let comparator =
            Comparator::new(&profile.comparison)?.with_capabilities(&src_caps, &dst_caps);
        let planner = Planner::new(profile.operation, &comparator)
            .preserve_permissions(profile.copy.preserve_permissions);
        let checks = if comparator.reads_content() {
            planner.content_checks(&src_listing, &dst_listing)
        } else {
            Vec::new()
        };
        let verdicts = content_verdicts(&comparator, &*src, &*dst, checks);
        let mut actions = planner.plan(&src_listing, &dst_listing, &verdicts);
        // A folder holding a skipped subtree (a custom versions folder's parents) stays.
        actions.retain(|a| {
            !(a.kind == ActionKind::Delete
                && a.entry == EntryKind::Dir
                && scan_opts.skip.iter().any(|s| s.starts_with(&a.path)))
        });

        let target = replica.target(&destination, backup_stamp);
        let mut fp = FolderPlan::new(&folder.name, source, target, actions);
        fp.destination_entries = dst_listing.len() as u64;
        fp.source_entries = src_listing.len() as u64;
        fp.warnings = listing_warnings(&src_listing, &dst_listing);
        if profile.operation == Operation::Move {
            for link in src_listing.followed_links() {
                fp.warnings.push(format!(
                    "source {link}: reached through a symbolic link; copied, and left in the \
                     source (ferrysync never deletes through links)"
                ));
            }
        }
        fp.temporaries = dst_listing.temporaries().to_vec();
        Ok(fp)
    }
}

/// The profile's folder that `folder` plans.
fn pair_of<'p>(profile: &'p Profile, folder: &FolderPlan) -> Result<&'p Folder> {
    profile
        .folders
        .iter()
        .find(|f| f.name == folder.folder)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!(
                    "profile {:?} has no folder {:?}",
                    profile.name, folder.folder
                ),
            )
        })
}

fn listing_warnings(src: &Listing, dst: &Listing) -> Vec<String> {
    src.warnings()
        .iter()
        .map(|w| format!("source {}: {}", w.path, w.message))
        .chain(
            dst.warnings()
                .iter()
                .map(|w| format!("destination {}: {}", w.path, w.message)),
        )
        .collect()
}

/// Actions done, in one number.
fn count(s: &Summary) -> u64 {
    s.new_dirs
        + s.new_files
        + s.modified_files
        + s.metadata_updates
        + s.deletions
        + s.source_deletions
        + s.renames
        + s.records
}

/// The plan of a folder the profile disables: skipped, nothing scanned (its paths are shown
/// as written, so an undefined variable in them does not stop the run).
fn disabled(folder: &Folder) -> FolderPlan {
    let mut fp = FolderPlan::new(
        &folder.name,
        Location::as_written(&folder.source),
        Location::as_written(&folder.destination),
        Vec::new(),
    );
    fp.skipped = Some("disabled in the profile".into());
    fp.disabled = true;
    fp
}

/// A disabled profile runs only when forced.
fn refuse_disabled(profile: &Profile, opts: &RunOptions) -> Result<()> {
    if profile.enabled || opts.force {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "profile {:?} is disabled; nothing was run (enable it, or force to run it anyway)",
        profile.name
    )))
}

fn unavailable(
    folder: &Folder,
    why: String,
    skipped: impl Fn(String) -> Result<FolderPlan>,
) -> Result<FolderPlan> {
    match folder.if_unavailable {
        IfUnavailable::Abort => Err(Error::new(
            ErrorKind::Unavailable,
            format!("folder {:?}: {why}", folder.name),
        )),
        IfUnavailable::Info | IfUnavailable::Warning => skipped(why),
    }
}

/// Runs the plan of one folder pair over the transports of its two sides, through the
/// destination's replica; a two-way pair (locked in `pair`) records what it did in its state.
#[allow(clippy::too_many_arguments)]
fn apply_folder(
    engine: &Engine,
    profile: &Profile,
    fp: &FolderPlan,
    opts: &RunOptions,
    threads: usize,
    pair: Option<two_way::LockedPair>,
    [src, dst]: [Arc<dyn Transport>; 2],
    report: &mut Report,
) -> Result<()> {
    let replica = replica::for_operation(profile.operation, Arc::clone(&dst));
    let ctx = |state| replica::ApplyContext {
        engine,
        profile,
        opts,
        threads,
        source: Arc::clone(&src),
        state,
    };
    let Some(pair) = pair else {
        return replica.apply(fp, &ctx(None), report);
    };
    let state = two_way::PairRun::start(pair, fp, opts.resync, now_ns(), [&*src, &*dst])?;
    let before = (report.done, report.failed);
    replica.apply(fp, &ctx(Some(&state.writer)), report)?;
    let record = crate::state::RunRecord {
        started_ns: state.started_ns,
        ended_ns: Some(now_ns()),
        done: count(&report.done) - count(&before.0),
        failed: report.failed - before.1,
        conflicts: report.done.conflicts - before.0.conflicts,
        outcome: Some(if opts.control.is_cancelled() {
            "cancelled".into()
        } else if report.failed > before.1 {
            "errors".into()
        } else {
            "ok".into()
        }),
    };
    state.finish(record, !opts.control.is_cancelled())
}

/// What the engine asks of its factory for a tree of `profile` opened as `role`: reads
/// follow links when the profile follows them and the tree is read as a source (the source,
/// or either side of a two-way pair); during a run (`run`), failed calls are tried again with
/// the profile's `copy.retries` and a growing wait from `copy.retry-delay-ms`, until the run
/// is cancelled.
pub(crate) fn request(profile: &Profile, role: Role, run: Option<&RunControl>) -> TransportRequest {
    let read_as_source = role == Role::Source
        || (role == Role::Destination && profile.operation == Operation::Synchronize);
    let request = TransportRequest::new(role)
        .following_links(read_as_source && profile.copy.symlinks == SymlinkMode::Follow);
    match run {
        Some(control) => {
            let policy = RetryPolicy::new(
                profile.copy.retries,
                std::time::Duration::from_millis(profile.copy.retry_delay_ms),
            );
            request.retrying(policy, control.clone())
        }
        None => request,
    }
}

pub(crate) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// The destination marker: `"<path>[=<regex>]"`. `Some(reason)` when it is not satisfied.
fn check_marker(folder: &Folder, dst: &dyn Transport) -> Result<Option<String>> {
    let Some((path, regex)) = folder.marker_spec()? else {
        return Ok(None);
    };
    match dst.stat_follow(&path) {
        Ok(Some(e)) if e.kind == EntryKind::File => {}
        _ => return Ok(Some(format!("destination marker {path:?} not found"))),
    }
    if let Some(regex) = regex {
        let bytes = dst.read_to_vec(&path)?;
        if !regex.is_match(&String::from_utf8_lossy(&bytes)) {
            return Ok(Some(format!(
                "destination marker {path:?} does not match {:?}",
                regex.as_str()
            )));
        }
    }
    Ok(None)
}

/// Reads both sides of every pair that needs a content comparison, in parallel.
fn content_verdicts(
    cmp: &Comparator,
    src: &dyn Transport,
    dst: &dyn Transport,
    checks: Vec<RelPath>,
) -> ContentVerdicts {
    let results = std::sync::Mutex::new(ContentVerdicts::new());
    execute::parallel(DEFAULT_THREADS.min(checks.len().max(1)), &checks, |path| {
        // A file that cannot be read counts as different; the copy then reports the error.
        if let Ok(v) = cmp.by_content(src, dst, path) {
            results
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(path.clone(), v);
        }
    });
    results.into_inner().unwrap_or_else(|p| p.into_inner())
}

/// A percentage limit does not count deletions this few …
const FEW_DELETIONS: u64 = 10;

/// … when the source holds at least this many times as many entries as would be deleted.
const HEALTHY_SOURCE: u64 = 10;

/// The one-way mass-delete guard. It exists for a source that is empty, unmounted or the
/// wrong folder, which leaves nearly every destination entry unmatched:
/// - an empty source that would delete destination entries is refused, whatever the limit;
/// - a count limit ([`DeleteLimit::Count`]) is exact;
/// - a percentage ([`DeleteLimit::Percent`]) is of the destination's entries, and does not
///   count a few deletions (at most [`FEW_DELETIONS`]) next to a source that holds
///   [`HEALTHY_SOURCE`] times as many entries: the stale leftovers of a destination that a
///   large mirror fills for the first time.
fn check_delete_limit(profile: &Profile, folder: &FolderPlan, force: bool) -> Result<()> {
    let Some(limit) = profile.guards.max_delete else {
        return Ok(());
    };
    if force {
        return Ok(());
    }
    // A link replaced by the source's file or folder loses nothing: it is not a deletion the
    // guard is for.
    let deletes = folder
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::Delete)
        .filter(|a| !(a.entry == EntryKind::Symlink && a.reason == Reason::Replaced))
        .count() as u64;
    if deletes == 0 {
        return Ok(());
    }
    let base = folder.destination_entries.max(1);
    let few = deletes <= FEW_DELETIONS && folder.source_entries >= HEALTHY_SOURCE * deletes;
    let over = match limit {
        DeleteLimit::Count(n) => deletes > n,
        DeleteLimit::Percent(p) => deletes * 100 > u64::from(p) * base && !few,
    };
    let empty = folder.source_entries == 0;
    if !over && !empty {
        return Ok(());
    }
    let mut why = format!("would delete {deletes} of {base} destination entries");
    if over {
        why.push_str(&format!(", over the limit of {limit}"));
    }
    if empty {
        why.push_str(&format!(
            ": the source {:?} is empty (unmounted, or the wrong folder?)",
            folder.source.describe()
        ));
    }
    Err(Error::new(
        ErrorKind::Guard,
        format!("folder {:?} {why}; nothing was changed", folder.folder),
    )
    .with_path(folder.destination.describe()))
}
