//! Links in destinations and in both sides of a pair are never followed to write, rename or
//! delete (issue 10, items 3 and 4; safety rule 8): whatever the operation and symlink mode,
//! a tree outside the roots that a link points to is left exactly as it was.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use ferrysync::{Engine, Operation, Profile, RunOptions, SymlinkMode};

use crate::tree::{self, snapshot_without, Pair, Snapshot};

/// The outside tree `v` beside the pair, as it is now.
fn outside(p: &Pair) -> Snapshot {
    snapshot_without(&p.dir.path().join("v"), &[])
}

fn profile(p: &Pair, op: Operation, symlinks: SymlinkMode) -> Profile {
    let mut prof = tree::profile(op, &p.src(), &p.dst());
    prof.copy.symlinks = symlinks;
    prof.guards.max_delete = None;
    prof.sync.state = Some(p.dir.path().join("state.sqlite").display().to_string());
    prof
}

/// Runs `prof` twice (per-file errors are allowed: the link is reported, not followed).
fn run_twice(prof: &Profile) {
    for _ in 0..2 {
        let _ = Engine::new().run(prof, &RunOptions::default());
    }
}

const OPERATIONS: [Operation; 5] = [
    Operation::Mirror,
    Operation::Copy,
    Operation::Move,
    Operation::Synchronize,
    Operation::VersionedBackup,
];

const MODES: [SymlinkMode; 3] = [SymlinkMode::Skip, SymlinkMode::Copy, SymlinkMode::Follow];

#[test]
fn item_3_a_destination_link_where_the_source_has_a_folder_is_never_written_through() {
    for op in OPERATIONS {
        for mode in MODES {
            // mkdir -p s/dir d v; echo in > s/dir/in.txt; echo OLD > v/in.txt;
            // ln -s ../v d/dir; ferry mirror s d
            let p = Pair::new();
            let v = p.dir.path().join("v");
            tree::write(&p.src(), &[("dir/in.txt", "in"), ("top.txt", "top")]);
            tree::write(&v, &[("in.txt", "OLD"), ("other/x.txt", "x")]);
            fs::create_dir(p.dst()).unwrap();
            symlink("../v", p.dst().join("dir")).unwrap();
            let before = outside(&p);
            run_twice(&profile(&p, op, mode));
            assert_eq!(outside(&p), before, "{op:?} {mode:?} changed v/");
            assert_eq!(fs::read_to_string(v.join("in.txt")).unwrap(), "OLD");
        }
    }
}

#[test]
fn item_4_a_destination_link_is_never_followed_to_delete() {
    for op in OPERATIONS {
        for mode in MODES {
            // mkdir -p s d v; echo 1 > s/k1; echo 2 > s/k2; echo 3 > s/k3; cp s/* d/;
            // echo P > v/p; ln -s ../v d/gone; ferry mirror s d --symlinks follow
            let p = Pair::new();
            let v = p.dir.path().join("v");
            let files = [("k1", "1"), ("k2", "2"), ("k3", "3")];
            tree::write(&p.src(), &files);
            tree::write(&p.dst(), &files);
            tree::write(&v, &[("p", "P"), ("deep/q", "Q")]);
            symlink("../v", p.dst().join("gone")).unwrap();
            let before = outside(&p);
            run_twice(&profile(&p, op, mode));
            assert_eq!(outside(&p), before, "{op:?} {mode:?} changed v/");
        }
    }
}

#[test]
fn links_on_the_source_side_of_a_two_way_pair_are_never_written_through() {
    for mode in MODES {
        let p = Pair::new();
        let v = p.dir.path().join("v");
        tree::write(
            &p.dst(),
            &[
                ("dir/in.txt", "from b"),
                ("dir/new.txt", "new from b"),
                ("gone/q", "b's q"),
            ],
        );
        tree::write(&v, &[("in.txt", "OLD"), ("p", "P")]);
        symlink("../v", p.src().join("dir")).unwrap();
        symlink(v.as_path(), p.src().join("gone")).unwrap();
        let before = outside(&p);
        run_twice(&profile(&p, Operation::Synchronize, mode));
        assert_eq!(outside(&p), before, "{mode:?} changed v/");
    }
}

#[test]
fn a_versions_folder_that_is_a_link_is_never_written_through() {
    let p = Pair::new();
    let v = p.dir.path().join("v");
    tree::write(&p.src(), &[("doc.txt", "new"), ("sub/a.txt", "a2")]);
    tree::write(
        &p.dst(),
        &[("doc.txt", "old"), ("sub/a.txt", "a1"), ("gone.txt", "x")],
    );
    tree::write(&v, &[("versions/doc.txt", "not a version")]);
    symlink("../v", p.dst().join(".ferrysync")).unwrap();
    let mut prof = profile(&p, Operation::Mirror, SymlinkMode::Skip);
    prof.versions.keep = 3;
    prof.versions.deleted_files = ferrysync::DeletionMode::Versions;
    let before = outside(&p);
    run_twice(&prof);
    assert_eq!(
        outside(&p),
        before,
        "the versions folder's link was followed"
    );
    // What could not be kept as a version was not replaced or deleted either.
    assert_eq!(fs::read_to_string(p.dst().join("doc.txt")).unwrap(), "old");
    assert!(p.dst().join("gone.txt").exists());
}

#[test]
fn a_folder_swapped_for_a_link_while_a_mirror_runs_never_lets_a_write_out() {
    let p = Pair::new();
    let v = p.dir.path().join("v");
    let names: Vec<String> = (0..300).map(|i| format!("box/f{i:03}.txt")).collect();
    let files: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "new")).collect();
    tree::write(&p.src(), &files);
    // v holds every name the run writes or deletes, with other contents.
    let olds: Vec<(&str, &str)> = names.iter().map(|n| (&n[4..], "OLD")).collect();
    tree::write(&v, &olds);
    fs::create_dir_all(p.dst().join("box")).unwrap();
    symlink(&v, p.dst().join("swap")).unwrap();
    let before = outside(&p);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let dst = p.dst();
    std::thread::scope(|s| {
        s.spawn(|| {
            // box and swap trade places, again and again: a folder, then a link to v.
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                exchange(&dst.join("box"), &dst.join("swap"));
            }
        });
        let mut prof = profile(&p, Operation::Mirror, SymlinkMode::Skip);
        prof.copy.retries = 0;
        for _ in 0..3 {
            let _ = Engine::new().run(&prof, &RunOptions::default());
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    assert_eq!(
        outside(&p),
        before,
        "a write went through the swapped-in link"
    );
}

/// Swaps two names with a rename dance.
fn exchange(a: &Path, b: &Path) {
    let tmp = a.with_extension("swapping");
    let _ = fs::rename(a, &tmp);
    let _ = fs::rename(b, a);
    let _ = fs::rename(&tmp, b);
}
