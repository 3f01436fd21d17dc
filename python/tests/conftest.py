"""Shared fixtures: trees of files to synchronize."""

from __future__ import annotations

import os
import pathlib
from typing import Callable

import pytest

import ferrysync

REPO = pathlib.Path(__file__).resolve().parents[2]


def make_tree(root: pathlib.Path, files: int, size: int = 64, per_dir: int = 100) -> pathlib.Path:
    """`files` files of `size` bytes in folders of `per_dir`."""
    root.mkdir(parents=True, exist_ok=True)
    chunk = os.urandom(size)
    for i in range(files):
        d = root / f"d{i // per_dir:03}"
        d.mkdir(exist_ok=True)
        (d / f"f{i:05}.bin").write_bytes(chunk)
    return root


def temporaries(root: pathlib.Path) -> list[pathlib.Path]:
    return [p for p in root.rglob("*") if p.name.startswith(".ferry-tmp.")]


def mirror(src: pathlib.Path, dst: pathlib.Path, **options: object) -> ferrysync.Profile:
    options.setdefault("guards", {"max_delete": None})
    return ferrysync.Profile(
        name="t",
        operation="mirror",
        folders=[ferrysync.Folder(name="f", source=src, destination=dst)],
        **options,
    )


@pytest.fixture
def small(tmp_path: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "sub" / "b.txt").write_text("bravo!")
    (src / "skip.tmp").write_text("x")
    return src, tmp_path / "dst"


@pytest.fixture
def engine() -> ferrysync.Engine:
    return ferrysync.Engine()


Tree = Callable[..., pathlib.Path]
