"""Errors: one class per kind, the obvious ones also builtins, the JSON path in the message."""

from __future__ import annotations

import pathlib

import pytest

import ferrysync
from ferrysync import _errors
from conftest import mirror

KINDS = [
    ("not-found", ferrysync.NotFoundError, FileNotFoundError),
    ("already-exists", ferrysync.AlreadyExistsError, FileExistsError),
    ("permission-denied", ferrysync.PermissionDeniedError, PermissionError),
    ("invalid-input", ferrysync.InvalidInputError, ValueError),
    ("not-supported", ferrysync.NotSupportedError, None),
    ("unavailable", ferrysync.UnavailableError, None),
    ("busy", ferrysync.BusyError, None),
    ("guard", ferrysync.GuardError, None),
    ("cancelled", ferrysync.CancelledError, None),
    ("corrupt", ferrysync.CorruptError, None),
    ("io", ferrysync.IoError, OSError),
    # Issue 11, item 4: the kinds remote backends need.
    ("unauthenticated", ferrysync.UnauthenticatedError, PermissionError),
    ("no-space", ferrysync.NoSpaceError, OSError),
    ("timeout", ferrysync.TimedOutError, TimeoutError),
    ("network", ferrysync.NetworkError, ConnectionError),
    ("internal", ferrysync.InternalError, None),
]


@pytest.mark.parametrize("kind,cls,builtin", KINDS, ids=[k[0] for k in KINDS])
def test_each_kind_has_its_class(kind: str, cls: type, builtin: type | None) -> None:
    err = _errors._from_kind(kind, "/x/y: went wrong", "/x/y")
    assert type(err) is cls
    assert isinstance(err, ferrysync.SyncError) and isinstance(err, Exception)
    if builtin is not None:
        assert isinstance(err, builtin)
    assert err.kind == kind and cls.kind == kind
    assert err.path == "/x/y"
    assert str(err) == "/x/y: went wrong"
    assert cls.__module__ == "ferrysync"


def test_unknown_kind_is_a_sync_error() -> None:
    err = _errors._from_kind("brand-new", "m", None)
    assert type(err) is ferrysync.SyncError and err.kind == "brand-new" and err.path is None


def test_not_found_names_the_path(tmp_path: pathlib.Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(FileNotFoundError) as info:
        ferrysync.Profile.load(missing)
    err = info.value
    assert isinstance(err, ferrysync.NotFoundError)
    assert err.path == str(missing) and str(missing) in str(err)


def test_invalid_json_names_the_json_path() -> None:
    text = '{"format": 1, "name": "x", "folders": [{"name": "a", "source": "", "destination": "/b"}]}'
    with pytest.raises(ValueError) as info:
        ferrysync.Profile.from_json(text)
    assert isinstance(info.value, ferrysync.InvalidInputError)
    assert str(info.value).startswith("folders[0].source: ")


def test_keyword_errors_are_the_parser_errors() -> None:
    with pytest.raises(ferrysync.InvalidInputError, match=r"^filters\.exclude-files: invalid type"):
        ferrysync.Profile(name="x", filters={"exclude_files": 3})
    with pytest.raises(ferrysync.InvalidInputError, match=r"unknown field `no-such-option`"):
        ferrysync.Profile(name="x", no_such_option=1)
    with pytest.raises(ferrysync.InvalidInputError, match=r"^destination: same as the source"):
        ferrysync.Folder(name="a", source="/same", destination="/same")
    with pytest.raises(TypeError):
        ferrysync.Profile(name="x", copy={"verify": object()})


@pytest.mark.parametrize("field", ["source", "destination"])
@pytest.mark.parametrize("bad", [5, None, 1.5, ["/x"], object()], ids=repr)
def test_a_folder_path_of_another_type_is_a_type_error(field: str, bad: object, tmp_path: pathlib.Path) -> None:
    """Issue 11: ``Folder(source=5)`` raised ``InvalidInputError``; a path argument takes
    ``str`` or ``os.PathLike`` (the stubs' ``_StrPath``) and anything else is a
    ``TypeError``, as for every other path argument."""
    paths: dict[str, object] = {"source": str(tmp_path / "a"), "destination": tmp_path / "b"}
    paths[field] = bad
    with pytest.raises(TypeError, match=f"^{field}: ") as err:
        ferrysync.Folder(name="f", **paths)  # type: ignore[arg-type]
    assert not isinstance(err.value, ferrysync.SyncError)
    with pytest.raises(TypeError):
        ferrysync.Profile.load(bad)  # type: ignore[arg-type]


def test_later_release_options_are_not_supported() -> None:
    with pytest.raises(ferrysync.NotSupportedError, match="not supported yet"):
        ferrysync.Profile(name="x", schedule={"daily": "02:00"})


def test_unavailable_source_aborts(tmp_path: pathlib.Path) -> None:
    profile = ferrysync.Profile(
        name="x",
        folders=[ferrysync.Folder(name="f", source=tmp_path / "gone", destination=tmp_path / "d",
                                  if_unavailable="abort")],
    )
    with pytest.raises(ferrysync.UnavailableError):
        ferrysync.Engine().plan(profile)


def test_guard_error(tmp_path: pathlib.Path) -> None:
    src, dst = tmp_path / "s", tmp_path / "d"
    src.mkdir()
    dst.mkdir()
    for i in range(4):
        (dst / str(i)).write_text("x")
    with pytest.raises(ferrysync.GuardError, match="over the limit"):
        ferrysync.Engine().run(mirror(src, dst, guards={"max_delete": 1}))
    with pytest.raises(ferrysync.GuardError):
        ferrysync.Engine().start(mirror(src, dst, guards={"max_delete": 1})).wait()
    with pytest.raises(ferrysync.GuardError):
        list(ferrysync.Engine().start(mirror(src, dst, guards={"max_delete": 1})))


def test_unknown_folder_is_not_found(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ferrysync.NotFoundError):
        ferrysync.Engine().plan(mirror(tmp_path / "s", tmp_path / "d"), folders=["nope"])


def test_per_file_errors_are_in_the_report(tmp_path: pathlib.Path) -> None:
    src, dst = tmp_path / "s", tmp_path / "d"
    src.mkdir()
    (src / "f").write_text("x")
    dst.mkdir()
    (dst / "f").mkdir()  # a folder where a file goes, holding a file: replaced
    report = ferrysync.Engine().run(mirror(src, dst))
    assert report.status in ("ok", "errors")


@pytest.mark.parametrize("spelling", ["slash", "dot", "link"])
@pytest.mark.parametrize("operation", ["move", "mirror", "synchronize"])
def test_the_same_folder_spelled_differently_is_invalid_input(
    tmp_path: pathlib.Path, spelling: str, operation: str
) -> None:
    """Issue 10, item 1: `destination=str(d) + "/"` moved every file of `d` onto itself."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "t.txt").write_text("x")
    (tmp_path / "alias").symlink_to(d)
    other = {"slash": str(d) + "/", "dot": str(d) + "/.", "link": str(tmp_path / "alias")}[spelling]
    profile = ferrysync.Profile(
        name="same",
        operation=operation,
        folders=[ferrysync.Folder(name="f", source=d, destination=other)],
        sync={"state": str(tmp_path / "state.db")} if operation == "synchronize" else {},
    )
    with pytest.raises(ferrysync.InvalidInputError, match="same folder"):
        ferrysync.Engine().run(profile)
    assert (d / "t.txt").read_text() == "x"
