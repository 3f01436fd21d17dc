//! Guards: nothing is lost when a side is missing or a run would delete too much.

use std::fs;

use ferrysync::{DeleteLimit, Engine, ErrorKind, IfUnavailable, Operation, RunOptions};

use crate::tree::{self, snapshot, Pair};

#[test]
fn missing_source_skips_the_folder_and_deletes_nothing() {
    let p = Pair::new();
    tree::write(&p.dst(), &[("precious.txt", "keep me")]);
    let prof = tree::profile(Operation::Mirror, &p.dir.path().join("unmounted"), &p.dst());
    let report = tree::run(&prof);
    assert_eq!(report.skipped_folders.len(), 1);
    assert!(p.dst().join("precious.txt").exists());
}

#[test]
fn missing_source_with_abort_policy_aborts() {
    let p = Pair::new();
    let mut prof = tree::profile(Operation::Mirror, &p.dir.path().join("unmounted"), &p.dst());
    prof.folders[0].if_unavailable = IfUnavailable::Abort;
    let err = Engine::new()
        .run(&prof, &RunOptions::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}

#[test]
fn mass_delete_stops_before_changing_anything_unless_forced() {
    let p = Pair::new();
    tree::write(&p.src(), &[("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]);
    let prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    tree::run(&prof);
    for f in ["a", "b", "c"] {
        fs::remove_file(p.src().join(f)).unwrap();
    }
    tree::write(&p.src(), &[("new", "n")]);
    let before = snapshot(&p.dst());
    let err = Engine::new()
        .run(&prof, &RunOptions::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Guard, "{err}");
    assert_eq!(
        snapshot(&p.dst()),
        before,
        "a guarded run changed the destination"
    );
    let mut counted = prof.clone();
    counted.guards.max_delete = Some(DeleteLimit::Count(3));
    tree::run(&counted);
    assert_eq!(snapshot(&p.src()), snapshot(&p.dst()));
}

#[test]
fn forced_run_goes_past_the_guard() {
    let p = Pair::new();
    tree::write(&p.src(), &[("a", "1")]);
    tree::write(&p.dst(), &[("x", "1"), ("y", "2")]);
    let prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    let opts = RunOptions {
        force: true,
        ..RunOptions::default()
    };
    Engine::new().run(&prof, &opts).unwrap();
    assert_eq!(snapshot(&p.src()), snapshot(&p.dst()));
}

#[test]
fn destination_marker_must_exist_and_match() {
    let p = Pair::new();
    tree::write(&p.src(), &[("a", "1")]);
    let mut prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    prof.folders[0].marker = Some("DRIVE-ID=^backup-7$".into());
    let report = tree::run(&prof);
    assert_eq!(report.skipped_folders.len(), 1);
    tree::write(&p.dst(), &[("DRIVE-ID", "backup-8")]);
    assert_eq!(tree::run(&prof).skipped_folders.len(), 1);
    tree::write(&p.dst(), &[("DRIVE-ID", "backup-7")]);
    let report = tree::run(&prof);
    assert!(report.skipped_folders.is_empty());
    assert!(p.dst().join("a").exists());
}

#[test]
fn unreadable_source_folder_is_a_warning_and_its_destination_copy_stays() {
    if tree_is_root() {
        // root reads everything: the folder cannot be made unreadable.
        return;
    }
    let p = Pair::new();
    tree::write(&p.src(), &[("locked/inner.txt", "i"), ("ok.txt", "o")]);
    let prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    tree::run(&prof);
    tree::set_mode(&p.src().join("locked"), 0o000);
    let report = Engine::new().run(&prof, &RunOptions::default()).unwrap();
    tree::set_mode(&p.src().join("locked"), 0o755);
    assert!(!report.warnings.is_empty());
    assert!(p.dst().join("locked/inner.txt").exists());
}

fn tree_is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}
