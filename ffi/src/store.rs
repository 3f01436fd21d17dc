//! `ferry_store`: a folder of profiles, addressed by key (`group/name`).

use std::ffi::c_char;

use ferry_core::ProfileStore;

use crate::profile::{ferry_profile, into_handle};
use crate::result::{
    arg_path, arg_str, boundary, deref, ferry_result, out_ptr, owned_string, write_out, Failure,
};

/// A profile store: a folder holding each profile as `<dir>/<group path>/<name>.json`. Made
/// by `ferry_store_open`, released by `ferry_store_free`.
///
/// Profiles are addressed by key: `group/name`, `/name` for a profile at the top, or a bare
/// `name` when only one group has a profile of that name. The store keeps nothing in memory
/// and every write is atomic, so several stores (and threads) may share a folder.
pub struct ferry_store {
    store: ProfileStore,
}

/// A JSON array of strings.
fn strings_json(items: &[String]) -> Result<String, Failure> {
    serde_json::to_string(items)
        .map_err(|e| Failure::new(ferry_result::Unknown, format!("JSON: {e}")))
}

/// Opens the store in the folder `dir` (created with its parents when missing) into `*out`.
///
/// Errors: the I/O error creating the folder, naming it.
#[no_mangle]
pub extern "C" fn ferry_store_open(dir: *const c_char, out: *mut *mut ferry_store) -> ferry_result {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        let store = ProfileStore::open(arg_path(dir, "dir")?)?;
        write_out(out, Box::into_raw(Box::new(ferry_store { store })));
        Ok(())
    })
}

/// Releases a store (the folder stays). NULL is a no-op.
#[no_mangle]
pub extern "C" fn ferry_store_free(store: *mut ferry_store) {
    crate::result::boundary_value((), || {
        if !store.is_null() {
            // SAFETY: a handle from `ferry_store_open`, released once.
            drop(unsafe { Box::from_raw(store) });
        }
    })
}

/// Every profile of the store as a JSON array into `*out` (release with
/// `ferry_string_free`), sorted by group, then name. Each element is a whole profile object,
/// the document `ferry_profile_to_json` gives (`{"format": 1, "name", "group", ...}`; `group`
/// is left out at the top); its key is `group/name`.
///
/// Errors: a folder that cannot be read, or a profile file that does not load (naming it).
#[no_mangle]
pub extern "C" fn ferry_store_list_json(
    store: *const ferry_store,
    out: *mut *mut c_char,
) -> ferry_result {
    boundary(|| {
        let store = deref(store, "store")?;
        let out = out_ptr(out, "out")?;
        let list = store
            .store
            .list()?
            .iter()
            .map(|p| serde_json::from_str(&p.to_json()))
            .collect::<Result<Vec<serde_json::Value>, _>>()
            .map_err(|e| Failure::new(ferry_result::Unknown, format!("JSON: {e}")))?;
        write_out(
            out,
            owned_string(serde_json::Value::Array(list).to_string()),
        );
        Ok(())
    })
}

/// The profile with `key` (`group/name`, `/name`, or a bare `name`) into `*out`; release it
/// with `ferry_profile_free`.
///
/// Errors: `FERRY_RESULT_NOT_FOUND` when no profile has the key (the last error message names
/// it); `FERRY_RESULT_INVALID_INPUT` for a bare name that several groups use, or a key that
/// would leave the store; the errors of `ferry_profile_load`.
#[no_mangle]
pub extern "C" fn ferry_store_get(
    store: *const ferry_store,
    key: *const c_char,
    out: *mut *mut ferry_profile,
) -> ferry_result {
    boundary(|| {
        let store = deref(store, "store")?;
        let out = out_ptr(out, "out")?;
        let profile = store.store.get(arg_str(key, "key")?)?;
        write_out(out, into_handle(profile));
        Ok(())
    })
}

/// Inserts `profile` at its group and name, or replaces the profile stored there.
///
/// Errors: the profile's validation errors (nothing is written), or the write's I/O error.
#[no_mangle]
pub extern "C" fn ferry_store_save(
    store: *const ferry_store,
    profile: *const ferry_profile,
) -> ferry_result {
    boundary(|| {
        let store = deref(store, "store")?;
        let profile = deref(profile, "profile")?;
        store.store.save(&profile.profile)?;
        Ok(())
    })
}

/// Adds the profiles of `json` (a single-profile document or a group export) and gives
/// their keys (`group/name`, `/name` at the top) as a JSON array of strings in
/// `*out_keys_json` (release with `ferry_string_free`). Nothing is written unless every
/// profile is valid and, when `overwrite` is false, none of them exists yet.
///
/// Errors: `FERRY_RESULT_INVALID_INPUT` for a malformed document or an invalid profile;
/// `FERRY_RESULT_ALREADY_EXISTS` naming a profile that exists when `overwrite` is false; the
/// write's I/O error.
#[no_mangle]
pub extern "C" fn ferry_store_import(
    store: *const ferry_store,
    json: *const c_char,
    overwrite: bool,
    out_keys_json: *mut *mut c_char,
) -> ferry_result {
    boundary(|| {
        let store = deref(store, "store")?;
        let out = out_ptr(out_keys_json, "out_keys_json")?;
        let keys = store.store.import(arg_str(json, "json")?, overwrite)?;
        write_out(out, owned_string(strings_json(&keys)?));
        Ok(())
    })
}

/// The profile with `key` as a single-profile JSON document into `*out` (release with
/// `ferry_string_free`). The errors of `ferry_store_get`.
#[no_mangle]
pub extern "C" fn ferry_store_export(
    store: *const ferry_store,
    key: *const c_char,
    out: *mut *mut c_char,
) -> ferry_result {
    boundary(|| {
        let store = deref(store, "store")?;
        let out = out_ptr(out, "out")?;
        let json = store.store.export(arg_str(key, "key")?)?;
        write_out(out, owned_string(json));
        Ok(())
    })
}

/// The profiles of `group` and its subgroups as a group export document into `*out`
/// (release with `ferry_string_free`); `""` exports every profile.
/// `ferry_store_import` reads it back.
///
/// Errors: `FERRY_RESULT_NOT_FOUND` when the group does not exist (the message names it); the
/// errors of `ferry_store_list_json`.
#[no_mangle]
pub extern "C" fn ferry_store_export_group(
    store: *const ferry_store,
    group: *const c_char,
    out: *mut *mut c_char,
) -> ferry_result {
    boundary(|| {
        let store = deref(store, "store")?;
        let out = out_ptr(out, "out")?;
        let json = store.store.export_group(arg_str(group, "group")?)?;
        write_out(out, owned_string(json));
        Ok(())
    })
}

/// Renames the profile with `key` to `new_name`, in the same group.
///
/// Errors: the errors of `ferry_store_get`; `FERRY_RESULT_INVALID_INPUT` for an invalid
/// name; `FERRY_RESULT_ALREADY_EXISTS` when the group has a profile named `new_name`.
#[no_mangle]
pub extern "C" fn ferry_store_rename(
    store: *const ferry_store,
    key: *const c_char,
    new_name: *const c_char,
) -> ferry_result {
    boundary(|| {
        let store = deref(store, "store")?;
        let key = arg_str(key, "key")?;
        store.store.rename(key, arg_str(new_name, "new_name")?)?;
        Ok(())
    })
}

/// Copies the profile with `key` as `new_name`, in the same group. The errors of
/// `ferry_store_rename`.
#[no_mangle]
pub extern "C" fn ferry_store_duplicate(
    store: *const ferry_store,
    key: *const c_char,
    new_name: *const c_char,
) -> ferry_result {
    boundary(|| {
        let store = deref(store, "store")?;
        let key = arg_str(key, "key")?;
        store.store.duplicate(key, arg_str(new_name, "new_name")?)?;
        Ok(())
    })
}

/// Deletes the profile with `key` (its group stays, in `ferry_store_groups_json`).
///
/// Errors: the errors of `ferry_store_get`, or the I/O error removing the file.
#[no_mangle]
pub extern "C" fn ferry_store_delete(
    store: *const ferry_store,
    key: *const c_char,
) -> ferry_result {
    boundary(|| {
        let store = deref(store, "store")?;
        store.store.delete(arg_str(key, "key")?)?;
        Ok(())
    })
}

/// Enables or disables the profile with `key` (disabled profiles do not run).
///
/// Errors: the errors of `ferry_store_get` and `ferry_store_save`.
#[no_mangle]
pub extern "C" fn ferry_store_set_enabled(
    store: *const ferry_store,
    key: *const c_char,
    enabled: bool,
) -> ferry_result {
    boundary(|| {
        let store = deref(store, "store")?;
        store.store.set_enabled(arg_str(key, "key")?, enabled)?;
        Ok(())
    })
}

/// The group tree as a sorted JSON array of group paths into `*out` (release with
/// `ferry_string_free`), every level included: `["Daily", "Daily/Docs"]`. A group stays
/// after its last profile is deleted.
///
/// Errors: a folder that cannot be read.
#[no_mangle]
pub extern "C" fn ferry_store_groups_json(
    store: *const ferry_store,
    out: *mut *mut c_char,
) -> ferry_result {
    boundary(|| {
        let store = deref(store, "store")?;
        let out = out_ptr(out, "out")?;
        let groups = store.store.groups()?;
        write_out(out, owned_string(strings_json(&groups)?));
        Ok(())
    })
}
