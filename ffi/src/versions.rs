//! Earlier versions of files kept in a destination's versions folder: list, restore, clean.
//!
//! `ferry_versions_*` take a local destination and its default versions folder;
//! `ferry_profile_versions_*` take a profile and one of its folders, and honour the profile's
//! `versions` options (a custom `folder`, `keep`, `max-age`, `max-total-size`).

use std::ffi::c_char;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use ferry_core::transport::Role;
use ferry_core::{
    Engine, Error, ErrorKind, Folder, Location, Profile, RelPath, RestoreOptions, Versions,
    VersionsOptions,
};

use crate::profile::ferry_profile;
use crate::result::{
    arg_bytes, arg_path, arg_str, boundary, deref, ferry_result, out_ptr, owned_string, write_out,
    Failure,
};

/// What `ferry_versions_restore_as_of` and `ferry_profile_versions_restore_as_of` wrote.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ferry_restore_report {
    /// Files written.
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// What `ferry_profile_versions_clean` removed.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ferry_clean_report {
    /// Versions removed.
    pub removed: u64,
    /// Their total size in bytes.
    pub bytes_freed: u64,
}

/// The versions folder of the destination `at` as `opts` place it, opened by the engine.
fn versions_at(at: &Location, opts: &VersionsOptions) -> Result<Versions, Failure> {
    Ok(Engine::new().versions(at, opts)?)
}

/// The versions folder of a local destination, where the profile default puts it
/// (`.ferrysync/versions` inside the destination).
fn versions_of(destination: *const c_char) -> Result<Versions, Failure> {
    let root = arg_path(destination, "destination")?;
    versions_at(&Location::local(root), &VersionsOptions::default())
}

/// The folder of `profile` named `name` (NULL: its only folder).
fn folder_of(profile: &Profile, name: *const c_char) -> Result<&Folder, Failure> {
    if name.is_null() {
        return match profile.folders.as_slice() {
            [only] => Ok(only),
            folders => Err(Error::invalid(format!(
                "profile {:?} has {} folders: name one ({})",
                profile.name,
                folders.len(),
                folders
                    .iter()
                    .map(|f| format!("{:?}", f.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into()),
        };
    }
    let name = arg_str(name, "folder_name_or_null")?;
    profile
        .folders
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("folder {name:?} not found in profile {:?}", profile.name),
            )
            .into()
        })
}

/// The versions folder of a profile's folder, as the profile's `versions` options place it
/// in the folder's destination.
fn profile_versions(
    profile: *const ferry_profile,
    folder: *const c_char,
) -> Result<Versions, Failure> {
    let profile = &deref(profile, "profile")?.profile;
    let folder = folder_of(profile, folder)?;
    versions_at(&folder.destination_location()?, &profile.versions)
}

/// The versions of `relpath` (NULL: every version) as a JSON string.
fn list_json(versions: &Versions, relpath: *const c_char) -> Result<String, Failure> {
    let list = if relpath.is_null() {
        versions.list_all()?
    } else {
        versions.list(&RelPath::new(arg_bytes(relpath, "relpath_or_null")?)?)?
    };
    serde_json::to_string(&list)
        .map_err(|e| Failure::new(ferry_result::Unknown, format!("JSON: {e}")))
}

/// Rebuilds into `into` the destination's tree as it was at `at_ns`.
fn restore_as_of(
    versions: &Versions,
    at_ns: i64,
    into: PathBuf,
    overwrite: bool,
) -> Result<ferry_restore_report, Failure> {
    if into.as_os_str().as_bytes().is_empty() {
        return Err(Error::invalid("into_dir is empty").into());
    }
    let into = Engine::new().transport(&Location::local(into), Role::Restore)?;
    let r = versions.restore_tree_as_of(
        at_ns,
        &**versions.destination(),
        &*into,
        &RestoreOptions::overwriting(overwrite),
    )?;
    Ok(ferry_restore_report {
        files: r.files,
        bytes: r.bytes,
    })
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// The stored versions under the local `destination`'s default versions folder
/// (`.ferrysync/versions`) as a JSON array into `*out_json` (release with
/// `ferry_string_free`): every version, by path and newest first, or only those of `relpath`
/// (relative to the destination root, `/`-separated) when it is not NULL. Each element:
/// `{"path", "stored-ns", "mtime-ns", "size", "location"}` (times in ns since the epoch,
/// location relative to the versions folder). For a profile's versions, wherever its
/// `versions.folder` puts them, use `ferry_profile_versions_list_json`.
#[no_mangle]
pub extern "C" fn ferry_versions_list_json(
    destination: *const c_char,
    relpath_or_null: *const c_char,
    out_json: *mut *mut c_char,
) -> ferry_result {
    boundary(|| {
        let out = out_ptr(out_json, "out_json")?;
        let versions = versions_of(destination)?;
        write_out(out, owned_string(list_json(&versions, relpath_or_null)?));
        Ok(())
    })
}

/// Rebuilds the local `destination`'s tree as it was at `at_unix_ns` (ns since the epoch)
/// into the folder `into_dir`, from the default versions folder and the live files not
/// modified since; counts into `*out`.
///
/// `into_dir` is created when missing. One that holds anything (even only an empty folder)
/// is refused with `FERRY_RESULT_INVALID_INPUT`, unless `overwrite` is true: then each file
/// the restore replaces is first kept as a version, in the destination's versions folder
/// when `into_dir` is the destination (a rollback in place) or inside it, else in
/// `into_dir/.ferrysync/versions`. Nothing is ever lost.
#[no_mangle]
pub extern "C" fn ferry_versions_restore_as_of(
    destination: *const c_char,
    at_unix_ns: i64,
    into_dir: *const c_char,
    overwrite: bool,
    out: *mut ferry_restore_report,
) -> ferry_result {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        let into = arg_path(into_dir, "into_dir")?;
        let versions = versions_of(destination)?;
        write_out(out, restore_as_of(&versions, at_unix_ns, into, overwrite)?);
        Ok(())
    })
}

/// The stored versions of one folder of `profile`, in the versions folder its `versions`
/// options name (default `.ferrysync/versions` in the folder's destination), as a JSON array
/// into `*out` (release with `ferry_string_free`). `folder_name_or_null` names the folder;
/// NULL means the profile's only folder. `relpath_or_null` as in `ferry_versions_list_json`,
/// and so is each element: `{"path", "stored-ns", "mtime-ns", "size", "location"}`.
///
/// Errors: `FERRY_RESULT_NOT_FOUND` for a folder name the profile does not have;
/// `FERRY_RESULT_INVALID_INPUT` for NULL with several folders, a malformed `relpath` or
/// versions folder, or an undefined variable in the destination.
#[no_mangle]
pub extern "C" fn ferry_profile_versions_list_json(
    profile: *const ferry_profile,
    folder_name_or_null: *const c_char,
    relpath_or_null: *const c_char,
    out: *mut *mut c_char,
) -> ferry_result {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        let versions = profile_versions(profile, folder_name_or_null)?;
        write_out(out, owned_string(list_json(&versions, relpath_or_null)?));
        Ok(())
    })
}

/// Copies a stored version of `relpath` back to `relpath` in the folder's destination, with
/// its modification time: the version stored at `stored_ns` (its `"stored-ns"` in
/// `ferry_profile_versions_list_json`), or the newest when `stored_ns` is 0. Stored times have
/// millisecond resolution: of several versions stored in the same millisecond (same
/// `"stored-ns"`, listed newest first), the newest is restored. The file the destination
/// holds there is first kept as a version itself, so nothing is lost (and the profile's
/// `versions.keep` then applies). Folder as in `ferry_profile_versions_list_json`.
///
/// Errors: `FERRY_RESULT_NOT_FOUND` when `relpath` has no such version (the message names
/// both); `FERRY_RESULT_INVALID_INPUT` when something not a file is at `relpath`; the errors
/// of `ferry_profile_versions_list_json`.
#[no_mangle]
pub extern "C" fn ferry_profile_versions_restore(
    profile: *const ferry_profile,
    folder_name_or_null: *const c_char,
    relpath: *const c_char,
    stored_ns: i64,
) -> ferry_result {
    boundary(|| {
        let versions = profile_versions(profile, folder_name_or_null)?;
        let path = RelPath::new(arg_bytes(relpath, "relpath")?)?;
        let list = versions.list(&path)?;
        let version = list
            .iter()
            .find(|v| stored_ns == 0 || v.stored_ns == stored_ns)
            .ok_or_else(|| {
                let which = if stored_ns == 0 {
                    "no stored version".to_string()
                } else {
                    format!("no version stored at {stored_ns}")
                };
                Error::new(ErrorKind::NotFound, format!("{path}: {which}"))
            })?;
        versions.restore(version, &**versions.destination(), &path)?;
        Ok(())
    })
}

/// Rebuilds one folder's destination tree as it was at `at_unix_ns` (ns since the epoch) into
/// `into_dir`, from the profile's versions folder and the live files not modified since;
/// counts into `*out`. `into_dir` and `overwrite` as in `ferry_versions_restore_as_of` (the
/// files an overwriting restore replaces in the destination go to the profile's versions
/// folder). Folder as in `ferry_profile_versions_list_json`.
#[no_mangle]
pub extern "C" fn ferry_profile_versions_restore_as_of(
    profile: *const ferry_profile,
    folder_name_or_null: *const c_char,
    at_unix_ns: i64,
    into_dir: *const c_char,
    overwrite: bool,
    out: *mut ferry_restore_report,
) -> ferry_result {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        let into = arg_path(into_dir, "into_dir")?;
        let versions = profile_versions(profile, folder_name_or_null)?;
        write_out(out, restore_as_of(&versions, at_unix_ns, into, overwrite)?);
        Ok(())
    })
}

/// Applies the profile's retention limits (`versions.keep`, at least 1, and `max-age` per
/// file, then `max-total-size` over all) to one folder's versions folder, removes the folders
/// this left empty, and counts what went into `*out`. Files not named like versions are left
/// alone. Folder as in `ferry_profile_versions_list_json`.
#[no_mangle]
pub extern "C" fn ferry_profile_versions_clean(
    profile: *const ferry_profile,
    folder_name_or_null: *const c_char,
    out: *mut ferry_clean_report,
) -> ferry_result {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        let versions = profile_versions(profile, folder_name_or_null)?;
        let r = versions.clean(now_ns())?;
        write_out(
            out,
            ferry_clean_report {
                removed: r.removed,
                bytes_freed: r.bytes_freed,
            },
        );
        Ok(())
    })
}
