//! Two-way synchronization called as C would: the plan's two-way fields, conflict prompts
//! pulled or pushed to a callback and answered with a policy, their timeout, and resync.

use std::ffi::{c_char, c_void};
use std::fs;
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use crate::tests_support::{c, last_error, sentinel, text};
use crate::*;

/// A folder pair `a` ⇄ `b` with its state database, in a temporary folder.
struct Pair {
    dir: tempfile::TempDir,
    engine: *mut ferry_engine,
}

impl Pair {
    fn new() -> Pair {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("a")).unwrap();
        fs::create_dir_all(dir.path().join("b")).unwrap();
        let mut engine = ptr::null_mut();
        assert_eq!(ferry_engine_new(&mut engine), ferry_result::Ok);
        Pair { dir, engine }
    }

    fn a(&self) -> PathBuf {
        self.dir.path().join("a")
    }

    fn b(&self) -> PathBuf {
        self.dir.path().join("b")
    }

    /// A two-way profile over the pair with conflict policy `conflict`.
    fn profile(&self, conflict: &str) -> *mut ferry_profile {
        let json = serde_json::json!({
            "format": 1,
            "name": "two-way",
            "operation": "synchronize",
            "sync": {"conflict": conflict, "state": self.dir.path().join("state.sqlite")},
            "folders": [{"name": "pair", "source": self.a(), "destination": self.b()}],
        });
        let mut p = ptr::null_mut();
        assert_eq!(
            ferry_profile_from_json(c(&json.to_string()).as_ptr(), &mut p),
            ferry_result::Ok,
            "{}",
            last_error()
        );
        p
    }

    fn run(&self, profile: *const ferry_profile, opts: *const ferry_run_options) {
        let mut report = ptr::null_mut();
        assert_eq!(
            ferry_engine_run(self.engine, profile, opts, &mut report),
            ferry_result::Ok,
            "{}",
            last_error()
        );
        let mut status = ferry_run_status::Errors;
        assert_eq!(ferry_report_status(report, &mut status), ferry_result::Ok);
        assert_eq!(status, ferry_run_status::Ok);
        ferry_report_free(report);
    }

    /// `f.txt` synchronized, then edited on both sides, the destination's edit later.
    fn conflicting_edit(&self, profile: *const ferry_profile) {
        write(&self.a().join("f.txt"), "v1", None);
        self.run(profile, ptr::null());
        write(&self.a().join("f.txt"), "left edit", Some(1_700_000_000));
        write(
            &self.b().join("f.txt"),
            "right edit, newer",
            Some(1_700_000_100),
        );
    }

    /// Names in one side's root, without the `.ferrysync` folder.
    fn names(&self, side: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(side)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != ".ferrysync")
            .collect();
        v.sort();
        v
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        ferry_engine_free(self.engine);
    }
}

fn write(path: &Path, content: &str, mtime_s: Option<u64>) {
    fs::write(path, content).unwrap();
    if let Some(s) = mtime_s {
        let f = fs::File::options().write(true).open(path).unwrap();
        f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(s))
            .unwrap();
    }
}

fn read(path: PathBuf) -> String {
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every action of a fresh plan of `profile` (with `opts`).
fn actions(
    pair: &Pair,
    profile: *const ferry_profile,
    opts: *const ferry_run_options,
) -> (
    Vec<(ferry_action_info, String, Option<String>)>,
    ferry_summary,
) {
    let mut plan = ptr::null_mut();
    assert_eq!(
        ferry_engine_plan_with(pair.engine, profile, opts, &mut plan),
        ferry_result::Ok,
        "{}",
        last_error()
    );
    let mut out = Vec::new();
    for i in 0..ferry_plan_action_count(plan) {
        let mut info = std::mem::MaybeUninit::<ferry_action_info>::uninit();
        assert_eq!(
            ferry_plan_action_get(plan, i, info.as_mut_ptr()),
            ferry_result::Ok
        );
        let info = unsafe { info.assume_init() };
        let from = (!info.from.is_null()).then(|| text(info.from));
        out.push((info, text(info.path), from));
    }
    let mut summary = ferry_summary::default();
    assert_eq!(ferry_plan_summary(plan, &mut summary), ferry_result::Ok);
    ferry_plan_free(plan);
    (out, summary)
}

#[test]
fn a_two_way_plan_shows_sides_stamps_resolutions_and_renames() {
    let pair = Pair::new();
    let p = pair.profile("prompt");
    write(&pair.a().join("left.txt"), "from a", None);
    write(&pair.b().join("right.txt"), "from b", None);
    let (first, summary) = actions(&pair, p, ptr::null());
    assert_eq!(summary.new_files, 2, "{first:?}");
    let to: Vec<_> = first
        .iter()
        .map(|(i, path, _)| (path.as_str(), i.to))
        .collect();
    assert_eq!(
        to,
        [
            ("left.txt", ferry_side::Destination),
            ("right.txt", ferry_side::Source)
        ]
    );
    pair.run(p, ptr::null());

    // A conflicting edit (synchronized first, then edited) and a rename on one side.
    pair.conflicting_edit(p);
    fs::rename(pair.a().join("left.txt"), pair.a().join("moved.txt")).unwrap();
    let (planned, summary) = actions(&pair, p, ptr::null());
    assert_eq!((summary.renames, summary.conflicts), (1, 1), "{planned:?}");
    let (rename, _, from) = planned
        .iter()
        .find(|(i, _, _)| i.kind == ferry_action_kind::Rename)
        .expect("a rename");
    assert_eq!(from.as_deref(), Some("left.txt"));
    assert_eq!(rename.group, ferry_action_group::Renamed);
    assert_eq!(rename.to, ferry_side::Destination);
    let (conflict, path, from) = planned
        .iter()
        .find(|(i, _, _)| i.kind == ferry_action_kind::Conflict)
        .expect("a conflict");
    assert_eq!((path.as_str(), from), ("f.txt", &None));
    assert_eq!(conflict.conflict, ferry_conflict_kind::BothChanged);
    assert_eq!(conflict.resolution, ferry_resolution::Prompt);
    assert_eq!(conflict.resolution_side, ferry_side::None);
    assert_eq!(
        (
            conflict.source.exists,
            conflict.source.size,
            conflict.source.mtime_ns
        ),
        (true, 9, 1_700_000_000_000_000_000)
    );
    assert_eq!(
        (conflict.destination.exists, conflict.destination.size),
        (true, 17)
    );
    // Actions that are not conflicts have no conflict fields.
    assert_eq!(rename.conflict, ferry_conflict_kind::None);
    assert_eq!(rename.resolution, ferry_resolution::None);
    ferry_profile_free(p);

    // The profile's policy shows in the plan as the resolution and its side.
    let newer = pair.profile("newer");
    let (planned, _) = actions(&pair, newer, ptr::null());
    let (conflict, _, _) = planned
        .iter()
        .find(|(i, _, _)| i.kind == ferry_action_kind::Conflict)
        .unwrap();
    assert_eq!(
        (conflict.resolution, conflict.resolution_side),
        (ferry_resolution::Wins, ferry_side::Destination)
    );
    ferry_profile_free(newer);
}

/// Takes every event of `run`, answering conflict prompts with `policy` (None: not at all);
/// returns the conflicts asked about.
fn answer_conflicts(run: *mut ferry_run, policy: Option<ferry_conflict_policy>) -> Vec<String> {
    let mut asked = Vec::new();
    loop {
        let mut ev = ptr::null_mut();
        match ferry_run_next_event(run, 10_000, &mut ev) {
            ferry_result::Ok => {}
            ferry_result::RunFinished => return asked,
            other => panic!("next event: {other:?}"),
        }
        let mut info = sentinel::<ferry_conflict_info>();
        if ferry_event_get_kind(ev) != ferry_event_kind::ConflictPrompt {
            assert_eq!(ferry_event_conflict(ev, info), ferry_result::WrongEventKind);
            assert_eq!(info, sentinel());
            ferry_event_free(ev);
            continue;
        }
        let mut got = std::mem::MaybeUninit::<ferry_conflict_info>::uninit();
        assert_eq!(ferry_event_conflict(ev, got.as_mut_ptr()), ferry_result::Ok);
        let got = unsafe { got.assume_init() };
        info = ptr::null_mut();
        let _ = info;
        let mut id = 0;
        assert_eq!(ferry_event_prompt_id(ev, &mut id), ferry_result::Ok);
        assert_eq!(id, got.prompt_id);
        assert_eq!(got.kind, ferry_conflict_kind::BothChanged);
        assert_eq!(got.entry, ferry_entry_kind::File);
        assert_eq!(text(got.folder), "pair");
        assert!(got.source.exists && got.destination.exists);
        assert!(got.destination.mtime_ns > got.source.mtime_ns);
        let mut json = ptr::null_mut();
        assert_eq!(ferry_event_to_json(ev, &mut json), ferry_result::Ok);
        let value: serde_json::Value = serde_json::from_str(&text(json)).unwrap();
        ferry_string_free(json);
        assert_eq!(value["event"], "conflict-prompt");
        assert_eq!(value["prompt-id"], id);
        assert_eq!(value["action"]["detail"], "both-changed");
        let mut msg = [0 as c_char; 256];
        let mut n = 0;
        assert_eq!(
            ferry_event_message(ev, msg.as_mut_ptr(), msg.len(), &mut n),
            ferry_result::Ok
        );
        assert!(text(msg.as_ptr()).contains("conflict (both-changed) at f.txt"));
        asked.push(text(got.path));
        if let Some(policy) = policy {
            // A yes/no answer, PROMPT and values that are no policy are refused.
            assert_eq!(
                ferry_run_answer(run, id, true),
                ferry_result::WrongEventKind
            );
            assert!(last_error().contains("ferry_run_answer_conflict"));
            for bad in [ferry_conflict_policy::Prompt as u32, 0, 77] {
                assert_eq!(
                    ferry_run_answer_conflict(run, id, bad),
                    ferry_result::InvalidInput
                );
            }
            assert_eq!(
                ferry_run_answer_conflict(run, id, policy as u32),
                ferry_result::Ok
            );
            assert_eq!(
                ferry_run_answer_conflict(run, id, policy as u32),
                ferry_result::UnknownPrompt
            );
        }
        ferry_event_free(ev);
    }
}

#[test]
fn a_conflict_prompt_answered_newer_keeps_the_newer_version_on_both_sides() {
    let pair = Pair::new();
    let p = pair.profile("prompt");
    pair.conflicting_edit(p);
    let mut run = ptr::null_mut();
    assert_eq!(
        ferry_engine_run_start(pair.engine, p, ptr::null(), &mut run),
        ferry_result::Ok
    );
    let asked = answer_conflicts(run, Some(ferry_conflict_policy::Newer));
    assert_eq!(asked, ["f.txt"]);
    let mut report = ptr::null_mut();
    assert_eq!(ferry_run_wait(run, &mut report), ferry_result::Ok);
    ferry_report_free(report);
    ferry_run_free(run);
    assert_eq!(read(pair.a().join("f.txt")), "right edit, newer");
    assert_eq!(read(pair.b().join("f.txt")), "right edit, newer");
    assert_eq!(pair.names(&pair.a()), ["f.txt"]);
    ferry_profile_free(p);
}

#[test]
fn an_unanswered_conflict_prompt_keeps_both() {
    let pair = Pair::new();
    let p = pair.profile("prompt");
    pair.conflicting_edit(p);
    let opts = ferry_run_options {
        prompt_timeout_ms: 50,
        ..Default::default()
    };
    let mut run = ptr::null_mut();
    assert_eq!(
        ferry_engine_run_start(pair.engine, p, &opts, &mut run),
        ferry_result::Ok
    );
    assert_eq!(answer_conflicts(run, None), ["f.txt"]);
    let mut report = ptr::null_mut();
    assert_eq!(ferry_run_wait(run, &mut report), ferry_result::Ok);
    ferry_report_free(report);
    ferry_run_free(run);
    for side in [pair.a(), pair.b()] {
        let names = pair.names(&side);
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names[0].starts_with("f (conflict "), "{names:?}");
        assert_eq!(read(side.join(&names[0])), "left edit");
        assert_eq!(read(side.join("f.txt")), "right edit, newer");
    }
    ferry_profile_free(p);
}

struct Answering {
    run: AtomicPtr<ferry_run>,
    asked: AtomicUsize,
}

/// Answers every conflict prompt "source" from the engine thread.
unsafe extern "C" fn source_wins(userdata: *mut c_void, event: *const ferry_event) {
    let state = unsafe { &*(userdata as *const Answering) };
    if ferry_event_get_kind(event) == ferry_event_kind::ConflictPrompt {
        let mut id = 0;
        assert_eq!(ferry_event_prompt_id(event, &mut id), ferry_result::Ok);
        let run = state.run.load(Ordering::SeqCst);
        assert_eq!(
            ferry_run_answer_conflict(run, id, ferry_conflict_policy::Source as u32),
            ferry_result::Ok
        );
        state.asked.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_callback_answers_conflict_prompts_on_the_engine_thread() {
    let pair = Pair::new();
    let p = pair.profile("prompt");
    pair.conflicting_edit(p);
    let state = Answering {
        run: AtomicPtr::default(),
        asked: AtomicUsize::new(0),
    };
    let opts = ferry_run_options {
        event_callback: Some(source_wins),
        userdata: &state as *const Answering as *mut c_void,
        ..Default::default()
    };
    assert_eq!(
        ferry_engine_run_start(pair.engine, p, &opts, state.run.as_ptr()),
        ferry_result::Ok
    );
    let run = state.run.load(Ordering::SeqCst);
    let mut report = ptr::null_mut();
    assert_eq!(ferry_run_wait(run, &mut report), ferry_result::Ok);
    ferry_report_free(report);
    ferry_run_free(run);
    assert_eq!(state.asked.load(Ordering::SeqCst), 1);
    assert_eq!(read(pair.a().join("f.txt")), "left edit");
    assert_eq!(read(pair.b().join("f.txt")), "left edit");
    ferry_profile_free(p);
}

#[test]
fn resync_plans_and_runs_a_first_run_again() {
    let pair = Pair::new();
    let p = pair.profile("keep-both");
    write(&pair.a().join("x.txt"), "x", None);
    pair.run(p, ptr::null());
    fs::remove_file(pair.b().join("x.txt")).unwrap();
    // With the state, the deletion on b reaches a; with resync, a first run restores it.
    let (planned, _) = actions(&pair, p, ptr::null());
    assert_eq!(planned[0].0.kind, ferry_action_kind::Delete);
    assert_eq!(planned[0].0.to, ferry_side::Source);
    let resync = ferry_run_options {
        resync: true,
        ..Default::default()
    };
    let (planned, summary) = actions(&pair, p, &resync);
    assert_eq!(
        (summary.new_files, summary.deletions),
        (1, 0),
        "{planned:?}"
    );
    assert_eq!(planned[0].0.to, ferry_side::Destination);
    pair.run(p, &resync);
    assert_eq!(read(pair.b().join("x.txt")), "x");
    ferry_profile_free(p);
}

#[test]
fn conflict_policies_have_their_profile_names() {
    for (value, name) in [
        (ferry_conflict_policy::Prompt, "prompt"),
        (ferry_conflict_policy::Newer, "newer"),
        (ferry_conflict_policy::KeepBoth, "keep-both"),
        (ferry_conflict_policy::Skip, "skip"),
    ] {
        assert_eq!(text(ferry_conflict_policy_name(value as u32)), name);
        let mut out = ferry_conflict_policy::Prompt;
        assert_eq!(
            ferry_conflict_policy_from_name(c(name).as_ptr(), &mut out),
            ferry_result::Ok
        );
        assert_eq!(out, value);
    }
    assert!(ferry_conflict_policy_name(0).is_null());
    assert!(ferry_conflict_policy_name(10).is_null());
    let mut out = ferry_conflict_policy::Skip;
    assert_eq!(
        ferry_conflict_policy_from_name(c("newest").as_ptr(), &mut out),
        ferry_result::InvalidInput
    );
    assert!(last_error().contains("keep-both"), "{}", last_error());
    assert_eq!(out, ferry_conflict_policy::Skip);
    assert_eq!(
        ferry_conflict_policy_from_name(ptr::null(), &mut out),
        ferry_result::NullParameter
    );
    // The published values, pinned.
    assert_eq!(ferry_conflict_policy::Prompt as u32, 1);
    assert_eq!(ferry_conflict_policy::Skip as u32, 9);
    assert_eq!(ferry_event_kind::ConflictPrompt as u32, 9);
}

#[test]
fn clear_and_reset_state_make_first_runs() {
    let pair = Pair::new();
    let p = pair.profile("keep-both");
    write(&pair.a().join("x.txt"), "x", None);
    write(&pair.a().join("y.txt"), "y", None);
    pair.run(p, ptr::null());
    fs::remove_file(pair.b().join("x.txt")).unwrap();

    // Cleared, the deletion on b is forgotten: a first run brings x.txt back.
    assert_eq!(ferry_engine_clear_state(pair.engine, p), ferry_result::Ok);
    let (planned, summary) = actions(&pair, p, ptr::null());
    assert_eq!(
        (summary.new_files, summary.deletions),
        (1, 0),
        "{planned:?}"
    );

    // Reset, both sides as they are now are the state: the deletion is not one any more
    // (x.txt is only on a, a new file there), y.txt is recorded.
    let mut recorded = u64::MAX;
    assert_eq!(
        ferry_engine_reset_state(pair.engine, p, &mut recorded),
        ferry_result::Ok,
        "{}",
        last_error()
    );
    assert!(recorded >= 1, "{recorded}");
    let (planned, summary) = actions(&pair, p, ptr::null());
    assert_eq!(
        (summary.new_files, summary.deletions),
        (1, 0),
        "{planned:?}"
    );
    assert_eq!(planned[0].1, "x.txt");
    assert_eq!(planned[0].0.to, ferry_side::Destination);

    // Not a two-way profile: invalid input, the out-parameter untouched.
    let mirror = serde_json::json!({
        "format": 1, "name": "m", "operation": "mirror",
        "folders": [{"name": "pair", "source": pair.a(), "destination": pair.b()}],
    });
    let mut m = ptr::null_mut();
    assert_eq!(
        ferry_profile_from_json(c(&mirror.to_string()).as_ptr(), &mut m),
        ferry_result::Ok
    );
    assert_eq!(
        ferry_engine_clear_state(pair.engine, m),
        ferry_result::InvalidInput
    );
    assert!(
        last_error().contains("not a two-way profile"),
        "{}",
        last_error()
    );
    let mut untouched = 7u64;
    assert_eq!(
        ferry_engine_reset_state(pair.engine, m, &mut untouched),
        ferry_result::InvalidInput
    );
    assert_eq!(untouched, 7);
    assert_eq!(
        ferry_engine_reset_state(pair.engine, p, ptr::null_mut()),
        ferry_result::NullParameter
    );
    assert_eq!(
        ferry_engine_clear_state(ptr::null(), p),
        ferry_result::NullParameter
    );
    ferry_profile_free(m);
    ferry_profile_free(p);
}
