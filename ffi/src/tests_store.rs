//! The profile store and profile-driven versions, called as C would.

use std::ffi::{c_char, CString};
use std::fs;
use std::path::Path;
use std::ptr;

use crate::tests_support::{c, last_error, sentinel, take_string};
use crate::*;

fn take_json(s: *mut c_char) -> serde_json::Value {
    serde_json::from_str(&take_string(s)).unwrap()
}

fn profile_of(json: serde_json::Value) -> *mut ferry_profile {
    let json = c(&json.to_string());
    let mut p = ptr::null_mut();
    assert_eq!(
        ferry_profile_from_json(json.as_ptr(), &mut p),
        ferry_result::Ok,
        "{}",
        last_error()
    );
    p
}

fn open(dir: &Path) -> *mut ferry_store {
    let d = c(dir.to_str().unwrap());
    let mut s = ptr::null_mut();
    assert_eq!(ferry_store_open(d.as_ptr(), &mut s), ferry_result::Ok);
    s
}

/// A failure with `code` whose last error message mentions `needle`.
fn fails(r: ferry_result, code: ferry_result, needle: &str) {
    assert_eq!(r, code, "{}", last_error());
    assert_eq!(ferry_last_error_kind(), code);
    assert!(
        last_error().contains(needle),
        "{:?} lacks {needle:?}",
        last_error()
    );
}

#[test]
fn store_null_arguments_give_null_parameter() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let key = c("k");
    let null = ptr::null::<c_char>();
    let mut out = sentinel::<ferry_store>();
    fails(
        ferry_store_open(null, &mut out),
        ferry_result::NullParameter,
        "dir",
    );
    assert_eq!(out, sentinel());
    let d = c(dir.path().to_str().unwrap());
    fails(
        ferry_store_open(d.as_ptr(), ptr::null_mut()),
        ferry_result::NullParameter,
        "out",
    );

    let mut text = sentinel::<c_char>();
    let mut p = sentinel::<ferry_profile>();
    let np = ferry_result::NullParameter;
    fails(ferry_store_list_json(ptr::null(), &mut text), np, "store");
    fails(ferry_store_list_json(s, ptr::null_mut()), np, "out");
    fails(ferry_store_groups_json(ptr::null(), &mut text), np, "store");
    fails(ferry_store_groups_json(s, ptr::null_mut()), np, "out");
    fails(
        ferry_store_get(ptr::null(), key.as_ptr(), &mut p),
        np,
        "store",
    );
    fails(ferry_store_get(s, null, &mut p), np, "key");
    fails(ferry_store_get(s, key.as_ptr(), ptr::null_mut()), np, "out");
    fails(ferry_store_save(ptr::null(), ptr::null()), np, "store");
    fails(ferry_store_save(s, ptr::null()), np, "profile");
    fails(ferry_store_import(s, null, false, &mut text), np, "json");
    fails(
        ferry_store_import(s, key.as_ptr(), false, ptr::null_mut()),
        np,
        "out_keys_json",
    );
    fails(ferry_store_export(s, null, &mut text), np, "key");
    fails(ferry_store_export_group(s, null, &mut text), np, "group");
    fails(
        ferry_store_export_group(s, key.as_ptr(), ptr::null_mut()),
        np,
        "out",
    );
    fails(ferry_store_rename(s, null, key.as_ptr()), np, "key");
    fails(ferry_store_rename(s, key.as_ptr(), null), np, "new_name");
    fails(ferry_store_duplicate(s, key.as_ptr(), null), np, "new_name");
    fails(ferry_store_delete(ptr::null(), key.as_ptr()), np, "store");
    fails(ferry_store_delete(s, null), np, "key");
    fails(ferry_store_set_enabled(s, null, true), np, "key");
    assert_eq!((text, p), (sentinel(), sentinel()));

    let not_utf8 = CString::new(vec![b'k', 0xff]).unwrap();
    fails(
        ferry_store_get(s, not_utf8.as_ptr(), &mut p),
        ferry_result::InvalidUtf8,
        "key",
    );
    ferry_store_free(s);
    ferry_store_free(ptr::null_mut());
}

#[test]
fn store_round_trips_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir.path().join("new/store"));
    assert!(dir.path().join("new/store").is_dir());
    let mut text = ptr::null_mut();
    assert_eq!(ferry_store_list_json(s, &mut text), ferry_result::Ok);
    assert_eq!(take_string(text), "[]");

    let p = profile_of(serde_json::json!({"format": 1, "name": "t", "group": "Daily/Docs"}));
    assert_eq!(ferry_store_save(s, p), ferry_result::Ok);
    ferry_profile_free(p);
    assert_eq!(ferry_store_list_json(s, &mut text), ferry_result::Ok);
    let list = take_json(text);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "t");
    assert_eq!(list[0]["group"], "Daily/Docs");
    assert_eq!(list[0]["format"], 1);
    assert_eq!(ferry_store_groups_json(s, &mut text), ferry_result::Ok);
    assert_eq!(take_json(text), serde_json::json!(["Daily", "Daily/Docs"]));

    // get, by full key and by bare name
    for key in ["Daily/Docs/t", "t"] {
        let k = c(key);
        let mut got = ptr::null_mut();
        assert_eq!(ferry_store_get(s, k.as_ptr(), &mut got), ferry_result::Ok);
        let mut n = 0usize;
        let mut buf = [0 as c_char; 16];
        assert_eq!(
            ferry_profile_name(got, buf.as_mut_ptr(), buf.len(), &mut n),
            ferry_result::Ok
        );
        assert_eq!(n, 1);
        ferry_profile_free(got);
    }
    let mut untouched = sentinel::<ferry_profile>();
    let missing = c("Daily/nobody");
    fails(
        ferry_store_get(s, missing.as_ptr(), &mut untouched),
        ferry_result::NotFound,
        "Daily/nobody",
    );
    assert_eq!(untouched, sentinel());
    let escape = c("../t");
    fails(
        ferry_store_get(s, escape.as_ptr(), &mut untouched),
        ferry_result::InvalidInput,
        "",
    );

    // export, then import: refused without overwrite, accepted with it
    let key = c("Daily/Docs/t");
    assert_eq!(
        ferry_store_export(s, key.as_ptr(), &mut text),
        ferry_result::Ok
    );
    let one = c(&take_string(text));
    let mut keys = sentinel::<c_char>();
    fails(
        ferry_store_import(s, one.as_ptr(), false, &mut keys),
        ferry_result::AlreadyExists,
        "Daily/Docs/t",
    );
    assert_eq!(keys, sentinel());
    assert_eq!(
        ferry_store_import(s, one.as_ptr(), true, &mut keys),
        ferry_result::Ok
    );
    assert_eq!(take_json(keys), serde_json::json!(["Daily/Docs/t"]));
    fails(
        ferry_store_export(s, missing.as_ptr(), &mut text),
        ferry_result::NotFound,
        "Daily/nobody",
    );

    // rename, duplicate, enable
    let u = c("u");
    assert_eq!(
        ferry_store_rename(s, key.as_ptr(), u.as_ptr()),
        ferry_result::Ok
    );
    fails(
        ferry_store_rename(s, key.as_ptr(), u.as_ptr()),
        ferry_result::NotFound,
        "Daily/Docs/t",
    );
    let ukey = c("Daily/Docs/u");
    let v = c("v");
    assert_eq!(
        ferry_store_duplicate(s, ukey.as_ptr(), v.as_ptr()),
        ferry_result::Ok
    );
    fails(
        ferry_store_duplicate(s, ukey.as_ptr(), v.as_ptr()),
        ferry_result::AlreadyExists,
        "v",
    );
    fails(
        ferry_store_duplicate(s, missing.as_ptr(), v.as_ptr()),
        ferry_result::NotFound,
        "Daily/nobody",
    );
    let vkey = c("Daily/Docs/v");
    assert_eq!(
        ferry_store_set_enabled(s, vkey.as_ptr(), false),
        ferry_result::Ok
    );
    fails(
        ferry_store_set_enabled(s, missing.as_ptr(), true),
        ferry_result::NotFound,
        "Daily/nobody",
    );
    assert_eq!(ferry_store_list_json(s, &mut text), ferry_result::Ok);
    let list = take_json(text);
    let names: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(names, ["u", "v"]);
    assert_eq!(list[1]["enabled"], false);

    // group export into a second store
    let all = c("");
    assert_eq!(
        ferry_store_export_group(s, all.as_ptr(), &mut text),
        ferry_result::Ok
    );
    let export = c(&take_string(text));
    let nope = c("Nope");
    fails(
        ferry_store_export_group(s, nope.as_ptr(), &mut text),
        ferry_result::NotFound,
        "Nope",
    );
    let other = open(&dir.path().join("other"));
    assert_eq!(
        ferry_store_import(other, export.as_ptr(), false, &mut keys),
        ferry_result::Ok
    );
    assert_eq!(
        take_json(keys),
        serde_json::json!(["Daily/Docs/u", "Daily/Docs/v"])
    );
    ferry_store_free(other);

    // delete: the profile goes, its group stays
    assert_eq!(ferry_store_delete(s, ukey.as_ptr()), ferry_result::Ok);
    assert_eq!(ferry_store_delete(s, vkey.as_ptr()), ferry_result::Ok);
    fails(
        ferry_store_delete(s, vkey.as_ptr()),
        ferry_result::NotFound,
        "Daily/Docs/v",
    );
    assert_eq!(ferry_store_list_json(s, &mut text), ferry_result::Ok);
    assert_eq!(take_string(text), "[]");
    assert_eq!(ferry_store_groups_json(s, &mut text), ferry_result::Ok);
    assert_eq!(take_json(text), serde_json::json!(["Daily", "Daily/Docs"]));
    let bad = c("{");
    fails(
        ferry_store_import(s, bad.as_ptr(), false, &mut keys),
        ferry_result::InvalidInput,
        "",
    );
    ferry_store_free(s);
}

fn run(p: *const ferry_profile) {
    let mut e = ptr::null_mut();
    assert_eq!(ferry_engine_new(&mut e), ferry_result::Ok);
    let mut report = ptr::null_mut();
    assert_eq!(
        ferry_engine_run(e, p, ptr::null(), &mut report),
        ferry_result::Ok,
        "{}",
        last_error()
    );
    assert_eq!(ferry_report_exit_code(report), 0);
    ferry_report_free(report);
    ferry_engine_free(e);
}

#[test]
fn profile_versions_honour_a_custom_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("sub/a.txt"), "one").unwrap();
    fs::write(src.join("b.txt"), "bee").unwrap();
    let p = profile_of(serde_json::json!({
        "format": 1, "name": "t", "operation": "mirror",
        "versions": {"keep": 2, "folder": ".old"},
        "folders": [{"name": "m", "source": src, "destination": dst}],
    }));
    run(p);
    fs::write(src.join("sub/a.txt"), "two!").unwrap();
    run(p);
    assert_eq!(fs::read(dst.join("sub/a.txt")).unwrap(), b"two!");

    let mut text = ptr::null_mut();
    assert_eq!(
        ferry_profile_versions_list_json(p, ptr::null(), ptr::null(), &mut text),
        ferry_result::Ok
    );
    let all = take_json(text);
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");
    assert_eq!(all[0]["path"], "sub/a.txt");
    assert_eq!(all[0]["size"], 3);
    let stored = all[0]["stored-ns"].as_i64().unwrap();
    assert!(stored > 0 && all[0]["mtime-ns"].as_i64().unwrap() > 0);
    assert!(all[0]["location"].is_string());
    assert!(dst.join(".old").is_dir());
    // The destination-only call knows the default folder alone.
    let d = c(dst.to_str().unwrap());
    assert_eq!(
        ferry_versions_list_json(d.as_ptr(), ptr::null(), &mut text),
        ferry_result::Ok
    );
    assert_eq!(take_string(text), "[]");

    let m = c("m");
    let rel = c("sub/a.txt");
    assert_eq!(
        ferry_profile_versions_list_json(p, m.as_ptr(), rel.as_ptr(), &mut text),
        ferry_result::Ok
    );
    assert_eq!(take_json(text), all);
    let other = c("b.txt");
    assert_eq!(
        ferry_profile_versions_list_json(p, m.as_ptr(), other.as_ptr(), &mut text),
        ferry_result::Ok
    );
    assert_eq!(take_string(text), "[]");

    // restore as of a time before the change: the old tree
    let into = dir.path().join("asof");
    let into_c = c(into.to_str().unwrap());
    let mut rep = ferry_restore_report::default();
    assert_eq!(
        ferry_profile_versions_restore_as_of(
            p,
            ptr::null(),
            stored - 1,
            into_c.as_ptr(),
            false,
            &mut rep
        ),
        ferry_result::Ok,
        "{}",
        last_error()
    );
    assert_eq!((rep.files, rep.bytes), (2, 6));
    assert_eq!(fs::read(into.join("sub/a.txt")).unwrap(), b"one");
    assert!(!into.join(".old").exists());

    // Issue 10, item 5: into a folder that holds files only when asked to overwrite, and
    // then what it replaces is kept as a version.
    fs::write(into.join("sub/a.txt"), "mine").unwrap();
    let mut untouched_rep = ferry_restore_report { files: 7, bytes: 7 };
    fails(
        ferry_profile_versions_restore_as_of(
            p,
            ptr::null(),
            stored - 1,
            into_c.as_ptr(),
            false,
            &mut untouched_rep,
        ),
        ferry_result::InvalidInput,
        "not empty",
    );
    assert_eq!((untouched_rep.files, untouched_rep.bytes), (7, 7));
    assert_eq!(fs::read(into.join("sub/a.txt")).unwrap(), b"mine");
    assert_eq!(
        ferry_profile_versions_restore_as_of(
            p,
            ptr::null(),
            stored - 1,
            into_c.as_ptr(),
            true,
            &mut rep
        ),
        ferry_result::Ok,
        "{}",
        last_error()
    );
    assert_eq!(fs::read(into.join("sub/a.txt")).unwrap(), b"one");
    let kept = c(into.to_str().unwrap());
    assert_eq!(
        ferry_versions_list_json(kept.as_ptr(), ptr::null(), &mut text),
        ferry_result::Ok
    );
    let kept = take_json(text);
    let kept_paths: Vec<&str> = kept
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["path"].as_str().unwrap())
        .collect();
    assert_eq!(kept_paths, ["b.txt", "sub/a.txt"], "{kept}");
    assert_eq!(kept[1]["size"], 4, "the replaced \"mine\": {kept}");

    // restore one version in place: the current file is kept as a version in turn
    let mut untouched = sentinel::<c_char>();
    fails(
        ferry_profile_versions_restore(p, ptr::null(), rel.as_ptr(), 12345),
        ferry_result::NotFound,
        "sub/a.txt",
    );
    fails(
        ferry_profile_versions_restore(p, ptr::null(), other.as_ptr(), 0),
        ferry_result::NotFound,
        "b.txt",
    );
    assert_eq!(
        ferry_profile_versions_restore(p, ptr::null(), rel.as_ptr(), stored),
        ferry_result::Ok,
        "{}",
        last_error()
    );
    assert_eq!(fs::read(dst.join("sub/a.txt")).unwrap(), b"one");
    assert_eq!(
        ferry_profile_versions_list_json(p, ptr::null(), rel.as_ptr(), &mut text),
        ferry_result::Ok
    );
    let now = take_json(text);
    assert_eq!(now.as_array().unwrap().len(), 2, "{now}");
    assert_eq!(now[0]["size"], 4);
    assert_eq!(
        ferry_profile_versions_restore(p, ptr::null(), rel.as_ptr(), 0),
        ferry_result::Ok
    );
    assert_eq!(fs::read(dst.join("sub/a.txt")).unwrap(), b"two!");

    // clean: keep 2 leaves two
    let mut clean = ferry_clean_report::default();
    assert_eq!(
        ferry_profile_versions_clean(p, ptr::null(), &mut clean),
        ferry_result::Ok,
        "{}",
        last_error()
    );
    assert_eq!(
        ferry_profile_versions_list_json(p, ptr::null(), rel.as_ptr(), &mut text),
        ferry_result::Ok
    );
    assert!(take_json(text).as_array().unwrap().len() <= 2);

    // a folder the profile does not have; NULLs
    let nope = c("nope");
    fails(
        ferry_profile_versions_list_json(p, nope.as_ptr(), ptr::null(), &mut untouched),
        ferry_result::NotFound,
        "nope",
    );
    let np = ferry_result::NullParameter;
    fails(
        ferry_profile_versions_list_json(ptr::null(), ptr::null(), ptr::null(), &mut untouched),
        np,
        "profile",
    );
    fails(
        ferry_profile_versions_list_json(p, ptr::null(), ptr::null(), ptr::null_mut()),
        np,
        "out",
    );
    fails(
        ferry_profile_versions_restore(p, ptr::null(), ptr::null(), 0),
        np,
        "relpath",
    );
    fails(
        ferry_profile_versions_restore(ptr::null(), ptr::null(), rel.as_ptr(), 0),
        np,
        "profile",
    );
    fails(
        ferry_profile_versions_restore_as_of(p, ptr::null(), 0, ptr::null(), false, &mut rep),
        np,
        "into_dir",
    );
    fails(
        ferry_profile_versions_restore_as_of(
            p,
            ptr::null(),
            0,
            into_c.as_ptr(),
            false,
            ptr::null_mut(),
        ),
        np,
        "out",
    );
    fails(
        ferry_profile_versions_clean(ptr::null(), ptr::null(), &mut clean),
        np,
        "profile",
    );
    fails(
        ferry_profile_versions_clean(p, ptr::null(), ptr::null_mut()),
        np,
        "out",
    );
    assert_eq!(untouched, sentinel());
    ferry_profile_free(p);
}

#[test]
fn profile_versions_need_a_folder_name_when_there_are_several() {
    let p = profile_of(serde_json::json!({
        "format": 1, "name": "t",
        "folders": [
            {"name": "a", "source": "/nonexistent/s", "destination": "/nonexistent/d1"},
            {"name": "b", "source": "/nonexistent/s", "destination": "/nonexistent/d2"},
        ],
    }));
    let mut text = sentinel::<c_char>();
    fails(
        ferry_profile_versions_list_json(p, ptr::null(), ptr::null(), &mut text),
        ferry_result::InvalidInput,
        "\"b\"",
    );
    assert_eq!(text, sentinel());
    let b = c("b");
    assert_eq!(
        ferry_profile_versions_list_json(p, b.as_ptr(), ptr::null(), &mut text),
        ferry_result::Ok,
        "{}",
        last_error()
    );
    assert_eq!(take_string(text), "[]");
    ferry_profile_free(p);
}
