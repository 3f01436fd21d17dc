//! Events, progress, cancel, pause and the confirm-deletes prompt.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrysync::{Engine, Event, FolderPlan, Operation, Prompt, RunControl, RunOptions, RunStatus};

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
    let opts = RunOptions {
        events: Some(Arc::new(move |e: &Event| {
            sink.lock().unwrap().push(e.clone())
        })),
        progress_interval: Duration::ZERO,
        ..RunOptions::default()
    };
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
    let opts = RunOptions {
        control: control.clone(),
        events: Some(Arc::new(move |e: &Event| {
            if matches!(e, Event::ActionDone { .. }) && s.fetch_add(1, Ordering::SeqCst) == 50 {
                c.cancel();
            }
        })),
        ..RunOptions::default()
    };
    let mut prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    prof.copy.threads = 2;
    let report = Engine::new().run(&prof, &opts).unwrap();
    assert_eq!(report.status, RunStatus::Cancelled);
    assert_eq!(report.exit_code(), 130);
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
    let opts = RunOptions {
        control: control.clone(),
        ..RunOptions::default()
    };
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
    let opts = RunOptions {
        prompt: Some(no.clone()),
        ..RunOptions::default()
    };
    let report = Engine::new().run(&prof, &opts).unwrap();
    assert_eq!(no.1.load(Ordering::SeqCst), 1);
    assert!(p.dst().join("extra").exists());
    assert!(report
        .warnings
        .iter()
        .any(|w| w.message.contains("declined")));
    let yes = Arc::new(Answer(true, AtomicUsize::new(0)));
    let opts = RunOptions {
        prompt: Some(yes),
        ..RunOptions::default()
    };
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
