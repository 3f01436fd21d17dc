//! # ferrysync-ffi: the C ABI of ferrysync
//!
//! Builds `libferrysync.so` and `libferrysync.a`; `include/ferrysync.h` is generated from this
//! crate by cbindgen (`ffi/cbindgen.toml`). The conventions, which every export follows:
//!
//! - Every name starts with `ferry_` (`FERRY_` for constants).
//! - Handles are opaque, made by a function that writes them to an out-parameter, released by
//!   their `_free`; `_free(NULL)` is a no-op.
//! - Fallible calls return a [`ferry_result`]; its values are never reused. A NULL pointer
//!   argument gives `FERRY_RESULT_NULL_PARAMETER`; a panic inside the library is caught and
//!   gives `FERRY_RESULT_PANIC`. `ferry_last_error_message` details the last failure on the
//!   calling thread.
//! - Out-parameters are written on success only (the one exception: `*out_n` on
//!   `FERRY_RESULT_BUFFER_TOO_SMALL`, which says how long the text is).
//! - Text goes into caller buffers followed by their `size_t` length, NUL-terminated; strings
//!   the library allocates (`char **out`) are released with `ferry_string_free`. Strings in
//!   are UTF-8 (paths: any bytes).
//!
//! The Rust functions are safe `extern "C"` functions taking raw pointers, as in rustls-ffi:
//! the C contract (NULL or a live pointer of the right type) is what makes them sound.
#![allow(non_camel_case_types)]
#![allow(clippy::not_unsafe_ptr_arg_deref)]
#![deny(missing_docs)]

mod plan;
mod profile;
mod result;
mod run;
mod store;
mod two_way;
mod versions;

pub use plan::{
    ferry_action_group, ferry_action_info, ferry_action_kind, ferry_engine, ferry_engine_free,
    ferry_engine_new, ferry_engine_plan, ferry_engine_plan_with, ferry_entry_kind, ferry_plan,
    ferry_plan_action_count, ferry_plan_action_get, ferry_plan_free, ferry_plan_summary,
    ferry_plan_to_json, ferry_summary,
};
pub use profile::{
    ferry_profile, ferry_profile_free, ferry_profile_from_json, ferry_profile_load,
    ferry_profile_name, ferry_profile_save, ferry_profile_to_json,
};
pub use result::{
    ferry_last_error_kind, ferry_last_error_message, ferry_result, ferry_result_message,
    ferry_string_free,
};
pub use run::{
    ferry_conflict_info, ferry_engine_run, ferry_engine_run_start, ferry_event,
    ferry_event_callback, ferry_event_conflict, ferry_event_free, ferry_event_get_kind,
    ferry_event_kind, ferry_event_message, ferry_event_progress, ferry_event_prompt_id,
    ferry_event_to_json, ferry_progress, ferry_report, ferry_report_counts, ferry_report_exit_code,
    ferry_report_free, ferry_report_get_counts, ferry_report_status, ferry_report_summary,
    ferry_report_to_json, ferry_run, ferry_run_answer, ferry_run_answer_conflict, ferry_run_cancel,
    ferry_run_free, ferry_run_next_event, ferry_run_options, ferry_run_options_init,
    ferry_run_pause, ferry_run_resume, ferry_run_status, ferry_run_try_next_event, ferry_run_wait,
};
pub use store::{
    ferry_store, ferry_store_delete, ferry_store_duplicate, ferry_store_export,
    ferry_store_export_group, ferry_store_free, ferry_store_get, ferry_store_groups_json,
    ferry_store_import, ferry_store_list_json, ferry_store_open, ferry_store_rename,
    ferry_store_save, ferry_store_set_enabled,
};
pub use two_way::{
    ferry_conflict_kind, ferry_conflict_policy, ferry_conflict_policy_from_name,
    ferry_conflict_policy_name, ferry_engine_clear_state, ferry_engine_reset_state,
    ferry_resolution, ferry_side, ferry_stamp,
};
pub use versions::{
    ferry_clean_report, ferry_profile_versions_clean, ferry_profile_versions_list_json,
    ferry_profile_versions_restore, ferry_profile_versions_restore_as_of, ferry_restore_report,
    ferry_versions_list_json, ferry_versions_restore_as_of,
};

use std::ffi::c_char;

/// The major version of the library this header belongs to.
pub const FERRY_VERSION_MAJOR: u32 = 0;
/// The minor version of the library this header belongs to.
pub const FERRY_VERSION_MINOR: u32 = 1;
/// The patch version of the library this header belongs to.
pub const FERRY_VERSION_PATCH: u32 = 0;

/// Parses a decimal version component at compile time.
const fn parse_u32(s: &str) -> u32 {
    let bytes = s.as_bytes();
    let mut n = 0u32;
    let mut i = 0;
    while i < bytes.len() {
        n = n * 10 + (bytes[i] - b'0') as u32;
        i += 1;
    }
    n
}

/// The library's version, `"MAJOR.MINOR.PATCH"`: a static string, never freed. Compare it
/// with the `FERRY_VERSION_*` macros to check the header and the library agree.
#[no_mangle]
pub extern "C" fn ferry_version() -> *const c_char {
    // The header's version macros are literals (cbindgen cannot evaluate expressions); these
    // checks stop the build when the crate version moves without them.
    const _: () = assert!(
        FERRY_VERSION_MAJOR == parse_u32(env!("CARGO_PKG_VERSION_MAJOR")),
        "update FERRY_VERSION_MAJOR to the crate version"
    );
    const _: () = assert!(
        FERRY_VERSION_MINOR == parse_u32(env!("CARGO_PKG_VERSION_MINOR")),
        "update FERRY_VERSION_MINOR to the crate version"
    );
    const _: () = assert!(
        FERRY_VERSION_PATCH == parse_u32(env!("CARGO_PKG_VERSION_PATCH")),
        "update FERRY_VERSION_PATCH to the crate version"
    );

    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_abi;
#[cfg(test)]
mod tests_store;
#[cfg(test)]
mod tests_support;
#[cfg(test)]
mod tests_two_way;
