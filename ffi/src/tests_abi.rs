//! Room to grow in the ABI (issue 11, item 8): `ferry_run_options` says how large the caller's
//! struct is, so later options (throttle, retries, credentials) can be added at its end
//! without breaking programs compiled against an older or a newer header.

use std::mem::size_of;
use std::path::Path;
use std::ptr;

use crate::tests_support::{c, last_error};
use crate::*;

/// A struct as a later header might declare it: today's fields, then one more.
#[repr(C)]
struct Later {
    base: ferry_run_options,
    throttle_kbps: u64,
}

/// The report of a run of a one-folder mirror from `src` to `dst` with `opts`, or the code.
fn mirror(src: &Path, dst: &Path, opts: *const ferry_run_options) -> Result<String, ferry_result> {
    let json = c(&serde_json::json!({
        "format": 1,
        "name": "t",
        "folders": [{"name": "m", "source": src, "destination": dst}],
    })
    .to_string());
    let (mut p, mut e, mut r) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
    assert_eq!(
        ferry_profile_from_json(json.as_ptr(), &mut p),
        ferry_result::Ok
    );
    assert_eq!(ferry_engine_new(&mut e), ferry_result::Ok);
    let rc = ferry_engine_run(e, p, opts, &mut r);
    let out = if rc == ferry_result::Ok {
        let mut s = ptr::null_mut();
        assert_eq!(ferry_report_to_json(r, &mut s), ferry_result::Ok);
        ferry_report_free(r);
        Ok(crate::tests_support::take_string(s))
    } else {
        Err(rc)
    };
    ferry_engine_free(e);
    ferry_profile_free(p);
    out
}

fn tree() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a.txt"), "a").unwrap();
    let dst = dir.path().join("dst");
    (dir, src, dst)
}

fn zeroed<T>() -> T {
    // SAFETY: only used for the option structs, for which zero bytes are valid.
    unsafe { std::mem::MaybeUninit::<T>::zeroed().assume_init() }
}

#[test]
fn run_options_init_writes_the_defaults_and_the_callers_size() {
    let mut opts: ferry_run_options = zeroed();
    opts.dry_run = true;
    opts.prompt_timeout_ms = 7;
    assert_eq!(
        ferry_run_options_init(&mut opts, size_of::<ferry_run_options>()),
        ferry_result::Ok
    );
    assert_eq!(opts.struct_size, size_of::<ferry_run_options>());
    assert!(!opts.dry_run && !opts.force && !opts.resync);
    assert_eq!((opts.prompt_timeout_ms, opts.progress_interval_ms), (0, 0));
    assert!(opts.event_callback.is_none() && opts.userdata.is_null());

    // A caller with a later header: the library zeroes what it does not know.
    let mut later: Later = zeroed();
    later.throttle_kbps = u64::MAX;
    assert_eq!(
        ferry_run_options_init(&mut later.base, size_of::<Later>()),
        ferry_result::Ok
    );
    assert_eq!(later.base.struct_size, size_of::<Later>());
    assert_eq!(later.throttle_kbps, 0);

    // Smaller than the first layout: refused, nothing written.
    let mut small: ferry_run_options = zeroed();
    small.dry_run = true;
    assert_eq!(
        ferry_run_options_init(&mut small, 4),
        ferry_result::InvalidInput
    );
    assert!(small.dry_run && small.struct_size == 0);
    assert!(
        last_error().contains("pass sizeof(ferry_run_options)"),
        "{}",
        last_error()
    );
}

#[test]
fn a_zeroed_struct_is_the_first_layout_with_its_defaults() {
    let (_dir, src, dst) = tree();
    let mut opts: ferry_run_options = zeroed();
    opts.dry_run = true;
    let report = mirror(&src, &dst, &opts).expect("run");
    assert!(report.contains("\"dry-run\": true"), "{report}");
    assert!(!dst.exists(), "a dry run changed nothing");
    let report = mirror(&src, &dst, &zeroed()).expect("run");
    assert!(report.contains("\"status\": \"ok\""), "{report}");
    assert!(dst.join("a.txt").exists());
}

#[test]
fn a_later_layout_is_read_when_the_options_this_library_lacks_are_zero() {
    let (_dir, src, dst) = tree();
    let mut later: Later = zeroed();
    assert_eq!(
        ferry_run_options_init(&mut later.base, size_of::<Later>()),
        ferry_result::Ok
    );
    later.base.dry_run = true;
    let report = mirror(&src, &dst, &later.base).expect("run");
    assert!(report.contains("\"dry-run\": true"), "{report}");

    // An option this library does not know cannot be honoured: refused, nothing run.
    later.throttle_kbps = 512;
    later.base.dry_run = false;
    assert_eq!(
        mirror(&src, &dst, &later.base),
        Err(ferry_result::NotSupported)
    );
    assert!(last_error().contains("later ferrysync"), "{}", last_error());
    assert!(!dst.exists());
}

#[test]
fn a_struct_size_below_the_first_layout_is_invalid_input() {
    let (_dir, src, dst) = tree();
    let mut opts: ferry_run_options = zeroed();
    opts.struct_size = 8;
    assert_eq!(mirror(&src, &dst, &opts), Err(ferry_result::InvalidInput));
    assert!(!dst.exists());
}

#[test]
fn a_panicked_run_is_the_panic_result() {
    // Issue 11, item 6: the core's one error for a panic on a run's thread.
    assert_eq!(
        crate::result::ferry_result::of_kind(ferry_core::ErrorKind::Internal),
        ferry_result::Panic
    );
}
