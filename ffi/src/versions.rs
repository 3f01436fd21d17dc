//! Earlier versions of files kept in a destination's versions folder: list and restore.

use std::ffi::c_char;
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;

use ferry_core::transport::{LocalTransport, Transport};
use ferry_core::{RelPath, Version, Versions, VersionsOptions};

use crate::result::{
    arg_bytes, arg_path, boundary, ferry_result, out_ptr, owned_string, write_out,
};

/// What `ferry_versions_restore_as_of` wrote.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ferry_restore_report {
    /// Files written.
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// The versions folder of a local destination, where the profile default puts it
/// (`.ferrysync/versions` inside the destination).
fn versions_of(
    destination: *const c_char,
) -> Result<(Versions, LocalTransport), crate::result::Failure> {
    let root = arg_path(destination, "destination")?;
    let live = LocalTransport::new(&root);
    let versions = Versions::new(
        Arc::new(LocalTransport::new(&root)) as Arc<dyn Transport>,
        &VersionsOptions::default(),
    )?;
    Ok((versions, live))
}

fn version_json(v: &Version) -> serde_json::Value {
    serde_json::json!({
        "path": v.path.display(),
        "stored-ns": v.stored_ns,
        "mtime-ns": v.mtime_ns,
        "size": v.size,
        "location": v.location.display(),
    })
}

/// The stored versions under the local `destination`'s versions folder as a JSON array into
/// `*out_json` (release with `ferry_string_free`): every version, by path and newest first,
/// or only those of `relpath` (relative to the destination root, `/`-separated) when it is
/// not NULL. Each element: `{"path", "stored-ns", "mtime-ns", "size", "location"}` (times in
/// ns since the epoch, location relative to the versions folder).
#[no_mangle]
pub extern "C" fn ferry_versions_list_json(
    destination: *const c_char,
    relpath_or_null: *const c_char,
    out_json: *mut *mut c_char,
) -> ferry_result {
    boundary(|| {
        let out = out_ptr(out_json, "out_json")?;
        let (versions, _) = versions_of(destination)?;
        let list = if relpath_or_null.is_null() {
            versions.list_all()?
        } else {
            versions.list(&RelPath::new(arg_bytes(
                relpath_or_null,
                "relpath_or_null",
            )?)?)?
        };
        let json = serde_json::Value::Array(list.iter().map(version_json).collect());
        write_out(out, owned_string(json.to_string()));
        Ok(())
    })
}

/// Rebuilds the local `destination`'s tree as it was at `at_unix_ns` (ns since the epoch)
/// into the folder `into_dir` (created when missing; best empty; never the destination
/// itself), from the versions
/// folder and the live files not modified since; counts into `*out`.
#[no_mangle]
pub extern "C" fn ferry_versions_restore_as_of(
    destination: *const c_char,
    at_unix_ns: i64,
    into_dir: *const c_char,
    out: *mut ferry_restore_report,
) -> ferry_result {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        let into = arg_path(into_dir, "into_dir")?;
        let (versions, live) = versions_of(destination)?;
        if into.as_os_str().as_bytes().is_empty() {
            return Err(ferry_core::Error::invalid("into_dir is empty").into());
        }
        // The core writes into an existing root only.
        std::fs::create_dir_all(&into).map_err(|e| ferry_core::Error::io(&into, e))?;
        let r = versions.restore_tree_as_of(at_unix_ns, &live, &LocalTransport::new(into))?;
        write_out(
            out,
            ferry_restore_report {
                files: r.files,
                bytes: r.bytes,
            },
        );
        Ok(())
    })
}
