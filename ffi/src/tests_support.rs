//! Helpers the FFI test modules share: C strings, sentinels, the last error, returned strings.

use std::ffi::{c_char, CStr, CString};
use std::ptr;

use crate::*;

/// A C string for `s`.
pub(crate) fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// A pointer no call may write over: out-parameters keep it on failure.
pub(crate) fn sentinel<T>() -> *mut T {
    ptr::NonNull::dangling().as_ptr()
}

/// This thread's last error message.
pub(crate) fn last_error() -> String {
    let mut buf = vec![0 as c_char; 4096];
    let mut n = 0usize;
    assert_eq!(
        ferry_last_error_message(buf.as_mut_ptr(), buf.len(), &mut n),
        ferry_result::Ok
    );
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_str()
        .unwrap()
        .to_string()
}

/// A borrowed C string's text.
pub(crate) fn text(p: *const c_char) -> String {
    assert!(!p.is_null());
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string()
}

/// A string the library returned, freed after reading it.
pub(crate) fn take_string(s: *mut c_char) -> String {
    let t = text(s);
    ferry_string_free(s);
    t
}
