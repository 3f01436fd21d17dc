//! `ferry_profile`: a parsed, validated profile.

use std::ffi::c_char;

use ferry_core::Profile;

use crate::result::{
    arg_path, arg_str, boundary, deref, ferry_result, out_ptr, owned_string, write_out, write_text,
};

/// A profile: named folder pairs and the options that say how they are synchronized.
/// Made by `ferry_profile_from_json` or `ferry_profile_load`, released by `ferry_profile_free`.
pub struct ferry_profile {
    pub(crate) profile: Profile,
}

pub(crate) fn into_handle(profile: Profile) -> *mut ferry_profile {
    Box::into_raw(Box::new(ferry_profile { profile }))
}

/// Parses and validates a single-profile JSON document (`{"format": 1, "name": ...}`,
/// UTF-8, NUL-terminated) into `*out`.
///
/// Errors: `FERRY_RESULT_INVALID_INPUT` for malformed JSON, an unknown key or an invalid value
/// (the last error message starts with the JSON path), `FERRY_RESULT_NOT_SUPPORTED` for
/// options of a later release, `FERRY_RESULT_INVALID_UTF8`.
#[no_mangle]
pub extern "C" fn ferry_profile_from_json(
    json: *const c_char,
    out: *mut *mut ferry_profile,
) -> ferry_result {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        let profile = Profile::from_json(arg_str(json, "json")?)?;
        write_out(out, into_handle(profile));
        Ok(())
    })
}

/// Reads a single-profile JSON file into `*out`. The errors of `ferry_profile_from_json`, or
/// the file's read error; each names the file.
#[no_mangle]
pub extern "C" fn ferry_profile_load(
    path: *const c_char,
    out: *mut *mut ferry_profile,
) -> ferry_result {
    boundary(|| {
        let out = out_ptr(out, "out")?;
        let profile = Profile::load(arg_path(path, "path")?)?;
        write_out(out, into_handle(profile));
        Ok(())
    })
}

/// Validates the profile and writes it to `path` atomically (temporary file, then rename).
#[no_mangle]
pub extern "C" fn ferry_profile_save(
    profile: *const ferry_profile,
    path: *const c_char,
) -> ferry_result {
    boundary(|| {
        let profile = deref(profile, "profile")?;
        profile.profile.save(arg_path(path, "path")?)?;
        Ok(())
    })
}

/// The profile as pretty JSON into `*out`; release it with `ferry_string_free`.
#[no_mangle]
pub extern "C" fn ferry_profile_to_json(
    profile: *const ferry_profile,
    out: *mut *mut c_char,
) -> ferry_result {
    boundary(|| {
        let profile = deref(profile, "profile")?;
        let out = out_ptr(out, "out")?;
        write_out(out, owned_string(profile.profile.to_json()));
        Ok(())
    })
}

/// Writes the profile's name into `buf` (NUL-terminated; `*out_n` = length without the NUL).
/// `FERRY_RESULT_BUFFER_TOO_SMALL` sets only `*out_n`; `buf` may be NULL when `len` is 0.
#[no_mangle]
pub extern "C" fn ferry_profile_name(
    profile: *const ferry_profile,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> ferry_result {
    boundary(|| {
        let profile = deref(profile, "profile")?;
        write_text(&profile.profile.name, buf, len, out_n)
    })
}

/// Releases a profile. NULL is a no-op.
#[no_mangle]
pub extern "C" fn ferry_profile_free(profile: *mut ferry_profile) {
    crate::result::boundary_value((), || {
        if !profile.is_null() {
            // SAFETY: a handle from `into_handle`, released once.
            drop(unsafe { Box::from_raw(profile) });
        }
    })
}
