//! Events, progress, cancel, pause and the confirm-deletes prompt.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrysync::{
    ActionKind, ActionOutcome, Engine, Event, FolderPlan, Operation, Prompt, Report, RunControl,
    RunOptions, RunStatus,
};

use crate::tree::{self, snapshot, Pair};

fn many_files(p: &Pair, n: usize) {
    for i in 0..n {
        let path = p.src().join(format!("d{}/f{i}.bin", i % 17));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, vec![i as u8; 4096 + i % 5000]).unwrap();
    }
}

fn temporaries(root: &std::path::Path) -> usize {
    tree::snapshot_without(root, &[])
        .keys()
        .filter(|k| String::from_utf8_lossy(k).contains(".ferry-tmp."))
        .count()
}

#[test]
fn events_start_progress_and_finish_with_the_report() {
    let p = Pair::new();
    many_files(&p, 300);
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let mut opts = RunOptions::default();
    opts.events = Some(Arc::new(move |e: &Event| {
        sink.lock().unwrap().push(e.clone())
    }));
    opts.progress_interval = Duration::ZERO;
    let report = Engine::new()
        .run(&tree::profile(Operation::Mirror, &p.src(), &p.dst()), &opts)
        .unwrap();
    let events = events.lock().unwrap();
    assert!(matches!(events.first(), Some(Event::Started { .. })));
    assert!(matches!(events.last(), Some(Event::Finished(r)) if **r == report));
    let actions = events
        .iter()
        .filter(|e| matches!(e, Event::ActionDone { .. }))
        .count();
    assert_eq!(actions as u64, report.done.new_files + report.done.new_dirs);
    let last_progress = events.iter().rev().find_map(|e| match e {
        Event::Progress(p) => Some(p.clone()),
        _ => None,
    });
    let last_progress = last_progress.expect("no progress event");
    assert_eq!(last_progress.items_done, last_progress.items_total);
    assert_eq!(last_progress.bytes_done, last_progress.bytes_total);
}

#[test]
fn cancel_stops_the_run_and_leaves_no_temporaries() {
    let p = Pair::new();
    many_files(&p, 2000);
    let control = RunControl::new();
    let seen = Arc::new(AtomicUsize::new(0));
    let (c, s) = (control.clone(), seen.clone());
    let mut opts = RunOptions::default();
    opts.control = control.clone();
    opts.events = Some(Arc::new(move |e: &Event| {
        if matches!(e, Event::ActionDone { .. }) && s.fetch_add(1, Ordering::SeqCst) == 50 {
            c.cancel();
        }
    }));
    let mut prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    prof.copy.threads = 2;
    let report = Engine::new().run(&prof, &opts).unwrap();
    assert_eq!(report.status, RunStatus::Cancelled);
    assert!(report.done.new_files < 2000, "cancel did not stop the run");
    assert_eq!(temporaries(&p.dst()), 0);
    // A later run finishes the job.
    tree::run(&prof);
    assert_eq!(snapshot(&p.src()), snapshot(&p.dst()));
}

#[test]
fn pause_holds_workers_until_resume() {
    let p = Pair::new();
    many_files(&p, 400);
    let control = RunControl::new();
    control.pause();
    let mut opts = RunOptions::default();
    opts.control = control.clone();
    let prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    let runner = std::thread::spawn(move || Engine::new().run(&prof, &opts).unwrap());
    std::thread::sleep(Duration::from_millis(300));
    assert!(!runner.is_finished(), "a paused run finished");
    control.resume();
    let report = runner.join().unwrap();
    assert_eq!(report.status, RunStatus::Ok);
    assert_eq!(snapshot(&p.src()), snapshot(&p.dst()));
}

struct Answer(bool, AtomicUsize);

impl Prompt for Answer {
    fn confirm_deletes(&self, plan: &FolderPlan) -> bool {
        assert_eq!(plan.summary.deletions, 1);
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0
    }
}

#[test]
fn confirm_deletes_prompt_is_asked_and_a_no_keeps_the_files() {
    let p = Pair::new();
    tree::write(&p.src(), &[("a", "1"), ("b", "2"), ("c", "3")]);
    tree::write(
        &p.dst(),
        &[("a", "1"), ("b", "2"), ("c", "3"), ("extra", "x")],
    );
    let mut prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    prof.copy.confirm_deletes = true;
    let no = Arc::new(Answer(false, AtomicUsize::new(0)));
    let mut opts = RunOptions::default();
    opts.prompt = Some(no.clone());
    let report = Engine::new().run(&prof, &opts).unwrap();
    assert_eq!(no.1.load(Ordering::SeqCst), 1);
    assert!(p.dst().join("extra").exists());
    assert!(report
        .warnings
        .iter()
        .any(|w| w.message.contains("declined")));
    let yes = Arc::new(Answer(true, AtomicUsize::new(0)));
    let mut opts = RunOptions::default();
    opts.prompt = Some(yes);
    Engine::new().run(&prof, &opts).unwrap();
    assert!(!p.dst().join("extra").exists());
}

#[test]
fn a_busy_file_is_retried_then_reported_as_a_warning_and_the_run_goes_on() {
    let p = Pair::new();
    std::fs::create_dir_all(p.dst()).unwrap();
    // A running program cannot be opened for writing (ETXTBSY): a real busy file.
    let busy = p.dst().join("prog");
    std::fs::copy("/bin/sleep", &busy).unwrap();
    let mut child = std::process::Command::new(&busy).arg("30").spawn().unwrap();
    tree::write(
        &p.src(),
        &[("prog", "a newer program"), ("other.txt", "fine")],
    );
    let mut prof = tree::profile(Operation::Copy, &p.src(), &p.dst());
    prof.copy.copy_directly = true;
    prof.copy.retries = 2;
    prof.copy.retry_delay_ms = 20;
    let started = std::time::Instant::now();
    let report = Engine::new().run(&prof, &RunOptions::default()).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert_eq!(report.warnings[0].kind, "busy");
    assert!(
        started.elapsed() >= Duration::from_millis(40),
        "not retried with a delay"
    );
    assert_eq!(
        std::fs::read_to_string(p.dst().join("other.txt")).unwrap(),
        "fine"
    );
}

/// Issue 11, item 4: retries wait in the transport, and cancelling the run ends the wait
/// within a second (the executor used to sleep the whole delay between tries, deaf to it).
#[test]
fn cancel_ends_the_wait_before_a_retry() {
    let p = Pair::new();
    std::fs::create_dir_all(p.dst()).unwrap();
    let busy = p.dst().join("prog");
    std::fs::copy("/bin/sleep", &busy).unwrap();
    let mut child = std::process::Command::new(&busy).arg("30").spawn().unwrap();
    tree::write(&p.src(), &[("prog", "a newer program")]);
    let mut prof = tree::profile(Operation::Copy, &p.src(), &p.dst());
    prof.copy.copy_directly = true;
    prof.copy.retries = 3;
    prof.copy.retry_delay_ms = 20_000;
    let opts = RunOptions::default();
    let control = opts.control.clone();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        control.cancel();
    });
    let started = std::time::Instant::now();
    let report = Engine::new().run(&prof, &opts).unwrap();
    let took = started.elapsed();
    canceller.join().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    assert_eq!(report.status, RunStatus::Cancelled);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert_eq!(report.warnings[0].kind, "busy");
    assert!(
        report.warnings[0].message.contains("cancelled"),
        "{:?}",
        report.warnings[0]
    );
    assert_eq!(
        std::fs::read(&busy).unwrap(),
        std::fs::read("/bin/sleep").unwrap()
    );
}

/// A run of `prof` (or of `plan`, made for it) that records its events.
fn run_recorded(prof: &ferrysync::Profile, plan: Option<&ferrysync::Plan>) -> (Report, Vec<Event>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let mut opts = RunOptions::default();
    opts.events = Some(Arc::new(move |e: &Event| {
        sink.lock().unwrap().push(e.clone())
    }));
    opts.progress_interval = Duration::ZERO;
    let report = match plan {
        Some(plan) => Engine::new().execute(prof, plan, &opts),
        None => Engine::new().run(prof, &opts),
    }
    .unwrap();
    let events = events.lock().unwrap().clone();
    (report, events)
}

/// The outcomes of the action events on `path`, in order.
fn outcomes_of(events: &[Event], path: &str) -> Vec<(ActionKind, ActionOutcome)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::ActionDone {
                action, outcome, ..
            } if action.path.to_string() == path => Some((action.kind, *outcome)),
            _ => None,
        })
        .collect()
}

/// The last progress event.
fn last_progress(events: &[Event]) -> ferrysync::Progress {
    let last = events.iter().rev().find_map(|e| match e {
        Event::Progress(p) => Some(p.clone()),
        _ => None,
    });
    last.expect("no progress event")
}

fn mtime_of(path: &std::path::Path) -> i64 {
    use std::os::unix::fs::MetadataExt;
    let md = std::fs::metadata(path).unwrap();
    md.mtime() * 1_000_000_000 + md.mtime_nsec()
}

/// Issue 11, defects: a folder `update-meta` action was applied but never reported (no
/// action event, progress ending one short, `done.metadata-updates` 0 while the plan said
/// 1). Each one completes once: one event, one step of progress, one count in the report.
#[test]
fn a_folder_metadata_update_is_reported_once_like_every_action() {
    for op in [Operation::Mirror, Operation::Copy, Operation::Move] {
        let p = Pair::new();
        tree::write(&p.src(), &[("sub/a.txt", "same")]);
        tree::write(&p.dst(), &[("sub/a.txt", "same")]);
        tree::set_mtime(&p.src().join("sub/a.txt"), 1_500_000_000);
        tree::set_mtime(&p.dst().join("sub/a.txt"), 1_500_000_000);
        tree::set_mtime(&p.src().join("sub"), 1_400_000_000);
        let prof = tree::profile(op, &p.src(), &p.dst());
        let plan = Engine::new().plan(&prof).unwrap();
        assert_eq!(plan.summary().metadata_updates, 1, "{op:?}: {plan:#?}");
        let (report, events) = run_recorded(&prof, Some(&plan));
        assert!(report.errors.is_empty(), "{op:?}: {:?}", report.errors);
        assert_eq!(report.done.metadata_updates, 1, "{op:?}");
        // (A move removes the emptied source folder too.)
        let updates: Vec<_> = outcomes_of(&events, "sub")
            .into_iter()
            .filter(|(kind, _)| *kind == ActionKind::UpdateMeta)
            .collect();
        assert_eq!(
            updates,
            [(ActionKind::UpdateMeta, ActionOutcome::Done)],
            "{op:?}"
        );
        let progress = last_progress(&events);
        assert_eq!(progress.items_total, plan.folders[0].actions.len() as u64);
        assert_eq!(progress.items_done, progress.items_total, "{op:?}");
        assert_eq!(mtime_of(&p.dst().join("sub")), 1_400_000_000_000_000_000);
        if op != Operation::Move {
            assert!(Engine::new().plan(&prof).unwrap().is_empty(), "{op:?}");
        }
    }
}

/// The same, for several folders at once, with permissions and a copy inside one of them:
/// still once each.
#[test]
fn nested_folder_metadata_updates_are_each_reported_once() {
    let p = Pair::new();
    tree::write(
        &p.src(),
        &[("sub/deeper/a.txt", "same"), ("sub/new.txt", "new")],
    );
    tree::write(&p.dst(), &[("sub/deeper/a.txt", "same")]);
    for side in [p.src(), p.dst()] {
        tree::set_mtime(&side.join("sub/deeper/a.txt"), 1_500_000_000);
    }
    tree::set_mode(&p.src().join("sub"), 0o750);
    tree::set_mtime(&p.src().join("sub/deeper"), 1_400_000_000);
    tree::set_mtime(&p.src().join("sub"), 1_300_000_000);
    let mut prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    prof.copy.preserve_permissions = true;
    let plan = Engine::new().plan(&prof).unwrap();
    assert_eq!(plan.summary().metadata_updates, 2, "{plan:#?}");
    let (report, events) = run_recorded(&prof, Some(&plan));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        (report.done.metadata_updates, report.done.new_files),
        (2, 1)
    );
    for dir in ["sub", "sub/deeper"] {
        assert_eq!(
            outcomes_of(&events, dir),
            [(ActionKind::UpdateMeta, ActionOutcome::Done)],
            "{dir}"
        );
    }
    let progress = last_progress(&events);
    assert_eq!((progress.items_done, progress.items_total), (3, 3));
    assert_eq!(snapshot(&p.src()), snapshot(&p.dst()));
    assert_eq!(mtime_of(&p.dst().join("sub")), 1_300_000_000_000_000_000);
    assert!(Engine::new().plan(&prof).unwrap().is_empty());
}

/// A folder update that cannot be made fails once, naming the folder, and still counts
/// toward the progress.
#[test]
fn a_failed_folder_metadata_update_is_reported_once_as_failed() {
    let p = Pair::new();
    tree::write(&p.src(), &[("sub/a.txt", "same")]);
    tree::write(&p.dst(), &[("sub/a.txt", "same")]);
    for side in [p.src(), p.dst()] {
        tree::set_mtime(&side.join("sub/a.txt"), 1_500_000_000);
    }
    tree::set_mtime(&p.src().join("sub"), 1_400_000_000);
    let prof = tree::profile(Operation::Copy, &p.src(), &p.dst());
    let plan = Engine::new().plan(&prof).unwrap();
    // Gone between the plan and the run.
    std::fs::remove_dir_all(p.dst().join("sub")).unwrap();
    let (report, events) = run_recorded(&prof, Some(&plan));
    assert_eq!((report.done.metadata_updates, report.failed), (0, 1));
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    let shown = p.dst().join("sub").display().to_string();
    assert_eq!(report.errors[0].path.as_deref(), Some(shown.as_str()));
    assert_eq!(
        outcomes_of(&events, "sub"),
        [(ActionKind::UpdateMeta, ActionOutcome::Failed)]
    );
    let progress = last_progress(&events);
    assert_eq!((progress.items_done, progress.items_total), (1, 1));
}
