"""The exception hierarchy: ``SyncError`` and one subclass per kind of error.

The obvious ones are also the builtins, so ``except FileNotFoundError`` catches a missing
source. The native module raises them through ``_from_kind``.
"""

from __future__ import annotations

from typing import Dict, Optional, Type


class SyncError(Exception):
    """A ferrysync error. ``kind`` says what went wrong; ``path`` is the path concerned."""

    kind: str = "io"
    path: Optional[str]

    def __init__(self, message: str, path: Optional[str] = None) -> None:
        super().__init__(message)
        self.path = path

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class NotFoundError(SyncError, FileNotFoundError):
    """A file, folder, profile or version does not exist."""

    kind = "not-found"


class AlreadyExistsError(SyncError, FileExistsError):
    """Something that must not exist yet does."""

    kind = "already-exists"


class PermissionDeniedError(SyncError, PermissionError):
    """The operating system refused access."""

    kind = "permission-denied"


class InvalidInputError(SyncError, ValueError):
    """A profile, argument, path or file format is malformed (the message names the JSON
    path, as in ``folders[0].source: source is empty``)."""

    kind = "invalid-input"


class NotSupportedError(SyncError):
    """An option or operation that a later release will support."""

    kind = "not-supported"


class UnavailableError(SyncError):
    """A folder or drive that should be there is not."""

    kind = "unavailable"


class BusyError(SyncError):
    """A file is locked or busy; retrying later may work."""

    kind = "busy"


class GuardError(SyncError):
    """A safety guard stopped the run before anything changed (run with ``force=True``)."""

    kind = "guard"


class CancelledError(SyncError):
    """The run was cancelled."""

    kind = "cancelled"


class CorruptError(SyncError):
    """Data read back differs from what was written."""

    kind = "corrupt"


class IoError(SyncError, OSError):
    """Any other input/output failure."""

    kind = "io"


class UnauthenticatedError(SyncError, PermissionError):
    """A server refused the credentials, or wanted some and got none."""

    kind = "unauthenticated"


class NoSpaceError(SyncError, OSError):
    """The disk, file system or quota is full."""

    kind = "no-space"


class TimedOutError(SyncError, TimeoutError):
    """A server or device did not answer in time; retrying later may work."""

    kind = "timeout"


class NetworkError(SyncError, ConnectionError):
    """A connection failed (reset, refused, broken) or a server failed to answer; retrying
    later may work."""

    kind = "network"


class InternalError(SyncError):
    """A bug in ferrysync: the run's thread panicked and the run stopped where it was."""

    kind = "internal"


_BY_KIND: Dict[str, Type[SyncError]] = {
    cls.kind: cls
    for cls in (
        NotFoundError,
        AlreadyExistsError,
        PermissionDeniedError,
        InvalidInputError,
        NotSupportedError,
        UnavailableError,
        BusyError,
        GuardError,
        CancelledError,
        CorruptError,
        IoError,
        UnauthenticatedError,
        NoSpaceError,
        TimedOutError,
        NetworkError,
        InternalError,
    )
}


def _from_kind(kind: str, message: str, path: Optional[str]) -> SyncError:
    """The exception for an error of ``kind`` (a ``SyncError`` for kinds this version does
    not know)."""
    cls = _BY_KIND.get(kind)
    if cls is None:
        err = SyncError(message, path)
        err.kind = kind
        return err
    return cls(message, path)


for _cls in (SyncError, *_BY_KIND.values()):
    _cls.__module__ = "ferrysync"
del _cls
