"""The --on-change runner (putiofs.hooks): what a batch runs (repeats, moves, bursts folded),
the command's environment and stdin, failures, the timeout, and the thread's queue."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from putiofs.hooks.batches import Deduplicator, plan
from putiofs.hooks.runner import HookRunner, hook_environment
from putiofs.tree.changes import CHANGED, CREATED, DELETED, MOVED, Change
from tests.support.fake_time import FakeTime
from tests.support.polling import wait_for

MOUNT = Path("/mnt/putio")


def created(path: str, item_id: str = "") -> Change:
    return Change(CREATED, path, item_id=item_id)


def runs_of(changes: list[Change], **limits) -> list[tuple[str, str, str | None, int]]:
    return [(run.event, run.path, run.old_path, len(run.changes))
            for run in plan(changes, **limits)]


def test_a_burst_of_500_files_in_one_folder_is_one_run_on_the_folder():
    burst = [created(f"/Movies/Big Torrent/part{n:03}.rar") for n in range(500)]
    single = created("/Movies/other.mkv")
    assert runs_of([*burst, single]) == [
        (CHANGED, "/Movies/Big Torrent", None, 500), (CREATED, "/Movies/other.mkv", None, 1)]


def test_a_batch_never_runs_more_than_max_runs_however_the_changes_spread():
    spread = [created(f"/Shows/Show {s}/Season {n}/e.mkv") for s in range(30) for n in range(3)]
    runs = plan(spread, max_runs=20)
    assert len(runs) <= 20
    assert sum(len(run.changes) for run in runs) == 90
    assert {run.event for run in runs} == {CHANGED}


def test_few_changes_are_run_one_by_one_and_repeats_within_a_batch_once():
    changes = [created("/a.mkv"), created("/a.mkv"), Change(DELETED, "/b.mkv")]
    assert runs_of(changes) == [(CREATED, "/a.mkv", None, 1), (DELETED, "/b.mkv", None, 1)]


def test_a_deleted_and_a_created_of_one_item_in_a_batch_are_one_move():
    changes = [Change(DELETED, "/Inbox/x.mkv", item_id="7"), created("/Movies/x.mkv", "7"),
               Change(MOVED, "/y.mkv", item_id="8")]  # a move from an unknown place
    assert runs_of(changes) == [(MOVED, "/Movies/x.mkv", "/Inbox/x.mkv", 1),
                                (CREATED, "/y.mkv", None, 1)]


def test_the_same_change_is_told_once_within_the_window():
    clock = FakeTime()
    seen = Deduplicator(30.0, clock)
    assert seen.fresh([created("/a"), created("/b")]) == [created("/a"), created("/b")]
    clock.now += 10
    assert seen.fresh([created("/a"), Change(DELETED, "/a")]) == [Change(DELETED, "/a")]
    clock.now += 31
    assert seen.fresh([created("/a")]) == [created("/a")]


def test_the_environment_has_the_paths_and_not_the_account_secrets():
    run = plan([Change(MOVED, "/Movies/new.mkv", old_path="/Inbox/new.mkv")])[0]
    env = hook_environment({"PATH": "/bin", "PUTIO_TOKEN": "s3cret", "PUTIO_API_SECRET": "x",
                            "PUTIOFS_PATH": "stale", "JELLYFIN_API_KEY": "kept"}, run, MOUNT)
    assert env == {"PATH": "/bin", "JELLYFIN_API_KEY": "kept", "PUTIOFS_EVENT": "moved",
                   "PUTIOFS_PATH": "/mnt/putio/Movies/new.mkv",
                   "PUTIOFS_REL_PATH": "/Movies/new.mkv",
                   "PUTIOFS_OLD_PATH": "/mnt/putio/Inbox/new.mkv",
                   "PUTIOFS_OLD_REL_PATH": "/Inbox/new.mkv", "PUTIOFS_TYPE": "file",
                   "PUTIOFS_MOUNTPOINT": "/mnt/putio", "PUTIOFS_COUNT": "1"}
    root = plan([created(f"/f{n}") for n in range(11)])[0]
    assert hook_environment({}, root, MOUNT)["PUTIOFS_PATH"] == "/mnt/putio"


def test_a_run_gets_its_variables_and_the_changes_it_stands_for_on_stdin(tmp_path):
    out = tmp_path / "out"
    command = (f'{{ echo "$PUTIOFS_EVENT|$PUTIOFS_PATH|$PUTIOFS_TYPE|$PUTIOFS_COUNT|'
               f'${{PUTIO_TOKEN-none}}"; cat; }} >> {out}')
    runner = HookRunner(command, MOUNT, environ={"PUTIO_TOKEN": "s3cret", "PATH": os.defpath})
    runner.run_batch([created(f"/Torrent/f{n}") for n in range(12)] + [created("/one")])
    lines = out.read_text().splitlines()
    assert lines[0] == "changed|/mnt/putio/Torrent|folder|12|none"
    assert lines[1:13] == [f"created\t/mnt/putio/Torrent/f{n}" for n in range(12)]
    assert lines[13:] == ["created|/mnt/putio/one|file|1|none", "created\t/mnt/putio/one"]
    assert runner.runs == 2 and runner.failures == 0


def test_a_failure_is_a_warning_with_the_end_of_stderr_and_not_the_command(caplog):
    caplog.set_level(logging.DEBUG, logger="putiofs.hooks")
    command = "echo 'API_KEY=abc123' >/dev/null; echo 'curl: (7) Failed to connect' >&2; exit 7"
    runner = HookRunner(command, MOUNT)
    assert runner.run_one(plan([created("/a.mkv")])[0]) is False
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "on-change: the command failed (exit status 7) for created /mnt/putio/a.mkv: "
        "curl: (7) Failed to connect"]
    assert not any(r.exc_info for r in caplog.records)
    assert "abc123" not in caplog.text


def test_a_long_stderr_is_trimmed_to_its_end(caplog):
    runner = HookRunner("for i in $(seq 1 400); do echo line$i >&2; done; exit 1", MOUNT)
    runner.run_one(plan([created("/a")])[0])
    message = caplog.records[-1].getMessage()
    assert message.endswith("line399 | line400") and len(message) < 700


def test_a_command_that_cannot_start_is_a_warning(caplog, monkeypatch):
    monkeypatch.setattr("putiofs.hooks.runner.SHELL", "/nonexistent/sh")
    runner = HookRunner("true", MOUNT)
    assert runner.run_one(plan([created("/a")])[0]) is False
    assert "could not be started for created /mnt/putio/a" in caplog.text
    assert not any(r.exc_info for r in caplog.records)


def test_a_command_that_hangs_is_killed_with_what_it_started(tmp_path, caplog):
    pids = tmp_path / "pids"
    command = f"sleep 300 & echo $! > {pids}; echo waiting >&2; wait"
    runner = HookRunner(command, MOUNT, timeout=1.0)
    assert runner.run_one(plan([created("/a")])[0]) is False
    assert "killed after 1 s for created /mnt/putio/a: waiting" in caplog.text
    child = int(pids.read_text())

    def gone() -> bool:
        try:
            with open(f"/proc/{child}/stat") as stat:
                return stat.read().split(") ")[1].startswith("Z")
        except FileNotFoundError:
            return True

    assert wait_for(gone, 10.0)


def test_the_thread_runs_what_is_queued_and_stop_runs_the_rest_at_once(tmp_path):
    out = tmp_path / "out"
    runner = HookRunner(f'echo "$PUTIOFS_EVENT $PUTIOFS_REL_PATH" >> {out}', MOUNT,
                        settle=300.0, batch_span=600.0)
    runner.start()
    for n in range(3):
        runner.submit(created(f"/f{n}"))
    runner.stop(wait=30.0)
    assert out.read_text().splitlines() == ["created /f0", "created /f1", "created /f2"]


def test_a_resolver_that_fails_does_not_stop_the_thread(tmp_path, caplog):
    out = tmp_path / "out"
    calls = []

    def resolve(changes: list[Change]) -> list[Change]:
        calls.append(len(changes))
        if len(calls) == 1:
            raise RuntimeError("bug")
        return changes

    runner = HookRunner(f'echo "$PUTIOFS_REL_PATH" >> {out}', MOUNT, resolve, settle=0.01)
    runner.start()
    runner.submit(created("/first"))
    wait_for(lambda: calls, 10.0)
    runner.submit(created("/second"))
    runner.stop(wait=30.0)
    assert out.read_text().splitlines() == ["/second"]
    assert "a batch of 1 change(s) was not run" in caplog.text


@pytest.mark.parametrize("event", [CREATED, CHANGED, DELETED])
def test_every_event_but_moved_has_no_old_path(event):
    run = plan([Change(event, "/x")])[0]
    assert "PUTIOFS_OLD_PATH" not in hook_environment({}, run, MOUNT)
