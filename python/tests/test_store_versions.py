"""ProfileStore, the group-export functions, and Versions after real runs."""

from __future__ import annotations

import datetime
import os
import pathlib
import time

import pytest

import ferrysync
from conftest import mirror

UTC = datetime.timezone.utc


def profile(name: str, tmp: pathlib.Path, **options: object) -> ferrysync.Profile:
    return ferrysync.Profile(
        name=name,
        folders=[ferrysync.Folder(name="f", source=tmp / "src", destination=tmp / "dst")],
        **options,
    )


# --- ProfileStore -------------------------------------------------------------------------


def test_store_round_trip(tmp_path: pathlib.Path) -> None:
    store = ferrysync.ProfileStore(tmp_path / "store")
    assert store.root == tmp_path / "store" and store.root.is_dir()
    assert store.list() == [] and store.groups() == []

    top = profile("top", tmp_path)
    daily = profile("docs", tmp_path, group="Daily", description="d")
    nested = profile("pics", tmp_path, group="Daily/Media")
    for p in (top, daily, nested):
        store.save(p)
    assert [(p.group, p.name) for p in store.list()] == [
        ("", "top"),
        ("Daily", "docs"),
        ("Daily/Media", "pics"),
    ]
    assert store.get("Daily/docs") == daily
    assert store.get("docs") == daily  # a bare name used by one group only
    assert store.get("/top") == top
    assert store.groups() == ["Daily", "Daily/Media"]
    assert (tmp_path / "store" / "Daily" / "docs.json").is_file()

    store.rename("Daily/docs", "papers")
    assert store.get("Daily/papers").description == "d"
    with pytest.raises(ferrysync.NotFoundError):
        store.get("Daily/docs")

    store.duplicate("Daily/papers", "copy")
    assert store.get("Daily/copy").description == "d"
    assert store.get("Daily/papers").name == "papers"

    assert store.get("top").enabled
    store.set_enabled("top", False)
    assert not store.get("top").enabled
    store.set_enabled("top", True)
    assert store.get("top").enabled

    store.delete("Daily/copy")
    assert [p.name for p in store.list()] == ["top", "papers", "pics"]
    assert store.groups() == ["Daily", "Daily/Media"]  # groups stay


def test_store_import_export(tmp_path: pathlib.Path) -> None:
    store = ferrysync.ProfileStore(str(tmp_path / "a"))
    store.save(profile("docs", tmp_path, group="Daily"))
    store.save(profile("pics", tmp_path, group="Daily/Media"))
    store.save(profile("other", tmp_path, group="Weekly"))

    one = store.export("Daily/docs")
    assert ferrysync.Profile.from_json(one) == store.get("Daily/docs")
    group = store.export_group("Daily")
    assert [p.name for p in ferrysync.profiles_from_json(group)] == ["docs", "pics"]
    assert len(ferrysync.profiles_from_json(store.export_group(""))) == 3

    other = ferrysync.ProfileStore(tmp_path / "b")
    assert other.import_json(group) == ["Daily/docs", "Daily/Media/pics"]
    assert other.list() == ferrysync.profiles_from_json(group)
    with pytest.raises(ferrysync.AlreadyExistsError) as err:
        other.import_json(one)
    assert isinstance(err.value, FileExistsError)
    assert "Daily/docs" in str(err.value)
    assert other.import_json(one, overwrite=True) == ["Daily/docs"]
    assert other.import_json(store.export("Weekly/other")) == ["Weekly/other"]
    assert other.groups() == ["Daily", "Daily/Media", "Weekly"]


def test_store_errors_map_to_classes(tmp_path: pathlib.Path) -> None:
    store = ferrysync.ProfileStore(tmp_path)
    with pytest.raises(ferrysync.NotFoundError) as missing:
        store.get("nope")
    assert isinstance(missing.value, FileNotFoundError) and missing.value.kind == "not-found"
    for call in (
        lambda: store.delete("nope"),
        lambda: store.rename("nope", "x"),
        lambda: store.duplicate("nope", "x"),
        lambda: store.set_enabled("nope", True),
        lambda: store.export("nope"),
        lambda: store.export_group("nope"),
    ):
        with pytest.raises(ferrysync.NotFoundError):
            call()

    store.save(profile("a", tmp_path, group="G"))
    store.save(profile("b", tmp_path, group="G"))
    with pytest.raises(ferrysync.AlreadyExistsError):
        store.rename("G/a", "b")
    with pytest.raises(ferrysync.AlreadyExistsError):
        store.duplicate("G/a", "b")
    store.save(profile("a", tmp_path, group="H"))
    with pytest.raises(ferrysync.InvalidInputError):
        store.get("a")  # two groups have an "a"
    with pytest.raises(ferrysync.InvalidInputError):
        store.get("../outside")
    with pytest.raises(ferrysync.InvalidInputError):
        store.import_json("{not json")
    with pytest.raises(ferrysync.InvalidInputError):
        ferrysync.profiles_from_json('{"format": 1}')


def test_profiles_json_round_trip(tmp_path: pathlib.Path) -> None:
    profiles = [profile("a", tmp_path), profile("b", tmp_path, group="G", enabled=False)]
    text = ferrysync.profiles_to_json(profiles)
    assert '"profiles"' in text
    assert ferrysync.profiles_from_json(text) == profiles
    assert ferrysync.profiles_from_json(profiles[0].to_json()) == profiles[:1]
    with pytest.raises(ferrysync.InvalidInputError, match="duplicate"):
        ferrysync.profiles_from_json(ferrysync.profiles_to_json([profiles[0], profiles[0]]))


# --- Versions -----------------------------------------------------------------------------

T0 = 1_700_000_000  # mtimes of the source file's contents, 20 s apart


def write(path: pathlib.Path, text: str, mtime: int) -> None:
    path.write_text(text)
    os.utime(path, (mtime, mtime))


def at(seconds: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, UTC)


def now_between_runs() -> datetime.datetime:
    """The current time, at least a few ms away from the stored times (ms resolution)."""
    time.sleep(0.02)
    t = datetime.datetime.now(UTC)
    time.sleep(0.02)
    return t


@pytest.fixture
def history(
    tmp_path: pathlib.Path, engine: ferrysync.Engine
) -> tuple[ferrysync.Profile, pathlib.Path, pathlib.Path, list[datetime.datetime]]:
    """a.txt synchronized in four contents v1..v4, then deleted; b.txt never changes.
    Returns the profile, source, destination and the time after each run."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    write(src / "b.txt", "bravo", T0 - 100)
    p = mirror(src, dst, versions={"keep": 3, "deleted_files": "versions"})
    after = []
    for i in range(1, 5):
        write(src / "a.txt", f"v{i}" * i, T0 + 20 * i)
        report = engine.run(p)
        assert report.status == "ok", report.errors
        assert (dst / "a.txt").read_text() == f"v{i}" * i
        after.append(now_between_runs())
    (src / "a.txt").unlink()
    assert engine.run(p).status == "ok"
    assert not (dst / "a.txt").exists()
    return p, src, dst, after


def test_versions_list(history: tuple[ferrysync.Profile, pathlib.Path, pathlib.Path, list[datetime.datetime]]) -> None:
    p, _, dst, after = history
    versions = ferrysync.Versions.for_profile(p)
    assert versions.destination == dst
    assert versions.folder == ".ferrysync/versions"
    assert versions.options()["keep"] == 3
    listed = versions.list("a.txt")
    # v1 was dropped when v4 (deleted) made a fourth: newest first.
    assert [v.size for v in listed] == [8, 6, 4]
    assert [v.mtime for v in listed] == [at(T0 + 80), at(T0 + 60), at(T0 + 40)]
    assert all(v.path == "a.txt" for v in listed)
    stored = [v.stored for v in listed]
    assert stored == sorted(stored, reverse=True) and len(set(stored)) == 3
    assert all(v.stored.tzinfo is not None and v.stored.utcoffset() == datetime.timedelta(0) for v in listed)
    # v2 was replaced by the third run, v3 by the fourth, v4 deleted by the fifth.
    assert after[1] < listed[2].stored < after[2] < listed[1].stored < after[3] < listed[0].stored
    assert listed[0].location.startswith("a (") and listed[0].location.endswith(").txt")
    assert (dst / ".ferrysync" / "versions" / listed[0].location).read_text() == "v4" * 4
    assert listed[0].to_dict()["mtime_ns"] == (T0 + 80) * 10**9
    assert listed[0].stored == datetime.datetime(1970, 1, 1, tzinfo=UTC) + datetime.timedelta(
        microseconds=listed[0].stored_ns // 1000
    )
    assert versions.list(pathlib.Path("a.txt")) == listed
    assert versions.list("b.txt") == [] and versions.list("no/such.txt") == []
    assert versions.list_all() == listed
    with pytest.raises(ferrysync.InvalidInputError):
        versions.list("../a.txt")


def test_versions_restore(history: tuple[ferrysync.Profile, pathlib.Path, pathlib.Path, list[datetime.datetime]]) -> None:
    p, _, dst, _ = history
    versions = ferrysync.Versions.for_profile(p, "f")
    newest, middle, oldest = versions.list("a.txt")

    versions.restore(newest)
    assert (dst / "a.txt").read_text() == "v4" * 4
    assert (dst / "a.txt").stat().st_mtime == T0 + 80
    assert len(versions.list("a.txt")) == 3  # nothing was there to keep

    for bad in ("/abs.txt", "../up.txt", ""):
        with pytest.raises(ferrysync.InvalidInputError):
            versions.restore(oldest, to=bad)
    versions.restore(oldest, to=pathlib.Path("old") / "a.txt")
    assert (dst / "old" / "a.txt").read_text() == "v2" * 2
    versions.restore(middle, to="a.txt")  # keeps v4, which is there, as a version first
    assert (dst / "a.txt").read_text() == "v3" * 3
    # ...and trims to keep=3, which drops v2.
    assert [v.size for v in versions.list("a.txt")] == [8, 8, 6]
    assert not (dst / ".ferrysync" / "versions" / oldest.location).exists()
    with pytest.raises(ferrysync.NotFoundError):
        versions.restore(oldest)


def test_versions_restore_as_of(
    tmp_path: pathlib.Path,
    history: tuple[ferrysync.Profile, pathlib.Path, pathlib.Path, list[datetime.datetime]],
) -> None:
    p, _, _, after = history
    versions = ferrysync.Versions.for_profile(p)
    # After the second run the destination held v2 (and b.txt).
    out = tmp_path / "as-of-2"
    report = versions.restore_as_of(after[1], out)
    assert (report.files, report.bytes) == (2, 4 + 5)
    assert (out / "a.txt").read_text() == "v2" * 2
    assert (out / "a.txt").stat().st_mtime == T0 + 40
    assert (out / "b.txt").read_text() == "bravo"
    assert not (out / ".ferrysync").exists()

    report = versions.restore_as_of(after[3], str(tmp_path / "as-of-4"))
    assert (tmp_path / "as-of-4" / "a.txt").read_text() == "v4" * 4
    assert report == ferrysync.Versions.for_profile(p).restore_as_of(after[3], tmp_path / "again")

    # Now: a.txt was deleted, so only b.txt.
    report = versions.restore_as_of(datetime.datetime.now(UTC), tmp_path / "now")
    assert (report.files, report.bytes) == (1, 5)
    assert not (tmp_path / "now" / "a.txt").exists()

    # A naive datetime is local time.
    naive = after[1].astimezone().replace(tzinfo=None)
    versions.restore_as_of(naive, tmp_path / "naive")
    assert (tmp_path / "naive" / "a.txt").read_text() == "v2" * 2

    # Before anything existed: nothing.
    report = versions.restore_as_of(at(T0 - 1000), tmp_path / "before")
    assert (report.files, report.bytes) == (0, 0)
    with pytest.raises(TypeError):
        versions.restore_as_of(T0, tmp_path / "x")  # type: ignore[arg-type]


def test_versions_restore_as_of_into_a_folder_that_is_not_empty(
    tmp_path: pathlib.Path,
    history: tuple[ferrysync.Profile, pathlib.Path, pathlib.Path, list[datetime.datetime]],
) -> None:
    """Issue 10, item 5: only with overwrite, and what it replaces is kept as a version."""
    p, _, dst, after = history
    versions = ferrysync.Versions.for_profile(p)
    out = tmp_path / "keepme"
    (out / "empty").mkdir(parents=True)
    with pytest.raises(ferrysync.InvalidInputError, match="not empty"):
        versions.restore_as_of(after[1], out)
    write(out / "b.txt", "mine", T0)
    with pytest.raises(ferrysync.InvalidInputError):
        versions.restore_as_of(after[1], out)
    assert (out / "b.txt").read_text() == "mine" and not (out / "a.txt").exists()

    report = versions.restore_as_of(after[1], out, overwrite=True)
    assert (report.files, report.bytes) == (2, 4 + 5)
    assert (out / "a.txt").read_text() == "v2" * 2 and (out / "b.txt").read_text() == "bravo"
    (kept,) = ferrysync.Versions(out).list_all()
    assert kept.path == "b.txt"
    assert (out / ".ferrysync" / "versions" / kept.location).read_text() == "mine"

    # Into the destination itself: a rollback in place, the replaced files kept there.
    versions.restore_as_of(after[1], dst, overwrite=True)
    assert (dst / "a.txt").read_text() == "v2" * 2
    versions.restore_as_of(after[2], dst, overwrite=True)
    assert (dst / "a.txt").read_text() == "v3" * 3
    newest = versions.list("a.txt")[0]
    assert (dst / ".ferrysync" / "versions" / newest.location).read_text() == "v2" * 2
    with pytest.raises(ferrysync.InvalidInputError):
        versions.restore_as_of(after[1], dst)


def test_versions_clean(history: tuple[ferrysync.Profile, pathlib.Path, pathlib.Path, list[datetime.datetime]]) -> None:
    p, _, dst, _ = history
    assert ferrysync.Versions.for_profile(p).clean() == ferrysync.Versions.for_profile(p).clean()
    assert ferrysync.Versions.for_profile(p).clean().removed == 0  # within keep=3
    keep_one = ferrysync.Versions(dst, keep=1)
    report = keep_one.clean()
    assert (report.removed, report.bytes_freed) == (2, 6 + 4)
    assert [v.size for v in keep_one.list("a.txt")] == [8]
    assert keep_one.clean().removed == 0
    report = ferrysync.Versions(dst, max_total_size="1 bytes").clean()
    assert (report.removed, report.bytes_freed) == (1, 8)
    assert ferrysync.Versions(dst).list_all() == []


def test_versions_constructor(tmp_path: pathlib.Path) -> None:
    dst = tmp_path / "dst"
    v = ferrysync.Versions(dst, keep=2, folder="old", max_total_size="10MB", max_age="30 days")
    assert v.folder == "old" and v.destination == dst
    options = v.options()
    assert options["keep"] == 2 and options["max_total_size"] == 10 * 2**20
    assert options["max_age"] == "30 days"
    assert v.list_all() == []  # no versions folder yet
    outside = ferrysync.Versions(dst, folder=tmp_path / "elsewhere")
    assert outside.folder is None
    assert ferrysync.Versions(dst, folder=dst / "inside").folder == "inside"
    for bad in (
        lambda: ferrysync.Versions(dst, folder="../up"),
        lambda: ferrysync.Versions(dst, folder=""),
        lambda: ferrysync.Versions(dst, max_age="soon"),
        lambda: ferrysync.Versions(dst, max_total_size="lots"),
    ):
        with pytest.raises(ferrysync.InvalidInputError):
            bad()
    two = ferrysync.Profile(
        name="two",
        folders=[
            ferrysync.Folder(name="a", source=tmp_path / "s1", destination=tmp_path / "d1"),
            ferrysync.Folder(name="b", source=tmp_path / "s2", destination="$FERRY_TEST_DST/d2"),
        ],
        versions={"keep": 5, "folder": "vv"},
    )
    with pytest.raises(ferrysync.InvalidInputError, match="folder_name"):
        ferrysync.Versions.for_profile(two)
    with pytest.raises(ferrysync.NotFoundError):
        ferrysync.Versions.for_profile(two, "c")
    assert ferrysync.Versions.for_profile(two, "a").destination == tmp_path / "d1"
    assert ferrysync.Versions.for_profile(two, "a").folder == "vv"
    os.environ["FERRY_TEST_DST"] = str(tmp_path)
    try:
        assert ferrysync.Versions.for_profile(two, "b").destination == tmp_path / "d2"
    finally:
        del os.environ["FERRY_TEST_DST"]
    with pytest.raises(ferrysync.InvalidInputError):
        ferrysync.Versions.for_profile(two, "b")
