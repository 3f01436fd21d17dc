//! File versions through the engine: replaced and deleted files are kept, limited, listed and
//! restored as of a time; deletions can go to the trash.

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ferrysync::transport::{LocalTransport, Transport};
use ferrysync::{DeletionMode, Engine, Operation, RelPath, RestoreOptions, RunOptions, Versions};

use crate::tree::{self, snapshot, Pair};

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

#[test]
fn replaced_files_keep_the_last_n_versions_and_a_tree_restores_as_of_a_time() {
    let p = Pair::new();
    let mut prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    prof.versions.keep = 3;
    prof.versions.deleted_files = DeletionMode::Versions;
    prof.guards.max_delete = None;
    let mut times = Vec::new();
    for round in 0..5 {
        tree::write(
            &p.src(),
            &[
                ("doc.txt", &format!("round {round}")),
                ("stable.txt", "same"),
            ],
        );
        tree::set_mtime(&p.src().join("doc.txt"), 1_600_000_000 + 10 * round);
        tree::run(&prof);
        std::thread::sleep(std::time::Duration::from_millis(5));
        times.push(now_ns());
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    fs::remove_file(p.src().join("stable.txt")).unwrap();
    tree::run(&prof);

    let dst: Arc<dyn Transport> = Arc::new(LocalTransport::new(p.dst()));
    let versions = Versions::new(dst.clone(), &prof.versions).unwrap();
    let doc = versions.list(&RelPath::new("doc.txt").unwrap()).unwrap();
    assert_eq!(doc.len(), 3, "keep = 3: {doc:?}");
    assert!(!p.dst().join("stable.txt").exists());
    assert_eq!(
        versions
            .list(&RelPath::new("stable.txt").unwrap())
            .unwrap()
            .len(),
        1
    );

    // As of just after round 2: doc.txt said "round 2" and stable.txt existed.
    let out = tempfile::tempdir().unwrap();
    versions
        .restore_tree_as_of(
            times[2],
            &*dst,
            &LocalTransport::new(out.path()),
            &RestoreOptions::default(),
        )
        .unwrap();
    assert_eq!(
        fs::read_to_string(out.path().join("doc.txt")).unwrap(),
        "round 2"
    );
    assert_eq!(
        fs::read_to_string(out.path().join("stable.txt")).unwrap(),
        "same"
    );
    // The versions folder is never part of the synchronized tree.
    assert_eq!(snapshot(&p.src()), snapshot(&p.dst()));
}

#[test]
fn deletions_can_go_to_the_trash() {
    let p = Pair::new();
    let data_home = p.dir.path().join("xdg-data");
    fs::create_dir_all(&data_home).unwrap();
    // Only this test moves files to the trash, so pointing the trash elsewhere is safe.
    std::env::set_var("XDG_DATA_HOME", &data_home);
    tree::write(&p.src(), &[("a.txt", "a")]);
    tree::write(&p.dst(), &[("a.txt", "a"), ("unwanted.txt", "bye")]);
    let mut prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    prof.versions.deleted_files = DeletionMode::Trash;
    prof.guards.max_delete = None;
    tree::run(&prof);
    assert!(!p.dst().join("unwanted.txt").exists());
    let trashed: Vec<_> = walk_names(p.dir.path());
    assert!(
        trashed.iter().any(|n| n == "unwanted.txt"),
        "not in any trash: {trashed:?}"
    );
}

fn walk_names(root: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else if !e.path().starts_with(root.join("dst")) {
                out.push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    out
}

#[test]
fn the_total_size_limit_drops_the_oldest_versions_after_a_run() {
    let p = Pair::new();
    let mut prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    prof.versions.keep = 100;
    prof.versions.max_total_size = Some(ferrysync::ByteSize(2500));
    for round in 0..5 {
        tree::write(&p.src(), &[("big.bin", &"x".repeat(1000 + round))]);
        tree::run(&prof);
    }
    let dst: Arc<dyn Transport> = Arc::new(LocalTransport::new(p.dst()));
    let kept = Versions::new(dst, &prof.versions)
        .unwrap()
        .list(&RelPath::new("big.bin").unwrap())
        .unwrap();
    let total: u64 = kept.iter().map(|v| v.size).sum();
    assert!(total <= 2500, "{total} bytes of versions kept");
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert_eq!(
        kept[0].size, 1003,
        "the newest version must be the one kept"
    );
}

#[test]
fn repeated_mirrors_with_versions_leave_the_state_folder_alone() {
    // Regression: the walk skipped `.ferrysync/versions` but not `.ferrysync`, so a mirror
    // planned to delete the state folder and failed on it from the third run on.
    let p = Pair::new();
    let mut prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    prof.versions.keep = 2;
    for round in 0..3 {
        tree::write(&p.src(), &[("f.txt", &"v".repeat(round + 1))]);
        let report = tree::run(&prof);
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    }
    assert!(ferrysync::Engine::new().plan(&prof).unwrap().is_empty());
    assert!(p.dst().join(".ferrysync/versions").is_dir());
}

#[test]
fn a_custom_versions_folder_inside_the_destination_and_its_parents_are_kept() {
    let p = Pair::new();
    let mut prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    prof.versions.keep = 2;
    prof.versions.folder = Some("archive/old-versions".into());
    for round in 0..3 {
        tree::write(&p.src(), &[("f.txt", &"v".repeat(round + 1))]);
        let report = tree::run(&prof);
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    }
    assert!(ferrysync::Engine::new().plan(&prof).unwrap().is_empty());
    assert_eq!(
        std::fs::read_dir(p.dst().join("archive/old-versions"))
            .unwrap()
            .count(),
        2
    );
}

/// Sleeps until just after the start of the next wall-clock second, so that the few short
/// runs that follow happen within one second.
fn at_the_start_of_a_second() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let rest = Duration::from_secs(1) - Duration::from_nanos(u64::from(now.subsec_nanos()));
    std::thread::sleep(rest + Duration::from_millis(2));
}

/// The snapshot folders of a versioned backup, in name order, with what `1.txt` holds in each.
fn snapshots(dst: &Path) -> Vec<(String, String)> {
    let mut names: Vec<String> = fs::read_dir(dst)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let held = fs::read_to_string(dst.join(&n).join("1.txt")).unwrap_or_default();
            (n, held)
        })
        .collect()
}

#[test]
fn three_versioned_backups_in_one_second_keep_three_snapshots_in_time_order() {
    // Issue 10, item 6 (and safety rule 9): snapshot names were `YYYY-MM-DD HHMMSS`, so a
    // second run within the same second reused the first one's folder.
    let p = Pair::new();
    let prof = tree::profile(Operation::VersionedBackup, &p.src(), &p.dst());
    at_the_start_of_a_second();
    for content in ["ORIGINAL", "CHANGED", "CHANGED AGAIN"] {
        tree::write(&p.src(), &[("1.txt", content)]);
        let done = tree::run(&prof).done;
        assert_eq!(done.new_files + done.modified_files, 1, "{content}");
    }
    let held: Vec<String> = snapshots(&p.dst()).into_iter().map(|(_, h)| h).collect();
    assert_eq!(held, ["ORIGINAL", "CHANGED", "CHANGED AGAIN"]);
}

#[test]
fn a_snapshot_folder_that_already_exists_is_never_reused() {
    // A plan names its snapshot folder; carrying out the same plan again (or another run
    // that picked the same name) must make a new folder, not write into the first one.
    let p = Pair::new();
    let prof = tree::profile(Operation::VersionedBackup, &p.src(), &p.dst());
    tree::write(&p.src(), &[("1.txt", "ORIGINAL")]);
    let engine = Engine::new();
    let plan = engine.plan(&prof).unwrap();
    engine
        .execute(&prof, &plan, &RunOptions::default())
        .unwrap();
    tree::write(&p.src(), &[("1.txt", "CHANGED")]);
    let report = engine
        .execute(&prof, &plan, &RunOptions::default())
        .unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let snaps = snapshots(&p.dst());
    let held: Vec<&str> = snaps.iter().map(|(_, h)| h.as_str()).collect();
    assert_eq!(held, ["ORIGINAL", "CHANGED"], "{snaps:?}");
}

#[test]
fn snapshot_folders_named_by_earlier_releases_are_still_read() {
    // `YYYY-MM-DD HHMMSS` (local time, to the second) was the only name before.
    let p = Pair::new();
    tree::write(&p.src(), &[("1.txt", "kept"), ("2.txt", "new")]);
    let old = p.dst().join("2020-01-02 030405");
    fs::create_dir_all(&old).unwrap();
    fs::copy(p.src().join("1.txt"), old.join("1.txt")).unwrap();
    let mtime = fs::metadata(p.src().join("1.txt"))
        .unwrap()
        .modified()
        .unwrap();
    fs::File::options()
        .write(true)
        .open(old.join("1.txt"))
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let prof = tree::profile(Operation::VersionedBackup, &p.src(), &p.dst());
    let done = tree::run(&prof).done;
    assert_eq!((done.new_files, done.modified_files), (1, 0));
    let snaps = snapshots(&p.dst());
    assert_eq!(snaps.len(), 2, "{snaps:?}");
    assert_eq!(snaps[0].0, "2020-01-02 030405");
    assert!(p.dst().join(&snaps[1].0).join("2.txt").is_file());
    assert!(Engine::new().plan(&prof).unwrap().is_empty());
}

#[test]
fn a_file_replaced_twice_in_one_second_keeps_both_versions() {
    let p = Pair::new();
    let mut prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    prof.versions.keep = 10;
    at_the_start_of_a_second();
    for content in ["one", "two!", "three", "four!!"] {
        tree::write(&p.src(), &[("f.txt", content)]);
        tree::run(&prof);
    }
    let dst: Arc<dyn Transport> = Arc::new(LocalTransport::new(p.dst()));
    let versions = Versions::new(dst, &prof.versions).unwrap();
    let kept: Vec<String> = versions
        .list(&RelPath::new("f.txt").unwrap())
        .unwrap()
        .iter()
        .map(|v| {
            fs::read_to_string(
                p.dst()
                    .join(".ferrysync/versions")
                    .join(v.location.to_string()),
            )
            .unwrap()
        })
        .collect();
    assert_eq!(kept, ["three", "two!", "one"]);
}

#[test]
fn two_conflicts_of_one_file_in_one_second_keep_both_losers() {
    // Conflict copies are named to the second ("{date} {time}"); a second conflict of the
    // same file in that second must get another name, on both sides.
    let p = Pair::new();
    let mut prof = tree::profile(Operation::Synchronize, &p.src(), &p.dst());
    prof.sync.state = Some(p.dir.path().join("state.sqlite").display().to_string());
    tree::write(&p.src(), &[("f.txt", "v1"), ("other.txt", "o")]);
    tree::run(&prof);
    at_the_start_of_a_second();
    for (round, (left, right)) in [("left 1", "right 1, newer"), ("left 2", "right 2, newer")]
        .into_iter()
        .enumerate()
    {
        let t = 1_700_000_000 + 1000 * round as i64;
        tree::write(&p.src(), &[("f.txt", left)]);
        tree::set_mtime(&p.src().join("f.txt"), t);
        tree::write(&p.dst(), &[("f.txt", right)]);
        tree::set_mtime(&p.dst().join("f.txt"), t + 100);
        assert_eq!(tree::run(&prof).done.conflicts, 1);
    }
    for side in [p.src(), p.dst()] {
        let mut held: Vec<String> = fs::read_dir(&side)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|f| f.is_file())
            .map(|f| fs::read_to_string(f).unwrap())
            .collect();
        held.sort();
        assert_eq!(
            held,
            ["left 1", "left 2", "o", "right 2, newer"],
            "{side:?}"
        );
        // The second copy is numbered before the extension, so it keeps its type.
        let mut copies: Vec<String> = fs::read_dir(&side)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("f (conflict "))
            .collect();
        copies.sort_by_key(|n| n.len());
        assert_eq!(copies.len(), 2, "{copies:?}");
        assert!(copies[0].ends_with(").txt"), "{copies:?}");
        assert!(copies[1].ends_with(") 2.txt"), "{copies:?}");
    }
}
