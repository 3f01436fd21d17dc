"""Two-way synchronization from Python: first runs, edits both ways, conflicts resolved by a
callable or by Run.answer, policies, renames in the plan, resync and the state."""

from __future__ import annotations

import os
import pathlib
from typing import Any, Optional

import pytest

import ferrysync


class Pair:
    """Folders `a` and `b` synchronized two-way, the state beside them."""

    def __init__(self, root: pathlib.Path) -> None:
        self.root = root
        self.a = root / "a"
        self.b = root / "b"
        self.a.mkdir()
        self.b.mkdir()

    def profile(self, **sync: Any) -> ferrysync.Profile:
        sync.setdefault("state", self.root / "state.sqlite")
        return ferrysync.Profile(
            name="two-way",
            operation="synchronize",
            folders=[ferrysync.Folder(name="pair", source=self.a, destination=self.b)],
            sync=sync,
        )

    def names(self, side: pathlib.Path) -> list[str]:
        return sorted(p.name for p in side.iterdir() if p.name != ".ferrysync")


def write(path: pathlib.Path, text: str, mtime: Optional[int] = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


@pytest.fixture
def pair(tmp_path: pathlib.Path) -> Pair:
    return Pair(tmp_path)


def conflicting_edit(engine: ferrysync.Engine, pair: Pair) -> None:
    """f.txt synchronized, then edited on both sides, b's edit later."""
    write(pair.a / "f.txt", "v1")
    assert engine.run(pair.profile()).status == "ok"
    write(pair.a / "f.txt", "left edit", mtime=1_700_000_000)
    write(pair.b / "f.txt", "right edit, newer", mtime=1_700_000_100)


def test_first_run_is_a_union(engine: ferrysync.Engine, pair: Pair) -> None:
    write(pair.a / "left.txt", "from a")
    write(pair.b / "sub" / "right.txt", "from b")
    plan = engine.plan(pair.profile())
    assert plan.operation == "synchronize"
    assert [(a.path, a.to) for a in plan if a.kind == "copy"] == [
        ("left.txt", "destination"),
        ("sub/right.txt", "source"),
    ]
    assert plan.folders[0]["two_way"]["first_run"] is True
    report = engine.run(pair.profile())
    assert report.status == "ok", report.to_json()
    assert (pair.b / "left.txt").read_text() == "from a"
    assert (pair.a / "sub" / "right.txt").read_text() == "from b"
    assert engine.plan(pair.profile()).is_empty()


def test_edits_and_deletions_go_both_ways(engine: ferrysync.Engine, pair: Pair) -> None:
    for name in ("edit-a.txt", "edit-b.txt", "del-a.txt", "del-b.txt"):
        write(pair.a / name, "1")
    engine.run(pair.profile())
    write(pair.a / "edit-a.txt", "a 2")
    write(pair.b / "edit-b.txt", "b 2")
    (pair.a / "del-a.txt").unlink()
    (pair.b / "del-b.txt").unlink()
    plan = engine.plan(pair.profile())
    assert plan.summary["conflicts"] == 0
    assert {(a.path, a.kind, a.to) for a in plan} == {
        ("edit-a.txt", "copy", "destination"),
        ("edit-b.txt", "copy", "source"),
        ("del-a.txt", "delete", "destination"),
        ("del-b.txt", "delete", "source"),
    }
    assert engine.run(pair.profile()).status == "ok"
    assert (pair.b / "edit-a.txt").read_text() == "a 2"
    assert (pair.a / "edit-b.txt").read_text() == "b 2"
    assert pair.names(pair.a) == pair.names(pair.b) == ["edit-a.txt", "edit-b.txt"]


def test_a_conflict_resolver_picks_the_policy(engine: ferrysync.Engine, pair: Pair) -> None:
    conflicting_edit(engine, pair)
    seen: list[ferrysync.Conflict] = []

    def resolve(conflict: ferrysync.Conflict) -> Optional[str]:
        seen.append(conflict)
        return "newer"

    report = engine.run(pair.profile(conflict="prompt"), conflict=resolve)
    assert report.status == "ok", report.to_json()
    [c] = seen
    assert (c.folder, c.path, c.kind, c.entry) == ("pair", "f.txt", "both-changed", "file")
    assert c.source is not None and c.destination is not None
    assert c.source.size == len("left edit")
    assert c.destination.mtime.timestamp() == 1_700_000_100
    assert c.destination.mtime.tzinfo is not None
    assert c.action.kind == "conflict" and c.action.resolution == "prompt"
    assert "both-changed" in repr(c)
    for side in (pair.a, pair.b):
        assert (side / "f.txt").read_text() == "right edit, newer"
    assert pair.names(pair.a) == ["f.txt"]


def test_a_resolver_returning_none_keeps_both(engine: ferrysync.Engine, pair: Pair) -> None:
    conflicting_edit(engine, pair)
    engine.run(pair.profile(conflict="prompt"), conflict=lambda c: None)
    for side in (pair.a, pair.b):
        names = pair.names(side)
        assert len(names) == 2 and names[0].startswith("f (conflict "), names
        assert (side / names[0]).read_text() == "left edit"
        assert (side / "f.txt").read_text() == "right edit, newer"


def test_conflicts_answered_through_run_answer(engine: ferrysync.Engine, pair: Pair) -> None:
    conflicting_edit(engine, pair)
    asked = 0
    with engine.start(pair.profile(conflict="prompt")) as run:
        for event in run:
            if event.kind == "conflict-prompt":
                asked += 1
                assert event.prompt_id is not None and event.conflict is not None
                assert event.conflict.prompt_id == event.prompt_id
                assert event.folder == "pair"
                with pytest.raises(TypeError, match="policy name or None"):
                    run.answer(event.prompt_id, True)
                with pytest.raises(ferrysync.InvalidInputError, match="one of: prompt, newer"):
                    run.answer(event.prompt_id, "newest")
                run.answer(event.prompt_id, "source")
        report = run.wait()
    assert asked == 1 and report.status == "ok"
    for side in (pair.a, pair.b):
        assert (side / "f.txt").read_text() == "left edit"


def test_unanswered_conflict_prompts_keep_both(engine: ferrysync.Engine, pair: Pair) -> None:
    conflicting_edit(engine, pair)
    run = engine.start(pair.profile(conflict="prompt"), prompt_timeout=0.1)
    assert [e.kind for e in run].count("conflict-prompt") == 1
    assert run.wait().status == "ok"
    assert len(pair.names(pair.b)) == 2


def test_skip_policy_leaves_both_sides(engine: ferrysync.Engine, pair: Pair) -> None:
    conflicting_edit(engine, pair)
    profile = pair.profile(conflict="skip")
    [action] = list(engine.plan(profile))
    assert (action.kind, action.group, action.detail) == ("conflict", "conflict", "both-changed")
    assert (action.resolution, action.resolution_side) == ("skip", None)
    report = engine.run(profile)
    assert report.done["conflicts"] == 1
    assert any("conflict" in w.message for w in report.warnings)
    assert (pair.a / "f.txt").read_text() == "left edit"
    assert (pair.b / "f.txt").read_text() == "right edit, newer"


def test_profile_policies_show_in_the_plan(engine: ferrysync.Engine, pair: Pair) -> None:
    conflicting_edit(engine, pair)
    expected = {
        "newer": ("wins", "destination"),
        "older": ("wins", "source"),
        "source": ("wins", "source"),
        "keep-both": ("keep-both", "destination"),
        "prompt": ("prompt", None),
    }
    for policy, resolution in expected.items():
        [action] = list(engine.plan(pair.profile(conflict=policy)))
        assert (action.resolution, action.resolution_side) == resolution, policy
    rules = pair.profile(conflict="skip", conflict_rules=[{"mask": "*.txt", "policy": "larger"}])
    [action] = list(engine.plan(rules))
    assert (action.resolution, action.resolution_side) == ("wins", "destination")


def test_a_rename_shows_in_the_plan(engine: ferrysync.Engine, pair: Pair) -> None:
    write(pair.a / "old.txt", "some content to recognise")
    engine.run(pair.profile())
    (pair.a / "old.txt").rename(pair.a / "new.txt")
    plan = engine.plan(pair.profile())
    [action] = list(plan)
    assert (action.kind, action.group, action.path) == ("rename", "renamed", "new.txt")
    assert (action.from_path, action.to) == ("old.txt", "destination")
    assert plan.summary["renames"] == 1
    engine.run(pair.profile())
    assert pair.names(pair.b) == ["new.txt"]
    assert engine.plan(pair.profile()).is_empty()
    no_renames = pair.profile(detect_renames=False)
    (pair.a / "new.txt").rename(pair.a / "newer.txt")
    assert sorted(a.kind for a in engine.plan(no_renames)) == ["copy", "delete"]


def test_bad_policy_names_are_errors(engine: ferrysync.Engine, pair: Pair) -> None:
    with pytest.raises(ferrysync.InvalidInputError, match="sync.conflict"):
        pair.profile(conflict="newest")
    with pytest.raises(ferrysync.InvalidInputError):
        pair.profile(conflict="skip", conflict_rules=[{"mask": "*.txt", "policy": "biggest"}])
    with pytest.raises(ferrysync.InvalidInputError, match="conflict_name|conflict-name"):
        pair.profile(conflict_name="no stem here")
    conflicting_edit(engine, pair)
    with pytest.raises(ferrysync.InvalidInputError, match="newest"):
        engine.run(pair.profile(conflict="prompt"), conflict=lambda c: "newest")
    with pytest.raises(ferrysync.InvalidInputError, match="cannot answer"):
        engine.run(pair.profile(conflict="prompt"), conflict=lambda c: "prompt")
    with pytest.raises(TypeError, match="policy name or None"):
        engine.run(pair.profile(conflict="prompt"), conflict=lambda c: 3)  # type: ignore[arg-type, return-value]
    # A resolver that failed stopped the run before the conflict was touched.
    assert (pair.a / "f.txt").read_text() == "left edit"
    assert (pair.b / "f.txt").read_text() == "right edit, newer"


def test_resync_and_the_state(engine: ferrysync.Engine, pair: Pair) -> None:
    write(pair.a / "x.txt", "x")
    write(pair.a / "y.txt", "y")
    engine.run(pair.profile())
    (pair.b / "x.txt").unlink()
    [delete] = list(engine.plan(pair.profile()))
    assert (delete.kind, delete.to) == ("delete", "source")
    # resync: the state is ignored (plan) or forgotten (run): a union again (y.txt, the same
    # on both sides, is recorded).
    [copy] = [a for a in engine.plan(pair.profile(), resync=True) if a.kind != "record"]
    assert (copy.kind, copy.to) == ("copy", "destination")
    engine.run(pair.profile(), resync=True)
    assert (pair.b / "x.txt").read_text() == "x"

    (pair.b / "x.txt").unlink()
    engine.clear_state(pair.profile())
    assert sorted(a.kind for a in engine.plan(pair.profile())) == ["copy", "record"]
    assert engine.reset_state(pair.profile()) >= 1
    [copy] = list(engine.plan(pair.profile()))
    assert (copy.path, copy.to) == ("x.txt", "destination")

    mirror = ferrysync.Profile(
        name="m", folders=[ferrysync.Folder(name="f", source=pair.a, destination=pair.b)]
    )
    with pytest.raises(ferrysync.InvalidInputError, match="not a two-way profile"):
        engine.clear_state(mirror)
    with pytest.raises(ferrysync.InvalidInputError, match="not a two-way profile"):
        engine.reset_state(mirror)


def test_sync_options_round_trip(pair: Pair) -> None:
    profile = pair.profile(conflict="newer", first_run="source", detect_renames=False)
    sync = profile.to_dict()["sync"]
    assert (sync["conflict"], sync["first_run"], sync["detect_renames"]) == ("newer", "source", False)
    assert ferrysync.Profile.from_json(profile.to_json()) == profile


def test_conflict_loser_and_remove_empty_dirs_are_keyword_options(
    engine: ferrysync.Engine, pair: Pair
) -> None:
    profile = pair.profile(conflict="newer", conflict_loser="rename", remove_empty_dirs=True)
    sync = profile.to_dict()["sync"]
    assert (sync["conflict_loser"], sync["remove_empty_dirs"]) == ("rename", True)
    write(pair.a / "keep.txt", "k")
    write(pair.a / "sub" / "gone.txt", "g")
    write(pair.a / "f.txt", "v1")
    assert engine.run(profile).status == "ok"
    write(pair.a / "f.txt", "left edit", mtime=1_700_000_000)
    write(pair.b / "f.txt", "right edit, newer", mtime=1_700_000_100)
    (pair.a / "sub" / "gone.txt").unlink()
    report = engine.run(profile)
    assert report.status == "ok"
    # The newer edit wins; the loser is renamed beside it on both sides, and the folder the
    # run emptied is gone from both.
    assert (pair.a / "f.txt").read_text() == "right edit, newer"
    copies = [n for n in pair.names(pair.b) if n.startswith("f (conflict ")]
    assert len(copies) == 1, pair.names(pair.b)
    assert (pair.a / copies[0]).read_text() == "left edit"
    assert not (pair.a / "sub").exists() and not (pair.b / "sub").exists()
    with pytest.raises(ferrysync.InvalidInputError):
        pair.profile(conflict_loser="shred")
