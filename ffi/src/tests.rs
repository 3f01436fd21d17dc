//! Calls the exports as C would: NULLs, error codes, the last error, untouched out-parameters,
//! caught panics, and a plan and a run on temporary trees.

use std::collections::HashSet;
use std::ffi::{c_char, CStr, CString};
use std::fs;
use std::path::Path;
use std::ptr;

use crate::result::{boundary, boundary_value, Failure};
use crate::tests_support::{c, last_error, sentinel, take_string};
use crate::*;

fn mirror_json(src: &Path, dst: &Path, copy: &str) -> CString {
    c(&serde_json::json!({
        "format": 1,
        "name": "t",
        "operation": "mirror",
        "copy": serde_json::from_str::<serde_json::Value>(copy).unwrap(),
        "folders": [{"name": "m", "source": src, "destination": dst}],
    })
    .to_string())
}

fn profile(json: &CStr) -> *mut ferry_profile {
    let mut p = ptr::null_mut();
    assert_eq!(
        ferry_profile_from_json(json.as_ptr(), &mut p),
        ferry_result::Ok
    );
    p
}

fn engine() -> *mut ferry_engine {
    let mut e = ptr::null_mut();
    assert_eq!(ferry_engine_new(&mut e), ferry_result::Ok);
    e
}

fn tree() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    for i in 0..5 {
        fs::write(src.join(format!("sub/f{i}.txt")), format!("file {i}")).unwrap();
    }
    fs::write(src.join("top.txt"), "top").unwrap();
    let dst = dir.path().join("dst");
    (dir, src, dst)
}

#[test]
fn result_codes_are_unique_and_described() {
    let mut seen = HashSet::new();
    for r in ferry_result::ALL {
        assert!(seen.insert(r as u32), "{r:?} reuses a value");
        let mut buf = [0 as c_char; 128];
        let mut n = 0;
        assert_eq!(
            ferry_result_message(r as u32, buf.as_mut_ptr(), buf.len(), &mut n),
            ferry_result::Ok
        );
        assert!(n > 0);
    }
    // The published values, pinned: changing one breaks every C caller.
    assert_eq!(ferry_result::NullParameter as u32, 100);
    assert_eq!(ferry_result::NotFound as u32, 200);
    assert_eq!(ferry_result::Io as u32, 210);
    assert_eq!(ferry_result::Panic as u32, 900);
    let mut buf = [0 as c_char; 64];
    let mut n = 0;
    assert_eq!(
        ferry_result_message(12345, buf.as_mut_ptr(), buf.len(), &mut n),
        ferry_result::Ok
    );
    assert_eq!(
        unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap(),
        "unknown result code 12345"
    );
}

/// Issue 11, item 4: the kinds remote backends need have codes of their own, new values
/// after the published ones.
#[test]
fn network_error_kinds_have_their_own_codes() {
    use ferry_core::ErrorKind;
    let cases = [
        (
            ErrorKind::Unauthenticated,
            ferry_result::Unauthenticated,
            211,
        ),
        (ErrorKind::NoSpace, ferry_result::NoSpace, 212),
        (ErrorKind::Timeout, ferry_result::TimedOut, 213),
        (ErrorKind::Network, ferry_result::Network, 214),
        (ErrorKind::Busy, ferry_result::Busy, 206),
    ];
    for (kind, code, value) in cases {
        assert_eq!(ferry_result::of_kind(kind), code, "{kind}");
        assert_eq!(code as u32, value, "{kind}");
    }
    // The event wait's timeout keeps its value.
    assert_eq!(ferry_result::Timeout as u32, 103);
}

#[test]
fn buffer_too_small_gives_the_length_and_writes_nothing() {
    let mut buf = [b'#' as c_char; 4];
    let mut n = 0;
    let r = ferry_result_message(
        ferry_result::NullParameter as u32,
        buf.as_mut_ptr(),
        buf.len(),
        &mut n,
    );
    assert_eq!(r, ferry_result::BufferTooSmall);
    assert_eq!(n, "a required pointer argument was NULL".len());
    assert!(buf.iter().all(|b| *b == b'#' as c_char));
    // Asking for the length with no buffer.
    let mut n2 = 0;
    assert_eq!(
        ferry_result_message(0, ptr::null_mut(), 0, &mut n2),
        ferry_result::BufferTooSmall
    );
    assert_eq!(n2, 2);
    // A NULL buffer with a length is a NULL argument.
    assert_eq!(
        ferry_result_message(0, ptr::null_mut(), 8, &mut n2),
        ferry_result::NullParameter
    );
}

#[test]
fn null_arguments_give_null_parameter_and_free_null_is_a_no_op() {
    let json = c(r#"{"format": 1, "name": "x"}"#);
    let mut p = sentinel::<ferry_profile>();
    assert_eq!(
        ferry_profile_from_json(ptr::null(), &mut p),
        ferry_result::NullParameter
    );
    assert_eq!(p, sentinel());
    assert!(last_error().contains("json"), "{}", last_error());
    assert_eq!(
        ferry_profile_from_json(json.as_ptr(), ptr::null_mut()),
        ferry_result::NullParameter
    );
    assert_eq!(
        ferry_profile_load(ptr::null(), &mut p),
        ferry_result::NullParameter
    );
    let mut s = sentinel::<c_char>();
    assert_eq!(
        ferry_profile_to_json(ptr::null(), &mut s),
        ferry_result::NullParameter
    );
    assert_eq!(s, sentinel());
    assert_eq!(
        ferry_engine_new(ptr::null_mut()),
        ferry_result::NullParameter
    );
    let mut plan = sentinel::<ferry_plan>();
    assert_eq!(
        ferry_engine_plan(ptr::null(), ptr::null(), &mut plan),
        ferry_result::NullParameter
    );
    assert_eq!(plan, sentinel());
    assert_eq!(ferry_plan_action_count(ptr::null()), 0);
    let mut run = sentinel::<ferry_run>();
    assert_eq!(
        ferry_engine_run_start(ptr::null(), ptr::null(), ptr::null(), &mut run),
        ferry_result::NullParameter
    );
    assert_eq!(run, sentinel());
    let mut ev = sentinel::<ferry_event>();
    assert_eq!(
        ferry_run_next_event(ptr::null_mut(), 0, &mut ev),
        ferry_result::NullParameter
    );
    assert_eq!(
        ferry_run_try_next_event(ptr::null_mut(), &mut ev),
        ferry_result::NullParameter
    );
    assert_eq!(ev, sentinel());
    assert_eq!(ferry_run_cancel(ptr::null()), ferry_result::NullParameter);
    assert_eq!(ferry_run_pause(ptr::null()), ferry_result::NullParameter);
    assert_eq!(ferry_run_resume(ptr::null()), ferry_result::NullParameter);
    assert_eq!(
        ferry_run_answer(ptr::null(), 1, true),
        ferry_result::NullParameter
    );
    let mut report = sentinel::<ferry_report>();
    assert_eq!(
        ferry_run_wait(ptr::null_mut(), &mut report),
        ferry_result::NullParameter
    );
    assert_eq!(report, sentinel());
    assert_eq!(ferry_event_get_kind(ptr::null()), ferry_event_kind::None);
    assert_eq!(ferry_report_exit_code(ptr::null()), -1);
    let mut js = sentinel::<c_char>();
    assert_eq!(
        ferry_versions_list_json(ptr::null(), ptr::null(), &mut js),
        ferry_result::NullParameter
    );
    assert_eq!(js, sentinel());
    assert_eq!(
        ferry_last_error_message(ptr::null_mut(), 0, ptr::null_mut()),
        ferry_result::NullParameter
    );
    assert_eq!(
        ferry_run_options_init(ptr::null_mut(), std::mem::size_of::<ferry_run_options>()),
        ferry_result::NullParameter
    );

    ferry_profile_free(ptr::null_mut());
    ferry_engine_free(ptr::null_mut());
    ferry_plan_free(ptr::null_mut());
    ferry_run_free(ptr::null_mut());
    ferry_event_free(ptr::null_mut());
    ferry_report_free(ptr::null_mut());
    ferry_string_free(ptr::null_mut());
}

#[test]
fn library_errors_map_to_their_kind_and_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-profile.json");
    let path = c(missing.to_str().unwrap());
    let mut p = sentinel::<ferry_profile>();
    assert_eq!(
        ferry_profile_load(path.as_ptr(), &mut p),
        ferry_result::NotFound
    );
    assert_eq!(p, sentinel());
    assert_eq!(ferry_last_error_kind(), ferry_result::NotFound);
    let msg = last_error();
    assert!(msg.starts_with("not-found: "), "{msg}");
    assert!(msg.contains(missing.to_str().unwrap()), "{msg}");
    // Reading the message does not change it.
    assert_eq!(last_error(), msg);

    let bad = c(r#"{"format": 1, "name": "x", "colour": "red"}"#);
    assert_eq!(
        ferry_profile_from_json(bad.as_ptr(), &mut p),
        ferry_result::InvalidInput
    );
    assert!(last_error().contains("colour"), "{}", last_error());
    assert_eq!(p, sentinel());

    // A key given twice is refused (issue 10, item 14), not "the last one wins".
    let twice = c(r#"{"format": 1, "name": "x", "folders": [
        {"name": "f", "source": "/a", "destination": "/b", "source": "/c"}]}"#);
    assert_eq!(
        ferry_profile_from_json(twice.as_ptr(), &mut p),
        ferry_result::InvalidInput
    );
    assert!(
        last_error().contains(r#"folders[0]: duplicate key "source""#),
        "{}",
        last_error()
    );
    assert_eq!(p, sentinel());

    let not_utf8 = CString::new(vec![b'{', 0xff, b'}']).unwrap();
    assert_eq!(
        ferry_profile_from_json(not_utf8.as_ptr(), &mut p),
        ferry_result::InvalidUtf8
    );
    assert_eq!(p, sentinel());
}

#[test]
fn the_last_error_is_per_thread() {
    let mut p = ptr::null_mut();
    assert_eq!(
        ferry_profile_from_json(ptr::null(), &mut p),
        ferry_result::NullParameter
    );
    std::thread::spawn(|| {
        assert_eq!(ferry_last_error_kind(), ferry_result::Ok);
        assert_eq!(last_error(), "");
    })
    .join()
    .unwrap();
    assert_eq!(ferry_last_error_kind(), ferry_result::NullParameter);
}

#[test]
fn panics_are_caught_at_the_boundary() {
    let r = boundary(|| -> Result<(), Failure> { panic!("boom") });
    assert_eq!(r, ferry_result::Panic);
    assert_eq!(ferry_last_error_kind(), ferry_result::Panic);
    assert!(last_error().contains("boom"), "{}", last_error());
    let v = boundary_value(7usize, || panic!("again"));
    assert_eq!(v, 7);
    assert!(last_error().contains("again"));
}

#[test]
fn profiles_round_trip_and_name_their_name() {
    let json = c(
        r#"{"format": 1, "name": "docs", "folders": [{"name": "a", "source": "/x", "destination": "/y"}]}"#,
    );
    let p = profile(&json);
    let mut buf = [0 as c_char; 16];
    let mut n = 0;
    assert_eq!(
        ferry_profile_name(p, buf.as_mut_ptr(), buf.len(), &mut n),
        ferry_result::Ok
    );
    assert_eq!(n, 4);
    assert_eq!(unsafe { CStr::from_ptr(buf.as_ptr()) }.to_bytes(), b"docs");
    let mut s = ptr::null_mut();
    assert_eq!(ferry_profile_to_json(p, &mut s), ferry_result::Ok);
    let text = take_string(s);
    assert!(text.contains("\"format\": 1"), "{text}");
    let again = profile(&c(&text));
    let dir = tempfile::tempdir().unwrap();
    let file = c(dir.path().join("p.json").to_str().unwrap());
    assert_eq!(ferry_profile_save(again, file.as_ptr()), ferry_result::Ok);
    let mut loaded = ptr::null_mut();
    assert_eq!(
        ferry_profile_load(file.as_ptr(), &mut loaded),
        ferry_result::Ok
    );
    ferry_profile_free(loaded);
    ferry_profile_free(again);
    ferry_profile_free(p);
}

#[test]
fn a_plan_lists_its_actions_with_borrowed_paths() {
    let (_dir, src, dst) = tree();
    let p = profile(&mirror_json(&src, &dst, "{}"));
    let e = engine();
    let mut plan = ptr::null_mut();
    assert_eq!(ferry_engine_plan(e, p, &mut plan), ferry_result::Ok);
    let count = ferry_plan_action_count(plan);
    assert_eq!(count, 7); // sub/, 5 files in it, top.txt
    let mut paths = Vec::new();
    for i in 0..count {
        let mut info = std::mem::MaybeUninit::<ferry_action_info>::uninit();
        assert_eq!(
            ferry_plan_action_get(plan, i, info.as_mut_ptr()),
            ferry_result::Ok
        );
        let info = unsafe { info.assume_init() };
        assert_eq!(info.group, ferry_action_group::New);
        assert_eq!(unsafe { CStr::from_ptr(info.folder) }.to_bytes(), b"m");
        paths.push(
            unsafe { CStr::from_ptr(info.path) }
                .to_str()
                .unwrap()
                .to_string(),
        );
    }
    assert!(paths.contains(&"sub/f3.txt".to_string()), "{paths:?}");
    let mut info = std::mem::MaybeUninit::<ferry_action_info>::uninit();
    assert_eq!(
        ferry_plan_action_get(plan, count, info.as_mut_ptr()),
        ferry_result::IndexOutOfRange
    );
    let mut sum = ferry_summary::default();
    assert_eq!(ferry_plan_summary(plan, &mut sum), ferry_result::Ok);
    assert_eq!((sum.new_files, sum.new_dirs), (6, 1));
    let mut s = ptr::null_mut();
    assert_eq!(ferry_plan_to_json(plan, &mut s), ferry_result::Ok);
    assert!(take_string(s).contains("sub/f3.txt"));
    ferry_plan_free(plan);
    ferry_engine_free(e);
    ferry_profile_free(p);
    assert!(!dst.exists(), "planning changed nothing");
}

/// Takes every event of a run, answering prompts with `answer`; returns their kinds.
fn drain(run: *mut ferry_run, answer: bool) -> Vec<ferry_event_kind> {
    let mut kinds = Vec::new();
    loop {
        let mut ev = ptr::null_mut();
        match ferry_run_next_event(run, 5000, &mut ev) {
            ferry_result::Ok => {}
            ferry_result::RunFinished => return kinds,
            other => panic!("next event: {other:?}"),
        }
        let kind = ferry_event_get_kind(ev);
        kinds.push(kind);
        let mut s = ptr::null_mut();
        assert_eq!(ferry_event_to_json(ev, &mut s), ferry_result::Ok);
        let json: serde_json::Value = serde_json::from_str(&take_string(s)).unwrap();
        assert!(json["event"].is_string());
        let mut prog = ferry_progress::default();
        let r = ferry_event_progress(ev, &mut prog);
        if kind == ferry_event_kind::Progress {
            assert_eq!(r, ferry_result::Ok);
            assert!(prog.items_done <= prog.items_total);
        } else {
            assert_eq!(r, ferry_result::WrongEventKind);
        }
        if kind == ferry_event_kind::ConfirmDeletes {
            let mut id = 0;
            assert_eq!(ferry_event_prompt_id(ev, &mut id), ferry_result::Ok);
            assert_eq!(ferry_run_answer(run, id, answer), ferry_result::Ok);
            assert_eq!(
                ferry_run_answer(run, id, answer),
                ferry_result::UnknownPrompt
            );
        }
        ferry_event_free(ev);
    }
}

#[test]
fn a_run_streams_events_then_reports() {
    let (_dir, src, dst) = tree();
    let p = profile(&mirror_json(&src, &dst, "{}"));
    let e = engine();
    let mut run = ptr::null_mut();
    assert_eq!(
        ferry_engine_run_start(e, p, ptr::null(), &mut run),
        ferry_result::Ok
    );
    let kinds = drain(run, true);
    assert_eq!(kinds.first(), Some(&ferry_event_kind::Started));
    assert_eq!(kinds.last(), Some(&ferry_event_kind::Finished));
    assert!(kinds.contains(&ferry_event_kind::Action));
    let mut ev = sentinel::<ferry_event>();
    assert_eq!(
        ferry_run_try_next_event(run, &mut ev),
        ferry_result::RunFinished
    );
    assert_eq!(ev, sentinel());
    let mut report = ptr::null_mut();
    assert_eq!(ferry_run_wait(run, &mut report), ferry_result::Ok);
    let mut status = ferry_run_status::Cancelled;
    assert_eq!(ferry_report_status(report, &mut status), ferry_result::Ok);
    assert_eq!(status, ferry_run_status::Ok);
    assert_eq!(ferry_report_exit_code(report), 0);
    let mut sum = ferry_summary::default();
    assert_eq!(ferry_report_summary(report, &mut sum), ferry_result::Ok);
    assert_eq!(sum.new_files, 6);
    let mut counts = ferry_report_counts::default();
    assert_eq!(
        ferry_report_get_counts(report, &mut counts),
        ferry_result::Ok
    );
    assert_eq!((counts.errors, counts.failed), (0, 0));
    assert_eq!(fs::read(dst.join("sub/f4.txt")).unwrap(), b"file 4");
    // A second wait gives the same report.
    let mut again = ptr::null_mut();
    assert_eq!(ferry_run_wait(run, &mut again), ferry_result::Ok);
    ferry_report_free(again);
    ferry_report_free(report);
    ferry_run_free(run);
    ferry_engine_free(e);
    ferry_profile_free(p);
}

/// Issue 10 items 7 and 11: a folder skipped as unavailable under the "warning" policy makes
/// the run INCOMPLETE (exit code 4) with a warning; a disabled profile is refused.
#[test]
fn an_unavailable_folder_makes_the_run_incomplete_and_a_disabled_profile_is_refused() {
    let (dir, src, dst) = tree();
    let json = serde_json::json!({
        "format": 1,
        "name": "t",
        "folders": [
            {"name": "m", "source": src, "destination": dst},
            {"name": "usb", "source": dir.path().join("unmounted"), "destination": dir.path().join("u")},
        ],
    });
    let p = profile(&c(&json.to_string()));
    let e = engine();
    let mut report = ptr::null_mut();
    assert_eq!(
        ferry_engine_run(e, p, ptr::null(), &mut report),
        ferry_result::Ok
    );
    let mut status = ferry_run_status::Ok;
    assert_eq!(ferry_report_status(report, &mut status), ferry_result::Ok);
    assert_eq!(status, ferry_run_status::Incomplete);
    assert_eq!(ferry_report_exit_code(report), 4);
    let mut counts = ferry_report_counts::default();
    assert_eq!(
        ferry_report_get_counts(report, &mut counts),
        ferry_result::Ok
    );
    assert_eq!((counts.skipped_folders, counts.warnings), (1, 1));
    ferry_report_free(report);
    ferry_profile_free(p);

    let mut off = json;
    off["enabled"] = false.into();
    let p = profile(&c(&off.to_string()));
    let mut report = sentinel::<ferry_report>();
    assert_eq!(
        ferry_engine_run(e, p, ptr::null(), &mut report),
        ferry_result::InvalidInput
    );
    assert_eq!(report, sentinel(), "no report written on failure");
    ferry_profile_free(p);
    ferry_engine_free(e);
}

#[test]
fn confirm_deletes_prompts_are_answered() {
    let (_dir, src, dst) = tree();
    let e = engine();
    let plain = profile(&mirror_json(&src, &dst, "{}"));
    let mut report = ptr::null_mut();
    assert_eq!(
        ferry_engine_run(e, plain, ptr::null(), &mut report),
        ferry_result::Ok
    );
    ferry_report_free(report);
    ferry_profile_free(plain);

    let p = profile(&mirror_json(&src, &dst, r#"{"confirm-deletes": true}"#));
    for answer in [false, true] {
        fs::write(dst.join("extra.txt"), "extra").unwrap();
        let mut run = ptr::null_mut();
        assert_eq!(
            ferry_engine_run_start(e, p, ptr::null(), &mut run),
            ferry_result::Ok
        );
        let kinds = drain(run, answer);
        assert!(
            kinds.contains(&ferry_event_kind::ConfirmDeletes),
            "{kinds:?}"
        );
        let mut report = ptr::null_mut();
        assert_eq!(ferry_run_wait(run, &mut report), ferry_result::Ok);
        ferry_report_free(report);
        ferry_run_free(run);
        assert_eq!(dst.join("extra.txt").exists(), !answer);
    }
    ferry_profile_free(p);
    ferry_engine_free(e);
}

#[test]
fn an_unanswered_prompt_times_out_to_the_default() {
    let (_dir, src, dst) = tree();
    let e = engine();
    let p = profile(&mirror_json(&src, &dst, r#"{"confirm-deletes": true}"#));
    fs::create_dir_all(&dst).unwrap();
    for i in 0..10 {
        fs::copy(src.join("top.txt"), dst.join(format!("keep{i}"))).unwrap();
    }
    let mut opts = std::mem::MaybeUninit::<ferry_run_options>::uninit();
    assert_eq!(
        ferry_run_options_init(opts.as_mut_ptr(), std::mem::size_of::<ferry_run_options>()),
        ferry_result::Ok
    );
    let mut opts = unsafe { opts.assume_init() };
    opts.prompt_timeout_ms = 50;
    opts.force = true;
    let mut run = ptr::null_mut();
    assert_eq!(
        ferry_engine_run_start(e, p, &opts, &mut run),
        ferry_result::Ok
    );
    // Nobody answers: the events are only counted.
    let mut n = 0;
    loop {
        let mut ev = ptr::null_mut();
        match ferry_run_next_event(run, 5000, &mut ev) {
            ferry_result::Ok => ferry_event_free(ev),
            ferry_result::RunFinished => break,
            other => panic!("{other:?}"),
        }
        n += 1;
    }
    assert!(n > 0);
    ferry_run_free(run);
    // Issue 11, item 6: one set of defaults in the core's run handle; an unanswered
    // confirm-deletes keeps the files (it used to delete them here and keep them in Python).
    assert!(
        dst.join("keep0").exists(),
        "the default is to keep the files"
    );
    ferry_profile_free(p);
    ferry_engine_free(e);
}

#[test]
fn a_run_can_be_cancelled_and_freed_while_going() {
    let (_dir, src, dst) = tree();
    let e = engine();
    let p = profile(&mirror_json(&src, &dst, "{}"));
    let mut run = ptr::null_mut();
    assert_eq!(
        ferry_engine_run_start(e, p, ptr::null(), &mut run),
        ferry_result::Ok
    );
    assert_eq!(ferry_run_pause(run), ferry_result::Ok);
    assert_eq!(ferry_run_resume(run), ferry_result::Ok);
    assert_eq!(ferry_run_cancel(run), ferry_result::Ok);
    let mut report = ptr::null_mut();
    assert_eq!(ferry_run_wait(run, &mut report), ferry_result::Ok);
    let mut status = ferry_run_status::Ok;
    assert_eq!(ferry_report_status(report, &mut status), ferry_result::Ok);
    // Cancelled, unless the small run was over before the cancel arrived.
    assert!(matches!(
        status,
        ferry_run_status::Cancelled | ferry_run_status::Ok
    ));
    ferry_report_free(report);
    ferry_run_free(run);

    // Freed without a wait: cancelled and joined.
    let mut run = ptr::null_mut();
    assert_eq!(
        ferry_engine_run_start(e, p, ptr::null(), &mut run),
        ferry_result::Ok
    );
    ferry_run_free(run);
    ferry_profile_free(p);
    ferry_engine_free(e);
}

#[test]
fn a_run_error_comes_from_wait() {
    let dir = tempfile::tempdir().unwrap();
    let json = c(&serde_json::json!({
        "format": 1, "name": "t",
        "folders": [{"name": "m", "source": dir.path().join("missing"),
                     "destination": dir.path().join("d"), "if-unavailable": "abort"}],
    })
    .to_string());
    let p = profile(&json);
    let e = engine();
    let mut run = ptr::null_mut();
    assert_eq!(
        ferry_engine_run_start(e, p, ptr::null(), &mut run),
        ferry_result::Ok
    );
    let mut report = sentinel::<ferry_report>();
    assert_eq!(ferry_run_wait(run, &mut report), ferry_result::Unavailable);
    assert_eq!(report, sentinel());
    assert!(
        last_error().starts_with("unavailable: "),
        "{}",
        last_error()
    );
    ferry_run_free(run);
    ferry_profile_free(p);
    ferry_engine_free(e);
}

#[test]
fn versions_list_and_restore() {
    let dir = tempfile::tempdir().unwrap();
    let dest = c(dir.path().to_str().unwrap());
    let mut s = ptr::null_mut();
    assert_eq!(
        ferry_versions_list_json(dest.as_ptr(), ptr::null(), &mut s),
        ferry_result::Ok
    );
    assert_eq!(take_string(s), "[]");
    let rel = c("a/b.txt");
    assert_eq!(
        ferry_versions_list_json(dest.as_ptr(), rel.as_ptr(), &mut s),
        ferry_result::Ok
    );
    assert_eq!(take_string(s), "[]");
    let bad = c("../up");
    let mut untouched = sentinel::<c_char>();
    assert_eq!(
        ferry_versions_list_json(dest.as_ptr(), bad.as_ptr(), &mut untouched),
        ferry_result::InvalidInput
    );
    assert_eq!(untouched, sentinel());

    fs::write(dir.path().join("live.txt"), "live").unwrap();
    let into_dir = tempfile::tempdir().unwrap();
    let into2 = c(into_dir.path().join("r").to_str().unwrap());
    let mut rep = ferry_restore_report::default();
    let r = ferry_versions_restore_as_of(dest.as_ptr(), i64::MAX, into2.as_ptr(), false, &mut rep);
    assert_eq!(r, ferry_result::Ok, "{}", last_error());
    assert_eq!(rep.files, 1);
    assert_eq!(
        fs::read(into_dir.path().join("r/live.txt")).unwrap(),
        b"live"
    );
    // Not empty now: refused, then an overwrite keeps what it replaces.
    fs::write(into_dir.path().join("r/live.txt"), "changed there").unwrap();
    let r = ferry_versions_restore_as_of(dest.as_ptr(), i64::MAX, into2.as_ptr(), false, &mut rep);
    assert_eq!(r, ferry_result::InvalidInput);
    assert!(last_error().contains("not empty"), "{}", last_error());
    let r = ferry_versions_restore_as_of(dest.as_ptr(), i64::MAX, into2.as_ptr(), true, &mut rep);
    assert_eq!(r, ferry_result::Ok, "{}", last_error());
    assert_eq!(
        fs::read(into_dir.path().join("r/live.txt")).unwrap(),
        b"live"
    );
    assert_eq!(
        ferry_versions_list_json(into2.as_ptr(), ptr::null(), &mut s),
        ferry_result::Ok
    );
    let kept: serde_json::Value = serde_json::from_str(&take_string(s)).unwrap();
    assert_eq!(kept.as_array().unwrap().len(), 1, "{kept}");
    assert_eq!(kept[0]["path"], "live.txt");
}

#[test]
fn the_version_matches_the_macros() {
    let v = unsafe { CStr::from_ptr(ferry_version()) }.to_str().unwrap();
    assert_eq!(
        v,
        format!("{FERRY_VERSION_MAJOR}.{FERRY_VERSION_MINOR}.{FERRY_VERSION_PATCH}")
    );
    assert_eq!(v, env!("CARGO_PKG_VERSION"));
}

/// Counts events; answers prompts "no" through the run handle the caller published.
unsafe extern "C" fn count_events(userdata: *mut std::ffi::c_void, event: *const ferry_event) {
    let state = unsafe { &*(userdata as *const CallbackState) };
    state.seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    if ferry_event_get_kind(event) == ferry_event_kind::ConfirmDeletes {
        let mut id = 0;
        assert_eq!(ferry_event_prompt_id(event, &mut id), ferry_result::Ok);
        let run = state.run.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(ferry_run_answer(run, id, false), ferry_result::Ok);
    }
}

struct CallbackState {
    seen: std::sync::atomic::AtomicUsize,
    run: std::sync::atomic::AtomicPtr<ferry_run>,
}

#[test]
fn events_go_to_the_callback_when_one_is_set() {
    let (_dir, src, dst) = tree();
    let e = engine();
    let plain = profile(&mirror_json(&src, &dst, "{}"));
    let mut report = ptr::null_mut();
    assert_eq!(
        ferry_engine_run(e, plain, ptr::null(), &mut report),
        ferry_result::Ok
    );
    ferry_report_free(report);
    ferry_profile_free(plain);
    fs::write(dst.join("extra.txt"), "extra").unwrap();

    let p = profile(&mirror_json(&src, &dst, r#"{"confirm-deletes": true}"#));
    let state = CallbackState {
        seen: Default::default(),
        run: Default::default(),
    };
    let opts = ferry_run_options {
        event_callback: Some(count_events),
        userdata: &state as *const CallbackState as *mut std::ffi::c_void,
        ..Default::default()
    };
    // *out is written before the first event, so the callback can read the handle from it.
    let run_slot = state.run.as_ptr();
    assert_eq!(
        ferry_engine_run_start(e, p, &opts, run_slot),
        ferry_result::Ok
    );
    let run = state.run.load(std::sync::atomic::Ordering::SeqCst);
    let mut ev = sentinel::<ferry_event>();
    assert_eq!(
        ferry_run_next_event(run, 5000, &mut ev),
        ferry_result::RunFinished
    );
    let mut report = ptr::null_mut();
    assert_eq!(ferry_run_wait(run, &mut report), ferry_result::Ok);
    assert!(state.seen.load(std::sync::atomic::Ordering::SeqCst) >= 3);
    assert!(dst.join("extra.txt").exists(), "the callback answered no");
    ferry_report_free(report);
    ferry_run_free(run);
    ferry_profile_free(p);
    ferry_engine_free(e);
}
