//! The exit codes of `ferry`, in one place: the table in `ferry --help` (and the crate's
//! docs) says what each means. They belong to this program: the library reports how a run
//! ended ([`RunStatus`]) and what kind of error stopped it ([`ErrorKind`]), and each front
//! end turns that into what its callers expect.

use ferrysync::{Error, ErrorKind, RunStatus};

/// Cancelled, by Ctrl-C (the shell's code for a process stopped by SIGINT).
pub(crate) const CANCELLED: u8 = 130;

/// The exit code of a run that ended as `status`: 0 ok, 1 finished with errors, 4 incomplete
/// (a folder skipped as unavailable under the "warning" policy), 130 cancelled.
pub(crate) fn of_run(status: RunStatus) -> u8 {
    match status {
        RunStatus::Ok => 0,
        RunStatus::Errors => 1,
        RunStatus::Incomplete => 4,
        RunStatus::Cancelled => CANCELLED,
    }
}

/// The exit code of an error that stopped `ferry` before or instead of a run.
pub(crate) fn of_error(err: &Error) -> u8 {
    match err.kind() {
        ErrorKind::InvalidInput
        | ErrorKind::NotSupported
        | ErrorKind::NotFound
        | ErrorKind::AlreadyExists
        | ErrorKind::Unauthenticated => 2,
        ErrorKind::Guard | ErrorKind::Unavailable => 3,
        ErrorKind::Busy | ErrorKind::Timeout | ErrorKind::Network => 5,
        ErrorKind::Cancelled => CANCELLED,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_onto_the_documented_exit_codes() {
        let code = |k| of_error(&Error::new(k, "x"));
        assert_eq!(code(ErrorKind::InvalidInput), 2);
        assert_eq!(code(ErrorKind::NotSupported), 2);
        assert_eq!(code(ErrorKind::NotFound), 2);
        assert_eq!(code(ErrorKind::AlreadyExists), 2);
        assert_eq!(code(ErrorKind::Guard), 3);
        assert_eq!(code(ErrorKind::Unavailable), 3);
        assert_eq!(code(ErrorKind::Busy), 5);
        assert_eq!(code(ErrorKind::Cancelled), 130);
        assert_eq!(code(ErrorKind::Io), 1);
    }

    /// Issue 11, item 4: the kinds of remote failures: credentials to fix (bad input), a
    /// server to try again later (as a busy pair), a full disk (failed).
    #[test]
    fn network_errors_map_onto_exit_codes() {
        let code = |k| of_error(&Error::new(k, "x"));
        assert_eq!(code(ErrorKind::Unauthenticated), 2);
        assert_eq!(code(ErrorKind::Timeout), 5);
        assert_eq!(code(ErrorKind::Network), 5);
        assert_eq!(code(ErrorKind::NoSpace), 1);
    }

    /// Issue 11, item 7: the exit code of a run is the CLI's table, not the library's.
    #[test]
    fn runs_map_onto_the_documented_exit_codes() {
        let code = of_run;
        assert_eq!(code(RunStatus::Ok), 0);
        assert_eq!(code(RunStatus::Errors), 1);
        assert_eq!(code(RunStatus::Incomplete), 4);
        assert_eq!(code(RunStatus::Cancelled), 130);
    }
}
