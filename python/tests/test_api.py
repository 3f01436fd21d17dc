"""Profiles, plans, runs and reports."""

from __future__ import annotations

import datetime
import json
import pathlib
import re
import threading

import pytest

import ferrysync
from conftest import REPO, mirror


def test_version_is_the_crate_version() -> None:
    cargo = (REPO / "Cargo.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', cargo, re.M)
    assert version is not None
    assert ferrysync.__version__ == version.group(1)


def test_all_names_exist() -> None:
    for name in ferrysync.__all__:
        assert hasattr(ferrysync, name), name


def test_keyword_constructor_builds_the_json_document(small: tuple[pathlib.Path, pathlib.Path]) -> None:
    src, dst = small
    profile = ferrysync.Profile(
        name="docs",
        operation="copy",
        folders=[ferrysync.Folder(name="d", source=src, destination=str(dst), include_subfolders=False)],
        filters={"exclude_files": ["*.tmp"]},
        copy={"verify": True, "retries": 0},
        description="my docs",
    )
    assert profile.name == "docs"
    assert profile.operation == "copy"
    assert profile.description == "my docs"
    [folder] = profile.folders
    assert (folder.name, folder.source, folder.destination) == ("d", str(src), str(dst))
    assert folder.include_subfolders is False
    doc = json.loads(profile.to_json())
    assert doc["format"] == 1
    assert doc["filters"]["exclude-files"] == ["*.tmp"]
    assert doc["copy"]["verify"] is True
    assert profile.to_dict()["copy"]["retries"] == 0


def test_json_round_trip_and_files(tmp_path: pathlib.Path, small: tuple[pathlib.Path, pathlib.Path]) -> None:
    profile = mirror(*small, comparison={"mtime_tolerance_ms": 2000})
    again = ferrysync.Profile.from_json(profile.to_json())
    assert again == profile
    path = tmp_path / "p.json"
    profile.save(path)  # os.PathLike
    assert ferrysync.Profile.load(str(path)) == profile
    assert ferrysync.Profile.load(path).to_json() == profile.to_json()


def test_sample_profiles_load() -> None:
    for path in (REPO / "examples" / "profiles").glob("*.json"):
        assert ferrysync.Profile.load(path).name == path.stem


def test_plan_iterates_actions(engine: ferrysync.Engine, small: tuple[pathlib.Path, pathlib.Path]) -> None:
    src, dst = small
    plan = engine.plan(mirror(src, dst, filters={"exclude_files": ["*.tmp"]}))
    actions = list(plan)
    assert len(plan) == len(actions) == 3
    assert [(a.kind, a.path) for a in actions] == [("copy", "a.txt"), ("create-dir", "sub"), ("copy", "sub/b.txt")]
    assert {a.group for a in actions} == {"new"}
    assert {a.reason for a in actions} == {"new"}
    assert actions[0].size == 5 and actions[0].folder == "f"
    stamp = actions[0].source
    assert stamp is not None and actions[0].destination is None
    assert isinstance(stamp.mtime, datetime.datetime)
    assert stamp.mtime.tzinfo is not None
    assert abs(stamp.mtime.timestamp() - (src / "a.txt").stat().st_mtime) < 1e-3
    assert plan.summary["new_files"] == 2 and plan.summary["bytes_to_copy"] == 11
    assert plan.folders[0]["folder"] == "f"
    assert json.loads(plan.to_json())["profile"] == "t"
    assert not plan.is_empty()
    assert not dst.exists()  # planning changes nothing


def test_changed_files_say_why(engine: ferrysync.Engine, small: tuple[pathlib.Path, pathlib.Path]) -> None:
    src, dst = small
    engine.run(mirror(src, dst))
    (src / "a.txt").write_text("alpha, longer")
    (dst / "extra").write_text("x")
    by_path = {a.path: a for a in engine.plan(mirror(src, dst))}
    assert by_path["a.txt"].group == "modified" and by_path["a.txt"].reason == "changed"
    assert by_path["a.txt"].detail in ("size", "source-newer")
    assert by_path["a.txt"].destination is not None
    assert by_path["extra"].kind == "delete" and by_path["extra"].group == "deleted"


def test_run_returns_a_report(engine: ferrysync.Engine, small: tuple[pathlib.Path, pathlib.Path]) -> None:
    src, dst = small
    seen: list[ferrysync.Event] = []
    caller = threading.get_ident()
    threads: set[int] = set()

    def progress(event: ferrysync.Event) -> None:
        seen.append(event)
        threads.add(threading.get_ident())

    report = engine.run(mirror(src, dst), progress=progress)
    assert report.status == "ok" and report.exit_code == 0
    assert report.errors == [] and report.warnings == []
    assert report.done["new_files"] == 3
    assert report.bytes_written == 12
    assert isinstance(report.duration, datetime.timedelta)
    assert json.loads(report.to_json())["status"] == "ok"
    assert (dst / "sub" / "b.txt").read_text() == "bravo!"
    assert threads == {caller}, "the callback runs on the calling thread"
    kinds = [e.kind for e in seen]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert "progress" in kinds and kinds.count("action-done") == 4
    last = seen[-1].report
    assert last is not None and last.status == "ok"
    progress_events = [e for e in seen if e.kind == "progress"]
    assert progress_events[-1].items_done == progress_events[-1].items_total == 4
    assert progress_events[-1].bytes_total == 12


def test_dry_run_changes_nothing(engine: ferrysync.Engine, small: tuple[pathlib.Path, pathlib.Path]) -> None:
    src, dst = small
    report = engine.run(mirror(src, dst), dry_run=True)
    assert report.dry_run and report.status == "ok"
    assert not dst.exists()


def test_start_yields_events_and_waits(engine: ferrysync.Engine, small: tuple[pathlib.Path, pathlib.Path]) -> None:
    src, dst = small
    with engine.start(mirror(src, dst)) as run:
        kinds = [event.kind for event in run]
        report = run.wait()
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert run.finished and report.status == "ok"
    assert (dst / "a.txt").exists()


def test_wait_without_iterating(engine: ferrysync.Engine, small: tuple[pathlib.Path, pathlib.Path]) -> None:
    report = engine.start(mirror(*small)).wait()
    assert report.status == "ok"


def test_guard_and_force(engine: ferrysync.Engine, small: tuple[pathlib.Path, pathlib.Path]) -> None:
    src, dst = small
    dst.mkdir()
    for i in range(10):
        (dst / f"old{i}").write_text("x")
    guarded = mirror(src, dst, guards={"max_delete": "50%"})
    with pytest.raises(ferrysync.GuardError) as err:
        engine.run(guarded)
    assert err.value.path == str(dst)
    assert (dst / "old0").exists()
    assert engine.run(guarded, force=True).status == "ok"
    assert not (dst / "old0").exists()


def test_confirm_callback_in_run(engine: ferrysync.Engine, small: tuple[pathlib.Path, pathlib.Path]) -> None:
    src, dst = small
    dst.mkdir()
    (dst / "extra").write_text("x")
    asked: list[list[str]] = []

    def confirm(event: ferrysync.Event) -> bool:
        assert event.kind == "confirm-deletes"
        asked.append(event.paths or [])
        return False

    profile = mirror(src, dst, copy={"confirm_deletes": True})
    report = engine.run(profile, confirm=confirm)
    assert asked == [["extra"]]
    assert (dst / "extra").exists() and (dst / "a.txt").exists()
    assert report.warnings  # "deletions declined"
    engine.run(profile, confirm=lambda event: True)
    assert not (dst / "extra").exists()


def test_answer_in_start(engine: ferrysync.Engine, small: tuple[pathlib.Path, pathlib.Path]) -> None:
    src, dst = small
    dst.mkdir()
    (dst / "extra").write_text("x")
    with engine.start(mirror(src, dst, copy={"confirm_deletes": True})) as run:
        for event in run:
            if event.kind == "confirm-deletes":
                assert event.prompt_id is not None and event.folder == "f"
                run.answer(event.prompt_id, True)
    assert run.wait().status == "ok"
    assert not (dst / "extra").exists()


def test_unanswered_prompt_takes_the_default(engine: ferrysync.Engine, small: tuple[pathlib.Path, pathlib.Path]) -> None:
    src, dst = small
    dst.mkdir()
    (dst / "extra").write_text("x")
    run = engine.start(mirror(src, dst, copy={"confirm_deletes": True}), prompt_timeout=0.2)
    assert [e.kind for e in run].count("confirm-deletes") == 1
    assert run.wait().status == "ok"
    assert (dst / "extra").exists()


def test_readme_example_runs(tmp_path: pathlib.Path) -> None:
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks
    exec(compile(blocks[0], "README.md", "exec"), {"__name__": "readme"})


def test_readme_two_way_example_runs(tmp_path: pathlib.Path) -> None:
    text = (REPO / "README.md").read_text()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "synchronize" in b]
    assert len(blocks) == 1
    exec(compile(blocks[0], "README.md", "exec"), {"__name__": "readme"})
