//! Result codes, the per-thread last error, the panic boundary and the buffer helpers every
//! export shares.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use ferry_core::{Error, ErrorKind};

/// What a call did. Values are explicit and grouped in ranges; a value once published is
/// never reused for another meaning, and new values may be added in any release.
///
/// - 0: success.
/// - 1xx: the call's arguments or the state of a handle.
/// - 2xx: one per kind of library error (`ferry_last_error_message` has the detail).
/// - 9xx: failures of the binding itself.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ferry_result {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullParameter = 100,
    /// A string argument is not valid UTF-8.
    InvalidUtf8 = 101,
    /// The caller's buffer cannot hold the answer (`*out_n` says how long it is).
    BufferTooSmall = 102,
    /// No event arrived within the timeout.
    Timeout = 103,
    /// No event is waiting (`ferry_run_try_next_event`).
    NoEvent = 104,
    /// The run has ended and every event has been taken.
    RunFinished = 105,
    /// The event is not of the kind this call reads (`ferry_event_progress` on an action).
    WrongEventKind = 106,
    /// No prompt with this id is waiting for an answer (answered, timed out, or never asked).
    UnknownPrompt = 107,
    /// An index is past the end.
    IndexOutOfRange = 108,
    /// A file, folder, profile or version does not exist.
    NotFound = 200,
    /// Something that must not exist yet does.
    AlreadyExists = 201,
    /// The operating system or server refused access.
    PermissionDenied = 202,
    /// A profile, argument, path or file format is malformed.
    InvalidInput = 203,
    /// An option or operation that a later release will support.
    NotSupported = 204,
    /// A folder or drive that should be there is not.
    Unavailable = 205,
    /// A file is locked or busy; retrying later may work.
    Busy = 206,
    /// A safety guard stopped the run before anything changed.
    Guard = 207,
    /// The run was cancelled.
    Cancelled = 208,
    /// Data read back differs from what was written.
    Corrupt = 209,
    /// Any other input/output failure.
    Io = 210,
    /// A server refused the credentials, or wanted some and got none.
    Unauthenticated = 211,
    /// The disk, file system or quota is full.
    NoSpace = 212,
    /// A server or device did not answer in time; retrying may work (the library's error
    /// kind `timeout`, unlike `FERRY_RESULT_TIMEOUT`: a wait for an event that ran out).
    TimedOut = 213,
    /// A connection failed or a server failed to answer; retrying may work.
    Network = 214,
    /// The library panicked; the call did nothing useful (the handle may be in any state, but
    /// freeing it is safe).
    Panic = 900,
    /// A library error of a kind this version of the binding does not know.
    Unknown = 901,
}

impl ferry_result {
    /// Every code, for `ferry_result_message` and the tests.
    pub(crate) const ALL: [ferry_result; 27] = [
        ferry_result::Ok,
        ferry_result::NullParameter,
        ferry_result::InvalidUtf8,
        ferry_result::BufferTooSmall,
        ferry_result::Timeout,
        ferry_result::NoEvent,
        ferry_result::RunFinished,
        ferry_result::WrongEventKind,
        ferry_result::UnknownPrompt,
        ferry_result::IndexOutOfRange,
        ferry_result::NotFound,
        ferry_result::AlreadyExists,
        ferry_result::PermissionDenied,
        ferry_result::InvalidInput,
        ferry_result::NotSupported,
        ferry_result::Unavailable,
        ferry_result::Busy,
        ferry_result::Guard,
        ferry_result::Cancelled,
        ferry_result::Corrupt,
        ferry_result::Io,
        ferry_result::Unauthenticated,
        ferry_result::NoSpace,
        ferry_result::TimedOut,
        ferry_result::Network,
        ferry_result::Panic,
        ferry_result::Unknown,
    ];

    fn from_u32(code: u32) -> Option<ferry_result> {
        ferry_result::ALL.into_iter().find(|r| *r as u32 == code)
    }

    /// The code of a library error kind.
    pub(crate) fn of_kind(kind: ErrorKind) -> ferry_result {
        match kind {
            ErrorKind::NotFound => ferry_result::NotFound,
            ErrorKind::AlreadyExists => ferry_result::AlreadyExists,
            ErrorKind::PermissionDenied => ferry_result::PermissionDenied,
            ErrorKind::InvalidInput => ferry_result::InvalidInput,
            ErrorKind::NotSupported => ferry_result::NotSupported,
            ErrorKind::Unavailable => ferry_result::Unavailable,
            ErrorKind::Busy => ferry_result::Busy,
            ErrorKind::Guard => ferry_result::Guard,
            ErrorKind::Cancelled => ferry_result::Cancelled,
            ErrorKind::Corrupt => ferry_result::Corrupt,
            ErrorKind::Io => ferry_result::Io,
            ErrorKind::Unauthenticated => ferry_result::Unauthenticated,
            ErrorKind::NoSpace => ferry_result::NoSpace,
            ErrorKind::Timeout => ferry_result::TimedOut,
            ErrorKind::Network => ferry_result::Network,
            // A bug: the library panicked (on a run's thread).
            ErrorKind::Internal => ferry_result::Panic,
            _ => ferry_result::Unknown,
        }
    }

    /// A one-line description of the code.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            ferry_result::Ok => "ok",
            ferry_result::NullParameter => "a required pointer argument was NULL",
            ferry_result::InvalidUtf8 => "a string argument is not valid UTF-8",
            ferry_result::BufferTooSmall => "the buffer is too small",
            ferry_result::Timeout => "no event arrived within the timeout",
            ferry_result::NoEvent => "no event is waiting",
            ferry_result::RunFinished => "the run has finished and every event was taken",
            ferry_result::WrongEventKind => "the event is not of the kind this call reads",
            ferry_result::UnknownPrompt => "no prompt with this id is waiting for an answer",
            ferry_result::IndexOutOfRange => "index out of range",
            ferry_result::NotFound => "not found",
            ferry_result::AlreadyExists => "already exists",
            ferry_result::PermissionDenied => "permission denied",
            ferry_result::InvalidInput => "invalid input",
            ferry_result::NotSupported => "not supported yet",
            ferry_result::Unavailable => "unavailable",
            ferry_result::Busy => "busy",
            ferry_result::Guard => "stopped by a safety guard; nothing was changed",
            ferry_result::Cancelled => "cancelled",
            ferry_result::Corrupt => "data read back differs from what was written",
            ferry_result::Io => "input/output error",
            ferry_result::Unauthenticated => "the server refused the credentials",
            ferry_result::NoSpace => "no space left (disk, file system or quota full)",
            ferry_result::TimedOut => "a server or device did not answer in time",
            ferry_result::Network => "a connection or server failed",
            ferry_result::Panic => "the library panicked",
            ferry_result::Unknown => "unknown error",
        }
    }
}

/// A failed call: its code and what `ferry_last_error_message` says about it.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) code: ferry_result,
    kind: &'static str,
    path: Option<PathBuf>,
    message: String,
}

impl Failure {
    /// A failure of the binding (1xx, 9xx) with a message.
    pub(crate) fn new(code: ferry_result, message: impl Into<String>) -> Failure {
        Failure {
            code,
            kind: code.describe(),
            path: None,
            message: message.into(),
        }
    }

    /// A NULL `argument`.
    pub(crate) fn null(argument: &str) -> Failure {
        Failure::new(
            ferry_result::NullParameter,
            format!("argument {argument} is NULL"),
        )
    }

    fn panic(payload: Box<dyn std::any::Any + Send>) -> Failure {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        Failure::new(ferry_result::Panic, format!("panic: {what}"))
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure {
            code: ferry_result::of_kind(e.kind()),
            kind: e.kind().name(),
            path: e.path().map(PathBuf::from),
            message: e.message().to_string(),
        }
    }
}

impl fmt::Display for Failure {
    /// `kind: path: message`, or `kind: message` without a path.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{}: {}: {}", self.kind, p.display(), self.message),
            None => write!(f, "{}: {}", self.kind, self.message),
        }
    }
}

thread_local! {
    static LAST_ERROR: RefCell<Option<Failure>> = const { RefCell::new(None) };
}

pub(crate) fn set_last_error(f: Failure) {
    LAST_ERROR.with(|l| *l.borrow_mut() = Some(f));
}

fn last_error() -> Option<Failure> {
    LAST_ERROR.with(|l| l.borrow().clone())
}

/// Runs the body of an export that returns a `ferry_result`: a failure is recorded as this
/// thread's last error, a panic becomes `Panic`.
pub(crate) fn boundary(body: impl FnOnce() -> Result<(), Failure>) -> ferry_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => ferry_result::Ok,
        Ok(Err(f)) => {
            let code = f.code;
            set_last_error(f);
            code
        }
        Err(payload) => {
            set_last_error(Failure::panic(payload));
            ferry_result::Panic
        }
    }
}

/// Runs the body of an export that returns a plain value; a panic gives `fallback`.
pub(crate) fn boundary_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(v) => v,
        Err(payload) => {
            set_last_error(Failure::panic(payload));
            fallback
        }
    }
}

/// A shared reference from a handle pointer, or `NullParameter` naming the argument.
pub(crate) fn deref<'a, T>(ptr: *const T, argument: &str) -> Result<&'a T, Failure> {
    // SAFETY: the caller passes NULL or a live handle made by this library (the C contract).
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null(argument))
}

/// Checks that an out-parameter is not NULL.
pub(crate) fn out_ptr<T>(ptr: *mut T, argument: &str) -> Result<*mut T, Failure> {
    if ptr.is_null() {
        Err(Failure::null(argument))
    } else {
        Ok(ptr)
    }
}

/// Writes `value` through an out-parameter checked by [`out_ptr`].
pub(crate) fn write_out<T>(ptr: *mut T, value: T) {
    // SAFETY: checked non-NULL; the caller promises it points to writable memory for a T.
    unsafe { ptr.write(value) }
}

/// The bytes of a NUL-terminated string argument.
pub(crate) fn arg_bytes<'a>(ptr: *const c_char, argument: &str) -> Result<&'a [u8], Failure> {
    if ptr.is_null() {
        return Err(Failure::null(argument));
    }
    // SAFETY: non-NULL and, by the C contract, NUL-terminated and alive during the call.
    Ok(unsafe { CStr::from_ptr(ptr) }.to_bytes())
}

/// A UTF-8 string argument.
pub(crate) fn arg_str<'a>(ptr: *const c_char, argument: &str) -> Result<&'a str, Failure> {
    std::str::from_utf8(arg_bytes(ptr, argument)?).map_err(|e| {
        Failure::new(
            ferry_result::InvalidUtf8,
            format!("argument {argument} is not UTF-8: {e}"),
        )
    })
}

/// A path argument: any bytes but NUL (paths need not be UTF-8).
pub(crate) fn arg_path(ptr: *const c_char, argument: &str) -> Result<PathBuf, Failure> {
    Ok(PathBuf::from(std::ffi::OsStr::from_bytes(arg_bytes(
        ptr, argument,
    )?)))
}

/// Copies `text` and a NUL into the caller's buffer and stores its length (without the NUL)
/// in `*out_n`. When it does not fit, nothing is written to `buf`, `*out_n` still receives the
/// length (the buffer needs one byte more) and the result is `BufferTooSmall`. `buf` may be
/// NULL when `len` is 0, to ask for the length.
pub(crate) fn write_text(
    text: &str,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> Result<(), Failure> {
    let out_n = out_ptr(out_n, "out_n")?;
    if buf.is_null() && len > 0 {
        return Err(Failure::null("buf"));
    }
    let bytes = text.as_bytes();
    // Text with a NUL in it ends there for C.
    let bytes = &bytes[..bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len())];
    write_out(out_n, bytes.len());
    if bytes.len() + 1 > len {
        return Err(Failure::new(
            ferry_result::BufferTooSmall,
            format!("{} bytes and a NUL do not fit in {len}", bytes.len()),
        ));
    }
    // SAFETY: buf is non-NULL (len > 0 here) and holds len >= bytes.len() + 1 bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), bytes.len());
        buf.add(bytes.len()).write(0);
    }
    Ok(())
}

/// A string allocated for the caller, released by `ferry_string_free`.
pub(crate) fn owned_string(text: String) -> *mut c_char {
    let mut bytes = text.into_bytes();
    bytes.retain(|b| *b != 0);
    CString::new(bytes)
        .expect("NUL bytes were removed")
        .into_raw()
}

/// Writes the description of `code` into `buf` (`len` bytes, NUL-terminated) and its length
/// without the NUL into `*out_n`. Unknown codes are described as such.
///
/// Returns `FERRY_RESULT_BUFFER_TOO_SMALL` (with `*out_n` set, `buf` untouched) when the text
/// and its NUL do not fit; `buf` may be NULL when `len` is 0.
#[no_mangle]
pub extern "C" fn ferry_result_message(
    code: u32,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> ferry_result {
    boundary(|| {
        let text = match ferry_result::from_u32(code) {
            Some(r) => r.describe().to_string(),
            None => format!("unknown result code {code}"),
        };
        write_text(&text, buf, len, out_n)
    })
}

/// Writes the detail of the last failure on this thread: `kind: path: message` (`kind:
/// message` when no path is concerned), e.g. `not-found: /tmp/p.json: No such file or
/// directory (os error 2)`. Empty when no call on this thread has failed.
///
/// A failing call sets it; successful calls leave it alone (read it right after the failure).
/// Buffer rules as `ferry_result_message`; this call never changes the last error.
#[no_mangle]
pub extern "C" fn ferry_last_error_message(
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> ferry_result {
    let saved = last_error();
    let text = saved.as_ref().map(|f| f.to_string()).unwrap_or_default();
    let r = boundary(|| write_text(&text, buf, len, out_n));
    LAST_ERROR.with(|l| *l.borrow_mut() = saved);
    r
}

/// The code of the last failure on this thread, `FERRY_RESULT_OK` when none failed.
#[no_mangle]
pub extern "C" fn ferry_last_error_kind() -> ferry_result {
    boundary_value(ferry_result::Panic, || {
        last_error().map_or(ferry_result::Ok, |f| f.code)
    })
}

/// Releases a string this library allocated (`ferry_profile_to_json`, `ferry_plan_to_json`,
/// ...). NULL is a no-op.
#[no_mangle]
pub extern "C" fn ferry_string_free(s: *mut c_char) {
    boundary_value((), || {
        if !s.is_null() {
            // SAFETY: a string from `owned_string` (CString::into_raw), freed once.
            drop(unsafe { CString::from_raw(s) });
        }
    })
}
