//! Two-way synchronization on real trees: changes on either side reach the other, conflicts
//! never lose a version, and the guards stop runs that look like accidents.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ferrysync::{
    Action, ActionKind, ConflictPolicy, ConflictRule, Engine, ErrorKind, Operation, Profile,
    Prompt, Report, Resolution, RunOptions, Side, Stamp, StateDb,
};

use crate::tree::{self, snapshot, Pair};

/// A two-way profile over the pair with its state inside the test's directory.
fn sync_profile(p: &Pair) -> Profile {
    let mut prof = tree::profile(Operation::Synchronize, &p.src(), &p.dst());
    prof.sync.state = Some(p.dir.path().join("state.sqlite").display().to_string());
    prof
}

fn sync(prof: &Profile) -> Report {
    tree::run(prof)
}

fn read(path: PathBuf) -> String {
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Names in `dir` (one level).
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".ferrysync")
        .collect();
    v.sort();
    v
}

fn assert_equal_sides(p: &Pair) {
    let (s, d) = (snapshot(&p.src()), snapshot(&p.dst()));
    let strip = |snap: crate::tree::Snapshot| -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        snap.into_iter()
            .map(|(k, n)| match n {
                crate::tree::Node::File { data, .. } => (k, Some(data)),
                _ => (k, None),
            })
            .collect()
    };
    assert_eq!(strip(s), strip(d), "the two sides differ");
}

/// Issue 11, item 7: the state's internals (pair ids, the pair lock, the base writer,
/// intents) are not public; a program reads the pairs of a state database and each pair's
/// history through `StateDb::pairs` and `StateDb::runs`.
#[test]
fn a_pairs_history_is_read_through_the_public_api() {
    let p = Pair::new();
    tree::write(&p.src(), &[("a.txt", "a")]);
    let prof = sync_profile(&p);
    sync(&prof);
    tree::write(&p.dst(), &[("b.txt", "b")]);
    sync(&prof);

    let db = StateDb::open(p.dir.path().join("state.sqlite")).unwrap();
    let pairs = db.pairs().unwrap();
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    assert_eq!(pairs[0].key.folder, prof.folders[0].name);
    assert!(pairs[0].synced);
    assert_eq!(pairs[0].entries, 2);
    let runs = db.runs(&pairs[0].key).unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    for run in &runs {
        assert_eq!(run.outcome.as_deref(), Some("ok"), "{run:?}");
        assert!(
            run.ended_ns.is_some_and(|end| end >= run.started_ns),
            "{run:?}"
        );
        assert!(run.done >= 1 && run.failed == 0, "{run:?}");
    }
    assert_eq!(pairs[0].last_run_end_ns, runs[1].ended_ns);
    let mut unknown = pairs[0].key.clone();
    unknown.folder = "elsewhere".into();
    assert_eq!(db.runs(&unknown).unwrap_err().kind(), ErrorKind::NotFound);
}

#[test]
fn first_run_is_a_union_and_a_second_run_plans_nothing() {
    let p = Pair::new();
    tree::write(
        &p.src(),
        &[("a.txt", "from source"), ("both/same.txt", "same")],
    );
    tree::write(
        &p.dst(),
        &[("b.txt", "from destination"), ("both/same.txt", "same")],
    );
    let prof = sync_profile(&p);
    sync(&prof);
    assert_equal_sides(&p);
    assert_eq!(read(p.src().join("b.txt")), "from destination");
    assert_eq!(read(p.dst().join("a.txt")), "from source");
    let again = Engine::new().plan(&prof).unwrap();
    assert!(again.is_empty(), "second run plans: {}", again.to_json());
}

#[test]
fn additions_changes_and_deletions_on_either_side_reach_the_other() {
    let p = Pair::new();
    tree::write(
        &p.src(),
        &[
            ("keep.txt", "k"),
            ("edit-left.txt", "1"),
            ("edit-right.txt", "1"),
            ("del-left.txt", "x"),
            ("del-right.txt", "y"),
            ("dir/inner.txt", "i"),
        ],
    );
    let prof = sync_profile(&p);
    sync(&prof);
    // Left (source) edits.
    tree::write(
        &p.src(),
        &[("edit-left.txt", "left 2"), ("new-left.txt", "n")],
    );
    fs::remove_file(p.src().join("del-left.txt")).unwrap();
    // Right (destination) edits.
    tree::write(
        &p.dst(),
        &[("edit-right.txt", "right 2"), ("new-right/x.txt", "nr")],
    );
    fs::remove_file(p.dst().join("del-right.txt")).unwrap();
    fs::remove_dir_all(p.dst().join("dir")).unwrap();
    let plan = Engine::new().plan(&prof).unwrap();
    assert_eq!(plan.summary().conflicts, 0, "{}", plan.to_json());
    sync(&prof);
    assert_equal_sides(&p);
    assert_eq!(read(p.dst().join("edit-left.txt")), "left 2");
    assert_eq!(read(p.src().join("edit-right.txt")), "right 2");
    assert_eq!(read(p.src().join("new-right/x.txt")), "nr");
    for gone in ["del-left.txt", "del-right.txt", "dir"] {
        assert!(
            !p.src().join(gone).exists() && !p.dst().join(gone).exists(),
            "{gone} still there"
        );
    }
    assert!(Engine::new().plan(&prof).unwrap().is_empty());
}

#[test]
fn identical_edits_on_both_sides_are_recorded_not_conflicts() {
    let p = Pair::new();
    tree::write(&p.src(), &[("f.txt", "v1")]);
    let prof = sync_profile(&p);
    sync(&prof);
    tree::write(&p.src(), &[("f.txt", "v2 same on both")]);
    tree::write(&p.dst(), &[("f.txt", "v2 same on both")]);
    let plan = Engine::new().plan(&prof).unwrap();
    assert_eq!(plan.summary().conflicts, 0, "{}", plan.to_json());
    sync(&prof);
    assert!(Engine::new().plan(&prof).unwrap().is_empty());
}

/// Edits `f.txt` on both sides, the destination's one later.
fn conflicting_edit(p: &Pair, prof: &Profile) {
    tree::write(&p.src(), &[("f.txt", "v1")]);
    sync(prof);
    tree::write(&p.src(), &[("f.txt", "left edit")]);
    tree::set_mtime(&p.src().join("f.txt"), 1_700_000_000);
    tree::write(&p.dst(), &[("f.txt", "right edit, newer")]);
    tree::set_mtime(&p.dst().join("f.txt"), 1_700_000_100);
}

#[test]
fn keep_both_renames_the_older_version_and_both_end_up_on_both_sides() {
    let p = Pair::new();
    let prof = sync_profile(&p);
    conflicting_edit(&p, &prof);
    let plan = Engine::new().plan(&prof).unwrap();
    assert_eq!(plan.summary().conflicts, 1, "{}", plan.to_json());
    sync(&prof);
    assert_equal_sides(&p);
    assert_eq!(read(p.src().join("f.txt")), "right edit, newer");
    let all = names(&p.src());
    let copy = all
        .iter()
        .find(|n| n.starts_with("f (conflict ") && n.ends_with(".txt"))
        .unwrap_or_else(|| panic!("no conflict copy in {all:?}"));
    assert_eq!(read(p.dst().join(copy)), "left edit");
    assert!(Engine::new().plan(&prof).unwrap().is_empty());
}

#[test]
fn newer_wins_and_the_loser_goes_to_the_versions_folder() {
    let p = Pair::new();
    let mut prof = sync_profile(&p);
    prof.sync.conflict = ConflictPolicy::Newer;
    conflicting_edit(&p, &prof);
    sync(&prof);
    assert_eq!(read(p.src().join("f.txt")), "right edit, newer");
    assert_eq!(read(p.dst().join("f.txt")), "right edit, newer");
    let versions = p.src().join(".ferrysync/versions");
    let kept: Vec<String> = names(&versions);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(read(versions.join(&kept[0])), "left edit");
}

#[test]
fn skip_leaves_both_sides_and_reports_the_conflict() {
    let p = Pair::new();
    let mut prof = sync_profile(&p);
    prof.sync.conflict = ConflictPolicy::Skip;
    conflicting_edit(&p, &prof);
    let report = Engine::new().run(&prof, &RunOptions::default()).unwrap();
    assert_eq!(report.done.conflicts, 1);
    assert_eq!(read(p.src().join("f.txt")), "left edit");
    assert_eq!(read(p.dst().join("f.txt")), "right edit, newer");
}

#[test]
fn a_change_wins_over_a_deletion_on_the_other_side() {
    let p = Pair::new();
    // A second file keeps the source from looking like an unmounted drive.
    tree::write(&p.src(), &[("f.txt", "v1"), ("other.txt", "o")]);
    let prof = sync_profile(&p);
    sync(&prof);
    fs::remove_file(p.src().join("f.txt")).unwrap();
    tree::write(&p.dst(), &[("f.txt", "changed on the right")]);
    sync(&prof);
    assert_eq!(read(p.src().join("f.txt")), "changed on the right");
}

#[test]
fn a_rename_is_applied_as_a_rename_on_the_other_side() {
    let p = Pair::new();
    tree::write(&p.src(), &[("old/name.txt", "contents")]);
    let prof = sync_profile(&p);
    sync(&prof);
    let inode = fs::metadata(p.dst().join("old/name.txt")).unwrap().ino();
    fs::create_dir(p.src().join("new")).unwrap();
    fs::rename(
        p.src().join("old/name.txt"),
        p.src().join("new/renamed.txt"),
    )
    .unwrap();
    let plan = Engine::new().plan(&prof).unwrap();
    assert_eq!(plan.summary().renames, 1, "{}", plan.to_json());
    sync(&prof);
    assert_equal_sides(&p);
    let moved = fs::metadata(p.dst().join("new/renamed.txt")).unwrap();
    assert_eq!(
        moved.ino(),
        inode,
        "the destination copied instead of renaming"
    );
    assert!(Engine::new().plan(&prof).unwrap().is_empty());
}

#[test]
fn a_case_only_rename_neither_duplicates_nor_deletes() {
    let p = Pair::new();
    tree::write(&p.src(), &[("Readme.TXT", "r")]);
    let prof = sync_profile(&p);
    sync(&prof);
    fs::rename(p.src().join("Readme.TXT"), p.src().join("readme.txt")).unwrap();
    sync(&prof);
    assert_eq!(names(&p.dst()), vec!["readme.txt".to_string()]);
    assert_eq!(read(p.dst().join("readme.txt")), "r");
}

#[test]
fn a_file_that_becomes_excluded_is_neither_deleted_nor_copied() {
    let p = Pair::new();
    tree::write(&p.src(), &[("a.log", "log"), ("b.txt", "b")]);
    let mut prof = sync_profile(&p);
    sync(&prof);
    prof.filters.exclude_files = vec!["*.log".into()];
    tree::write(&p.src(), &[("a.log", "log changed, excluded now")]);
    sync(&prof);
    assert_eq!(read(p.src().join("a.log")), "log changed, excluded now");
    assert_eq!(read(p.dst().join("a.log")), "log");
    assert!(Engine::new().plan(&prof).unwrap().is_empty());
}

#[test]
fn a_file_replaced_by_a_folder_is_replaced_on_the_other_side() {
    let p = Pair::new();
    tree::write(&p.src(), &[("thing", "a file")]);
    let prof = sync_profile(&p);
    sync(&prof);
    fs::remove_file(p.src().join("thing")).unwrap();
    tree::write(&p.src(), &[("thing/inside.txt", "now a folder")]);
    sync(&prof);
    assert_equal_sides(&p);
    assert_eq!(read(p.dst().join("thing/inside.txt")), "now a folder");
}

#[test]
fn an_emptied_side_looks_like_an_unmounted_drive_and_stops_the_run() {
    let p = Pair::new();
    tree::write(&p.src(), &[("a", "1"), ("b", "2")]);
    let prof = sync_profile(&p);
    sync(&prof);
    fs::remove_dir_all(p.dst()).unwrap();
    fs::create_dir(p.dst()).unwrap();
    let err = Engine::new()
        .run(&prof, &RunOptions::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Guard, "{err}");
    assert!(err.to_string().contains("unmounted"), "{err}");
    assert!(p.src().join("a").exists() && p.src().join("b").exists());
}

#[test]
fn mass_deletion_on_either_side_stops_before_changing_anything() {
    let p = Pair::new();
    tree::write(&p.src(), &[("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]);
    let prof = sync_profile(&p);
    sync(&prof);
    for f in ["a", "b", "c"] {
        fs::remove_file(p.dst().join(f)).unwrap();
    }
    let before = snapshot(&p.src());
    let err = Engine::new()
        .run(&prof, &RunOptions::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Guard, "{err}");
    assert_eq!(snapshot(&p.src()), before);
    let mut forced = RunOptions::default();
    forced.force = true;
    Engine::new().run(&prof, &forced).unwrap();
    assert_equal_sides(&p);
}

#[test]
fn a_plan_made_before_another_run_changed_the_base_is_refused() {
    let p = Pair::new();
    tree::write(&p.src(), &[("a", "1"), ("b", "2")]);
    let prof = sync_profile(&p);
    sync(&prof);
    tree::write(&p.src(), &[("a", "changed")]);
    let engine = Engine::new();
    let stale = engine.plan(&prof).unwrap();
    sync(&prof);
    tree::write(&p.dst(), &[("a", "changed again on the destination")]);
    let err = engine
        .execute(&prof, &stale, &RunOptions::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy, "{err}");
    assert!(err.to_string().contains("plan again"), "{err}");
    assert_eq!(read(p.dst().join("a")), "changed again on the destination");
}

#[test]
fn the_report_lists_each_conflict_with_both_sides_and_its_outcome() {
    let p = Pair::new();
    let prof = sync_profile(&p);
    conflicting_edit(&p, &prof);
    let report = sync(&prof);
    assert_eq!(report.conflicts.len(), 1, "{:#?}", report.conflicts);
    let c = &report.conflicts[0];
    assert_eq!(c.path.to_string(), "f.txt");
    assert_eq!(c.kind, ferrysync::ConflictKind::BothChanged);
    assert_eq!(c.source.map(|s| s.size), Some("left edit".len() as u64));
    assert_eq!(
        c.destination.map(|s| s.mtime_ns),
        Some(1_700_000_100 * 1_000_000_000)
    );
    assert_eq!(
        c.resolution,
        ferrysync::Resolution::KeepBoth(ferrysync::Side::Destination)
    );
    let copy = c.conflict_copy.as_ref().expect("keep-both names the copy");
    assert_eq!(read(p.src().join(copy.to_string())), "left edit");
    assert!(c.resolved);
}

// ---------------------------------------------------------------------------------------------
// Every conflict policy, per-path rules, deletions against changes, type changes, folder
// renames, Unicode normalization, unreadable folders, resync, and files that change between
// the plan and the run.

/// Files that keep a side from looking emptied and keep deletions under the 50 % guard.
fn filler(root: &Path) {
    tree::write(
        root,
        &[
            ("filler/1.txt", "one"),
            ("filler/2.txt", "two"),
            ("filler/3.txt", "three"),
            ("filler/4.txt", "four"),
        ],
    );
}

/// Every file below `root`, `.ferrysync` included: relative path → contents.
fn all_files(root: &Path) -> Vec<(String, String)> {
    tree::snapshot_without(root, &[])
        .into_iter()
        .filter_map(|(path, node)| match node {
            tree::Node::File { data, .. } => Some((
                String::from_utf8_lossy(&path).into_owned(),
                String::from_utf8_lossy(&data).into_owned(),
            )),
            _ => None,
        })
        .collect()
}

/// The contents of the versions folder of one side.
fn versions_of(root: &Path) -> Vec<(String, String)> {
    all_files(root)
        .into_iter()
        .filter(|(path, _)| path.starts_with(".ferrysync/versions/"))
        .collect()
}

/// Conflict copies (`... (conflict ...`) on a side, outside `.ferrysync`.
fn conflict_copies(root: &Path) -> Vec<(String, String)> {
    all_files(root)
        .into_iter()
        .filter(|(path, _)| !path.starts_with(".ferrysync/") && path.contains(" (conflict "))
        .collect()
}

fn root_of(p: &Pair, side: Side) -> PathBuf {
    match side {
        Side::Source => p.src(),
        Side::Destination => p.dst(),
    }
}

fn assert_nothing_planned(prof: &Profile) {
    let plan = Engine::new().plan(prof).unwrap();
    assert!(plan.is_empty(), "the next run plans: {}", plan.to_json());
}

const OLDER_LARGER: &str = "left edit: older, and larger than the right one";
const NEWER_SMALLER: &str = "right edit, newer";

/// Syncs `path` ("v1") and the filler, then edits `path` on both sides: the source's edit is
/// older and larger, the destination's newer and smaller.
fn crossed_edits(p: &Pair, prof: &Profile, path: &str) {
    filler(&p.src());
    tree::write(&p.src(), &[(path, "v1")]);
    sync(prof);
    tree::write(&p.src(), &[(path, OLDER_LARGER)]);
    tree::set_mtime(&p.src().join(path), 1_700_000_000);
    tree::write(&p.dst(), &[(path, NEWER_SMALLER)]);
    tree::set_mtime(&p.dst().join(path), 1_700_000_100);
}

/// A conflict resolved by `policy`: the winner's version is on both sides, the loser's in
/// the versions folder of the loser's side, and nothing else is left to do.
fn winner_takes_it(policy: ConflictPolicy, winner: Side) {
    let p = Pair::new();
    let mut prof = sync_profile(&p);
    prof.sync.conflict = policy;
    crossed_edits(&p, &prof, "f.txt");
    let plan = Engine::new().plan(&prof).unwrap();
    let conflicts: Vec<_> = plan
        .actions()
        .filter(|a| a.kind == ActionKind::Conflict)
        .collect();
    assert_eq!(conflicts.len(), 1, "{}", plan.to_json());
    assert_eq!(conflicts[0].resolution, Some(Resolution::Wins(winner)));
    sync(&prof);
    let (won, lost) = match winner {
        Side::Source => (OLDER_LARGER, NEWER_SMALLER),
        Side::Destination => (NEWER_SMALLER, OLDER_LARGER),
    };
    assert_eq!(read(p.src().join("f.txt")), won);
    assert_eq!(read(p.dst().join("f.txt")), won);
    assert_equal_sides(&p);
    let kept = versions_of(&root_of(&p, winner.other()));
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].0.starts_with(".ferrysync/versions/f ("), "{kept:?}");
    assert_eq!(kept[0].1, lost);
    assert!(conflict_copies(&p.src()).is_empty() && conflict_copies(&p.dst()).is_empty());
    assert_nothing_planned(&prof);
}

macro_rules! winner_policies {
    ($($name:ident: $policy:expr => $winner:expr;)*) => {$(
        #[test]
        fn $name() {
            winner_takes_it($policy, $winner);
        }
    )*};
}

winner_policies! {
    policy_newer_keeps_the_later_edit: ConflictPolicy::Newer => Side::Destination;
    policy_older_keeps_the_earlier_edit: ConflictPolicy::Older => Side::Source;
    policy_larger_keeps_the_larger_file: ConflictPolicy::Larger => Side::Source;
    policy_smaller_keeps_the_smaller_file: ConflictPolicy::Smaller => Side::Destination;
    policy_source_keeps_the_source_edit: ConflictPolicy::Source => Side::Source;
    policy_destination_keeps_the_destination_edit: ConflictPolicy::Destination => Side::Destination;
}

#[test]
fn policy_keep_both_keeps_the_older_edit_as_a_conflict_copy_on_both_sides() {
    let p = Pair::new();
    let mut prof = sync_profile(&p);
    prof.sync.conflict = ConflictPolicy::KeepBoth;
    crossed_edits(&p, &prof, "docs/f.txt");
    sync(&prof);
    assert_equal_sides(&p);
    assert_eq!(read(p.src().join("docs/f.txt")), NEWER_SMALLER);
    for root in [p.src(), p.dst()] {
        let copies = conflict_copies(&root);
        assert_eq!(copies.len(), 1, "{copies:?}");
        assert!(
            copies[0].0.starts_with("docs/f (conflict ") && copies[0].0.ends_with(".txt"),
            "{copies:?}"
        );
        assert_eq!(copies[0].1, OLDER_LARGER);
    }
    assert_nothing_planned(&prof);
}

#[test]
fn policy_skip_leaves_both_edits_and_the_conflict_stays_for_the_next_run() {
    let p = Pair::new();
    let mut prof = sync_profile(&p);
    prof.sync.conflict = ConflictPolicy::Skip;
    crossed_edits(&p, &prof, "f.txt");
    let report = sync(&prof);
    assert_eq!(report.conflicts.len(), 1, "{:#?}", report.conflicts);
    assert_eq!(report.conflicts[0].resolution, Resolution::Skip);
    assert_eq!(read(p.src().join("f.txt")), OLDER_LARGER);
    assert_eq!(read(p.dst().join("f.txt")), NEWER_SMALLER);
    let again = Engine::new().plan(&prof).unwrap();
    assert_eq!(again.summary().conflicts, 1, "{}", again.to_json());
}

/// Answers every conflict question with `answer`, remembering what it was asked.
struct Answering {
    answer: Option<ConflictPolicy>,
    asked: Mutex<Vec<(String, Action)>>,
}

impl Prompt for Answering {
    fn resolve_conflict(&self, folder: &str, action: &Action) -> Option<ConflictPolicy> {
        self.asked
            .lock()
            .unwrap()
            .push((folder.to_string(), action.clone()));
        self.answer
    }
}

/// Runs `prof` with a prompt that answers `answer`; returns the report and the questions.
fn run_answering(
    prof: &Profile,
    answer: Option<ConflictPolicy>,
) -> (Report, Vec<(String, Action)>) {
    let prompt = Arc::new(Answering {
        answer,
        asked: Mutex::new(Vec::new()),
    });
    let mut opts = RunOptions::default();
    opts.prompt = Some(prompt.clone());
    let report = Engine::new().run(prof, &opts).expect("run");
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let asked = prompt.asked.lock().unwrap().clone();
    (report, asked)
}

#[test]
fn policy_prompt_asks_with_both_sides_and_carries_out_the_answer() {
    let p = Pair::new();
    let mut prof = sync_profile(&p);
    prof.sync.conflict = ConflictPolicy::Prompt;
    crossed_edits(&p, &prof, "f.txt");
    let plan = Engine::new().plan(&prof).unwrap();
    let conflict = plan
        .actions()
        .find(|a| a.kind == ActionKind::Conflict)
        .unwrap_or_else(|| panic!("{}", plan.to_json()));
    assert_eq!(conflict.resolution, Some(Resolution::Prompt));

    let (report, asked) = run_answering(&prof, Some(ConflictPolicy::Older));
    assert_eq!(asked.len(), 1, "asked once: {asked:?}");
    let (folder, action) = &asked[0];
    assert_eq!(folder, "main");
    assert_eq!(action.path.to_string(), "f.txt");
    assert_eq!(
        action.source,
        Some(Stamp {
            size: OLDER_LARGER.len() as u64,
            mtime_ns: 1_700_000_000 * 1_000_000_000
        })
    );
    assert_eq!(
        action.destination,
        Some(Stamp {
            size: NEWER_SMALLER.len() as u64,
            mtime_ns: 1_700_000_100 * 1_000_000_000
        })
    );
    assert_eq!(report.conflicts.len(), 1);
    assert_eq!(
        report.conflicts[0].resolution,
        Resolution::Wins(Side::Source)
    );
    assert_eq!(read(p.dst().join("f.txt")), OLDER_LARGER);
    let kept = versions_of(&p.dst());
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].1, NEWER_SMALLER);
    assert_equal_sides(&p);
    assert_nothing_planned(&prof);
}

#[test]
fn policy_prompt_without_an_answer_or_a_prompt_keeps_both() {
    for with_prompt in [true, false] {
        let p = Pair::new();
        let mut prof = sync_profile(&p);
        prof.sync.conflict = ConflictPolicy::Prompt;
        crossed_edits(&p, &prof, "f.txt");
        if with_prompt {
            let (_, asked) = run_answering(&prof, None);
            assert_eq!(asked.len(), 1);
        } else {
            sync(&prof);
        }
        assert_equal_sides(&p);
        assert_eq!(read(p.src().join("f.txt")), NEWER_SMALLER, "{with_prompt}");
        let copies = conflict_copies(&p.src());
        assert_eq!(copies.len(), 1, "{with_prompt}: {copies:?}");
        assert_eq!(copies[0].1, OLDER_LARGER);
        assert_nothing_planned(&prof);
    }
}

#[test]
fn per_path_conflict_rules_pick_the_policy_by_mask_first_match_wins() {
    let p = Pair::new();
    let mut prof = sync_profile(&p);
    prof.sync.conflict = ConflictPolicy::Source;
    prof.sync.conflict_rules = vec![
        ConflictRule {
            mask: "*.log".into(),
            policy: ConflictPolicy::Newer,
        },
        ConflictRule {
            mask: "*.docx".into(),
            policy: ConflictPolicy::KeepBoth,
        },
        ConflictRule {
            mask: "*.log".into(),
            policy: ConflictPolicy::Skip,
        },
    ];
    filler(&p.src());
    let paths = ["logs/run.log", "report.docx", "notes.txt"];
    for path in paths {
        tree::write(&p.src(), &[(path, "v1")]);
    }
    sync(&prof);
    for path in paths {
        tree::write(&p.src(), &[(path, OLDER_LARGER)]);
        tree::set_mtime(&p.src().join(path), 1_700_000_000);
        tree::write(&p.dst(), &[(path, NEWER_SMALLER)]);
        tree::set_mtime(&p.dst().join(path), 1_700_000_100);
    }
    let plan = Engine::new().plan(&prof).unwrap();
    let resolution = |path: &str| {
        plan.actions()
            .find(|a| a.kind == ActionKind::Conflict && a.path.to_string() == path)
            .unwrap_or_else(|| panic!("no conflict at {path}: {}", plan.to_json()))
            .resolution
    };
    assert_eq!(
        resolution("logs/run.log"),
        Some(Resolution::Wins(Side::Destination))
    );
    assert_eq!(
        resolution("report.docx"),
        Some(Resolution::KeepBoth(Side::Destination))
    );
    assert_eq!(
        resolution("notes.txt"),
        Some(Resolution::Wins(Side::Source))
    );
    sync(&prof);
    assert_equal_sides(&p);
    // *.log: newer wins, the source's edit is a version on the source.
    assert_eq!(read(p.src().join("logs/run.log")), NEWER_SMALLER);
    // *.docx: keep both.
    assert_eq!(read(p.src().join("report.docx")), NEWER_SMALLER);
    let copies = conflict_copies(&p.src());
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert!(copies[0].0.starts_with("report (conflict ") && copies[0].0.ends_with(".docx"));
    assert_eq!(copies[0].1, OLDER_LARGER);
    // The rest: the profile's policy, source wins.
    assert_eq!(read(p.dst().join("notes.txt")), OLDER_LARGER);
    let on_src: Vec<String> = versions_of(&p.src()).into_iter().map(|v| v.1).collect();
    assert_eq!(on_src, [OLDER_LARGER], "the log's loser");
    let on_dst: Vec<String> = versions_of(&p.dst()).into_iter().map(|v| v.1).collect();
    assert_eq!(on_dst, [NEWER_SMALLER], "the notes' loser");
    assert_nothing_planned(&prof);
}

/// What a deletion on one side against a change on the other should come to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The change wins: the file is back on the deleting side.
    Restored,
    /// The deletion wins: the file is gone from both sides, the change kept as a version.
    Deleted,
}

fn deletion_against_change(deleting: Side, policy: Option<ConflictPolicy>, outcome: Outcome) {
    let p = Pair::new();
    let mut prof = sync_profile(&p);
    if let Some(policy) = policy {
        prof.sync.conflict = policy;
    }
    filler(&p.src());
    tree::write(&p.src(), &[("d/f.txt", "v1")]);
    sync(&prof);
    let changing = deleting.other();
    fs::remove_file(root_of(&p, deleting).join("d/f.txt")).unwrap();
    tree::write(&root_of(&p, changing), &[("d/f.txt", "the change")]);
    sync(&prof);
    assert_equal_sides(&p);
    match outcome {
        Outcome::Restored => {
            assert_eq!(read(root_of(&p, deleting).join("d/f.txt")), "the change");
        }
        Outcome::Deleted => {
            assert!(!p.src().join("d/f.txt").exists() && !p.dst().join("d/f.txt").exists());
            let kept: Vec<String> = versions_of(&root_of(&p, changing))
                .into_iter()
                .map(|v| v.1)
                .collect();
            assert_eq!(
                kept,
                ["the change"],
                "the losing change is kept as a version"
            );
        }
    }
    assert_nothing_planned(&prof);
}

macro_rules! deletions_against_changes {
    ($($name:ident: $deleting:expr, $policy:expr => $outcome:expr;)*) => {$(
        #[test]
        fn $name() {
            deletion_against_change($deleting, $policy, $outcome);
        }
    )*};
}

deletions_against_changes! {
    a_change_on_the_destination_wins_over_a_deletion_on_the_source:
        Side::Source, None => Outcome::Restored;
    a_change_on_the_source_wins_over_a_deletion_on_the_destination:
        Side::Destination, None => Outcome::Restored;
    policy_source_lets_a_deletion_on_the_source_win:
        Side::Source, Some(ConflictPolicy::Source) => Outcome::Deleted;
    policy_destination_lets_a_deletion_on_the_destination_win:
        Side::Destination, Some(ConflictPolicy::Destination) => Outcome::Deleted;
    policy_destination_keeps_its_change_over_a_deletion_on_the_source:
        Side::Source, Some(ConflictPolicy::Destination) => Outcome::Restored;
    policy_source_keeps_its_change_over_a_deletion_on_the_destination:
        Side::Destination, Some(ConflictPolicy::Source) => Outcome::Restored;
}

/// The kinds an entry can change between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Folder,
    Link,
}

/// Makes `thing` under `root` an entry of `kind`.
fn make(root: &Path, kind: Kind, tag: &str) {
    let path = root.join("thing");
    match kind {
        Kind::File => tree::write(root, &[("thing", tag)]),
        Kind::Folder => tree::write(root, &[("thing/inside.txt", tag)]),
        Kind::Link => std::os::unix::fs::symlink(format!("filler/{tag}"), &path).unwrap(),
    }
}

fn remove(root: &Path) {
    let path = root.join("thing");
    if fs::symlink_metadata(&path).unwrap().is_dir() {
        fs::remove_dir_all(&path).unwrap();
    } else {
        fs::remove_file(&path).unwrap();
    }
}

fn kind_at(path: &Path) -> Kind {
    let md = fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if md.file_type().is_symlink() {
        Kind::Link
    } else if md.is_dir() {
        Kind::Folder
    } else {
        Kind::File
    }
}

/// `thing` starts as `from` on both sides; one side makes it a `to`; after a run both sides
/// hold the `to`, and nothing is left to do.
fn kind_change(side: Side, from: Kind, to: Kind) {
    let p = Pair::new();
    let mut prof = sync_profile(&p);
    prof.copy.symlinks = ferrysync::SymlinkMode::Copy;
    filler(&p.src());
    make(&p.src(), from, "1.txt");
    sync(&prof);
    assert_eq!(kind_at(&p.dst().join("thing")), from);
    let root = root_of(&p, side);
    remove(&root);
    make(&root, to, "2.txt");
    sync(&prof);
    for root in [p.src(), p.dst()] {
        assert_eq!(kind_at(&root.join("thing")), to, "{}", root.display());
    }
    assert_equal_sides(&p);
    if to == Kind::Link {
        assert_eq!(
            fs::read_link(root_of(&p, side.other()).join("thing")).unwrap(),
            PathBuf::from("filler/2.txt")
        );
    }
    assert_nothing_planned(&prof);
}

macro_rules! kind_changes {
    ($($name:ident: $side:expr, $from:expr => $to:expr;)*) => {$(
        #[test]
        fn $name() {
            kind_change($side, $from, $to);
        }
    )*};
}

kind_changes! {
    a_file_becomes_a_folder_on_the_source: Side::Source, Kind::File => Kind::Folder;
    a_file_becomes_a_folder_on_the_destination: Side::Destination, Kind::File => Kind::Folder;
    a_folder_becomes_a_file_on_the_source: Side::Source, Kind::Folder => Kind::File;
    a_folder_becomes_a_file_on_the_destination: Side::Destination, Kind::Folder => Kind::File;
    a_file_becomes_a_link_on_the_source: Side::Source, Kind::File => Kind::Link;
    a_file_becomes_a_link_on_the_destination: Side::Destination, Kind::File => Kind::Link;
}

/// A folder renamed on one side is renamed on the other: no file is copied, and the files
/// there are the same files (inodes) as before.
fn folder_rename(side: Side) {
    let p = Pair::new();
    let prof = sync_profile(&p);
    filler(&p.src());
    tree::write(
        &p.src(),
        &[
            ("old/a.txt", "alpha"),
            ("old/sub/b.txt", "bravo"),
            ("old/sub/deeper/c.txt", "charlie"),
        ],
    );
    sync(&prof);
    let other = root_of(&p, side.other());
    let inodes: Vec<u64> = ["a.txt", "sub/b.txt", "sub/deeper/c.txt"]
        .iter()
        .map(|f| fs::metadata(other.join("old").join(f)).unwrap().ino())
        .collect();
    let root = root_of(&p, side);
    fs::rename(root.join("old"), root.join("renamed")).unwrap();
    let plan = Engine::new().plan(&prof).unwrap();
    let s = plan.summary();
    assert_eq!(
        (s.new_files, s.modified_files, s.bytes_to_copy),
        (0, 0, 0),
        "nothing is copied: {}",
        plan.to_json()
    );
    sync(&prof);
    assert_equal_sides(&p);
    assert!(!other.join("old").exists());
    let after: Vec<u64> = ["a.txt", "sub/b.txt", "sub/deeper/c.txt"]
        .iter()
        .map(|f| fs::metadata(other.join("renamed").join(f)).unwrap().ino())
        .collect();
    assert_eq!(after, inodes, "the other side copied instead of renaming");
    assert_nothing_planned(&prof);
}

#[test]
fn a_folder_renamed_on_the_source_is_renamed_on_the_destination() {
    folder_rename(Side::Source);
}

#[test]
fn a_folder_renamed_on_the_destination_is_renamed_on_the_source() {
    folder_rename(Side::Destination);
}

#[test]
fn nfc_and_nfd_names_of_one_file_at_a_first_run_make_no_duplicate() {
    let nfc = "caf\u{e9}.txt";
    let nfd = "cafe\u{301}.txt";
    let p = Pair::new();
    let prof = sync_profile(&p);
    filler(&p.src());
    filler(&p.dst());
    tree::write(&p.src(), &[(nfc, "the same café")]);
    tree::write(&p.dst(), &[(nfd, "the same café")]);
    sync(&prof);
    // One name per side, in either form (a side may keep its own or take the other's).
    let cafe = |root: &Path| -> String {
        let all: Vec<String> = names(root)
            .into_iter()
            .filter(|n| n.starts_with("caf"))
            .collect();
        assert_eq!(all.len(), 1, "a duplicate in {}: {all:?}", root.display());
        assert!(all[0] == nfc || all[0] == nfd, "{all:?}");
        all[0].clone()
    };
    let (on_src, on_dst) = (cafe(&p.src()), cafe(&p.dst()));
    assert_eq!(read(p.dst().join(&on_dst)), "the same café");
    assert_nothing_planned(&prof);
    // The two names stay one file: an edit reaches the other side's name.
    tree::write(&p.src(), &[(on_src.as_str(), "edited")]);
    sync(&prof);
    assert_eq!(cafe(&p.dst()), on_dst);
    assert_eq!(read(p.dst().join(&on_dst)), "edited");
    assert_nothing_planned(&prof);
}

#[test]
fn an_unreadable_folder_on_one_side_is_not_deleted_on_the_other() {
    let p = Pair::new();
    let prof = sync_profile(&p);
    filler(&p.src());
    tree::write(
        &p.src(),
        &[("locked/secret.txt", "s"), ("locked/more.txt", "m")],
    );
    sync(&prof);
    let locked = p.src().join("locked");
    tree::set_mode(&locked, 0o000);
    let readable = fs::read_dir(&locked).is_ok();
    let report = Engine::new().run(&prof, &RunOptions::default());
    tree::set_mode(&locked, 0o755);
    let report = report.expect("run");
    assert!(
        p.dst().join("locked/secret.txt").exists(),
        "deleted on the destination"
    );
    assert!(
        p.dst().join("locked/more.txt").exists(),
        "deleted on the destination"
    );
    if readable {
        eprintln!("note: running as root, a mode 000 folder is still readable; the scan warning is not checked");
        return;
    }
    assert!(
        !report.warnings.is_empty() || !report.errors.is_empty(),
        "the unreadable folder is reported"
    );
    assert_nothing_planned(&prof);
}

#[test]
fn resync_is_a_union_that_deletes_nothing() {
    let p = Pair::new();
    let mut prof = sync_profile(&p);
    prof.sync.first_run = Some(ConflictPolicy::Newer);
    filler(&p.src());
    tree::write(
        &p.src(),
        &[
            ("a.txt", "a"),
            ("b.txt", "b"),
            ("c.txt", "c"),
            ("same.txt", "s"),
        ],
    );
    sync(&prof);
    fs::remove_file(p.src().join("a.txt")).unwrap();
    fs::remove_file(p.dst().join("b.txt")).unwrap();
    tree::write(&p.dst(), &[("c.txt", "c changed on the destination")]);
    tree::set_mtime(&p.dst().join("c.txt"), 1_900_000_000);
    let mut opts = RunOptions::default();
    opts.resync = true;
    let plan = Engine::new().plan_with(&prof, &opts).unwrap();
    assert!(
        !plan.actions().any(|a| a.kind == ActionKind::Delete),
        "a resync deletes nothing: {}",
        plan.to_json()
    );
    let report = Engine::new().run(&prof, &opts).unwrap();
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_equal_sides(&p);
    assert_eq!(read(p.src().join("a.txt")), "a");
    assert_eq!(read(p.dst().join("b.txt")), "b");
    // c.txt differs: the first-run policy (newer) decides; the loser is kept.
    assert_eq!(read(p.src().join("c.txt")), "c changed on the destination");
    let kept: Vec<String> = versions_of(&p.src()).into_iter().map(|v| v.1).collect();
    assert_eq!(kept, ["c"]);
    assert_nothing_planned(&prof);
    // With the base back, a deletion is a deletion again.
    fs::remove_file(p.src().join("a.txt")).unwrap();
    sync(&prof);
    assert!(!p.dst().join("a.txt").exists());
}

/// A long file whose contents say which version it is on every line, so a mix of two
/// versions is visible.
fn long(tag: &str, lines: usize) -> String {
    (0..lines).map(|i| format!("{tag} line {i}\n")).collect()
}

#[test]
fn a_source_file_changed_between_plan_and_run_is_left_for_the_next_run() {
    let p = Pair::new();
    let prof = sync_profile(&p);
    filler(&p.src());
    tree::write(&p.src(), &[("big.txt", &long("v1", 50_000))]);
    sync(&prof);
    tree::write(&p.src(), &[("big.txt", &long("v2", 50_000))]);
    let engine = Engine::new();
    let plan = engine.plan(&prof).unwrap();
    assert_eq!(plan.summary().modified_files, 1, "{}", plan.to_json());
    // Changed again after the plan, to another size.
    tree::write(&p.src(), &[("big.txt", &long("v3", 60_000))]);
    let report = engine
        .execute(&prof, &plan, &RunOptions::default())
        .unwrap();
    let now = read(p.dst().join("big.txt"));
    assert!(
        now == long("v1", 50_000) || now == long("v3", 60_000),
        "the destination holds a torn or stale copy ({} bytes)",
        now.len()
    );
    assert_eq!(
        now,
        long("v1", 50_000),
        "left for the next run: {:#?}",
        report.warnings
    );
    sync(&prof);
    assert_eq!(read(p.dst().join("big.txt")), long("v3", 60_000));
    assert!(conflict_copies(&p.src()).is_empty() && conflict_copies(&p.dst()).is_empty());
    assert_nothing_planned(&prof);
}

#[test]
fn a_destination_edit_made_between_plan_and_run_is_never_overwritten() {
    let p = Pair::new();
    let prof = sync_profile(&p);
    filler(&p.src());
    tree::write(&p.src(), &[("f.txt", "v1"), ("g.txt", "v1")]);
    sync(&prof);
    // The plan copies f.txt to the destination and deletes g.txt there...
    tree::write(&p.src(), &[("f.txt", "source edit")]);
    fs::remove_file(p.src().join("g.txt")).unwrap();
    let engine = Engine::new();
    let plan = engine.plan(&prof).unwrap();
    // ...but both change on the destination before the run.
    tree::write(&p.dst(), &[("f.txt", "late destination edit")]);
    tree::write(&p.dst(), &[("g.txt", "late destination edit of g")]);
    engine
        .execute(&prof, &plan, &RunOptions::default())
        .unwrap();
    let everything: Vec<String> = all_files(&p.dst()).into_iter().map(|f| f.1).collect();
    for late in ["late destination edit", "late destination edit of g"] {
        assert!(
            everything.iter().any(|c| c == late),
            "{late:?} lost: {everything:?}"
        );
    }
    // The next run sees a conflict (f) and a change against a deletion (g): nothing is lost.
    sync(&prof);
    assert_equal_sides(&p);
    let everywhere: Vec<String> = all_files(&p.src())
        .into_iter()
        .chain(all_files(&p.dst()))
        .map(|f| f.1)
        .collect();
    for version in [
        "source edit",
        "late destination edit",
        "late destination edit of g",
    ] {
        assert!(
            everywhere.iter().any(|c| c == version),
            "{version:?} lost: {everywhere:?}"
        );
    }
    assert_nothing_planned(&prof);
}

/// Found by the model test (`two_way_model`): the rename of folder `a` and a new file under
/// the name `a/x.txt` ran in the wrong order, so the copy met the old folder ("Is a
/// directory").
#[test]
fn a_folder_renamed_away_and_a_new_file_under_its_old_name() {
    let p = Pair::new();
    let prof = sync_profile(&p);
    filler(&p.src());
    tree::write(&p.src(), &[("a/a", "1"), ("a/x.txt/a", "2"), ("b/a", "3")]);
    sync(&prof);
    fs::rename(p.src().join("a"), p.src().join("b/b")).unwrap();
    tree::write(&p.src(), &[("a/x.txt", "a new file where a folder was")]);
    sync(&prof);
    assert_equal_sides(&p);
    assert_eq!(read(p.dst().join("b/b/x.txt/a")), "2");
    assert_eq!(
        read(p.dst().join("a/x.txt")),
        "a new file where a folder was"
    );
    assert_nothing_planned(&prof);
}

// ---------------------------------------------------------------------------------------------
// Issue 10, items 8-10: the profile's comparison decides what changed since the last sync;
// folders left out as empty are excluded, not deleted; the conflict loser kept beside the
// winner; folders a run leaves empty removed; the "every file changed" guard.

/// The comparison criteria of `ferry sync --compare RULE` for one rule.
fn compared_by(rule: &str) -> ferrysync::CompareOptions {
    let mut c = ferrysync::CompareOptions::default();
    c.mtime = ferrysync::MtimeRule::Off;
    c.size = false;
    match rule {
        "size" => c.size = true,
        "checksum" => c.blake3 = true,
        "md5" => c.md5 = true,
        "content" => c.content = true,
        other => panic!("rule {other}"),
    }
    c
}

/// Item 8's reproduction: "hello world" synced, then touched on the source while the
/// destination is edited (another size) with the same new time.
fn touched_here_edited_there(p: &Pair, prof: &Profile) {
    tree::write(&p.src(), &[("f.txt", "hello world\n")]);
    tree::set_mtime(&p.src().join("f.txt"), 978_393_600); // 2001-01-02
    sync(prof);
    tree::set_mtime(&p.src().join("f.txt"), 1_185_148_800); // 2007-07-23
    tree::write(&p.dst(), &[("f.txt", "edit\n")]);
    tree::set_mtime(&p.dst().join("f.txt"), 1_185_148_800);
}

#[test]
fn item8_a_touch_is_no_edit_when_the_profile_compares_sizes_or_contents() {
    for rule in ["size", "checksum", "md5", "content"] {
        let p = Pair::new();
        let mut prof = sync_profile(&p);
        prof.comparison = compared_by(rule);
        touched_here_edited_there(&p, &prof);
        let report = sync(&prof);
        assert_eq!(report.done.conflicts, 0, "{rule}: {:#?}", report.conflicts);
        assert_eq!(read(p.src().join("f.txt")), "edit\n", "{rule}");
        assert_eq!(names(&p.src()), ["f.txt"], "{rule}: no conflict copy");
        assert_equal_sides(&p);
        assert_nothing_planned(&prof);
    }
}

#[test]
fn item8_times_compared_a_touch_stays_an_edit() {
    let p = Pair::new();
    let prof = sync_profile(&p);
    touched_here_edited_there(&p, &prof);
    assert_eq!(sync(&prof).done.conflicts, 1);
}

#[test]
fn item8_a_touch_alone_changes_nothing_and_is_not_examined_again() {
    for rule in ["size", "checksum"] {
        let p = Pair::new();
        let mut prof = sync_profile(&p);
        prof.comparison = compared_by(rule);
        tree::write(&p.src(), &[("f.txt", "hello world\n"), ("g.txt", "g")]);
        sync(&prof);
        let dst_before = snapshot(&p.dst());
        tree::set_mtime(&p.src().join("f.txt"), 1_185_148_800);
        let report = sync(&prof);
        assert_eq!(report.done.records, 1, "{rule}: the base learns the time");
        assert_eq!(report.bytes_written, 0, "{rule}");
        assert_eq!(snapshot(&p.dst()), dst_before, "{rule}: nothing copied");
        assert_nothing_planned(&prof);
    }
}

#[test]
fn item8_comparing_contents_a_same_size_edit_under_a_new_time_is_an_edit() {
    let p = Pair::new();
    let mut prof = sync_profile(&p);
    prof.comparison = compared_by("checksum");
    tree::write(&p.src(), &[("f.txt", "hello world\n"), ("g.txt", "g")]);
    sync(&prof);
    tree::write(&p.src(), &[("f.txt", "HELLO WORLD\n")]);
    tree::set_mtime(&p.src().join("f.txt"), 1_185_148_800);
    sync(&prof);
    assert_eq!(read(p.dst().join("f.txt")), "HELLO WORLD\n");
    assert_nothing_planned(&prof);
}

/// Item 9's reproduction: `sub/f.txt` and three files synced without empty folders, then
/// `sub/f.txt` deleted on `emptied`.
fn emptied_sub(p: &Pair, prof: &Profile, emptied: Side) {
    tree::write(
        &p.src(),
        &[
            ("sub/f.txt", "1"),
            ("g.txt", "2"),
            ("h.txt", "3"),
            ("i.txt", "4"),
        ],
    );
    sync(prof);
    fs::remove_file(root_of(p, emptied).join("sub/f.txt")).unwrap();
}

#[test]
fn item9_a_folder_emptied_on_one_side_is_not_deleted_on_the_other() {
    for emptied in [Side::Source, Side::Destination] {
        let p = Pair::new();
        let mut prof = sync_profile(&p);
        prof.filters.include_empty_folders = false;
        emptied_sub(&p, &prof, emptied);
        let report = sync(&prof);
        assert_eq!(report.done.deletions, 1, "{emptied:?}: only sub/f.txt");
        for side in [Side::Source, Side::Destination] {
            let sub = root_of(&p, side).join("sub");
            assert!(sub.is_dir(), "{emptied:?}: {} is kept", sub.display());
            assert!(!sub.join("f.txt").exists());
        }
        assert_nothing_planned(&prof);
    }
}

#[test]
fn item9_an_emptied_folder_does_not_count_against_max_delete() {
    let p = Pair::new();
    let mut prof = sync_profile(&p);
    prof.filters.include_empty_folders = false;
    prof.guards.max_delete = Some(ferrysync::DeleteLimit::Count(1));
    emptied_sub(&p, &prof, Side::Source);
    Engine::new()
        .run(&prof, &RunOptions::default())
        .expect("one deletion is within the limit");
    assert!(p.dst().join("sub").is_dir());
}

/// Item 10: `conflict-loser: rename` keeps the loser renamed beside the winner, on both sides.
fn loser_renamed(policy: ConflictPolicy, winner: Side) {
    let p = Pair::new();
    let mut prof = sync_profile(&p);
    prof.sync.conflict = policy;
    prof.sync.conflict_loser = ferrysync::ConflictLoser::Rename;
    crossed_edits(&p, &prof, "docs/f.txt");
    let report = sync(&prof);
    let (won, lost) = match winner {
        Side::Source => (OLDER_LARGER, NEWER_SMALLER),
        Side::Destination => (NEWER_SMALLER, OLDER_LARGER),
    };
    assert_equal_sides(&p);
    assert_eq!(read(p.src().join("docs/f.txt")), won);
    let copies = conflict_copies(&p.src());
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert!(copies[0].0.starts_with("docs/f (conflict "), "{copies:?}");
    assert_eq!(copies[0].1, lost);
    assert!(versions_of(&p.src()).is_empty() && versions_of(&p.dst()).is_empty());
    let c = &report.conflicts[0];
    assert_eq!(c.resolution, Resolution::Wins(winner));
    assert_eq!(
        c.conflict_copy.as_ref().map(|p| p.to_string()),
        Some(copies[0].0.clone())
    );
    assert!(c.resolved);
    assert_nothing_planned(&prof);
}

#[test]
fn item10_conflict_loser_rename_keeps_the_loser_beside_the_winner() {
    for (policy, winner) in [
        (ConflictPolicy::Newer, Side::Destination),
        (ConflictPolicy::Older, Side::Source),
        (ConflictPolicy::Larger, Side::Source),
        (ConflictPolicy::Smaller, Side::Destination),
        (ConflictPolicy::Source, Side::Source),
        (ConflictPolicy::Destination, Side::Destination),
    ] {
        loser_renamed(policy, winner);
    }
}

#[test]
fn item10_conflict_loser_rename_keeps_an_edit_a_deletion_wins_over() {
    let p = Pair::new();
    let mut prof = sync_profile(&p);
    prof.sync.conflict = ConflictPolicy::Source;
    prof.sync.conflict_loser = ferrysync::ConflictLoser::Rename;
    filler(&p.src());
    tree::write(&p.src(), &[("f.txt", "v1")]);
    sync(&prof);
    fs::remove_file(p.src().join("f.txt")).unwrap();
    tree::write(&p.dst(), &[("f.txt", "edited on the destination")]);
    sync(&prof);
    assert_equal_sides(&p);
    assert!(!p.src().join("f.txt").exists());
    let copies = conflict_copies(&p.dst());
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert_eq!(copies[0].1, "edited on the destination");
    assert_nothing_planned(&prof);
}

#[test]
fn item10_remove_empty_dirs_removes_the_folders_a_run_empties_on_both_sides() {
    let p = Pair::new();
    let mut prof = sync_profile(&p);
    prof.sync.remove_empty_dirs = true;
    filler(&p.src());
    tree::write(
        &p.src(),
        &[
            ("a/b/f.txt", "1"),
            ("keep/k.txt", "k"),
            ("keep/gone.txt", "g"),
        ],
    );
    fs::create_dir_all(p.src().join("was-empty")).unwrap();
    sync(&prof);
    fs::remove_file(p.src().join("a/b/f.txt")).unwrap();
    fs::remove_file(p.dst().join("keep/gone.txt")).unwrap();
    let report = sync(&prof);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    for root in [p.src(), p.dst()] {
        assert!(
            !root.join("a").exists(),
            "{}: a/ and a/b/ removed",
            root.display()
        );
        assert!(root.join("keep/k.txt").exists());
        assert!(
            root.join("was-empty").is_dir(),
            "not emptied by the run: kept"
        );
    }
    assert_equal_sides(&p);
    assert_nothing_planned(&prof);
}

#[test]
fn item10_remove_empty_dirs_keeps_a_folder_holding_excluded_files() {
    let p = Pair::new();
    let mut prof = sync_profile(&p);
    prof.sync.remove_empty_dirs = true;
    prof.filters.exclude_files = vec!["*.tmp".into()];
    filler(&p.src());
    tree::write(&p.src(), &[("a/f.txt", "1")]);
    sync(&prof);
    tree::write(&p.dst(), &[("a/scratch.tmp", "excluded")]);
    fs::remove_file(p.src().join("a/f.txt")).unwrap();
    let report = sync(&prof);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(read(p.dst().join("a/scratch.tmp")), "excluded");
    // The folder stays on both sides: removing it from one would bring it back next time.
    assert!(p.src().join("a").is_dir());
    assert_eq!(report.warnings.len(), 1, "{:#?}", report.warnings);
    assert!(
        report.warnings[0].message.contains("excluded"),
        "{:#?}",
        report.warnings
    );
    assert_nothing_planned(&prof);
}

/// Eight files synced (as in rclone's `test_all_changed`), then the times of `touched` of
/// them shifted on the source.
fn shifted_times(p: &Pair, prof: &Profile, touched: usize) {
    let files: Vec<(String, String)> = (1..=8)
        .map(|i| (format!("dir{}/file{i}.txt", i % 2), format!("contents {i}")))
        .collect();
    let files: Vec<(&str, &str)> = files.iter().map(|(a, b)| (&**a, &**b)).collect();
    tree::write(&p.src(), &files);
    sync(prof);
    for (path, _) in &files[..touched] {
        tree::set_mtime(&p.src().join(path), 1_073_001_600); // 2004-01-02
    }
}

#[test]
fn item10_every_file_changed_on_a_side_stops_the_run_unless_forced() {
    let p = Pair::new();
    let prof = sync_profile(&p);
    shifted_times(&p, &prof, 8);
    let before = (snapshot(&p.src()), snapshot(&p.dst()));
    let err = Engine::new()
        .run(&prof, &RunOptions::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Guard, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("every one of the 8 files on the source changed"),
        "{text}"
    );
    assert!(text.contains("clock"), "{text}");
    assert_eq!((snapshot(&p.src()), snapshot(&p.dst())), before);
    let mut forced = RunOptions::default();
    forced.force = true;
    Engine::new().run(&prof, &forced).unwrap();
    assert_equal_sides(&p);
    assert_nothing_planned(&prof);
}

#[test]
fn item10_the_all_changed_guard_needs_every_file_of_a_non_trivial_side() {
    // Seven of eight changed: a normal run.
    let p = Pair::new();
    let prof = sync_profile(&p);
    shifted_times(&p, &prof, 7);
    Engine::new().run(&prof, &RunOptions::default()).unwrap();
    // A pair of a few files, all edited: ordinary work.
    let p = Pair::new();
    let prof = sync_profile(&p);
    tree::write(&p.src(), &[("a", "1"), ("b", "2")]);
    sync(&prof);
    tree::write(&p.src(), &[("a", "one"), ("b", "two")]);
    Engine::new().run(&prof, &RunOptions::default()).unwrap();
    // Comparing sizes, shifted times are no changes.
    let p = Pair::new();
    let mut prof = sync_profile(&p);
    prof.comparison = compared_by("size");
    shifted_times(&p, &prof, 8);
    Engine::new().run(&prof, &RunOptions::default()).unwrap();
}
