"""The examples in examples/python run as documented."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

from conftest import REPO

EXAMPLES = REPO / "examples" / "python"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120)


def test_mirror_example(tmp_path: pathlib.Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a").write_text("a")
    (src / "sub" / "b").write_text("bb")
    (src / "c.tmp").write_text("excluded")
    done = run(str(EXAMPLES / "mirror.py"), str(src), str(tmp_path / "dst"))
    assert done.returncode == 0, done.stderr
    assert "items 3/3" in done.stdout
    assert "ok: 2 new" in done.stdout
    assert (tmp_path / "dst" / "sub" / "b").read_text() == "bb"
    assert not (tmp_path / "dst" / "c.tmp").exists()


def test_mirror_example_reports_errors(tmp_path: pathlib.Path) -> None:
    done = run(str(EXAMPLES / "mirror.py"), str(tmp_path / "x"), str(tmp_path / "x"))
    assert done.returncode == 2
    assert "error (invalid-input)" in done.stderr


def test_confirm_example(tmp_path: pathlib.Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    (src / "a").write_text("a")
    (dst / "extra").write_text("x")
    declined = run(str(EXAMPLES / "confirm.py"), str(src), str(dst))
    assert declined.returncode == 0, declined.stderr
    assert "delete 1 files?" in declined.stdout and "  extra" in declined.stdout
    assert "declined" in declined.stderr  # the warning, through the ferrysync logger
    assert (dst / "extra").exists() and (dst / "a").exists()
    accepted = run(str(EXAMPLES / "confirm.py"), str(src), str(dst), "--yes")
    assert accepted.returncode == 0, accepted.stderr
    assert not (dst / "extra").exists()


def test_two_way_example(tmp_path: pathlib.Path) -> None:
    left, right, state = tmp_path / "left", tmp_path / "right", tmp_path / "state.sqlite"
    left.mkdir()
    right.mkdir()
    (left / "f.txt").write_text("v1")
    (right / "only-right.txt").write_text("r")
    args = [str(EXAMPLES / "twoway.py"), str(left), str(right), "--state", str(state)]
    first = run(*args)
    assert first.returncode == 0, first.stderr
    assert "plan: -> copy f.txt" in first.stdout and "plan: <- copy only-right.txt" in first.stdout
    assert (right / "f.txt").read_text() == "v1" and (left / "only-right.txt").read_text() == "r"

    (left / "f.txt").write_text("left edit")
    os.utime(left / "f.txt", (1_700_000_000, 1_700_000_000))
    (right / "f.txt").write_text("right edit, newer")
    os.utime(right / "f.txt", (1_700_000_100, 1_700_000_100))
    second = run(*args, "--prefer", "newer")
    assert second.returncode == 0, second.stderr
    assert "conflict f.txt: both-changed" in second.stdout
    assert "left:  9 bytes, modified 2023-11-14 22:13:20 UTC" in second.stdout
    assert (left / "f.txt").read_text() == "right edit, newer"

    bad = run(*args, "--prefer", "newest")
    assert bad.returncode == 0, bad.stderr  # nothing conflicts any more: never asked
    (left / "f.txt").write_text("again, left")
    (right / "f.txt").write_text("again, right side")
    bad = run(*args, "--prefer", "newest")
    assert bad.returncode == 2 and "error (invalid-input)" in bad.stderr
