//! Errors by meaning, each with the path that failed, the error that caused it, and whether
//! trying again may help.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// The result type of every fallible ferrysync function.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A backend's own error, kept as the cause of an [`Error`].
type BoxedSource = Box<dyn std::error::Error + Send + Sync>;

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
    /// A server refused the credentials, or wanted some and got none.
    Unauthenticated,
    /// The disk, file system or quota is full.
    NoSpace,
    /// A server or device did not answer in time; retrying may work.
    Timeout,
    /// A connection failed (reset, aborted, refused, a broken pipe, an unreachable network)
    /// or a server failed to answer (an HTTP 5xx status); retrying may work.
    Network,
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
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::NoSpace => "no-space",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Network => "network",
            ErrorKind::Internal => "internal",
        }
    }

    /// Whether errors of this kind are passing ones, retried unless they say otherwise.
    fn is_passing(self) -> bool {
        matches!(
            self,
            ErrorKind::Busy | ErrorKind::Timeout | ErrorKind::Network
        )
    }

    /// The meaning of an operating system error. The standard library decodes `errno` into
    /// [`io::ErrorKind`]s (`ENOSPC` is `StorageFull`, `ECONNRESET` is `ConnectionReset`, ...),
    /// the same kinds backends give their own I/O errors; the few it leaves uncategorized are
    /// looked up by number.
    fn from_io(err: &io::Error) -> ErrorKind {
        use io::ErrorKind as K;
        match err.kind() {
            K::NotFound => ErrorKind::NotFound,
            K::AlreadyExists => ErrorKind::AlreadyExists,
            K::PermissionDenied | K::ReadOnlyFilesystem => ErrorKind::PermissionDenied,
            K::InvalidInput | K::InvalidData | K::InvalidFilename => ErrorKind::InvalidInput,
            K::Unsupported => ErrorKind::NotSupported,
            // EBUSY, ETXTBSY, EAGAIN: in use, worth a retry.
            K::ResourceBusy | K::ExecutableFileBusy | K::WouldBlock => ErrorKind::Busy,
            K::StorageFull | K::QuotaExceeded => ErrorKind::NoSpace,
            K::TimedOut => ErrorKind::Timeout,
            K::ConnectionReset
            | K::ConnectionAborted
            | K::ConnectionRefused
            | K::NotConnected
            | K::BrokenPipe
            | K::NetworkDown
            | K::NetworkUnreachable
            | K::HostUnreachable => ErrorKind::Network,
            _ => {
                use rustix::io::Errno;
                let network = [Errno::NETRESET, Errno::HOSTDOWN, Errno::SHUTDOWN];
                match err.raw_os_error().map(Errno::from_raw_os_error) {
                    Some(e) if network.contains(&e) => ErrorKind::Network,
                    _ => ErrorKind::Io,
                }
            }
        }
    }

    /// The meaning of an HTTP status (for backends that speak HTTP); `None` for a success.
    fn from_http(status: u16) -> Option<ErrorKind> {
        Some(match status {
            100..=399 => return None,
            401 | 407 | 511 => ErrorKind::Unauthenticated,
            403 => ErrorKind::PermissionDenied,
            404 | 410 => ErrorKind::NotFound,
            405 | 501 | 505 => ErrorKind::NotSupported,
            408 | 504 => ErrorKind::Timeout,
            // Locked (WebDAV), too many requests.
            423 | 429 => ErrorKind::Busy,
            400 | 411 | 413..=416 | 422 => ErrorKind::InvalidInput,
            507 => ErrorKind::NoSpace,
            500..=599 => ErrorKind::Network,
            _ => ErrorKind::Io,
        })
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A ferrysync error: a kind, a one-line message, the path that failed when there is one,
/// the error that caused it ([`std::error::Error::source`]) and whether trying again may
/// help ([`Error::is_retryable`]).
///
/// Backends build theirs from their own failures:
///
/// ```
/// use ferrysync::{Error, ErrorKind};
///
/// let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
/// let err = Error::new(ErrorKind::Network, "upload interrupted")
///     .with_path("/remote/a.txt")
///     .with_source(reset)
///     .retryable(true);
/// assert!(err.is_retryable());
/// assert!(std::error::Error::source(&err).is_some());
/// ```
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    path: Option<PathBuf>,
    retryable: bool,
    source: Option<BoxedSource>,
}

impl Error {
    /// An error of `kind` with a one-line message; retryable when the kind is a passing one
    /// ([`ErrorKind::Busy`], [`ErrorKind::Timeout`], [`ErrorKind::Network`]).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            path: None,
            retryable: kind.is_passing(),
            source: None,
        }
    }

    /// An I/O failure on `path`; the kind is derived from the operating system's error
    /// (`ENOSPC` and `EDQUOT` are [`ErrorKind::NoSpace`], `ECONNRESET` and `EPIPE`
    /// [`ErrorKind::Network`], `ETIMEDOUT` [`ErrorKind::Timeout`], `EBUSY`, `ETXTBSY` and
    /// `EAGAIN` [`ErrorKind::Busy`], ...). Those, and an interrupted call, are retryable.
    pub fn io(path: impl AsRef<Path>, err: io::Error) -> Error {
        let kind = ErrorKind::from_io(&err);
        Error {
            kind,
            message: err.to_string(),
            path: Some(path.as_ref().to_path_buf()),
            retryable: kind.is_passing() || err.kind() == io::ErrorKind::Interrupted,
            source: Some(Box::new(err)),
        }
    }

    /// A failed HTTP request: the kind follows the status (401 [`ErrorKind::Unauthenticated`],
    /// 403 [`ErrorKind::PermissionDenied`], 404 [`ErrorKind::NotFound`], 429
    /// [`ErrorKind::Busy`], 507 [`ErrorKind::NoSpace`], other 5xx [`ErrorKind::Network`],
    /// ...), and so does retrying: 408, 423, 429 and the 5xx other than 501, 505 and 507 are
    /// retryable. The message gets the status.
    pub fn http(status: u16, message: impl fmt::Display) -> Error {
        let kind = ErrorKind::from_http(status).unwrap_or(ErrorKind::Io);
        Error::new(kind, format!("{message} (HTTP {status})"))
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

    /// The same error, caused by `source` (a backend's own error, kept for
    /// [`std::error::Error::source`]; the message stays this error's).
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        self.source = Some(source.into());
        self
    }

    /// The same error, saying whether trying again may succeed: for a backend that knows
    /// better than the kind (a refused first connection is no passing failure; a server's
    /// "try again" is one).
    pub fn retryable(mut self, retryable: bool) -> Error {
        self.retryable = retryable;
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

    /// Whether trying again may succeed: a busy or locked file, a timeout, a dropped
    /// connection, an HTTP 429 or 5xx, an interrupted call. Missing credentials, a missing
    /// file, a refused permission, a full disk, bad input, a guard and a cancelled run are
    /// not retryable.
    pub fn is_retryable(&self) -> bool {
        self.retryable
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
            .as_deref()
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

    /// Issue 11, item 4: operating system errors map by meaning, and say whether a retry
    /// may help.
    #[test]
    fn os_errors_map_by_errno_onto_kinds_and_retries() {
        use rustix::io::Errno;
        let cases = [
            (Errno::NOENT, ErrorKind::NotFound, false),
            (Errno::EXIST, ErrorKind::AlreadyExists, false),
            (Errno::ACCESS, ErrorKind::PermissionDenied, false),
            (Errno::PERM, ErrorKind::PermissionDenied, false),
            (Errno::ROFS, ErrorKind::PermissionDenied, false),
            (Errno::INVAL, ErrorKind::InvalidInput, false),
            (Errno::NAMETOOLONG, ErrorKind::InvalidInput, false),
            (Errno::NOSYS, ErrorKind::NotSupported, false),
            (Errno::NOSPC, ErrorKind::NoSpace, false),
            (Errno::DQUOT, ErrorKind::NoSpace, false),
            (Errno::BUSY, ErrorKind::Busy, true),
            (Errno::TXTBSY, ErrorKind::Busy, true),
            (Errno::AGAIN, ErrorKind::Busy, true),
            (Errno::TIMEDOUT, ErrorKind::Timeout, true),
            (Errno::CONNRESET, ErrorKind::Network, true),
            (Errno::CONNABORTED, ErrorKind::Network, true),
            (Errno::CONNREFUSED, ErrorKind::Network, true),
            (Errno::NOTCONN, ErrorKind::Network, true),
            (Errno::PIPE, ErrorKind::Network, true),
            (Errno::NETDOWN, ErrorKind::Network, true),
            (Errno::NETUNREACH, ErrorKind::Network, true),
            (Errno::HOSTUNREACH, ErrorKind::Network, true),
            (Errno::NETRESET, ErrorKind::Network, true),
            (Errno::HOSTDOWN, ErrorKind::Network, true),
            (Errno::INTR, ErrorKind::Io, true),
            (Errno::IO, ErrorKind::Io, false),
        ];
        for (errno, kind, retryable) in cases {
            let err = Error::io("/x", io::Error::from_raw_os_error(errno.raw_os_error()));
            assert_eq!(err.kind(), kind, "{errno:?}");
            assert_eq!(err.is_retryable(), retryable, "{errno:?}");
        }
    }

    /// Backends that report I/O errors by kind (no errno) get the same meanings.
    #[test]
    fn io_error_kinds_without_errno_map_the_same_way() {
        use io::ErrorKind as K;
        let cases = [
            (K::ConnectionReset, ErrorKind::Network, true),
            (K::BrokenPipe, ErrorKind::Network, true),
            (K::TimedOut, ErrorKind::Timeout, true),
            (K::WouldBlock, ErrorKind::Busy, true),
            (K::StorageFull, ErrorKind::NoSpace, false),
            (K::PermissionDenied, ErrorKind::PermissionDenied, false),
            (K::NotFound, ErrorKind::NotFound, false),
            (K::Interrupted, ErrorKind::Io, true),
            (K::Other, ErrorKind::Io, false),
        ];
        for (io_kind, kind, retryable) in cases {
            let err = Error::io("/x", io::Error::new(io_kind, "from a library"));
            assert_eq!(err.kind(), kind, "{io_kind:?}");
            assert_eq!(err.is_retryable(), retryable, "{io_kind:?}");
        }
    }

    #[test]
    fn http_statuses_map_onto_kinds_and_retries() {
        let cases = [
            (401, ErrorKind::Unauthenticated, false),
            (403, ErrorKind::PermissionDenied, false),
            (404, ErrorKind::NotFound, false),
            (408, ErrorKind::Timeout, true),
            (409, ErrorKind::Io, false),
            (413, ErrorKind::InvalidInput, false),
            (423, ErrorKind::Busy, true),
            (429, ErrorKind::Busy, true),
            (500, ErrorKind::Network, true),
            (501, ErrorKind::NotSupported, false),
            (502, ErrorKind::Network, true),
            (503, ErrorKind::Network, true),
            (504, ErrorKind::Timeout, true),
            (507, ErrorKind::NoSpace, false),
        ];
        for (status, kind, retryable) in cases {
            let err = Error::http(status, "PUT /a.txt");
            assert_eq!(err.kind(), kind, "{status}");
            assert_eq!(err.is_retryable(), retryable, "{status}");
            assert_eq!(err.message(), format!("PUT /a.txt (HTTP {status})"));
        }
    }

    #[test]
    fn kinds_say_whether_they_are_retried_and_backends_can_say_otherwise() {
        for (kind, retryable) in [
            (ErrorKind::Busy, true),
            (ErrorKind::Timeout, true),
            (ErrorKind::Network, true),
            (ErrorKind::Unauthenticated, false),
            (ErrorKind::NotFound, false),
            (ErrorKind::PermissionDenied, false),
            (ErrorKind::NoSpace, false),
            (ErrorKind::InvalidInput, false),
            (ErrorKind::Guard, false),
            (ErrorKind::Cancelled, false),
            (ErrorKind::Io, false),
        ] {
            assert_eq!(Error::new(kind, "x").is_retryable(), retryable, "{kind}");
        }
        // A first connection refused: the host is down, not a passing failure.
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        let err = Error::io("sftp://host/", refused).retryable(false);
        assert_eq!(err.kind(), ErrorKind::Network);
        assert!(!err.is_retryable());
        assert!(Error::new(ErrorKind::Io, "server said: try again")
            .retryable(true)
            .is_retryable());
    }

    #[test]
    fn the_source_is_kept_whatever_its_type() {
        #[derive(Debug)]
        struct Ssh;
        impl fmt::Display for Ssh {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("ssh: channel closed")
            }
        }
        impl std::error::Error for Ssh {}
        let err = Error::new(ErrorKind::Network, "upload interrupted")
            .with_path("/r/a")
            .with_source(Ssh);
        let source = std::error::Error::source(&err).expect("a source");
        assert!(source.is::<Ssh>());
        assert_eq!(err.to_string(), "/r/a: upload interrupted");
        // An I/O error stays reachable as itself (callers look at its errno).
        let err = Error::io("/x", io::Error::from_raw_os_error(18));
        let source = std::error::Error::source(&err).expect("a source");
        assert_eq!(
            source.downcast_ref::<io::Error>().unwrap().raw_os_error(),
            Some(18)
        );
    }

    #[test]
    fn names_are_stable() {
        for (kind, name) in [
            (ErrorKind::Unauthenticated, "unauthenticated"),
            (ErrorKind::NoSpace, "no-space"),
            (ErrorKind::Timeout, "timeout"),
            (ErrorKind::Network, "network"),
            (ErrorKind::Busy, "busy"),
        ] {
            assert_eq!(kind.name(), name);
        }
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
