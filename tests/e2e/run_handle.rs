//! The run handle (issue 11, item 6): a run started on its own thread, its events pulled from
//! one bounded queue, its questions answered by id, the defaults of unanswered questions,
//! cancel, pause and resume, and a panic on the run thread as one documented error.

use std::fs;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrysync::{
    Answer, ConflictPolicy, Engine, ErrorKind, Event, Next, Operation, Profile, Question, Report,
    Run, RunControl, RunOptions, RunStatus, StartOptions,
};

use crate::tree::{self, snapshot, Pair};

fn many_files(p: &Pair, n: usize) {
    for i in 0..n {
        let path = p.src().join(format!("d{}/f{i}.bin", i % 17));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, vec![i as u8; 512 + i % 2000]).unwrap();
    }
}

fn start(prof: &Profile, opts: StartOptions) -> Run {
    Engine::new().start(prof, opts).expect("start")
}

/// Every event of `run` until it finishes, handing each to `on` first.
fn drain(run: &Run, mut on: impl FnMut(&Event)) -> Vec<Event> {
    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "the run did not finish");
        match run.next_event(Duration::from_millis(200)) {
            Next::Event(e) => {
                on(&e);
                events.push(e);
            }
            Next::Empty => {}
            Next::Finished => return events,
        }
    }
}

fn names(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(Event::name).collect()
}

/// A mirror that asks before deleting, and a destination holding one file the source lacks.
fn confirming(p: &Pair) -> Profile {
    tree::write(&p.src(), &[("a", "1"), ("sub/b", "22")]);
    tree::write(&p.dst(), &[("a", "1"), ("sub/b", "22"), ("extra", "xyz")]);
    let mut prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    prof.copy.confirm_deletes = true;
    prof
}

fn declined(report: &Report) -> bool {
    report
        .warnings
        .iter()
        .any(|w| w.message.contains("declined"))
}

#[test]
fn a_started_run_streams_its_events_then_gives_its_report() {
    let p = Pair::new();
    many_files(&p, 200);
    let prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    let run = start(&prof, StartOptions::default());
    let events = drain(&run, |_| {});
    let kinds = names(&events);
    assert_eq!(kinds.first(), Some(&"started"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"finished"), "{kinds:?}");
    let report = run.wait().expect("report");
    assert!(matches!(events.last(), Some(Event::Finished(r)) if **r == report));
    let actions = kinds.iter().filter(|k| **k == "action-done").count() as u64;
    assert_eq!(actions, report.done.new_files + report.done.new_dirs);
    assert!(matches!(run.next_event(Duration::ZERO), Next::Finished));
    assert!(matches!(run.try_next_event(), Next::Finished));
    assert!(run.is_finished());
    // Waiting again gives the same report.
    assert_eq!(run.wait().expect("again"), report);
    assert_eq!(snapshot(&p.src()), snapshot(&p.dst()));
}

#[test]
fn events_other_than_progress_wait_for_a_full_queue() {
    let p = Pair::new();
    many_files(&p, 2500);
    let prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    let mut run_opts = RunOptions::default();
    run_opts.progress_interval = Duration::ZERO;
    let opts = StartOptions::new(run_opts);
    let run = start(&prof, opts);
    // Nobody reads: the run fills the queue (more actions than it holds) and waits.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!run.is_finished(), "the run did not wait for its reader");
    let events = drain(&run, |_| {});
    let report = run.wait().expect("report");
    let actions = events
        .iter()
        .filter(|e| matches!(e, Event::ActionDone { .. }))
        .count() as u64;
    assert!(actions > ferrysync::EVENT_QUEUE as u64);
    assert_eq!(
        actions,
        report.done.new_files + report.done.new_dirs,
        "an action event was lost"
    );
    assert_eq!(report.status, RunStatus::Ok);
}

#[test]
fn confirm_deletes_is_asked_by_id_and_the_answer_is_carried_out() {
    for yes in [false, true] {
        let p = Pair::new();
        let prof = confirming(&p);
        let run = start(&prof, StartOptions::default());
        let mut asked = 0;
        drain(&run, |e| {
            let Event::ConfirmDeletes(q) = e else { return };
            asked += 1;
            assert_eq!(e.prompt_id(), Some(q.prompt_id));
            assert_eq!(q.folder, "main");
            assert_eq!(q.deletions, 1);
            assert_eq!(q.bytes_to_delete, 3);
            assert_eq!(
                q.paths.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
                ["extra"]
            );
            assert_eq!(run.pending(q.prompt_id), Some(Question::ConfirmDeletes));
            let wrong = run.answer(q.prompt_id, Answer::Conflict(ConflictPolicy::Newer));
            assert_eq!(wrong.unwrap_err().kind(), ErrorKind::InvalidInput);
            run.answer(q.prompt_id, Answer::Deletes(yes))
                .expect("answer");
            let again = run.answer(q.prompt_id, Answer::Deletes(yes));
            assert_eq!(again.unwrap_err().kind(), ErrorKind::NotFound);
            assert_eq!(
                run.answer(999, Answer::Deletes(yes)).unwrap_err().kind(),
                ErrorKind::NotFound
            );
        });
        assert_eq!(asked, 1);
        let report = run.wait().expect("report");
        assert_eq!(report.status, RunStatus::Ok);
        assert_eq!(p.dst().join("extra").exists(), !yes, "answered {yes}");
        assert_eq!(declined(&report), !yes);
    }
}

#[test]
fn an_unanswered_confirm_deletes_keeps_the_files_when_it_times_out() {
    let p = Pair::new();
    let prof = confirming(&p);
    let mut opts = StartOptions::default();
    opts.prompt_timeout = Some(Duration::from_millis(100));
    let run = start(&prof, opts);
    let started = Instant::now();
    let events = drain(&run, |_| {});
    assert!(names(&events).contains(&"confirm-deletes"));
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "it did not wait"
    );
    let report = run.wait().expect("report");
    assert!(
        p.dst().join("extra").exists(),
        "the default is to keep the files"
    );
    assert!(declined(&report));

    // A caller may choose the other default.
    let mut opts = StartOptions::default();
    opts.prompt_timeout = Some(Duration::from_millis(50));
    opts.delete_unanswered = true;
    let run = start(&prof, opts);
    drain(&run, |_| {});
    run.wait().expect("report");
    assert!(!p.dst().join("extra").exists());
}

#[test]
fn wait_gives_questions_their_default_at_once() {
    let p = Pair::new();
    let prof = confirming(&p);
    // No timeout: only wait (nobody will answer) ends the question.
    let mut opts = StartOptions::default();
    opts.prompt_timeout = None;
    let run = start(&prof, opts);
    let started = Instant::now();
    let report = run.wait().expect("report");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(report.status, RunStatus::Ok);
    assert!(p.dst().join("extra").exists());
    assert!(declined(&report));
}

/// A two-way pair whose `f.txt` was edited on both sides, with the conflict policy "prompt".
fn conflicting(p: &Pair) -> Profile {
    let mut prof = tree::profile(Operation::Synchronize, &p.src(), &p.dst());
    prof.sync.state = Some(p.dir.path().join("state.sqlite").display().to_string());
    tree::write(&p.src(), &[("f.txt", "v1")]);
    tree::run(&prof);
    tree::write(&p.src(), &[("f.txt", "left edit")]);
    tree::set_mtime(&p.src().join("f.txt"), 1_700_000_000);
    tree::write(&p.dst(), &[("f.txt", "right edit, newer")]);
    tree::set_mtime(&p.dst().join("f.txt"), 1_700_000_100);
    prof.sync.conflict = ConflictPolicy::Prompt;
    prof
}

fn conflict_copies(root: &std::path::Path) -> usize {
    fs::read_dir(root)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("f (conflict ")
        })
        .count()
}

#[test]
fn a_conflict_prompt_is_answered_by_id() {
    let p = Pair::new();
    let prof = conflicting(&p);
    let run = start(&prof, StartOptions::default());
    let mut asked = 0;
    drain(&run, |e| {
        let Event::ConflictPrompt(q) = e else { return };
        asked += 1;
        assert_eq!(q.folder, "main");
        assert_eq!(q.action.path.to_string(), "f.txt");
        assert_eq!(q.action.source.map(|s| s.size), Some(9));
        assert_eq!(run.pending(q.prompt_id), Some(Question::Conflict));
        let id = q.prompt_id;
        let wrong = run.answer(id, Answer::Deletes(true)).unwrap_err();
        assert_eq!(wrong.kind(), ErrorKind::InvalidInput);
        let prompt = run
            .answer(id, Answer::Conflict(ConflictPolicy::Prompt))
            .unwrap_err();
        assert_eq!(prompt.kind(), ErrorKind::InvalidInput);
        run.answer(id, Answer::Conflict(ConflictPolicy::Source))
            .expect("answer");
        assert_eq!(run.pending(id), None);
    });
    assert_eq!(asked, 1);
    let report = run.wait().expect("report");
    assert_eq!(report.status, RunStatus::Ok);
    for side in [p.src(), p.dst()] {
        assert_eq!(fs::read_to_string(side.join("f.txt")).unwrap(), "left edit");
    }
}

#[test]
fn an_unanswered_conflict_prompt_keeps_both_versions() {
    let p = Pair::new();
    let prof = conflicting(&p);
    let mut opts = StartOptions::default();
    opts.prompt_timeout = Some(Duration::from_millis(50));
    let run = start(&prof, opts);
    let events = drain(&run, |_| {});
    assert_eq!(
        names(&events)
            .iter()
            .filter(|n| **n == "conflict-prompt")
            .count(),
        1
    );
    assert_eq!(run.wait().expect("report").status, RunStatus::Ok);
    for side in [p.src(), p.dst()] {
        assert_eq!(
            fs::read_to_string(side.join("f.txt")).unwrap(),
            "right edit, newer"
        );
        assert_eq!(conflict_copies(&side), 1, "both versions are kept");
    }
}

#[test]
fn cancel_stops_a_started_run_cleanly() {
    let p = Pair::new();
    many_files(&p, 2000);
    let mut prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    prof.copy.threads = 2;
    let run = start(&prof, StartOptions::default());
    drain(&run, |e| {
        if matches!(e, Event::ActionDone { .. }) && !run.is_cancelled() {
            run.cancel();
        }
    });
    let report = run.wait().expect("report");
    assert_eq!(report.status, RunStatus::Cancelled);
    assert!(report.done.new_files < 2000, "cancel did not stop the run");
    let left = tree::snapshot_without(&p.dst(), &[]);
    assert!(!left
        .keys()
        .any(|k| String::from_utf8_lossy(k).contains(".ferry-tmp.")));
}

#[test]
fn cancel_declines_a_waiting_question() {
    let p = Pair::new();
    let prof = confirming(&p);
    let mut opts = StartOptions::default();
    opts.prompt_timeout = None;
    opts.delete_unanswered = true;
    let run = start(&prof, opts);
    drain(&run, |e| {
        if matches!(e, Event::ConfirmDeletes(_)) {
            run.cancel();
        }
    });
    assert_eq!(run.wait().expect("report").status, RunStatus::Cancelled);
    assert!(p.dst().join("extra").exists());
}

#[test]
fn pause_holds_a_started_run_until_resume() {
    let p = Pair::new();
    many_files(&p, 300);
    let prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    let control = RunControl::new();
    control.pause();
    let mut opts = RunOptions::default();
    opts.control = control;
    let run = start(&prof, StartOptions::new(opts));
    assert!(run.is_paused());
    std::thread::sleep(Duration::from_millis(500));
    assert!(!run.is_finished(), "a paused run finished");
    let copied = tree::snapshot_without(&p.dst(), &[])
        .keys()
        .filter(|k| k.ends_with(b".bin"))
        .count();
    assert_eq!(copied, 0, "files were copied while paused");
    run.resume();
    assert!(!run.is_paused());
    let report = run.wait().expect("report");
    assert_eq!(report.status, RunStatus::Ok);
    assert_eq!(snapshot(&p.src()), snapshot(&p.dst()));
    // Pausing and resuming through the handle does the same.
    run.pause();
    assert!(run.control().is_paused());
}

#[test]
fn a_panic_on_the_run_thread_is_an_internal_error() {
    let p = Pair::new();
    tree::write(&p.src(), &[("a", "1")]);
    let prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    let mut run_opts = RunOptions::default();
    run_opts.events = Some(Arc::new(|e: &Event| {
        if matches!(e, Event::Started { .. }) {
            panic!("a bug in a sink");
        }
    }));
    let opts = StartOptions::new(run_opts);
    let run = start(&prof, opts);
    assert!(matches!(
        run.next_event(Duration::from_secs(30)),
        Next::Finished
    ));
    let err = run.wait().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert_eq!(err.kind().name(), "internal");
    assert!(
        err.message().contains("the run panicked: a bug in a sink"),
        "{err}"
    );
    // The same error for every caller.
    assert_eq!(run.wait().unwrap_err().to_string(), err.to_string());
}

#[test]
fn dropping_an_unfinished_run_cancels_it() {
    let p = Pair::new();
    many_files(&p, 2000);
    let prof = tree::profile(Operation::Mirror, &p.src(), &p.dst());
    let control = RunControl::new();
    let mut opts = RunOptions::default();
    opts.control = control.clone();
    let run = start(&prof, StartOptions::new(opts));
    drop(run);
    assert!(control.is_cancelled());
}
