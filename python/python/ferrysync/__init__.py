"""ferrysync: embeddable file synchronization and backup.

>>> from ferrysync import Engine, Folder, Profile
>>> profile = Profile(name="docs", operation="mirror",
...                   folders=[Folder(name="d", source="/a", destination="/b")])

``Engine().plan(profile)`` previews, ``Engine().run(profile)`` runs and returns a ``Report``,
``Engine().start(profile)`` runs in the background and yields ``Event``s. A two-way profile
(``operation="synchronize"``) asks ``Engine().run(profile, conflict=resolver)`` how to resolve
each ``Conflict`` when its policy is ``"prompt"``. Errors are
``SyncError`` subclasses; warnings go to the ``ferrysync`` logger. ``ProfileStore`` keeps
profiles in a folder; ``Versions`` lists, restores and cleans up the earlier versions of
files that runs replaced or deleted.
"""

from ._errors import (
    AlreadyExistsError,
    BusyError,
    CancelledError,
    CorruptError,
    GuardError,
    InternalError,
    InvalidInputError,
    IoError,
    NetworkError,
    NoSpaceError,
    NotFoundError,
    NotSupportedError,
    PermissionDeniedError,
    SyncError,
    TimedOutError,
    UnauthenticatedError,
    UnavailableError,
)
from ._native import (
    Action,
    CleanReport,
    Conflict,
    Engine,
    Event,
    Folder,
    Plan,
    Problem,
    Profile,
    ProfileStore,
    Report,
    RestoreReport,
    Run,
    Stamp,
    Version,
    Versions,
    __version__,
    profiles_from_json,
    profiles_to_json,
)

__all__ = [
    "Action",
    "AlreadyExistsError",
    "BusyError",
    "CancelledError",
    "CleanReport",
    "Conflict",
    "CorruptError",
    "Engine",
    "Event",
    "Folder",
    "GuardError",
    "InternalError",
    "InvalidInputError",
    "IoError",
    "NetworkError",
    "NoSpaceError",
    "NotFoundError",
    "NotSupportedError",
    "PermissionDeniedError",
    "Plan",
    "Problem",
    "Profile",
    "ProfileStore",
    "Report",
    "RestoreReport",
    "Run",
    "Stamp",
    "SyncError",
    "TimedOutError",
    "UnauthenticatedError",
    "UnavailableError",
    "Version",
    "Versions",
    "__version__",
    "profiles_from_json",
    "profiles_to_json",
]
