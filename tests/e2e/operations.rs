//! Each operation on real trees.

use std::fs;

use ferrysync::{Engine, Operation, RunOptions};

use crate::tree::{self, snapshot, Pair};

#[test]
fn mirror_makes_the_destination_equal_and_a_second_plan_is_empty() {
    let p = Pair::new();
    tree::write(
        &p.src(),
        &[("a/b/c.txt", "deep"), ("a/x.bin", "xx"), ("top.txt", "top")],
    );
    tree::set_mtime(&p.src().join("top.txt"), 1_500_000_000);
    fs::create_dir_all(p.src().join("empty")).unwrap();
    let prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    let report = tree::run(&prof);
    assert_eq!(report.done.new_files, 3);
    assert_eq!(snapshot(&p.src()), snapshot(&p.dst()));
    assert!(Engine::new().plan(&prof).unwrap().is_empty());
}

#[test]
fn mirror_updates_changed_files_and_deletes_unmatched_ones() {
    let p = Pair::new();
    tree::write(
        &p.src(),
        &[("keep.txt", "same"), ("change.txt", "new contents")],
    );
    let prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    tree::run(&prof);
    tree::write(
        &p.dst(),
        &[("extra/deep/file.txt", "x"), ("extra.txt", "y")],
    );
    tree::write(&p.src(), &[("change.txt", "newer contents!")]);
    let mut prof = prof;
    prof.guards.max_delete = None;
    let report = tree::run(&prof);
    assert_eq!((report.done.modified_files, report.done.deletions), (1, 4));
    assert_eq!(snapshot(&p.src()), snapshot(&p.dst()));
}

#[test]
fn copy_keeps_destination_extras() {
    let p = Pair::new();
    tree::write(&p.src(), &[("a.txt", "a")]);
    tree::write(&p.dst(), &[("only-here.txt", "z")]);
    tree::run(&tree::profile(Operation::Copy, &p.src(), &p.dst()));
    assert_eq!(fs::read_to_string(p.dst().join("a.txt")).unwrap(), "a");
    assert!(p.dst().join("only-here.txt").exists());
}

#[test]
fn move_empties_the_source_after_copying() {
    let p = Pair::new();
    tree::write(&p.src(), &[("d/one.txt", "1"), ("two.txt", "2")]);
    let before = snapshot(&p.src());
    let report = tree::run(&tree::profile(Operation::Move, &p.src(), &p.dst()));
    assert_eq!(report.done.source_deletions, 3, "{report:#?}");
    assert_eq!(snapshot(&p.dst()), before);
    assert_eq!(fs::read_dir(p.src()).unwrap().count(), 0);
}

#[test]
fn versioned_backup_stores_only_changes_in_a_new_folder() {
    let p = Pair::new();
    tree::write(&p.src(), &[("a.txt", "a1"), ("b.txt", "b1")]);
    let prof = tree::profile(Operation::VersionedBackup, &p.src(), &p.dst());
    tree::run(&prof);
    let first: Vec<_> = fs::read_dir(p.dst())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(first.len(), 1);
    assert_eq!(fs::read_to_string(first[0].join("a.txt")).unwrap(), "a1");
    // Nothing changed: nothing to back up.
    assert!(Engine::new().plan(&prof).unwrap().is_empty());
    std::thread::sleep(std::time::Duration::from_millis(1100));
    tree::write(&p.src(), &[("b.txt", "b2, longer")]);
    let report = tree::run(&prof);
    assert_eq!(report.done.modified_files, 1);
    let mut folders: Vec<_> = fs::read_dir(p.dst())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    folders.sort();
    assert_eq!(folders.len(), 2);
    assert_eq!(
        fs::read_to_string(folders[1].join("b.txt")).unwrap(),
        "b2, longer"
    );
    assert!(!folders[1].join("a.txt").exists());
}

#[test]
fn dry_run_changes_nothing() {
    let p = Pair::new();
    tree::write(&p.src(), &[("a.txt", "a")]);
    let mut opts = RunOptions::default();
    opts.dry_run = true;
    let report = Engine::new()
        .run(&tree::profile(Operation::Mirror, &p.src(), &p.dst()), &opts)
        .unwrap();
    assert_eq!(report.done.new_files, 1);
    assert!(!p.dst().exists());
}

#[test]
fn non_utf8_names_and_permissions_survive() {
    use std::os::unix::ffi::OsStrExt;
    let p = Pair::new();
    let odd = p.src().join(std::ffi::OsStr::from_bytes(b"caf\xe9.txt"));
    fs::write(&odd, "x").unwrap();
    tree::write(&p.src(), &[("ro.txt", "r")]);
    tree::set_mode(&p.src().join("ro.txt"), 0o444);
    tree::run(&tree::profile(Operation::Mirror, &p.src(), &p.dst()));
    assert_eq!(snapshot(&p.src()), snapshot(&p.dst()));
}

#[test]
fn symlinks_are_skipped_by_default_and_copied_as_links_when_asked() {
    let p = Pair::new();
    tree::write(&p.src(), &[("target.txt", "t")]);
    std::os::unix::fs::symlink("target.txt", p.src().join("link")).unwrap();
    let mut prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    tree::run(&prof);
    assert!(fs::symlink_metadata(p.dst().join("link")).is_err());
    prof.copy.symlinks = ferrysync::SymlinkMode::Copy;
    tree::run(&prof);
    assert_eq!(
        fs::read_link(p.dst().join("link")).unwrap(),
        std::path::Path::new("target.txt")
    );
    assert_eq!(snapshot(&p.src()), snapshot(&p.dst()));
}

#[test]
fn mirror_never_deletes_excluded_files_and_keeps_their_folder() {
    let p = Pair::new();
    tree::write(&p.src(), &[("a.txt", "a")]);
    tree::write(
        &p.dst(),
        &[("old/keep.tmp", "excluded"), ("old/gone.txt", "unmatched")],
    );
    let mut prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    prof.filters.exclude_files = vec!["*.tmp".into()];
    prof.guards.max_delete = None;
    let report = tree::run(&prof);
    assert!(p.dst().join("old/keep.tmp").exists());
    assert!(!p.dst().join("old/gone.txt").exists());
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(report.warnings[0].message.contains("excluded"));
}

#[test]
fn copy_leaves_a_file_folder_clash_alone_and_reports_it() {
    let p = Pair::new();
    tree::write(
        &p.src(),
        &[
            ("clash/inner.txt", "folder in the source"),
            ("ok.txt", "fine"),
        ],
    );
    tree::write(&p.dst(), &[("clash", "a file in the destination")]);
    let report = tree::run(&tree::profile(Operation::Copy, &p.src(), &p.dst()));
    assert_eq!(
        fs::read_to_string(p.dst().join("clash")).unwrap(),
        "a file in the destination"
    );
    assert_eq!(fs::read_to_string(p.dst().join("ok.txt")).unwrap(), "fine");
    assert_eq!(report.done.conflicts, 2, "{report:#?}");
    assert_eq!(report.warnings.len(), 2);
}
