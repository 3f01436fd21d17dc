"""ferrysync: embeddable file synchronization and backup.

>>> from ferrysync import Engine, Folder, Profile
>>> profile = Profile(name="docs", operation="mirror",
...                   folders=[Folder(name="d", source="/a", destination="/b")])

``Engine().plan(profile)`` previews, ``Engine().run(profile)`` runs and returns a ``Report``,
``Engine().start(profile)`` runs in the background and yields ``Event``s. Errors are
``SyncError`` subclasses; warnings go to the ``ferrysync`` logger.
"""

from ._errors import (
    AlreadyExistsError,
    BusyError,
    CancelledError,
    CorruptError,
    GuardError,
    InvalidInputError,
    IoError,
    NotFoundError,
    NotSupportedError,
    PermissionDeniedError,
    SyncError,
    UnavailableError,
)
from ._native import (
    Action,
    Engine,
    Event,
    Folder,
    Plan,
    Problem,
    Profile,
    Report,
    Run,
    Stamp,
    __version__,
)

__all__ = [
    "Action",
    "AlreadyExistsError",
    "BusyError",
    "CancelledError",
    "CorruptError",
    "Engine",
    "Event",
    "Folder",
    "GuardError",
    "InvalidInputError",
    "IoError",
    "NotFoundError",
    "NotSupportedError",
    "PermissionDeniedError",
    "Plan",
    "Problem",
    "Profile",
    "Report",
    "Run",
    "Stamp",
    "SyncError",
    "UnavailableError",
    "__version__",
]
