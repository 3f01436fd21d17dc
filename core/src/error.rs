//! Errors by meaning, each with the path that failed.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// The result type of every fallible ferrysync function.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, by meaning rather than by backend.
///
/// New kinds may be added in any release; match with a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file, folder, profile or version does not exist.
    NotFound,
    /// Something that must not exist yet does.
    AlreadyExists,
    /// The operating system or server refused access.
    PermissionDenied,
    /// A profile, argument, path or file format is malformed.
    InvalidInput,
    /// An option or operation that a later release will support.
    NotSupported,
    /// A folder or drive that should be there is not (unmounted drive, dead share).
    Unavailable,
    /// A file is locked or busy; retrying later may work.
    Busy,
    /// A safety guard stopped the run before anything changed.
    Guard,
    /// The run was cancelled by the caller.
    Cancelled,
    /// Data read back differs from what was written (verification failed).
    Corrupt,
    /// Any other input/output failure.
    Io,
    /// A bug in ferrysync: a run's thread panicked (the run stopped where it was; see
    /// [`Run::wait`](crate::Run::wait)).
    Internal,
}

impl ErrorKind {
    /// A short lowercase name, stable across releases (used by the CLI and bindings).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not-found",
            ErrorKind::AlreadyExists => "already-exists",
            ErrorKind::PermissionDenied => "permission-denied",
            ErrorKind::InvalidInput => "invalid-input",
            ErrorKind::NotSupported => "not-supported",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Busy => "busy",
            ErrorKind::Guard => "guard",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::Io => "io",
            ErrorKind::Internal => "internal",
        }
    }

    fn from_io(kind: io::ErrorKind, raw: Option<i32>) -> ErrorKind {
        // ETXTBSY (26) and EBUSY (16) mean "in use": worth a retry.
        if matches!(raw, Some(16) | Some(26)) {
            return ErrorKind::Busy;
        }
        match kind {
            io::ErrorKind::NotFound => ErrorKind::NotFound,
            io::ErrorKind::AlreadyExists => ErrorKind::AlreadyExists,
            io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
            io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => ErrorKind::InvalidInput,
            io::ErrorKind::Unsupported => ErrorKind::NotSupported,
            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted | io::ErrorKind::TimedOut => {
                ErrorKind::Busy
            }
            _ => ErrorKind::Io,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A ferrysync error: a kind, a one-line message, and the path that failed when there is one.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    path: Option<PathBuf>,
    source: Option<io::Error>,
}

impl Error {
    /// An error of `kind` with a one-line message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            path: None,
            source: None,
        }
    }

    /// An I/O failure on `path`; the kind is derived from the operating system's error.
    pub fn io(path: impl AsRef<Path>, err: io::Error) -> Error {
        let kind = ErrorKind::from_io(err.kind(), err.raw_os_error());
        Error {
            kind,
            message: err.to_string(),
            path: Some(path.as_ref().to_path_buf()),
            source: Some(err),
        }
    }

    /// A malformed profile, argument or file.
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidInput, message)
    }

    /// An option or operation reserved for a later release.
    pub fn not_supported(what: impl fmt::Display) -> Error {
        Error::new(
            ErrorKind::NotSupported,
            format!("{what}: not supported yet"),
        )
    }

    /// The same error, naming `path`.
    pub fn with_path(mut self, path: impl AsRef<Path>) -> Error {
        self.path = Some(path.as_ref().to_path_buf());
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The path that failed, when there is one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The message without the path.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether trying again later may succeed (a busy or locked file, a passing I/O fault).
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, ErrorKind::Busy)
            || self.source.as_ref().is_some_and(|e| {
                matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionAborted
                )
            })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{}: {}", p.display(), self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_keep_their_meaning_and_path() {
        let err = Error::io("/x/y", io::Error::from(io::ErrorKind::NotFound));
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(err.path(), Some(Path::new("/x/y")));
        assert!(err.to_string().starts_with("/x/y: "));
    }

    #[test]
    fn busy_files_are_retryable() {
        let err = Error::io("f", io::Error::from_raw_os_error(26));
        assert_eq!(err.kind(), ErrorKind::Busy);
        assert!(err.is_retryable());
        assert!(!Error::invalid("bad").is_retryable());
    }

    #[test]
    fn not_supported_says_so() {
        let err = Error::not_supported("operation \"synchronize\"");
        assert_eq!(err.kind(), ErrorKind::NotSupported);
        assert_eq!(
            err.to_string(),
            "operation \"synchronize\": not supported yet"
        );
    }
}
