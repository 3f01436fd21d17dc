//! Two-way synchronization in the engine: the state database around the one planner and the
//! one executor. Planning reads the base; running locks the pair, checks the two-way guards
//! and records every completed action in the base.

use std::path::{Path, PathBuf};

use crate::compare::{blake3_file, Comparator};
use crate::error::{Error, ErrorKind, Result};
use crate::location::{expand_vars, Location};
use crate::path::RelPath;
use crate::plan::{ActionKind, FolderPlan, Hashes, PairPlan, Reason, TwoWayPlanner};
use crate::profile::{ConflictPolicies, DeleteLimit, Folder, Profile};
use crate::scan::Listing;
use crate::state::{Base, BaseEntry, Intent, PairKey, StateDb};
use crate::transport::Transport;
use crate::vocab::{Entry, EntryKind, Side, Stamp};

/// The state database of `profile`: its `sync.state`, else the per-user default.
pub(crate) fn state_path(profile: &Profile) -> Result<PathBuf> {
    match &profile.sync.state {
        Some(p) => expand_vars(p).map(PathBuf::from),
        None => StateDb::default_path(&profile.name),
    }
}

/// The key of a folder pair in the state database: the folder's name and both roots made
/// absolute, so the same pair named from another working directory finds its state.
/// A remote root is keyed by its URL without secrets (a changed password keeps the state).
pub(crate) fn pair_key(folder: &Folder, source: &Location, destination: &Location) -> PairKey {
    PairKey {
        folder: folder.name.clone(),
        source: source.describe(),
        destination: destination.describe(),
    }
}

/// The base of a pair; an empty first-run base when the database does not exist yet (a
/// preview creates no files) or `resync` discards it.
/// The intents of an interrupted run are settled against both listings ([`Base::settle`]).
pub(crate) fn load_base(
    db_path: &std::path::Path,
    key: &PairKey,
    resync: bool,
    listings: (&Listing, &Listing),
) -> Result<LoadedBase> {
    let mut loaded = LoadedBase::default();
    if !db_path.exists() {
        return Ok(loaded);
    }
    let db = StateDb::open(db_path)?;
    let pair = db.pair(key)?;
    loaded.last_run = db.last_run(pair)?;
    if resync {
        return Ok(loaded);
    }
    loaded.base = db.base(pair)?;
    loaded.settled = loaded.base.settle(
        &db.intents(pair)?,
        [listings.0.entries(), listings.1.entries()],
    );
    Ok(loaded)
}

/// A pair's base as a plan starts from it.
#[derive(Default)]
pub(crate) struct LoadedBase {
    pub(crate) base: Base,
    /// The newest run of the pair, for the stale-plan check.
    pub(crate) last_run: Option<i64>,
    /// Paths an interrupted run copied without recording them (see [`Base::settle`]).
    pub(crate) settled: Vec<RelPath>,
}

/// Adds a record for every settled path the plan does not otherwise touch, so that the
/// state learns the interrupted run's copies.
pub(crate) fn record_settled(
    actions: &mut Vec<crate::plan::Action>,
    settled: &[RelPath],
    src: &Listing,
) {
    if settled.is_empty() {
        return;
    }
    let touched: std::collections::HashSet<&RelPath> = actions.iter().map(|a| &a.path).collect();
    let mut records = Vec::new();
    for path in settled.iter().filter(|p| !touched.contains(p)) {
        if let Some(e) = src.get(path) {
            records.push(crate::plan::Action {
                kind: ActionKind::Record,
                path: path.clone(),
                entry: e.kind,
                reason: Reason::Identical,
                size: 0,
                source: Some(Stamp::from(e)),
                destination: None,
                to: Side::Destination,
                from: None,
                resolution: None,
            });
        }
    }
    if !records.is_empty() {
        actions.extend(records);
        // Stable: a path's own actions keep their order.
        actions.sort_by(|a, b| a.path.cmp(&b.path));
    }
}

/// The intents whose side (of `sides`, the source then the destination) now holds exactly
/// what they promised, as base entries (see [`Base::settle`]).
fn settled(intents: &[Intent], sides: [&dyn Transport; 2]) -> Result<Vec<BaseEntry>> {
    let mut out = Vec::new();
    for i in intents {
        if let Some(now) = sides[i.to as usize].stat(&i.path)? {
            out.extend(i.settled_by(&now));
        }
    }
    Ok(out)
}

/// What the copies of a plan will leave on the side they write.
fn intents(fp: &FolderPlan) -> Vec<Intent> {
    fp.actions
        .iter()
        .filter(|a| a.kind == ActionKind::Copy)
        .filter_map(|a| {
            let from = match a.to {
                Side::Source => a.destination,
                Side::Destination => a.source,
            }?;
            Some(Intent {
                path: a.path.clone(),
                to: a.to,
                kind: a.entry,
                size: from.size,
                mtime_ns: from.mtime_ns,
            })
        })
        .collect()
}

/// Plans one two-way folder pair from both listings and its base.
#[allow(clippy::too_many_arguments)]
pub(crate) fn plan_pair(
    profile: &Profile,
    comparator: &Comparator,
    src: &dyn Transport,
    dst: &dyn Transport,
    src_listing: &Listing,
    dst_listing: &Listing,
    base: &Base,
) -> Result<PairPlan> {
    let policies = ConflictPolicies::new(&profile.sync, profile.filters.case_sensitive)?;
    let planner = TwoWayPlanner::new(comparator, &policies)
        .detect_renames(profile.sync.detect_renames)
        .preserve_permissions(profile.copy.preserve_permissions)
        .remove_empty_dirs(profile.sync.remove_empty_dirs)
        .case_insensitive(Side::Source, case_insensitive(src, src_listing))
        .case_insensitive(Side::Destination, case_insensitive(dst, dst_listing));
    let requests = planner.hash_requests(src_listing, dst_listing, base);
    let hashes = hashes(src, dst, &requests);
    Ok(planner.plan(src_listing, dst_listing, base, &hashes))
}

/// Whether the base records content hashes: when the profile compares contents, a file
/// whose time alone changed is compared with its recorded hash.
pub(crate) fn records_hashes(profile: &Profile) -> bool {
    let c = &profile.comparison;
    c.md5 || c.blake3 || c.content
}

/// BLAKE3 of the file at `path` (of a link, of its target), as the base records it.
///
/// # Errors
/// Read failures, naming the file.
pub(crate) fn content_hash(t: &dyn Transport, path: &RelPath, kind: EntryKind) -> Result<[u8; 32]> {
    match kind {
        EntryKind::Symlink => t
            .read_link(path)
            .map(|target| *blake3::hash(&target).as_bytes()),
        _ => blake3_file(t, path),
    }
}

/// The hash a base entry for `e` records under `profile`: a file's or link's contents when
/// the profile compares contents, else none (also when it cannot be read: unknown).
pub(crate) fn base_hash(profile: &Profile, t: &dyn Transport, e: &Entry) -> Option<[u8; 32]> {
    let hashed = matches!(e.kind, EntryKind::File | EntryKind::Symlink);
    if !hashed || !records_hashes(profile) {
        return None;
    }
    content_hash(t, &e.path, e.kind).ok()
}

/// BLAKE3 of the requested files (a link's target), in parallel; unreadable ones are left
/// out (the planner then treats the pair as different).
fn hashes(src: &dyn Transport, dst: &dyn Transport, requests: &[(Side, RelPath)]) -> Hashes {
    let out = std::sync::Mutex::new(Hashes::new());
    super::execute::parallel(
        super::DEFAULT_THREADS.min(requests.len().max(1)),
        requests,
        |(side, path)| {
            let t = match side {
                Side::Source => src,
                Side::Destination => dst,
            };
            let kind = match t.stat(path) {
                Ok(Some(e)) => e.kind,
                _ => EntryKind::File,
            };
            let h = content_hash(t, path, kind);
            if let Ok(h) = h {
                out.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert((*side, path.clone()), h);
            }
        },
    );
    out.into_inner().unwrap_or_else(|p| p.into_inner())
}

/// Whether the file system of a side ignores letter case: an entry looked up with its name's
/// case swapped is the same file. Writes nothing.
fn case_insensitive(t: &dyn Transport, listing: &Listing) -> bool {
    let Some(e) = listing.entries().iter().find(|e| {
        let n = e.path.file_name();
        n.iter().any(u8::is_ascii_alphabetic)
    }) else {
        return false;
    };
    let swapped: Vec<u8> = e
        .path
        .as_bytes()
        .iter()
        .map(|b| {
            if b.is_ascii_lowercase() {
                b.to_ascii_uppercase()
            } else {
                b.to_ascii_lowercase()
            }
        })
        .collect();
    let Ok(other) = RelPath::new(&swapped) else {
        return false;
    };
    matches!(t.stat(&other), Ok(Some(o)) if o.file_id == e.file_id && o.file_id != 0)
}

/// Fewest files of the base a side must still hold for the "every file changed" guard: a
/// pair of a few files all edited is ordinary work, not a shifted clock.
pub(crate) const ALL_CHANGED_MIN_FILES: u64 = 5;

/// The two-way guards, checked before anything changes: a side that had entries at the
/// last sync and is now empty or missing, every file of a side changed (a clock, time zone
/// or remount that shifted all times), and deletions above the limit on either side.
pub(crate) fn check_guards(profile: &Profile, fp: &FolderPlan, force: bool) -> Result<()> {
    let Some(ctx) = &fp.two_way else {
        return Ok(());
    };
    if force {
        return Ok(());
    }
    let guard = |msg: String, root: &Location| {
        Err(Error::new(
            ErrorKind::Guard,
            format!("folder {:?}: {msg}; nothing was changed", fp.folder),
        )
        .with_path(root.describe()))
    };
    if !ctx.first_run && ctx.base_entries > 0 {
        for (side, exists, entries, root) in [
            (
                Side::Source,
                ctx.source_exists,
                ctx.source_entries,
                &fp.source,
            ),
            (
                Side::Destination,
                ctx.destination_exists,
                fp.destination_entries,
                &fp.destination,
            ),
        ] {
            if !exists || entries == 0 {
                let how = if exists { "empty" } else { "missing" };
                return guard(
                    format!(
                        "the {} had {} entries at the last sync and is now {how}: it looks like an unmounted drive",
                        side.name(),
                        ctx.base_entries
                    ),
                    root,
                );
            }
        }
        for (side, counts, root) in [
            (Side::Source, ctx.source_changes, &fp.source),
            (Side::Destination, ctx.destination_changes, &fp.destination),
        ] {
            if counts.files >= ALL_CHANGED_MIN_FILES && counts.changed == counts.files {
                return guard(
                    format!(
                        "every one of the {} files on the {} changed since the last sync: a clock, time-zone or remount change that shifted all times looks likelier than edits",
                        counts.files,
                        side.name()
                    ),
                    root,
                );
            }
        }
    }
    let Some(limit) = profile.guards.max_delete else {
        return Ok(());
    };
    for side in [Side::Source, Side::Destination] {
        let deletes = fp
            .actions
            .iter()
            .filter(|a| a.kind == ActionKind::Delete && a.to == side && a.reason == Reason::Deleted)
            .count() as u64;
        if deletes == 0 {
            continue;
        }
        let base = ctx.base_entries.max(1);
        let over = match limit {
            DeleteLimit::Count(n) => deletes > n,
            DeleteLimit::Percent(p) => deletes * 100 > u64::from(p) * base,
        };
        if over {
            let root = match side {
                Side::Source => &fp.source,
                Side::Destination => &fp.destination,
            };
            return guard(
                format!(
                    "would delete {deletes} of {base} entries on the {}, over the limit of {limit}",
                    side.name()
                ),
                root,
            );
        }
    }
    Ok(())
}

/// Refuses a profile whose operation is not `synchronize`.
pub(crate) fn require(profile: &Profile) -> Result<()> {
    if profile.operation != crate::profile::Operation::Synchronize {
        return Err(Error::invalid(format!(
            "profile {:?} is not a two-way profile (operation {:?}); it has no state",
            profile.name,
            profile.operation.name()
        )));
    }
    Ok(())
}

/// The pair key of `folder` as the planner makes it: its name and both resolved roots.
fn folder_key(folder: &Folder) -> Result<PairKey> {
    let (s, d) = (folder.source_location()?, folder.destination_location()?);
    Ok(pair_key(folder, &s, &d))
}

/// Forgets the base of `folder`'s pair in the database at `db_path`.
pub(crate) fn clear(db_path: &std::path::Path, folder: &Folder) -> Result<()> {
    let db = StateDb::open(db_path)?;
    let pair = db.pair(&folder_key(folder)?)?;
    let _lock = db.lock(pair)?;
    db.clear(pair)
}

/// Makes the paths a first-run plan found equal on both sides (`src` and `dst`) the base of
/// `folder`'s pair.
pub(crate) fn reset(
    profile: &Profile,
    db_path: &Path,
    folder: &Folder,
    fp: &FolderPlan,
    [src, dst]: [&dyn Transport; 2],
) -> Result<u64> {
    let mut entries = Vec::new();
    for a in fp
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::Record && a.reason == Reason::Identical)
    {
        if let (Some(s), Some(d)) = (src.stat(&a.path)?, dst.stat(&a.path)?) {
            if s.kind == d.kind && (s.kind == EntryKind::Dir || s.size == d.size) {
                let hash = base_hash(profile, src, &s);
                entries.push(BaseEntry::from_entries(&s, &d, hash));
            }
        }
    }
    let db = StateDb::open(db_path)?;
    let pair = db.pair(&folder_key(folder)?)?;
    let _lock = db.lock(pair)?;
    let n = entries.len() as u64;
    db.reset(pair, entries)?;
    Ok(n)
}

/// The state of a pair while a run works on it.
pub(crate) struct PairRun {
    db: StateDb,
    _lock: crate::state::PairLock,
    run: i64,
    pair: crate::state::PairId,
    /// When the run started, ns since the epoch.
    pub(crate) started_ns: i64,
    /// Records completed actions.
    pub(crate) writer: crate::state::BaseWriter,
}

/// A pair locked for a run that has not started yet: every pair of a profile is locked
/// before the first one runs, so a pair held by another process stops the run before
/// anything changed.
pub(crate) struct LockedPair {
    db: StateDb,
    lock: crate::state::PairLock,
    pair: crate::state::PairId,
}

impl LockedPair {
    /// Opens the state and locks the pair: [`ErrorKind::Busy`] when another run holds it,
    /// or synchronized it since `fp` was planned.
    pub(crate) fn lock(fp: &FolderPlan, folder: &Folder) -> Result<LockedPair> {
        let ctx = fp
            .two_way
            .as_ref()
            .ok_or_else(|| Error::invalid("not a two-way plan"))?;
        let db = StateDb::open(&ctx.state)?;
        let pair = db.pair(&pair_key(folder, &fp.source, &fp.destination))?;
        let lock = db.lock(pair)?;
        if db.last_run(pair)? != ctx.last_run {
            return Err(Error::new(
                ErrorKind::Busy,
                format!(
                    "folder {:?}: another run synchronized the pair since this plan was made; plan again",
                    fp.folder
                ),
            )
            .with_path(&ctx.state));
        }
        Ok(LockedPair { db, lock, pair })
    }
}

impl PairRun {
    /// Starts a run of the locked pair, whose sides are `sides` (the source, then the
    /// destination).
    pub(crate) fn start(
        locked: LockedPair,
        fp: &FolderPlan,
        resync: bool,
        started_ns: i64,
        sides: [&dyn Transport; 2],
    ) -> Result<PairRun> {
        let LockedPair { db, lock, pair } = locked;
        let first_run = fp.two_way.as_ref().is_none_or(|ctx| ctx.first_run);
        if resync {
            db.clear(pair)?;
        }
        let writer = db.writer(pair)?;
        if !first_run && !resync {
            // What interrupted runs copied becomes base before this run's intents replace
            // theirs: otherwise a run killed before its own copy of a path would leave the
            // base at a version neither side holds.
            for entry in settled(&db.intents(pair)?, sides)? {
                writer.put(entry)?;
            }
            writer.flush()?;
        }
        db.add_intents(pair, &intents(fp))?;
        let run = db.begin_run(pair, started_ns)?;
        Ok(PairRun {
            db,
            _lock: lock,
            run,
            pair,
            started_ns,
            writer,
        })
    }

    /// Ends the run: the base is complete unless the run was cancelled.
    pub(crate) fn finish(self, record: crate::state::RunRecord, completed: bool) -> Result<()> {
        let PairRun {
            db,
            run,
            writer,
            pair,
            ..
        } = self;
        writer.finish(completed)?;
        if completed {
            db.clear_intents(pair)?;
        }
        db.end_run(run, &record)
    }
}
