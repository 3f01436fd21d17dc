//! File versions through the engine: replaced and deleted files are kept, limited, listed and
//! restored as of a time; deletions can go to the trash.

use std::fs;
use std::sync::Arc;

use ferrysync::transport::{LocalTransport, Transport};
use ferrysync::{DeletionMode, Operation, RelPath, Versions};

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
        .restore_tree_as_of(times[2], &*dst, &LocalTransport::new(out.path()))
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
