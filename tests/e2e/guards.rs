//! Guards: nothing is lost when a side is missing or a run would delete too much.

use std::fs;
use std::path::PathBuf;

use ferrysync::{
    DeleteLimit, Engine, ErrorKind, Folder, IfUnavailable, Operation, Profile, RunOptions,
};

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
    let mut opts = RunOptions::default();
    opts.force = true;
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

/// Issue 10 item 7: a disabled profile does not run unless forced, whoever calls the engine;
/// its plan says so, and executing that plan is refused too.
#[test]
fn a_disabled_profile_does_not_run_unless_forced() {
    let p = Pair::new();
    tree::write(&p.src(), &[("a.txt", "a")]);
    let mut prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    prof.enabled = false;
    let engine = Engine::new();
    let mut dry_run = RunOptions::default();
    dry_run.dry_run = true;
    for opts in [RunOptions::default(), dry_run] {
        let err = engine.run(&prof, &opts).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains("is disabled"), "{err}");
    }
    assert!(!p.dst().exists(), "a disabled profile ran");

    let plan = engine.plan(&prof).unwrap();
    assert!(
        plan.to_json().contains("\"disabled\": true"),
        "the plan says so"
    );
    let err = engine
        .execute(&prof, &plan, &RunOptions::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(!p.dst().exists(), "a disabled profile's plan ran");

    let mut forced = RunOptions::default();
    forced.force = true;
    engine.run(&prof, &forced).unwrap();
    assert_eq!(snapshot(&p.src()), snapshot(&p.dst()));
}

/// Issue 10 item 7: a folder the profile disables is skipped and reported as such (not
/// silently dropped, not a warning); a run that names it runs it.
#[test]
fn a_disabled_folder_is_skipped_and_reported() {
    let p = Pair::new();
    tree::write(&p.src(), &[("a.txt", "a")]);
    let (off_src, off_dst) = (p.dir.path().join("off-src"), p.dir.path().join("off-dst"));
    tree::write(&off_src, &[("b.txt", "b")]);
    let mut prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    let mut off = Folder::new("off", off_src.to_str().unwrap(), off_dst.to_str().unwrap());
    off.enabled = false;
    prof.folders.push(off);

    let plan = Engine::new().plan(&prof).unwrap();
    let listed = plan.folders.iter().find(|f| f.folder == "off");
    assert!(
        listed.is_some_and(|f| f.skipped.as_deref() == Some("disabled in the profile")),
        "the plan lists the disabled folder as skipped: {}",
        plan.to_json()
    );

    let report = tree::run(&prof);
    assert_eq!(
        report.skipped_folders.len(),
        1,
        "{:?}",
        report.skipped_folders
    );
    assert_eq!(report.skipped_folders[0].folder, "off");
    assert_eq!(report.skipped_folders[0].kind, "disabled");
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(report.status.name(), "ok");
    assert_eq!(snapshot(&p.src()), snapshot(&p.dst()));
    assert!(!off_dst.exists(), "the disabled folder ran");

    let mut named = RunOptions::default();
    named.folders = vec!["off".into()];
    Engine::new().run(&prof, &named).unwrap();
    assert_eq!(snapshot(&off_src), snapshot(&off_dst));
}

/// Issue 10 item 11: a folder skipped as unavailable under the "warning" policy (the
/// default) is a warning in the report, and the run ends incomplete (exit code 4) while the
/// other folders run; under "info" it is only listed and the run is ok.
#[test]
fn an_unavailable_folder_under_the_warning_policy_warns_and_leaves_the_run_incomplete() {
    let p = Pair::new();
    tree::write(&p.src(), &[("a.txt", "a")]);
    let mut prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    let gone = p.dir.path().join("unmounted");
    prof.folders.push(Folder::new(
        "usb",
        gone.to_str().unwrap(),
        p.dir.path().join("usb-copy").to_str().unwrap(),
    ));

    let report = tree::run(&prof);
    assert_eq!(
        snapshot(&p.src()),
        snapshot(&p.dst()),
        "the other folder ran"
    );
    assert_eq!(report.skipped_folders.len(), 1);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert_eq!(
        (report.warnings[0].folder.as_str(), report.warnings[0].kind),
        ("usb", "unavailable")
    );
    assert_eq!(report.status.name(), "incomplete");

    prof.folders[1].if_unavailable = IfUnavailable::Info;
    let report = tree::run(&prof);
    assert_eq!(report.skipped_folders.len(), 1);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(report.status.name(), "ok");
}

/// Issue 10 item 12: the default guard lets a large mirror into a folder holding a few stale
/// entries go through ("would delete 3 of 3 destination entries" was refused).
#[test]
fn a_few_stale_destination_entries_do_not_trip_the_default_guard() {
    let p = Pair::new();
    let files: Vec<(String, &str)> = (0..2000)
        .map(|i| (format!("d{}/f{i}.txt", i / 100), "x"))
        .collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, d)| (p.as_str(), *d)).collect();
    tree::write(&p.src(), &refs);
    tree::write(
        &p.dst(),
        &[("stale1", "1"), ("stale2", "2"), ("old/stale3", "3")],
    );
    let prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    let report = tree::run(&prof);
    assert_eq!(report.done.deletions, 4, "three files and their folder");
    assert_eq!(snapshot(&p.src()), snapshot(&p.dst()));

    // A count limit stays exact.
    tree::write(
        &p.dst(),
        &[("stale1", "1"), ("stale2", "2"), ("stale3", "3")],
    );
    let mut counted = prof.clone();
    counted.guards.max_delete = Some(DeleteLimit::Count(2));
    let err = Engine::new()
        .run(&counted, &RunOptions::default())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Guard, "{err}");
}

/// Issue 10 item 12: an empty source (an unmounted drive's mount point) that would delete
/// the destination is refused, whatever the limit, unless forced.
#[test]
fn an_empty_source_is_refused_whatever_the_limit() {
    let p = Pair::new();
    tree::write(&p.dst(), &[("precious1", "1"), ("precious2", "2")]);
    let before = snapshot(&p.dst());
    let mut prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    for limit in [
        DeleteLimit::default(),
        DeleteLimit::Count(1000),
        DeleteLimit::Percent(100),
    ] {
        prof.guards.max_delete = Some(limit);
        let err = Engine::new()
            .run(&prof, &RunOptions::default())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Guard, "{limit}: {err}");
        assert!(err.to_string().contains("is empty"), "{err}");
        assert_eq!(snapshot(&p.dst()), before, "{limit}");
    }
    let mut forced = RunOptions::default();
    forced.force = true;
    Engine::new().run(&prof, &forced).unwrap();
    assert!(snapshot(&p.dst()).is_empty());
}

/// Issue 10 item 12: a source pointed at the wrong folder leaves nearly every destination
/// entry unmatched: refused by the default guard, for large trees and small ones.
#[test]
fn a_wrong_source_is_refused_by_the_default_guard() {
    for n in [3, 40] {
        let p = Pair::new();
        let right: Vec<String> = (0..n).map(|i| format!("doc{i}.txt")).collect();
        let wrong: Vec<String> = (0..n).map(|i| format!("photo{i}.jpg")).collect();
        let as_files = |names: &[String]| -> Vec<(String, String)> {
            names.iter().map(|n| (n.clone(), n.clone())).collect()
        };
        let write = |root: &std::path::Path, names: &[String]| {
            let files = as_files(names);
            let refs: Vec<(&str, &str)> = files
                .iter()
                .map(|(p, d)| (p.as_str(), d.as_str()))
                .collect();
            tree::write(root, &refs);
        };
        write(&p.src(), &right);
        let prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
        tree::run(&prof);

        let other = p.dir.path().join("pictures");
        write(&other, &wrong);
        let before = snapshot(&p.dst());
        let wrong_prof = tree::profile(Operation::Mirror, &other, &p.dst());
        let err = Engine::new()
            .run(&wrong_prof, &RunOptions::default())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Guard, "{n} files: {err}");
        assert_eq!(snapshot(&p.dst()), before, "{n} files");
    }
}

/// Issue 10 item 11 (busy pairs): a two-way profile locks every pair before the first runs,
/// so a pair another process holds stops the whole run before anything changed — whichever
/// pair that is.
#[test]
fn a_held_pair_stops_a_two_way_run_before_any_pair_changes() {
    let dir = tempfile::tempdir().unwrap();
    let side = |name: &str| dir.path().join(name);
    let mut prof = Profile::new("pairs", Operation::Synchronize);
    for (name, a, b) in [("one", "a1", "b1"), ("two", "a2", "b2")] {
        tree::write(&side(a), &[("old.txt", "o")]);
        prof = prof.with_folder(Folder::new(
            name,
            side(a).to_str().unwrap(),
            side(b).to_str().unwrap(),
        ));
    }
    prof.sync.state = Some(side("state.db").display().to_string());
    tree::run(&prof);
    let mut locks: Vec<PathBuf> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".lock"))
        .collect();
    locks.sort();
    assert_eq!(locks.len(), 2, "{locks:?}");
    for held in &locks {
        let lock = fs::File::options().write(true).open(held).unwrap();
        lock.lock().unwrap();
        tree::write(&side("a1"), &[("new.txt", "n")]);
        tree::write(&side("a2"), &[("new.txt", "n")]);
        let e = Engine::new()
            .run(&prof, &RunOptions::default())
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Busy, "{e}");
        for b in ["b1", "b2"] {
            assert!(!side(b).join("new.txt").exists(), "{held:?}: {b} changed");
        }
        drop(lock);
    }
    tree::run(&prof);
    assert!(side("b1").join("new.txt").exists() && side("b2").join("new.txt").exists());
}
