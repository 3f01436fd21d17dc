//! Two-way synchronization on real trees: changes on either side reach the other, conflicts
//! never lose a version, and the guards stop runs that look like accidents.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use ferrysync::{ConflictPolicy, Engine, ErrorKind, Operation, Profile, Report, RunOptions};

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
    let forced = RunOptions {
        force: true,
        ..RunOptions::default()
    };
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
