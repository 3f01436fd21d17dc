"""Cancel, pause and resume, two runs at once, Ctrl-C, logging."""

from __future__ import annotations

import logging
import pathlib
import signal
import threading
import time

import pytest

import ferrysync
from conftest import make_tree, mirror, temporaries


@pytest.fixture
def big(tmp_path: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    return make_tree(tmp_path / "src", 3000, size=4096), tmp_path / "dst"


def copied(dst: pathlib.Path) -> int:
    return sum(1 for p in dst.rglob("*.bin")) if dst.exists() else 0


def test_cancel_stops_the_run(engine: ferrysync.Engine, big: tuple[pathlib.Path, pathlib.Path]) -> None:
    src, dst = big
    with engine.start(mirror(src, dst, copy={"threads": 2})) as run:
        for event in run:
            if event.kind == "action-done":
                run.cancel()
                assert run.cancelled
        report = run.wait()
    assert report.status == "cancelled" and report.exit_code == 130
    assert copied(dst) < 3000
    assert temporaries(dst) == []


def test_context_exit_cancels_and_joins(engine: ferrysync.Engine, big: tuple[pathlib.Path, pathlib.Path]) -> None:
    src, dst = big
    with engine.start(mirror(src, dst, copy={"threads": 2})) as run:
        for event in run:
            if event.kind == "action-done":
                break
    assert run.finished
    assert run.wait().status == "cancelled"
    assert temporaries(dst) == []


def test_pause_and_resume(engine: ferrysync.Engine, big: tuple[pathlib.Path, pathlib.Path]) -> None:
    src, dst = big
    run = engine.start(mirror(src, dst))
    run.pause()
    assert run.paused
    time.sleep(1.0)
    held = copied(dst)
    time.sleep(0.5)
    assert copied(dst) == held, "nothing is copied while paused"
    assert held < 3000
    run.resume()
    assert not run.paused
    report = run.wait()
    assert report.status == "ok"
    assert copied(dst) == 3000


def test_two_runs_from_two_threads(engine: ferrysync.Engine, tmp_path: pathlib.Path) -> None:
    trees = [make_tree(tmp_path / f"src{i}", 1500, size=2048) for i in range(2)]
    reports: dict[int, ferrysync.Report] = {}
    errors: list[BaseException] = []
    events = [0, 0]

    def work(i: int) -> None:
        def progress(event: ferrysync.Event) -> None:
            events[i] += 1

        try:
            reports[i] = engine.run(mirror(trees[i], tmp_path / f"dst{i}"), progress=progress)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    ticks = 0
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        ticks += 1  # the GIL is free while the runs go on
        time.sleep(0.001)
    for t in threads:
        t.join()
    assert errors == []
    assert [reports[i].status for i in range(2)] == ["ok", "ok"]
    assert [copied(tmp_path / f"dst{i}") for i in range(2)] == [1500, 1500]
    assert all(n > 0 for n in events)
    assert ticks > 0


def test_plan_releases_the_gil(engine: ferrysync.Engine, big: tuple[pathlib.Path, pathlib.Path]) -> None:
    src, dst = big
    counter = [0]
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            counter[0] += 1
            time.sleep(0)

    t = threading.Thread(target=spin)
    t.start()
    try:
        engine.plan(mirror(src, dst))
    finally:
        stop.set()
        t.join()
    assert counter[0] > 0


def test_ctrl_c_cancels_cleanly(engine: ferrysync.Engine, tmp_path: pathlib.Path) -> None:
    src = make_tree(tmp_path / "src", 4000, size=16384)
    dst = tmp_path / "dst"
    timers: list[threading.Timer] = []

    def progress(event: ferrysync.Event) -> None:
        if not timers and event.kind == "action-done":
            timer = threading.Timer(0.05, signal.raise_signal, (signal.SIGINT,))
            timers.append(timer)
            timer.start()

    with pytest.raises(KeyboardInterrupt):
        engine.run(mirror(src, dst, copy={"threads": 1, "verify": True}), progress=progress)
    timers[0].join()
    assert temporaries(dst) == []
    assert copied(dst) < 4000
    # the engine is still usable afterwards
    assert engine.run(mirror(src, dst)).status == "ok"
    assert copied(dst) == 4000


def test_warnings_are_logged(engine: ferrysync.Engine, small: tuple[pathlib.Path, pathlib.Path],
                             caplog: pytest.LogCaptureFixture) -> None:
    src, dst = small
    dst.mkdir()
    (dst / "extra").write_text("x")
    with caplog.at_level(logging.WARNING, logger="ferrysync"):
        report = engine.run(mirror(src, dst, copy={"confirm_deletes": True}), confirm=lambda e: False)
    assert report.warnings
    records = [r for r in caplog.records if r.name == "ferrysync" and r.levelno == logging.WARNING]
    assert records, caplog.text
    assert records[0].getMessage() == str(report.warnings[0])


def test_warnings_are_logged_by_wait(engine: ferrysync.Engine, small: tuple[pathlib.Path, pathlib.Path],
                                     caplog: pytest.LogCaptureFixture) -> None:
    src, dst = small
    dst.mkdir()
    (dst / "extra").write_text("x")
    with caplog.at_level(logging.WARNING, logger="ferrysync"):
        engine.start(mirror(src, dst, copy={"confirm_deletes": True})).wait()
    assert any(r.name == "ferrysync" and "declined" in r.getMessage() for r in caplog.records)


def test_an_unavailable_folder_under_the_warning_policy_is_a_warning(
        engine: ferrysync.Engine, small: tuple[pathlib.Path, pathlib.Path], tmp_path: pathlib.Path) -> None:
    """Issue 10 item 11: ``if-unavailable: warning`` (the default) puts a warning in the report
    (it said ``warnings: []``) and the run is incomplete (exit code 4); ``info`` only lists it."""
    src, dst = small
    gone = ferrysync.Folder(name="usb", source=tmp_path / "unmounted", destination=tmp_path / "usb")
    main = ferrysync.Folder(name="main", source=src, destination=dst)
    report = engine.run(ferrysync.Profile(name="t", folders=[main, gone]))
    assert (dst / "a.txt").exists()
    assert [p.folder for p in report.skipped_folders] == ["usb"]
    assert [(p.folder, p.kind) for p in report.warnings] == [("usb", "unavailable")]
    assert report.status == "incomplete" and report.exit_code == 4

    quiet = ferrysync.Folder(name="usb", source=tmp_path / "unmounted", destination=tmp_path / "usb",
                             if_unavailable="info")
    report = engine.run(ferrysync.Profile(name="t", folders=[main, quiet]))
    assert [p.folder for p in report.skipped_folders] == ["usb"]
    assert report.warnings == [] and report.status == "ok" and report.exit_code == 0


def test_a_disabled_profile_runs_only_when_forced(
        engine: ferrysync.Engine, small: tuple[pathlib.Path, pathlib.Path], tmp_path: pathlib.Path) -> None:
    """Issue 10 item 7: a disabled profile does not run unless forced; a disabled folder is
    skipped and reported."""
    src, dst = small
    off = ferrysync.Folder(name="off", source=src, destination=tmp_path / "off", enabled=False)
    profile = mirror(src, dst, enabled=False)
    with pytest.raises(ferrysync.InvalidInputError, match="disabled"):
        engine.run(profile)
    with pytest.raises(ferrysync.InvalidInputError, match="disabled"):
        engine.start(profile).wait()
    assert not dst.exists()
    assert engine.run(profile, force=True).status == "ok"
    assert (dst / "a.txt").exists()

    report = engine.run(ferrysync.Profile(name="t", folders=[ferrysync.Folder(name="f", source=src,
                                                                              destination=dst), off]))
    assert [(p.folder, p.kind) for p in report.skipped_folders] == [("off", "disabled")]
    assert report.warnings == [] and report.status == "ok"
    assert not (tmp_path / "off").exists()


def interrupt_when_copying(dst: pathlib.Path, sent: list[float]) -> threading.Thread:
    """A thread that sends SIGINT once the run has begun to copy into `dst`."""

    def watch() -> None:
        deadline = time.monotonic() + 60
        while not (dst / "d000").exists() and time.monotonic() < deadline:
            time.sleep(0.002)
        sent.append(time.monotonic())
        signal.raise_signal(signal.SIGINT)

    thread = threading.Thread(target=watch)
    thread.start()
    return thread


def test_ctrl_c_stops_a_busy_run_at_once(engine: ferrysync.Engine, tmp_path: pathlib.Path) -> None:
    """Issue 11: signals were checked only after 100 ms without an event, so while events kept
    coming a run copied everything (20,004 files) and raised KeyboardInterrupt only then,
    1.4 s after SIGINT. They are checked at least every 100 ms whatever the event rate."""
    files = 20000
    src = make_tree(tmp_path / "src", files, size=16, per_dir=500)
    dst = tmp_path / "dst"
    sent: list[float] = []
    watcher = interrupt_when_copying(dst, sent)
    with pytest.raises(KeyboardInterrupt):
        try:
            engine.run(mirror(src, dst))
        finally:
            raised = time.monotonic()
            watcher.join()
    assert raised - sent[0] < 0.5, f"KeyboardInterrupt came {raised - sent[0]:.2f} s after SIGINT"
    assert copied(dst) < files, "the run was not cancelled"
    assert temporaries(dst) == []


def test_ctrl_c_stops_a_started_run(engine: ferrysync.Engine, tmp_path: pathlib.Path) -> None:
    """The same for ``engine.start(...)``: Ctrl-C in ``wait()`` cancels the run and waits for
    it; while iterating inside ``with``, leaving the block does."""
    files = 20000
    src = make_tree(tmp_path / "src", files, size=16, per_dir=500)
    for i, dst in enumerate([tmp_path / "waited", tmp_path / "iterated"]):
        sent: list[float] = []
        with pytest.raises(KeyboardInterrupt):
            with engine.start(mirror(src, dst)) as run:
                watcher = interrupt_when_copying(dst, sent)
                try:
                    if i == 0:
                        run.wait()
                    else:
                        for _ in run:
                            pass
                finally:
                    raised = time.monotonic()
                    watcher.join()
        assert raised - sent[0] < 0.5, f"KeyboardInterrupt came {raised - sent[0]:.2f} s after SIGINT"
        assert run.finished and run.cancelled
        assert run.wait().status == "cancelled"
        assert copied(dst) < files
        assert temporaries(dst) == []
