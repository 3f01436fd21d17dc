//! Two-way planning: every path is classified from (source now, destination now, base) and
//! turned into actions in either direction, conflicts with their resolution, renames and
//! records for the state database. Pure: the engine computes the hashes the planner asks for.

use std::collections::HashMap;

use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

use super::{Action, ActionKind, ConflictKind, Reason, Resolution};
use crate::compare::{Comparator, Difference, MtimeRule, Verdict};
use crate::path::RelPath;
use crate::profile::{ConflictPolicies, ConflictPolicy};
use crate::scan::Listing;
use crate::state::{Base, BaseEntry};
use crate::vocab::{Entry, EntryKind, Side, Stamp};

/// BLAKE3 hashes of files (a link's target) the planner asked for, by side and path. A
/// requested pair missing here counts as different.
pub type Hashes = HashMap<(Side, RelPath), [u8; 32]>;

/// The plan of a two-way folder pair.
#[derive(Debug, Clone)]
pub struct PairPlan {
    /// The actions, sorted by path.
    pub actions: Vec<Action>,
    /// Per side (indexed by [`Side`]): the files of the base and how many changed.
    pub changes: [ChangedFiles; 2],
}

/// One side's files (and links) of the base that are still there, and how many of them
/// changed since the last sync by the profile's comparison: what the "every file changed"
/// guard looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ChangedFiles {
    /// Files and links of the base the side still has (of any kind now).
    pub files: u64,
    /// How many of them changed.
    pub changed: u64,
}

impl Resolution {
    /// What `policy` does with a conflict whose sides are `source` and `destination` (either
    /// may be absent: a deletion). "Newer" and "larger" fall back to the source on a tie;
    /// [`ConflictPolicy::Prompt`] stays a prompt.
    pub fn for_policy(
        policy: ConflictPolicy,
        source: Option<Stamp>,
        destination: Option<Stamp>,
    ) -> Resolution {
        let newer = match (source, destination) {
            (Some(s), Some(d)) if d.mtime_ns > s.mtime_ns => Side::Destination,
            (None, Some(_)) => Side::Destination,
            _ => Side::Source,
        };
        let larger = match (source, destination) {
            (Some(s), Some(d)) if d.size > s.size => Side::Destination,
            (Some(s), Some(d)) if d.size == s.size => newer,
            (None, Some(_)) => Side::Destination,
            _ => Side::Source,
        };
        match policy {
            ConflictPolicy::Newer => Resolution::Wins(newer),
            ConflictPolicy::Older => Resolution::Wins(newer.other()),
            ConflictPolicy::Larger => Resolution::Wins(larger),
            ConflictPolicy::Smaller => Resolution::Wins(larger.other()),
            ConflictPolicy::Source => Resolution::Wins(Side::Source),
            ConflictPolicy::Destination => Resolution::Wins(Side::Destination),
            ConflictPolicy::Skip => Resolution::Skip,
            ConflictPolicy::Prompt => Resolution::Prompt,
            ConflictPolicy::KeepBoth => Resolution::KeepBoth(newer),
        }
    }
}

/// How one side's entry at a path stands against the base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// Neither now nor in the base.
    Absent,
    /// As in the base.
    Same,
    /// Not in the base (or no base yet), present now.
    New,
    /// In the base, present now and different (contents, metadata or kind).
    Changed,
    /// In the base, gone now.
    Deleted,
    /// In the base, and now a folder this side's filters leave out (an empty folder when
    /// empty folders are not synchronized): neither copied nor deleted.
    Excluded,
    /// Cannot be told: the folder holding it could not be read, or it is a special file.
    Unknown,
}

/// How an entry stands against its base entry by metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AgainstBase {
    Same,
    Changed,
    /// Only the time changed and the profile compares contents: the hash decides.
    Hash,
}

impl Change {
    fn is_edit(self) -> bool {
        matches!(self, Change::New | Change::Changed)
    }
}

/// One path of the three-way merge.
struct Row<'e> {
    path: &'e RelPath,
    s: Option<&'e Entry>,
    d: Option<&'e Entry>,
    b: Option<&'e BaseEntry>,
    change: [Change; 2],
    /// Per side: [`Change::Same`] by the profile's comparison, though the time is not the
    /// base's (touched): the base learns the new time.
    touched: [bool; 2],
}

impl<'e> Row<'e> {
    fn entry(&self, side: Side) -> Option<&'e Entry> {
        match side {
            Side::Source => self.s,
            Side::Destination => self.d,
        }
    }

    fn change(&self, side: Side) -> Change {
        self.change[side as usize]
    }

    fn is_dir_anywhere(&self) -> bool {
        self.s.is_some_and(|e| e.kind == EntryKind::Dir)
            || self.d.is_some_and(|e| e.kind == EntryKind::Dir)
            || self.b.is_some_and(|e| e.kind == EntryKind::Dir)
    }
}

/// A subtree under special handling while the rows below a folder are decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The folder stays on both sides: deletions on this side are restored from the other.
    Keep(Side),
    /// The folder on this side is replaced by the other side's file: its contents go.
    Replacing(Side),
    /// A conflict left alone: nothing below changes.
    Blocked,
}

/// The classified rows of a pair, with what the planner derived from them.
struct Classified<'e> {
    rows: Vec<Row<'e>>,
    /// Per row and side: the row or a descendant is new or changed on that side.
    dirty: Vec<[bool; 2]>,
    /// Rename pairs: (row of the new path, row of the old path, side that renamed).
    renames: Vec<(usize, usize, Side)>,
    /// Name pairs (same name but for Unicode form or letter case): (source row,
    /// destination row).
    same_names: Vec<(usize, usize)>,
}

/// Plans a two-way folder pair: pure, no I/O.
#[derive(Debug, Clone)]
pub struct TwoWayPlanner<'a> {
    comparator: &'a Comparator,
    policies: &'a ConflictPolicies,
    detect_renames: bool,
    preserve_permissions: bool,
    case_insensitive: [bool; 2],
    remove_empty_dirs: bool,
}

impl<'a> TwoWayPlanner<'a> {
    /// A planner comparing with `comparator` and resolving conflicts with `policies`.
    pub fn new(comparator: &'a Comparator, policies: &'a ConflictPolicies) -> TwoWayPlanner<'a> {
        TwoWayPlanner {
            comparator,
            policies,
            detect_renames: true,
            preserve_permissions: true,
            case_insensitive: [false, false],
            remove_empty_dirs: false,
        }
    }

    /// Whether a file renamed or moved on one side is renamed on the other (default) rather
    /// than deleted and copied.
    pub fn detect_renames(mut self, yes: bool) -> TwoWayPlanner<'a> {
        self.detect_renames = yes;
        self
    }

    /// Whether permission changes count as changes (and are propagated).
    pub fn preserve_permissions(mut self, yes: bool) -> TwoWayPlanner<'a> {
        self.preserve_permissions = yes;
        self
    }

    /// Whether `side`'s file system ignores letter case in names.
    pub fn case_insensitive(mut self, side: Side, yes: bool) -> TwoWayPlanner<'a> {
        self.case_insensitive[side as usize] = yes;
        self
    }

    /// Whether folders the plan leaves empty (it deletes or moves away everything below
    /// them) are removed on both sides.
    pub fn remove_empty_dirs(mut self, yes: bool) -> TwoWayPlanner<'a> {
        self.remove_empty_dirs = yes;
        self
    }

    /// The files whose hashes [`TwoWayPlanner::plan`] needs: both sides of paths that both
    /// sides changed to equal sizes (or that a first run finds with equal sizes but other
    /// metadata), and of same-name pairs; with a comparison by contents, a file whose time
    /// alone changed since the base (compared with the hash the base recorded).
    pub fn hash_requests(&self, src: &Listing, dst: &Listing, base: &Base) -> Vec<(Side, RelPath)> {
        // Without hashes, every file that needs one counts as changed: a superset of what
        // the plan will find changed, so every pair it may compare is requested.
        let c = self.classify(src, dst, base, &Hashes::new());
        let mut out = Vec::new();
        for row in &c.rows {
            for side in [Side::Source, Side::Destination] {
                if let (Some(b), Some(e)) = (row.b, row.entry(side)) {
                    if self.against_base(side, b, e) == AgainstBase::Hash {
                        out.push((side, e.path.clone()));
                    }
                }
            }
            if let (Some(s), Some(d)) = (row.s, row.d) {
                if row.change(Side::Source).is_edit()
                    && row.change(Side::Destination).is_edit()
                    && self.needs_hash(row, s, d)
                {
                    out.push((Side::Source, s.path.clone()));
                    out.push((Side::Destination, d.path.clone()));
                }
            }
        }
        for &(i, j) in &c.same_names {
            let (s, d) = (c.rows[i].s, c.rows[j].d);
            if let (Some(s), Some(d)) = (s, d) {
                if s.size == d.size && self.comparator.by_metadata(s, d) != Verdict::Same {
                    out.push((Side::Source, s.path.clone()));
                    out.push((Side::Destination, d.path.clone()));
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// The actions that bring both sides to the same state (sorted by path), and how many
    /// files changed on each side.
    pub fn plan(&self, src: &Listing, dst: &Listing, base: &Base, hashes: &Hashes) -> PairPlan {
        let c = self.classify(src, dst, base, hashes);
        PairPlan {
            changes: changed_files(&c.rows),
            actions: self.actions(&c, base, hashes),
        }
    }

    fn actions(&self, c: &Classified<'_>, base: &Base, hashes: &Hashes) -> Vec<Action> {
        let first_run = !base.is_synced();
        let mut out = Vec::new();
        let mut renamed_to: HashMap<usize, (usize, Side)> = HashMap::new();
        let mut consumed = vec![false; c.rows.len()];
        for &(new, old, side) in &c.renames {
            renamed_to.insert(new, (old, side));
            consumed[old] = true;
        }
        let mut same_name: HashMap<usize, usize> = HashMap::new();
        for &(i, j) in &c.same_names {
            let (s, d) = (
                c.rows[i].s.expect("source row"),
                c.rows[j].d.expect("dest row"),
            );
            let equal = s.kind == d.kind
                && s.size == d.size
                && (self.comparator.by_metadata(s, d) == Verdict::Same
                    || hashes_equal(hashes, &s.path, &d.path));
            if equal {
                same_name.insert(i, j);
                consumed[j] = true;
            } else if self.case_insensitive.iter().any(|&c| c) {
                // One name on a side that ignores case: copying either way would overwrite
                // the other. Leave both and report.
                consumed[i] = true;
                consumed[j] = true;
                let row = &c.rows[i];
                let mut a = self.conflict(row, ConflictKind::BothCreated, Resolution::Skip);
                a.destination = Some(Stamp::from(d));
                out.push(a);
            }
        }
        // The modes of the folders above the current row, innermost last.
        let mut modes: Vec<(&RelPath, Mode)> = Vec::new();
        for (i, row) in c.rows.iter().enumerate() {
            while modes
                .last()
                .is_some_and(|(p, _)| !(row.path.starts_with(p) && row.path != *p))
            {
                modes.pop();
            }
            if consumed[i] {
                continue;
            }
            if let Some(&(old, side)) = renamed_to.get(&i) {
                let other = side.other();
                let from = c.rows[old].path.clone();
                let e = row.entry(side).expect("renamed entry");
                let mut a = new_action(ActionKind::Rename, row, e, Reason::Renamed, other);
                a.from = Some(from);
                out.push(a);
                continue;
            }
            if let Some(&j) = same_name.get(&i) {
                let e = row.s.expect("source row");
                let mut a = new_action(
                    ActionKind::Rename,
                    row,
                    e,
                    Reason::Renamed,
                    Side::Destination,
                );
                a.from = Some(c.rows[j].path.clone());
                a.destination = c.rows[j].d.map(Stamp::from);
                out.push(a);
                continue;
            }
            let mode = modes.last().map(|(_, m)| *m);
            if mode == Some(Mode::Blocked) {
                continue;
            }
            if let Some(pushed) = self.decide(row, &c.dirty[i], mode, first_run, hashes, &mut out) {
                modes.push((row.path, pushed));
            }
        }
        if self.remove_empty_dirs && !first_run {
            let emptied = emptied_folders(&c.rows, &out);
            if !emptied.is_empty() {
                out.extend(emptied);
                // Stable: a path's own actions keep their order.
                out.sort_by(|a, b| a.path.cmp(&b.path));
            }
        }
        out
    }

    /// Merges the three sorted lists and classifies each path; finds renames and same-name
    /// pairs.
    fn classify<'e>(
        &self,
        src: &'e Listing,
        dst: &'e Listing,
        base: &'e Base,
        hashes: &Hashes,
    ) -> Classified<'e> {
        let synced = base.is_synced();
        let (s, d, b) = (src.entries(), dst.entries(), base.entries());
        let b: &[BaseEntry] = if synced { b } else { &[] };
        let mut rows = Vec::with_capacity(s.len().max(d.len()));
        let (mut i, mut j, mut k) = (0, 0, 0);
        loop {
            let mut path: Option<&RelPath> = None;
            for p in [
                s.get(i).map(|e| &e.path),
                d.get(j).map(|e| &e.path),
                b.get(k).map(|e| &e.path),
            ]
            .into_iter()
            .flatten()
            {
                if path.is_none_or(|q| p < q) {
                    path = Some(p);
                }
            }
            let Some(path) = path else { break };
            let take_entry = |list: &'e [Entry], at: &mut usize| {
                let e = list.get(*at).filter(|e| &e.path == path);
                if e.is_some() {
                    *at += 1;
                }
                e
            };
            let se = take_entry(s, &mut i);
            let de = take_entry(d, &mut j);
            let be = b.get(k).filter(|e| &e.path == path);
            if be.is_some() {
                k += 1;
            }
            let (cs, ts) = self.change(Side::Source, be, se, src, path, hashes);
            let (cd, td) = self.change(Side::Destination, be, de, dst, path, hashes);
            rows.push(Row {
                path,
                s: se,
                d: de,
                b: be,
                change: [cs, cd],
                touched: [ts, td],
            });
        }
        let dirty = dirty_subtrees(&rows);
        let renames = if self.detect_renames {
            find_renames(&rows)
        } else {
            Vec::new()
        };
        let same_names = self.find_same_names(&rows, &renames);
        Classified {
            rows,
            dirty,
            renames,
            same_names,
        }
    }

    /// How `side`'s entry at `path` stands against the base, and whether it is the same but
    /// touched (another time).
    fn change(
        &self,
        side: Side,
        b: Option<&BaseEntry>,
        now: Option<&Entry>,
        listing: &Listing,
        path: &RelPath,
        hashes: &Hashes,
    ) -> (Change, bool) {
        let change = match (b, now) {
            (_, Some(e)) if e.kind == EntryKind::Special => Change::Unknown,
            // Not listed in a folder the scan could not read (or a loop it skipped): unknown,
            // so nothing is deleted from, or written into, that side's copy.
            (_, None) if listing.is_incomplete_at(path) => Change::Unknown,
            (None, None) => Change::Absent,
            (None, Some(_)) => Change::New,
            (Some(_), None) if listing.is_left_out_empty(path) => Change::Excluded,
            (Some(_), None) => Change::Deleted,
            (Some(b), Some(e)) => {
                let same = match self.against_base(side, b, e) {
                    AgainstBase::Same => true,
                    AgainstBase::Changed => false,
                    AgainstBase::Hash => {
                        b.hash.is_some() && hashes.get(&(side, e.path.clone())) == b.hash.as_ref()
                    }
                };
                if same {
                    let touched = e.kind != EntryKind::Dir && e.mtime_ns != b.side(side).mtime_ns;
                    return (Change::Same, touched);
                }
                Change::Changed
            }
        };
        (change, false)
    }

    /// Whether `now` (this path on `side`) changed since the base `b` by the profile's
    /// comparison. Another kind or size is a change whatever the criteria, and so are other
    /// permission bits when they are propagated; folders change only by changing kind. A
    /// file whose time alone changed (other than by an ignored hour shift) is changed when
    /// the comparison looks at times; else, with a comparison by contents, its hash decides
    /// against the one the base recorded (changed when the base has none); else (sizes only)
    /// it is the same: touched, not edited.
    fn against_base(&self, side: Side, b: &BaseEntry, now: &Entry) -> AgainstBase {
        if now.kind != b.kind {
            return AgainstBase::Changed;
        }
        if b.kind == EntryKind::Dir {
            return AgainstBase::Same;
        }
        let s = b.side(side);
        let modes_differ =
            self.preserve_permissions && s.mode != 0 && now.mode != 0 && s.mode != now.mode;
        if now.size != b.size || modes_differ {
            return AgainstBase::Changed;
        }
        // An ignored whole-hour shift (DST, time zone) moves a time without an edit.
        if now.mtime_ns == s.mtime_ns || self.comparator.is_hour_shift(now.mtime_ns, s.mtime_ns) {
            return AgainstBase::Same;
        }
        if self.comparator.options().mtime != MtimeRule::Off {
            return AgainstBase::Changed;
        }
        if self.comparator.reads_content() {
            return match b.hash {
                Some(_) => AgainstBase::Hash,
                None => AgainstBase::Changed,
            };
        }
        AgainstBase::Same
    }

    /// Entries new on one side only whose names equal, after Unicode normalization (NFC) and
    /// case folding where either side ignores case, a name new on the other side only.
    fn find_same_names(
        &self,
        rows: &[Row<'_>],
        renames: &[(usize, usize, Side)],
    ) -> Vec<(usize, usize)> {
        let only = |r: &Row<'_>, side: Side| {
            r.change(side) == Change::New
                && r.change(side.other()) == Change::Absent
                && r.entry(side).is_some_and(|e| e.kind != EntryKind::Dir)
        };
        let renamed: std::collections::HashSet<usize> = renames.iter().map(|r| r.0).collect();
        let dst_only: Vec<usize> = (0..rows.len())
            .filter(|&i| only(&rows[i], Side::Destination) && !renamed.contains(&i))
            .collect();
        if dst_only.is_empty() {
            return Vec::new();
        }
        let fold = self.case_insensitive.iter().any(|&c| c);
        let key = |p: &RelPath| -> String {
            let nfc: String = String::from_utf8_lossy(p.as_bytes()).nfc().collect();
            if fold {
                nfc.to_lowercase()
            } else {
                nfc
            }
        };
        let mut by_key: HashMap<String, usize> = HashMap::new();
        for &j in &dst_only {
            by_key.insert(key(rows[j].path), j);
        }
        let mut out = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            if only(r, Side::Source) && !renamed.contains(&i) {
                if let Some(j) = by_key.remove(&key(r.path)) {
                    out.push((i, j));
                }
            }
        }
        out
    }

    /// Whether both sides' files at an edited-on-both-sides path need hashing to tell equal.
    fn needs_hash(&self, row: &Row<'_>, s: &Entry, d: &Entry) -> bool {
        if s.kind != d.kind || s.kind == EntryKind::Dir || s.size != d.size {
            return false;
        }
        // With no base, equal metadata are trusted as for a one-way run.
        row.b.is_some() || self.comparator.by_metadata(s, d) != Verdict::Same
    }

    /// Decides one row; returns the mode its subtree gets, if any.
    fn decide(
        &self,
        row: &Row<'_>,
        dirty: &[bool; 2],
        mode: Option<Mode>,
        first_run: bool,
        hashes: &Hashes,
        out: &mut Vec<Action>,
    ) -> Option<Mode> {
        use Change::{Absent, Changed, Deleted, Excluded, New, Same, Unknown};
        let (cs, cd) = (row.change(Side::Source), row.change(Side::Destination));
        // Inside a folder that stays, this side's deletions are restored from the other.
        if let Some(Mode::Keep(keep)) = mode {
            let other = keep.other();
            if row.change(keep) == Deleted && matches!(row.change(other), Same | Changed) {
                let e = row.entry(other).expect("present");
                return self.put(row, e, keep, Reason::Restored, dirty, out);
            }
        }
        // Inside a folder replaced by a file, its remaining contents go.
        if let Some(Mode::Replacing(side)) = mode {
            if row.change(side) == Same && matches!(row.change(side.other()), Deleted | Absent) {
                let e = row.entry(side).expect("present");
                out.push(new_action(
                    ActionKind::Delete,
                    row,
                    e,
                    Reason::Replaced,
                    side,
                ));
                return None;
            }
        }
        match (cs, cd) {
            (Same, Same) if row.touched.contains(&true) => {
                // Touched, not edited: the base learns the new times.
                out.push(record(row, row.s.expect("present")));
                None
            }
            (Unknown, _) | (_, Unknown) | (Same | Absent, Same | Absent) => None,
            (Excluded, New | Changed) => self.against_excluded(row, Side::Destination, out),
            (New | Changed, Excluded) => self.against_excluded(row, Side::Source, out),
            (Excluded, _) | (_, Excluded) => None,
            (Deleted, Deleted) | (Deleted, Absent) | (Absent, Deleted) => {
                let b = row.b.expect("deleted entries are in the base");
                out.push(Action {
                    kind: ActionKind::Record,
                    path: row.path.clone(),
                    entry: b.kind,
                    reason: Reason::Forgotten,
                    size: 0,
                    source: None,
                    destination: None,
                    to: Side::Destination,
                    from: None,
                    resolution: None,
                });
                None
            }
            (New | Changed, Same | Absent) => {
                self.propagate(row, Side::Source, dirty, first_run, out)
            }
            (Same | Absent, New | Changed) => {
                self.propagate(row, Side::Destination, dirty, first_run, out)
            }
            (Deleted, Same) => self.delete(row, Side::Destination, dirty, out),
            (Same, Deleted) => self.delete(row, Side::Source, dirty, out),
            (Deleted, Changed | New) => self.deleted_vs_changed(row, Side::Source, dirty, out),
            (Changed | New, Deleted) => self.deleted_vs_changed(row, Side::Destination, dirty, out),
            (New | Changed, New | Changed) => self.both(row, first_run, hashes, out),
        }
    }

    /// Side `changer` changed a path that the other side now holds as a folder its filters
    /// leave out (an empty folder when empty folders are not synchronized). That folder is
    /// neither deleted nor replaced: a folder's contents arrive in it, a file or link is a
    /// conflict left alone.
    fn against_excluded(
        &self,
        row: &Row<'_>,
        changer: Side,
        out: &mut Vec<Action>,
    ) -> Option<Mode> {
        let e = row.entry(changer).expect("the changing side has the entry");
        if e.kind != EntryKind::Dir {
            out.push(self.conflict(row, ConflictKind::KindChanged, Resolution::Skip));
        }
        None
    }

    /// Puts `from_entry` (the other side's entry) on side `to`: a folder is created, a file or
    /// link copied. Any entry of another kind on `to` is replaced.
    fn put(
        &self,
        row: &Row<'_>,
        e: &Entry,
        to: Side,
        reason: Reason,
        dirty: &[bool; 2],
        out: &mut Vec<Action>,
    ) -> Option<Mode> {
        let target = row.entry(to);
        if e.kind == EntryKind::Dir {
            if let Some(t) = target.filter(|t| t.kind != EntryKind::Dir) {
                out.push(new_action(ActionKind::Delete, row, t, Reason::Replaced, to));
            }
            if target.is_none_or(|t| t.kind != EntryKind::Dir) {
                out.push(new_action(ActionKind::CreateDir, row, e, reason, to));
            }
            return None;
        }
        match target {
            Some(t) if t.kind == EntryKind::Dir => {
                if dirty[to as usize] {
                    // The folder holds changes of its own: both stay, the folder keeps the name.
                    out.push(self.conflict(
                        row,
                        ConflictKind::KindChanged,
                        Resolution::KeepBoth(to),
                    ));
                    return Some(Mode::Keep(to.other()));
                }
                out.push(new_action(ActionKind::Delete, row, t, Reason::Replaced, to));
                out.push(new_action(ActionKind::Copy, row, e, Reason::Replaced, to));
                Some(Mode::Replacing(to))
            }
            _ => {
                out.push(new_action(ActionKind::Copy, row, e, reason, to));
                None
            }
        }
    }

    /// The side `from` changed (or created) the path; the other side did not touch it.
    fn propagate(
        &self,
        row: &Row<'_>,
        from: Side,
        dirty: &[bool; 2],
        first_run: bool,
        out: &mut Vec<Action>,
    ) -> Option<Mode> {
        let _ = first_run;
        let to = from.other();
        let e = row.entry(from).expect("the changed side has the entry");
        let reason = match row.entry(to) {
            None => Reason::New,
            Some(t) if t.kind != e.kind => Reason::Changed(Difference::Kind),
            Some(t) if t.size != e.size => Reason::Changed(Difference::Size),
            Some(t) => {
                // Only the permission bits changed: apply them.
                if let Some(b) = row.b {
                    if e.kind == b.kind
                        && e.size == b.size
                        && e.mtime_ns == b.side(from).mtime_ns
                        && e.kind != EntryKind::Dir
                    {
                        out.push(new_action(
                            ActionKind::UpdateMeta,
                            row,
                            e,
                            Reason::Metadata,
                            to,
                        ));
                        return None;
                    }
                }
                let _ = t;
                Reason::Changed(match from {
                    Side::Source => Difference::SourceNewer,
                    Side::Destination => Difference::DestinationNewer,
                })
            }
        };
        self.put(row, e, to, reason, dirty, out)
    }

    /// Side `deleted_on` deleted the path; the other side has it as in the base.
    fn delete(
        &self,
        row: &Row<'_>,
        on: Side,
        dirty: &[bool; 2],
        out: &mut Vec<Action>,
    ) -> Option<Mode> {
        let e = row.entry(on).expect("the unchanged side has the entry");
        if e.kind == EntryKind::Dir && dirty[on as usize] {
            // Something inside changed on this side: the folder comes back on the other.
            out.push(new_action(
                ActionKind::CreateDir,
                row,
                e,
                Reason::Restored,
                on.other(),
            ));
            return Some(Mode::Keep(on.other()));
        }
        out.push(new_action(ActionKind::Delete, row, e, Reason::Deleted, on));
        None
    }

    /// Side `deleter` deleted the path, the other side changed it: the change wins unless
    /// the policy makes the deleting side win, skips, or asks.
    fn deleted_vs_changed(
        &self,
        row: &Row<'_>,
        deleter: Side,
        dirty: &[bool; 2],
        out: &mut Vec<Action>,
    ) -> Option<Mode> {
        let changer = deleter.other();
        let e = row.entry(changer).expect("the changing side has the entry");
        if e.kind != EntryKind::Dir {
            let policy = self.policies.policy_for(row.path, false);
            let resolution = match policy {
                ConflictPolicy::Skip => Some(Resolution::Skip),
                ConflictPolicy::Prompt => Some(Resolution::Prompt),
                ConflictPolicy::Source | ConflictPolicy::Destination => {
                    match Resolution::for_policy(policy, None, None) {
                        Resolution::Wins(w) if w == deleter => Some(Resolution::Wins(deleter)),
                        _ => None,
                    }
                }
                _ => None,
            };
            if let Some(r) = resolution {
                out.push(self.conflict(row, ConflictKind::ChangedDeleted, r));
                return None;
            }
        }
        self.put(row, e, deleter, Reason::Restored, dirty, out)
    }

    /// Both sides created or changed the path.
    fn both(
        &self,
        row: &Row<'_>,
        first_run: bool,
        hashes: &Hashes,
        out: &mut Vec<Action>,
    ) -> Option<Mode> {
        let (s, d) = (row.s.expect("source"), row.d.expect("destination"));
        let s_dir = s.kind == EntryKind::Dir;
        let d_dir = d.kind == EntryKind::Dir;
        let kind = if row.b.is_some() {
            ConflictKind::BothChanged
        } else {
            ConflictKind::BothCreated
        };
        let policy = self
            .policies
            .policy_for(row.path, first_run && row.b.is_none());
        if s_dir && d_dir {
            out.push(record(row, s));
            return None;
        }
        if s_dir || d_dir {
            // A folder against a file or link: the folder keeps the name.
            if policy == ConflictPolicy::Skip {
                out.push(self.conflict(row, ConflictKind::KindChanged, Resolution::Skip));
                return Some(Mode::Blocked);
            }
            let (dir_side, other) = if s_dir {
                (Side::Source, Side::Destination)
            } else {
                (Side::Destination, Side::Source)
            };
            out.push(self.conflict(
                row,
                ConflictKind::KindChanged,
                Resolution::KeepBoth(dir_side),
            ));
            return Some(Mode::Keep(other));
        }
        let equal = s.kind == d.kind
            && s.size == d.size
            && if self.needs_hash(row, s, d) {
                hashes_equal(hashes, &s.path, &d.path)
            } else {
                true
            };
        if equal {
            out.push(record(row, s));
            return None;
        }
        let kind = if s.kind != d.kind {
            ConflictKind::KindChanged
        } else {
            kind
        };
        let resolution = Resolution::for_policy(policy, Some(Stamp::from(s)), Some(Stamp::from(d)));
        out.push(self.conflict(row, kind, resolution));
        None
    }

    fn conflict(&self, row: &Row<'_>, kind: ConflictKind, resolution: Resolution) -> Action {
        let e = row.s.or(row.d).expect("a conflict has an entry");
        Action {
            kind: ActionKind::Conflict,
            path: row.path.clone(),
            entry: e.kind,
            reason: Reason::Conflict(kind),
            size: row.s.map_or(0, |e| e.size) + row.d.map_or(0, |e| e.size),
            source: row.s.map(Stamp::from),
            destination: row.d.map(Stamp::from),
            to: match resolution {
                Resolution::Wins(w) => w.other(),
                Resolution::KeepBoth(newer) => newer.other(),
                _ => Side::Destination,
            },
            from: None,
            resolution: Some(resolution),
        }
    }
}

fn hashes_equal(hashes: &Hashes, s: &RelPath, d: &RelPath) -> bool {
    match (
        hashes.get(&(Side::Source, s.clone())),
        hashes.get(&(Side::Destination, d.clone())),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

fn record(row: &Row<'_>, e: &Entry) -> Action {
    Action {
        kind: ActionKind::Record,
        path: row.path.clone(),
        entry: e.kind,
        reason: Reason::Identical,
        size: 0,
        source: row.s.map(Stamp::from),
        destination: row.d.map(Stamp::from),
        to: Side::Destination,
        from: None,
        resolution: None,
    }
}

/// An action changing side `to` with entry `e` (the entry it reads or removes).
fn new_action(kind: ActionKind, row: &Row<'_>, e: &Entry, reason: Reason, to: Side) -> Action {
    Action {
        kind,
        path: row.path.clone(),
        entry: e.kind,
        reason,
        size: if e.kind == EntryKind::Dir { 0 } else { e.size },
        source: row.s.map(Stamp::from),
        destination: row.d.map(Stamp::from),
        to,
        from: None,
        resolution: None,
    }
}

/// For each row and side: whether the row or a descendant is new or changed on that side.
/// Rows are in path order, so a folder's subtree follows it.
fn dirty_subtrees(rows: &[Row<'_>]) -> Vec<[bool; 2]> {
    let mut dirty = vec![[false; 2]; rows.len()];
    let mut ancestors: Vec<usize> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        while ancestors
            .last()
            .is_some_and(|&a| !(row.path.starts_with(rows[a].path) && row.path != rows[a].path))
        {
            ancestors.pop();
        }
        for side in [Side::Source, Side::Destination] {
            if row.change(side).is_edit() {
                dirty[i][side as usize] = true;
                for &a in ancestors.iter().rev() {
                    if dirty[a][side as usize] {
                        break;
                    }
                    dirty[a][side as usize] = true;
                }
            }
        }
        if row.is_dir_anywhere() {
            ancestors.push(i);
        }
    }
    dirty
}

/// Files deleted on one side and new on the same side with the same file id, size and
/// modification time, while the other side still holds the old path unchanged and nothing at
/// the new one: (new row, old row, renaming side).
fn find_renames(rows: &[Row<'_>]) -> Vec<(usize, usize, Side)> {
    let mut out = Vec::new();
    for side in [Side::Source, Side::Destination] {
        let other = side.other();
        let mut gone: HashMap<u64, usize> = HashMap::new();
        for (i, r) in rows.iter().enumerate() {
            if r.change(side) == Change::Deleted && r.change(other) == Change::Same {
                if let Some(b) = r.b {
                    let id = b.side(side).file_id;
                    if b.kind == EntryKind::File && id != 0 {
                        gone.insert(id, i);
                    }
                }
            }
        }
        if gone.is_empty() {
            continue;
        }
        for (i, r) in rows.iter().enumerate() {
            if r.change(side) != Change::New || r.change(other) != Change::Absent {
                continue;
            }
            let Some(e) = r.entry(side) else { continue };
            if e.kind != EntryKind::File {
                continue;
            }
            if let Some(&old) = gone.get(&e.file_id) {
                let b = rows[old].b.expect("in the base");
                if b.size == e.size && b.side(side).mtime_ns == e.mtime_ns {
                    gone.remove(&e.file_id);
                    out.push((i, old, side));
                }
            }
        }
    }
    out
}

/// Per side, the files of the base still there and how many changed.
fn changed_files(rows: &[Row<'_>]) -> [ChangedFiles; 2] {
    let mut out = [ChangedFiles::default(); 2];
    for row in rows {
        if !row
            .b
            .is_some_and(|b| matches!(b.kind, EntryKind::File | EntryKind::Symlink))
        {
            continue;
        }
        for side in [Side::Source, Side::Destination] {
            let counts = &mut out[side as usize];
            match row.change(side) {
                Change::Same => counts.files += 1,
                Change::Changed => {
                    counts.files += 1;
                    counts.changed += 1;
                }
                _ => {}
            }
        }
    }
    out
}

/// The folders `planned` leaves empty: folders that stay (as folders, on at least one side)
/// while everything below them goes from both sides, and at least one entry below is deleted
/// or moved away by the plan. Each is deleted on every side that lists it, deepest first
/// when the plan is sorted. Entries the scan could not tell (unreadable folders, special
/// files) keep their folder; a folder left out as empty is not listed, so not deleted.
fn emptied_folders(rows: &[Row<'_>], planned: &[Action]) -> Vec<Action> {
    let mut gone: std::collections::HashSet<(Side, &RelPath)> = std::collections::HashSet::new();
    for a in planned {
        match a.kind {
            ActionKind::Delete => {
                gone.insert((a.to, &a.path));
            }
            ActionKind::Rename => {
                if let Some(from) = &a.from {
                    gone.insert((a.to, from));
                }
            }
            _ => {}
        }
    }
    if gone.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        i = emptied_below(rows, i, &gone, &mut out).0;
    }
    out
}

/// Walks row `i` and its subtree (see [`emptied_folders`]); returns the next row after the
/// subtree, whether the row ends with nothing on either side, and whether the plan removes
/// something at or below it.
fn emptied_below(
    rows: &[Row<'_>],
    i: usize,
    gone: &std::collections::HashSet<(Side, &RelPath)>,
    out: &mut Vec<Action>,
) -> (usize, bool, bool) {
    let row = &rows[i];
    let sides = [Side::Source, Side::Destination];
    // A side that could not be read may still hold it. A folder this side's filters leave
    // out as empty holds nothing synchronized: it is neither counted nor deleted.
    let known = sides.iter().all(|&s| row.change(s) != Change::Unknown);
    let stays = |s: Side| row.entry(s).is_some() && !gone.contains(&(s, row.path));
    let mut absent = known && !sides.iter().any(|&s| stays(s));
    let mut removed = sides.iter().any(|&s| gone.contains(&(s, row.path)));
    let mut next = i + 1;
    if !row.is_dir_anywhere() {
        return (next, absent, removed);
    }
    let (mut all_absent, mut removed_below) = (true, false);
    while next < rows.len() && rows[next].path.starts_with(row.path) {
        let (after, a, r) = emptied_below(rows, next, gone, out);
        next = after;
        all_absent &= a;
        removed_below |= r;
    }
    let stays_as_folder: Vec<Side> = sides
        .into_iter()
        .filter(|&s| stays(s) && row.entry(s).is_some_and(|e| e.kind == EntryKind::Dir))
        .collect();
    let folder_only = sides
        .iter()
        .all(|&s| !stays(s) || row.entry(s).is_some_and(|e| e.kind == EntryKind::Dir));
    if known && all_absent && removed_below && folder_only && !stays_as_folder.is_empty() {
        for side in stays_as_folder {
            let e = row.entry(side).expect("listed");
            out.push(new_action(
                ActionKind::Delete,
                row,
                e,
                Reason::Emptied,
                side,
            ));
        }
        absent = true;
        removed = true;
    }
    (next, absent && all_absent, removed || removed_below)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::CompareOptions;
    use crate::profile::{ConflictRule, SyncOptions};
    use crate::scan::tests::{entries, listing};
    use crate::state::SideStamp;

    /// A synced base where both sides had the entries of `spec`; `None` is no base yet.
    fn base(spec: Option<&str>) -> Base {
        match spec {
            None => Base::default(),
            Some(spec) => Base::new(
                entries(spec)
                    .iter()
                    .map(|e| BaseEntry {
                        path: e.path.clone(),
                        kind: e.kind,
                        size: e.size,
                        hash: None,
                        source: SideStamp::from(e),
                        destination: SideStamp::from(e),
                    })
                    .collect(),
                true,
            ),
        }
    }

    fn render(actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .map(|a| {
                let arrow = match a.to {
                    Side::Destination => ">",
                    Side::Source => "<",
                };
                let what = match (a.kind, a.resolution) {
                    (ActionKind::Conflict, Some(r)) => format!(
                        "conflict({})",
                        match r {
                            Resolution::KeepBoth(s) => format!("keep-both {}", s.name()),
                            Resolution::Wins(s) => format!("{} wins", s.name()),
                            Resolution::Skip => "skip".into(),
                            Resolution::Prompt => "prompt".into(),
                        }
                    ),
                    (k, _) => format!("{}{arrow}", k.name()),
                };
                match (&a.from, a.reason) {
                    (Some(from), _) => format!("{what} {} from {from}", a.path),
                    (None, Reason::Forgotten) => format!("forget {}", a.path),
                    (None, _) => format!("{what} {}", a.path),
                }
            })
            .collect()
    }

    /// Plans with `sync`'s policies; the hashes are those of `equal_contents` paths (equal on
    /// both sides) and different ones for every other requested path.
    fn plan_with(
        sync: &SyncOptions,
        src: &str,
        dst: &str,
        base_spec: Option<&str>,
        equal_contents: &[&str],
    ) -> Vec<String> {
        let cmp = Comparator::new(&CompareOptions::default()).unwrap();
        let policies = ConflictPolicies::new(sync, false).unwrap();
        let planner = TwoWayPlanner::new(&cmp, &policies);
        let (s, d, b) = (listing(src), listing(dst), base(base_spec));
        let mut hashes = Hashes::new();
        for (n, (side, path)) in planner.hash_requests(&s, &d, &b).into_iter().enumerate() {
            let equal = equal_contents.iter().any(|p| path.to_string() == *p);
            let mut h = [0u8; 32];
            if !equal {
                h[0] = n as u8 + 1;
            }
            hashes.insert((side, path), h);
        }
        render(&planner.plan(&s, &d, &b, &hashes).actions)
    }

    fn plan(src: &str, dst: &str, base_spec: Option<&str>) -> Vec<String> {
        plan_with(&SyncOptions::default(), src, dst, base_spec, &[])
    }

    macro_rules! two_way_cases {
        ($($name:ident: $src:expr, $dst:expr, $base:expr => [$($want:expr),*];)*) => {$(
            #[test]
            fn $name() {
                let want: Vec<&str> = vec![$($want),*];
                assert_eq!(plan($src, $dst, $base), want);
            }
        )*};
    }

    two_way_cases! {
        unchanged_plans_nothing: "d a, f a/x 1 5", "d a, f a/x 1 5", Some("d a, f a/x 1 5") => [];
        new_on_source_is_copied_over: "d a, f a/x 1 5", "", Some("") => ["create-dir> a", "copy> a/x"];
        new_on_destination_is_copied_back: "", "d a, f a/x 1 5", Some("") => ["create-dir< a", "copy< a/x"];
        changed_on_source: "f x 2 9", "f x 1 5", Some("f x 1 5") => ["copy> x"];
        changed_on_destination: "f x 1 5", "f x 2 9", Some("f x 1 5") => ["copy< x"];
        same_size_and_time_but_older_time_is_a_change: "f x 1 4", "f x 1 5", Some("f x 1 5") => ["copy> x"];
        deleted_on_source_is_deleted_on_destination: "", "d a, f a/x 1 5", Some("d a, f a/x 1 5") => ["delete> a", "delete> a/x"];
        deleted_on_destination_is_deleted_on_source: "f x 1 5", "", Some("f x 1 5") => ["delete< x"];
        deleted_on_both_is_forgotten: "", "", Some("f x 1 5") => ["forget x"];
        excluded_now_is_forgotten_not_deleted: "f keep 1 5", "f keep 1 5", Some("f keep 1 5, f now-excluded 1 5") => ["forget now-excluded"];
        changed_on_both_keeps_both_newer_keeps_the_name: "f x 2 9", "f x 3 8", Some("f x 1 5") => ["conflict(keep-both source) x"];
        changed_on_both_destination_newer: "f x 2 7", "f x 3 8", Some("f x 1 5") => ["conflict(keep-both destination) x"];
        deleted_and_changed_the_change_wins: "", "f x 2 9", Some("f x 1 5") => ["copy< x"];
        changed_and_deleted_the_change_wins: "f x 2 9", "", Some("f x 1 5") => ["copy> x"];
        first_run_is_a_union: "f a 1 5, f same 1 5", "f b 1 5, f same 1 5", None => ["copy> a", "copy< b", "record> same"];
        first_run_never_deletes: "f a 1 5", "", None => ["copy> a"];
        first_run_differing_files_are_conflicts: "f x 1 5", "f x 2 5", None => ["conflict(keep-both source) x"];
        created_on_both_after_a_sync_is_a_conflict: "f x 1 5", "f x 2 6", Some("") => ["conflict(keep-both destination) x"];
        both_made_the_same_folder: "d a", "d a", Some("") => ["record> a"];
        file_became_folder_on_source: "d x, f x/y 1 5", "f x 1 5", Some("f x 1 5") => ["delete> x", "create-dir> x", "copy> x/y"];
        folder_became_file_on_source: "f x 1 9", "d x, f x/y 1 5", Some("d x, f x/y 1 5") => ["delete> x", "copy> x", "delete> x/y"];
        file_became_link_on_destination: "f x 3 5", "l x 3 9", Some("f x 3 5") => ["copy< x"];
        folder_deleted_on_source_with_a_new_file_on_destination_comes_back: "", "d a, f a/old 1 5, f a/new 1 6", Some("d a, f a/old 1 5") => ["create-dir< a", "copy< a/new", "copy< a/old"];
        folder_replaced_by_file_while_the_other_side_added_inside_keeps_both: "f a 1 9", "d a, f a/old 1 5, f a/new 1 6", Some("d a, f a/old 1 5") => ["conflict(keep-both destination) a", "copy< a/new", "copy< a/old"];
        folder_against_file_created_on_both_keeps_both: "d x, f x/in 1 5", "f x 1 5", Some("") => ["conflict(keep-both source) x", "copy> x/in"];
        special_files_are_left_alone: "s fifo", "", Some("") => [];
        renamed_on_source_is_renamed_on_destination: "d new, f new/b 5 100 #7", "f a 5 100 #9", Some("f a 5 100 #7") => ["create-dir> new", "rename> new/b from a"];
        renamed_and_edited_is_delete_and_copy: "f b 6 101 #7", "f a 5 100 #9", Some("f a 5 100 #7") => ["delete> a", "copy> b"];
        renamed_on_destination_is_renamed_on_source: "f a 5 100 #7", "f b 5 100 #7", Some("f a 5 100 #7") => ["rename< b from a"];
        unicode_forms_of_one_name_are_one_file: "f caf\u{e9} 3 5", "f cafe\u{301} 3 5", None => ["rename> caf\u{e9} from cafe\u{301}"];
        permission_change_only_updates_metadata: "f x 1 5 m600", "f x 1 5", Some("f x 1 5") => ["update-meta> x"];
    }

    #[test]
    fn changed_on_both_to_equal_contents_is_recorded() {
        let got = plan_with(
            &SyncOptions::default(),
            "f x 2 9",
            "f x 2 8",
            Some("f x 1 5"),
            &["x"],
        );
        assert_eq!(got, ["record> x"]);
        // The same change with different contents is a conflict.
        let got = plan_with(
            &SyncOptions::default(),
            "f x 2 9",
            "f x 2 8",
            Some("f x 1 5"),
            &[],
        );
        assert_eq!(got, ["conflict(keep-both source) x"]);
    }

    #[test]
    fn first_run_equal_sizes_with_other_times_compare_contents() {
        let got = plan_with(&SyncOptions::default(), "f x 2 9", "f x 2 1", None, &["x"]);
        assert_eq!(got, ["record> x"]);
    }

    #[test]
    fn unreadable_folder_is_neither_deleted_nor_restored() {
        let cmp = Comparator::new(&CompareOptions::default()).unwrap();
        let policies = ConflictPolicies::new(&SyncOptions::default(), false).unwrap();
        let mut src = listing("d a");
        src.mark_unreadable(RelPath::new("a").unwrap());
        let dst = listing("d a, f a/x 1 5");
        let b = base(Some("d a, f a/x 1 5"));
        let got = TwoWayPlanner::new(&cmp, &policies)
            .plan(&src, &dst, &b, &Hashes::new())
            .actions;
        assert_eq!(render(&got), Vec::<String>::new());
    }

    /// Issue 10 item 4b: at a first run too, nothing is written into a side's subtree its
    /// scan skipped (a link loop) or could not read.
    #[test]
    fn nothing_is_written_into_an_unread_subtree_at_a_first_run() {
        let cmp = Comparator::new(&CompareOptions::default()).unwrap();
        let policies = ConflictPolicies::new(&SyncOptions::default(), false).unwrap();
        let mut src = listing("d a, f a/f 1 5");
        src.mark_unreadable(RelPath::new("a/up").unwrap());
        let dst = listing("d a, f a/f 1 5, d a/up, f a/up/x 1 5, f b 1 5");
        let got = TwoWayPlanner::new(&cmp, &policies)
            .plan(&src, &dst, &base(None), &Hashes::new())
            .actions;
        assert_eq!(render(&got), ["record> a", "record> a/f", "copy< b"]);
    }

    #[test]
    fn rename_detection_can_be_turned_off() {
        let cmp = Comparator::new(&CompareOptions::default()).unwrap();
        let policies = ConflictPolicies::new(&SyncOptions::default(), false).unwrap();
        let planner = TwoWayPlanner::new(&cmp, &policies).detect_renames(false);
        let (s, d, b) = (
            listing("f b 5 100 #7"),
            listing("f a 5 100 #9"),
            base(Some("f a 5 100 #7")),
        );
        let got = render(&planner.plan(&s, &d, &b, &Hashes::new()).actions);
        assert_eq!(got, ["delete> a", "copy> b"]);
    }

    #[test]
    fn case_insensitive_side_pairs_names_that_differ_in_case() {
        let cmp = Comparator::new(&CompareOptions::default()).unwrap();
        let policies = ConflictPolicies::new(&SyncOptions::default(), false).unwrap();
        let planner = TwoWayPlanner::new(&cmp, &policies).case_insensitive(Side::Destination, true);
        let (s, d, b) = (
            listing("f readme.txt 3 5"),
            listing("f README.TXT 3 5"),
            base(None),
        );
        let got = render(&planner.plan(&s, &d, &b, &Hashes::new()).actions);
        assert_eq!(got, ["rename> readme.txt from README.TXT"]);
        // Different contents under one case-folded name: neither copy may overwrite the other.
        let d = listing("f README.TXT 4 5");
        let got = render(&planner.plan(&s, &d, &b, &Hashes::new()).actions);
        assert_eq!(got, ["conflict(skip) readme.txt"]);
    }

    #[test]
    fn every_policy_resolves_a_both_changed_conflict() {
        // Source: larger and older; destination: smaller and newer.
        let cases = [
            (ConflictPolicy::Newer, "conflict(destination wins) x"),
            (ConflictPolicy::Older, "conflict(source wins) x"),
            (ConflictPolicy::Larger, "conflict(source wins) x"),
            (ConflictPolicy::Smaller, "conflict(destination wins) x"),
            (ConflictPolicy::Source, "conflict(source wins) x"),
            (ConflictPolicy::Destination, "conflict(destination wins) x"),
            (
                ConflictPolicy::KeepBoth,
                "conflict(keep-both destination) x",
            ),
            (ConflictPolicy::Skip, "conflict(skip) x"),
            (ConflictPolicy::Prompt, "conflict(prompt) x"),
        ];
        for (policy, want) in cases {
            let sync = SyncOptions {
                conflict: policy,
                ..SyncOptions::default()
            };
            let got = plan_with(&sync, "f x 9 6", "f x 2 8", Some("f x 1 5"), &[]);
            assert_eq!(got, [want], "{policy:?}");
        }
    }

    #[test]
    fn a_deletion_wins_only_when_the_policy_names_its_side() {
        let with = |policy| SyncOptions {
            conflict: policy,
            ..SyncOptions::default()
        };
        let deleted_on_source =
            |policy| plan_with(&with(policy), "", "f x 2 9", Some("f x 1 5"), &[]);
        assert_eq!(
            deleted_on_source(ConflictPolicy::Source),
            ["conflict(source wins) x"]
        );
        assert_eq!(deleted_on_source(ConflictPolicy::Destination), ["copy< x"]);
        assert_eq!(deleted_on_source(ConflictPolicy::Newer), ["copy< x"]);
        assert_eq!(
            deleted_on_source(ConflictPolicy::Skip),
            ["conflict(skip) x"]
        );
        assert_eq!(
            deleted_on_source(ConflictPolicy::Prompt),
            ["conflict(prompt) x"]
        );
    }

    #[test]
    fn per_path_rules_pick_the_policy_first_match_wins() {
        let sync = SyncOptions {
            conflict: ConflictPolicy::KeepBoth,
            conflict_rules: vec![
                ConflictRule {
                    mask: "*.LOG".into(),
                    policy: ConflictPolicy::Newer,
                },
                ConflictRule {
                    mask: "docs/*.docx".into(),
                    policy: ConflictPolicy::Skip,
                },
                ConflictRule {
                    mask: "*.docx".into(),
                    policy: ConflictPolicy::Source,
                },
            ],
            ..SyncOptions::default()
        };
        let got = plan_with(
            &sync,
            "f a.log 9 6, d docs, f docs/r.docx 9 6, f r.docx 9 6, f z.txt 9 6",
            "f a.log 2 8, d docs, f docs/r.docx 2 8, f r.docx 2 8, f z.txt 2 8",
            Some("f a.log 1 5, d docs, f docs/r.docx 1 5, f r.docx 1 5, f z.txt 1 5"),
            &[],
        );
        assert_eq!(
            got,
            [
                "conflict(destination wins) a.log",
                "conflict(skip) docs/r.docx",
                "conflict(source wins) r.docx",
                "conflict(keep-both destination) z.txt"
            ]
        );
    }

    #[test]
    fn first_run_policy_applies_only_without_a_base() {
        let sync = SyncOptions {
            first_run: Some(ConflictPolicy::Source),
            ..SyncOptions::default()
        };
        assert_eq!(
            plan_with(&sync, "f x 1 5", "f x 2 6", None, &[]),
            ["conflict(source wins) x"]
        );
        assert_eq!(
            plan_with(&sync, "f x 2 9", "f x 3 8", Some("f x 1 5"), &[]),
            ["conflict(keep-both source) x"]
        );
    }

    /// The base of `spec` recording a content hash for every file ([`hash_of`] its path).
    fn hashed_base(spec: &str) -> Base {
        let b = base(Some(spec));
        let entries = b
            .entries()
            .iter()
            .map(|e| BaseEntry {
                hash: (e.kind != EntryKind::Dir).then(|| hash_of(&e.path)),
                ..e.clone()
            })
            .collect();
        Base::new(entries, true)
    }

    fn hash_of(path: &RelPath) -> [u8; 32] {
        *blake3::hash(path.as_bytes()).as_bytes()
    }

    /// Plans with `compare`'s criteria (and folders left empty removed when
    /// `remove_empty_dirs`). Every requested file hashes as the base's ([`hash_of`] its path)
    /// when its path is in `as_in_base`, otherwise as something new.
    fn plan_compared(
        compare: &CompareOptions,
        remove_empty_dirs: bool,
        (src, dst, b): (&Listing, &Listing, &Base),
        as_in_base: &[&str],
    ) -> PairPlan {
        let cmp = Comparator::new(compare).unwrap();
        let policies = ConflictPolicies::new(&SyncOptions::default(), false).unwrap();
        let planner = TwoWayPlanner::new(&cmp, &policies).remove_empty_dirs(remove_empty_dirs);
        let mut hashes = Hashes::new();
        for (side, path) in planner.hash_requests(src, dst, b) {
            let h = if as_in_base.iter().any(|p| path.to_string() == *p) {
                hash_of(&path)
            } else {
                [side as u8 + 1; 32]
            };
            hashes.insert((side, path), h);
        }
        planner.plan(src, dst, b, &hashes)
    }

    fn sizes_only() -> CompareOptions {
        CompareOptions {
            mtime: MtimeRule::Off,
            ..CompareOptions::default()
        }
    }

    fn checksums() -> CompareOptions {
        CompareOptions {
            mtime: MtimeRule::Off,
            size: false,
            blake3: true,
            ..CompareOptions::default()
        }
    }

    /// Issue 10, item 8: what changed since the base is decided by the profile's comparison.
    #[test]
    fn comparing_sizes_a_touch_is_no_edit_and_the_other_sides_edit_wins() {
        // The reproduction: the source touched (same size, later time), the destination
        // edited to another size.
        let (s, d, b) = (
            listing("f f.txt 12 900"),
            listing("f f.txt 5 900"),
            base(Some("f f.txt 12 100")),
        );
        let got = plan_compared(&sizes_only(), false, (&s, &d, &b), &[]);
        assert_eq!(render(&got.actions), ["copy< f.txt"]);
        // Times compared (the default): the touch is an edit, so both sides changed.
        let got = plan_compared(&CompareOptions::default(), false, (&s, &d, &b), &[]);
        assert_eq!(render(&got.actions), ["conflict(keep-both source) f.txt"]);
    }

    #[test]
    fn comparing_sizes_a_touch_alone_is_recorded_so_the_base_learns_the_time() {
        let (s, d, b) = (
            listing("f f.txt 12 900"),
            listing("f f.txt 12 100"),
            base(Some("f f.txt 12 100")),
        );
        let got = plan_compared(&sizes_only(), false, (&s, &d, &b), &[]);
        assert_eq!(render(&got.actions), ["record> f.txt"]);
        // A changed size is a change whatever the criteria.
        let s = listing("f f.txt 13 100");
        let got = plan_compared(&sizes_only(), false, (&s, &d, &b), &[]);
        assert_eq!(render(&got.actions), ["copy> f.txt"]);
    }

    #[test]
    fn an_ignored_hour_shift_is_no_edit() {
        let (s, d, b) = (
            listing("f f.txt 12 3700, f g.txt 3 3601"),
            listing("f f.txt 12 100, f g.txt 3 100"),
            base(Some("f f.txt 12 100, f g.txt 3 100")),
        );
        let shifted = CompareOptions {
            ignore_hour_shifts: vec![1],
            ..CompareOptions::default()
        };
        // f.txt moved by exactly an hour: recorded; g.txt by 3501 s, beyond the tolerance of
        // an hour: an edit.
        let got = plan_compared(&shifted, false, (&s, &d, &b), &[]);
        assert_eq!(render(&got.actions), ["record> f.txt", "copy> g.txt"]);
        // Times compared exactly without the option.
        let got = plan_compared(&CompareOptions::default(), false, (&s, &d, &b), &[]);
        assert_eq!(render(&got.actions), ["copy> f.txt", "copy> g.txt"]);
    }

    #[test]
    fn comparing_checksums_a_touched_file_is_compared_with_the_hash_the_base_recorded() {
        let b = hashed_base("f f.txt 12 100, f g.txt 3 100");
        let s = listing("f f.txt 12 900, f g.txt 3 900");
        let d = listing("f f.txt 5 900, f g.txt 3 100");
        // f.txt: touched on the source, edited on the destination; g.txt: touched only.
        let got = plan_compared(&checksums(), false, (&s, &d, &b), &["f.txt", "g.txt"]);
        assert_eq!(render(&got.actions), ["copy< f.txt", "record> g.txt"]);
        // The same time and size but other contents than the base: edited on both sides.
        let got = plan_compared(&checksums(), false, (&s, &d, &b), &[]);
        assert_eq!(
            render(&got.actions),
            ["conflict(keep-both source) f.txt", "copy> g.txt"]
        );
        // A base without hashes cannot tell: a new time is an edit, as before.
        let unhashed = base(Some("f f.txt 12 100, f g.txt 3 100"));
        let got = plan_compared(
            &checksums(),
            false,
            (&s, &d, &unhashed),
            &["f.txt", "g.txt"],
        );
        assert_eq!(
            render(&got.actions),
            ["conflict(keep-both source) f.txt", "copy> g.txt"]
        );
    }

    #[test]
    fn a_file_equal_to_the_base_by_size_and_time_is_not_hashed() {
        let cmp = Comparator::new(&checksums()).unwrap();
        let policies = ConflictPolicies::new(&SyncOptions::default(), false).unwrap();
        let planner = TwoWayPlanner::new(&cmp, &policies);
        let b = hashed_base("f a 1 5, f touched 1 5");
        let s = listing("f a 1 5, f touched 1 9");
        let got = planner.hash_requests(&s, &listing("f a 1 5, f touched 1 5"), &b);
        assert_eq!(got, [(Side::Source, RelPath::new("touched").unwrap())]);
    }

    /// Issue 10, item 10: the "every file changed" guard counts, per side, the base's files
    /// still there and how many changed by the profile's comparison.
    #[test]
    fn changed_files_are_counted_per_side_by_the_profiles_comparison() {
        let b = base(Some(
            "d dir, f dir/a 1 5, f b 1 5, f c 1 5, l link 4 5, f gone 1 5",
        ));
        let s = listing("d dir, f dir/a 1 9, f b 1 9, f c 1 9, l link 4 9, f new 1 9");
        let d = listing("d dir, f dir/a 1 5, f b 1 5, f c 2 5, l link 4 5, f gone 1 5");
        let got = plan_compared(&CompareOptions::default(), false, (&s, &d, &b), &[]);
        let counted = |files, changed| ChangedFiles { files, changed };
        assert_eq!(got.changes, [counted(4, 4), counted(5, 1)]);
        // Comparing sizes, the source's touches are no changes.
        let got = plan_compared(&sizes_only(), false, (&s, &d, &b), &[]);
        assert_eq!(got.changes, [counted(4, 0), counted(5, 1)]);
    }

    /// Issue 10, item 9: with empty folders not synchronized, a folder emptied on one side
    /// is left out of that side's listing: excluded, not deleted.
    #[test]
    fn a_folder_left_out_as_empty_is_excluded_not_deleted() {
        let mut s = listing("f g.txt 1 5");
        s.mark_left_out_empty(RelPath::new("sub").unwrap());
        let d = listing("f g.txt 1 5, d sub, f sub/f.txt 1 5");
        let b = base(Some("f g.txt 1 5, d sub, f sub/f.txt 1 5"));
        let got = plan_compared(&CompareOptions::default(), false, (&s, &d, &b), &[]);
        assert_eq!(render(&got.actions), ["delete> sub/f.txt"]);
        // Left out on both sides: nothing to do, and the base keeps it.
        let mut d = listing("f g.txt 1 5");
        d.mark_left_out_empty(RelPath::new("sub").unwrap());
        let got = plan_compared(&CompareOptions::default(), false, (&s, &d, &b), &[]);
        assert_eq!(render(&got.actions), ["forget sub/f.txt"]);
        // The other side made it a file: neither replaces the other; the conflict is reported.
        let d = listing("f g.txt 1 5, f sub 3 9");
        let got = plan_compared(&CompareOptions::default(), false, (&s, &d, &b), &[]);
        assert_eq!(
            render(&got.actions),
            ["conflict(skip) sub", "forget sub/f.txt"]
        );
    }

    /// Issue 10, item 10: folders a run leaves empty are removed on both sides.
    #[test]
    fn folders_the_plan_leaves_empty_are_removed_on_both_sides() {
        let both = "f keep 1 5, d p, d p/q, f p/q/f 1 5";
        let (s, d, b) = (
            listing("f keep 1 5, d p, d p/q"),
            listing(both),
            base(Some(both)),
        );
        let got = plan_compared(&CompareOptions::default(), true, (&s, &d, &b), &[]);
        assert_eq!(
            render(&got.actions),
            [
                "delete< p",
                "delete> p",
                "delete< p/q",
                "delete> p/q",
                "delete> p/q/f"
            ]
        );
        assert!(got
            .actions
            .iter()
            .filter(|a| a.entry == EntryKind::Dir)
            .all(|a| a.reason == Reason::Emptied));
        // Without the option, the emptied folders stay.
        let got = plan_compared(&CompareOptions::default(), false, (&s, &d, &b), &[]);
        assert_eq!(render(&got.actions), ["delete> p/q/f"]);
    }

    #[test]
    fn a_folder_keeps_when_anything_stays_or_arrives_below_it_or_nothing_left_it() {
        let opts = CompareOptions::default();
        let base_spec = "d p, f p/a 1 5, f p/b 1 5, d e";
        let b = base(Some(base_spec));
        let d = listing(base_spec);
        // p/b stays.
        let s = listing("d p, f p/b 1 5, d e");
        let got = plan_compared(&opts, true, (&s, &d, &b), &[]);
        assert_eq!(render(&got.actions), ["delete> p/a"]);
        // Something new arrives in p.
        let s = listing("d p, f p/new 1 9, d e");
        let got = plan_compared(&opts, true, (&s, &d, &b), &[]);
        assert_eq!(
            render(&got.actions),
            ["delete> p/a", "delete> p/b", "copy> p/new"]
        );
        // A folder that was empty before the run (e) is not the run's doing.
        let s = listing("d p, f p/a 1 5, f p/b 1 5, d e");
        let got = plan_compared(&opts, true, (&s, &d, &b), &[]);
        assert!(got.actions.is_empty(), "{:?}", render(&got.actions));
        // Below a folder the source could not read, nothing is known to be gone.
        let mut s = listing("d p, d e");
        s.mark_unreadable(RelPath::new("p").unwrap());
        let got = plan_compared(&opts, true, (&s, &d, &b), &[]);
        assert!(got.actions.is_empty(), "{:?}", render(&got.actions));
    }

    #[test]
    fn a_folder_a_rename_moves_everything_out_of_is_removed() {
        let (s, d, b) = (
            listing("d new, f new/b 5 100 #7, d old"),
            listing("d old, f old/a 5 100 #9"),
            base(Some("d old, f old/a 5 100 #7")),
        );
        let got = plan_compared(&CompareOptions::default(), true, (&s, &d, &b), &[]);
        assert_eq!(
            render(&got.actions),
            [
                "create-dir> new",
                "rename> new/b from old/a",
                "delete< old",
                "delete> old"
            ]
        );
    }
}
