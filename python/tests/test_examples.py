"""The examples in examples/python run as documented."""

from __future__ import annotations

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
