//! Root identity (issue 10, items 1 and 2): a pair whose roots are one folder, or one inside
//! the other, is bad input for every operation, however the paths are spelled; nothing on
//! disk changes.

use std::fs;
use std::path::{Path, PathBuf};

use ferrysync::{Engine, ErrorKind, FilterSpec, Folder, Operation, Profile, RunOptions};

use crate::tree::{self, snapshot};

const OPERATIONS: [Operation; 5] = [
    Operation::Copy,
    Operation::Mirror,
    Operation::Move,
    Operation::VersionedBackup,
    Operation::Synchronize,
];

fn profile(op: Operation, src: &Path, dst: &Path) -> Profile {
    let mut p = Profile::new("roots", op).with_folder(Folder::new(
        "main",
        src.to_str().unwrap(),
        dst.to_str().unwrap(),
    ));
    if op == Operation::Synchronize {
        p.sync.state = Some(src.parent().unwrap().join("state.db").display().to_string());
    }
    p
}

/// Plans and runs `op` from `src` to `dst`: both must refuse with bad input naming `words`,
/// and nothing under `top` may change.
fn assert_refused(top: &Path, op: Operation, src: &Path, dst: &Path, words: &str) {
    let before = tree::snapshot_without(top, &[]);
    let prof = profile(op, src, dst);
    let engine = Engine::new();
    for e in [
        engine.plan(&prof).unwrap_err(),
        engine.run(&prof, &RunOptions::default()).unwrap_err(),
    ] {
        assert_eq!(
            e.kind(),
            ErrorKind::InvalidInput,
            "{op:?} {src:?} {dst:?}: {e}"
        );
        assert!(e.to_string().contains(words), "{op:?}: {e}");
    }
    assert_eq!(
        tree::snapshot_without(top, &[]),
        before,
        "{op:?} changed the disk"
    );
}

/// A folder `m` holding a file, in a fresh temporary folder.
fn folder_with_a_file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m");
    tree::write(&m, &[("t.txt", "x"), ("sub/u.txt", "y")]);
    (dir, m)
}

#[test]
fn item_1_the_same_folder_spelled_differently_is_refused_for_every_operation() {
    let (dir, m) = folder_with_a_file();
    std::os::unix::fs::symlink(&m, dir.path().join("alias")).unwrap();
    let spellings = [
        PathBuf::from(format!("{}/", m.display())),
        m.join("."),
        dir.path().join("./m"),
        dir.path().join("sub/../m"),
        dir.path().join("alias"),
        PathBuf::from(format!("{}/", dir.path().join("alias").display())),
    ];
    for op in OPERATIONS {
        for other in &spellings {
            assert_refused(dir.path(), op, &m, other, "same folder");
            assert_refused(dir.path(), op, other, &m, "same folder");
        }
    }
    assert_eq!(fs::read_to_string(m.join("t.txt")).unwrap(), "x");
}

#[test]
fn item_1_relative_spellings_are_resolved_against_the_working_folder() {
    let (dir, m) = folder_with_a_file();
    let prof = Profile::new("rel", Operation::Move).with_folder(Folder::new(
        "main",
        m.to_str().unwrap(),
        // The working folder of the test process: a relative path that reaches `m`.
        relative_to_cwd(&m),
    ));
    let e = Engine::new().plan(&prof).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(m.join("t.txt").exists());
    drop(dir);
}

/// `path` as a relative path from the current folder (`../../..` up to `/`, then down).
fn relative_to_cwd(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap();
    let ups = cwd.components().count() - 1;
    let mut rel = "../".repeat(ups);
    rel.push_str(path.strip_prefix("/").unwrap().to_str().unwrap());
    rel
}

#[test]
fn item_2_a_destination_inside_the_source_is_refused_for_every_operation() {
    let (dir, m) = folder_with_a_file();
    for op in OPERATIONS {
        // Not there yet, there already, and deeper.
        assert_refused(
            dir.path(),
            op,
            &m,
            &m.join("backup"),
            "is inside the source",
        );
        assert_refused(dir.path(), op, &m, &m.join("sub"), "is inside the source");
        assert_refused(
            dir.path(),
            op,
            &m,
            &m.join("sub/deeper/x"),
            "is inside the source",
        );
    }
    assert!(!m.join("backup").exists());
}

#[test]
fn item_2_a_source_inside_the_destination_is_refused_for_every_operation() {
    let dir = tempfile::tempdir().unwrap();
    let outer = dir.path().join("outer");
    tree::write(&outer, &[("inner/a.txt", "a"), ("b.txt", "b")]);
    std::os::unix::fs::symlink(outer.join("inner"), dir.path().join("link")).unwrap();
    for op in OPERATIONS {
        let inner = outer.join("inner");
        assert_refused(dir.path(), op, &inner, &outer, "is inside the destination");
        // Through a link to the inner folder, and through `..`.
        let link = dir.path().join("link");
        assert_refused(dir.path(), op, &link, &outer, "is inside the destination");
        let up = dir.path().join("link/..");
        assert_refused(dir.path(), op, &inner, &up, "is inside the destination");
    }
}

#[test]
fn item_2_a_nested_destination_the_filters_exclude_runs_and_converges() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    tree::write(&home, &[("doc.txt", "d"), ("work/a.txt", "a")]);
    let backup = home.join("backup");
    for op in [Operation::Mirror, Operation::Copy, Operation::Synchronize] {
        let mut prof = profile(op, &home, &backup);
        prof.filters = FilterSpec::default();
        prof.filters.exclude_folders = vec!["backup".into()];
        tree::run(&prof);
        let twice = tree::run(&prof);
        assert!(twice.done.is_empty(), "{op:?}: {:?}", twice.done);
        assert_eq!(
            snapshot(&backup),
            tree::snapshot_without(&home, &["backup", ".ferrysync"]),
            "{op:?}"
        );
        // The backup never holds a copy of itself.
        assert!(!backup.join("backup").exists(), "{op:?}");
    }
}
