"""``putiofs status`` and ``putiofs umount`` against a real v2 mount: an open file counted while
it is read and gone once closed, an upload the server holds shown pending, events connected;
an unmount that waits for the held upload and says so, or stops waiting and says what is left
and where it is kept."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from putiofs.cli import main
from tests.support.mounting import requires_fuse
from tests.support.polling import wait_for
from tests.support.scripted_faults import Turnstile
from tests.support.versions import V2_TOKEN, V2Api

pytestmark = requires_fuse

PATCH = "upload.tus_patch"
DATA = os.urandom(2 * 1024 * 1024)


@pytest.fixture
def held():
    return Turnstile(PATCH)


@pytest.fixture
def server(emulator_factory, held):
    server = emulator_factory(api="v2", token=V2_TOKEN, demo=False, faults=held)
    server.account.add_file("0", "movie.bin", data=DATA)
    return server


@pytest.fixture
def writable(mount_factory, server, tmp_path):
    return functools.partial(mount_factory, server, "--upload-chunk-size", "64K",
                             "--cache-dir", str(tmp_path / "cache"))


def status_json(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["status", str(path), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def status_text(path: Path | None, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["status", *([str(path)] if path else [])]) == 0
    return capsys.readouterr().out


def test_status_counts_an_open_file_a_pending_upload_and_the_events(writable, held, capsys):
    mount = writable()
    wait_for(lambda: status_json(mount.path, capsys)["events"]["connected"], 20,
             fail="the realtime events never connected")
    with open(mount.path / "movie.bin", "rb", buffering=0) as movie:
        assert movie.read(300_000) == DATA[:300_000]
        (mount.path / "new.bin").write_bytes(os.urandom(300 * 1024))
        assert held.wait_arrived(1)
        status = status_json(mount.path, capsys)
        text = status_text(mount.path, capsys)
    [opened] = status["open_files"]
    assert opened["path"] == "/movie.bin" and opened["size"] == len(DATA)
    assert 300_000 <= opened["bytes_read"] <= len(DATA)  # the kernel's read-ahead counts
    [upload] = status["uploads"]
    assert (upload["path"], upload["bytes_done"], upload["bytes_left"]) == \
        ("/new.bin", 0, 300 * 1024)
    assert status["pid"] == mount.pid and status["api"]["requests"] > 0
    assert status["cache"]["items"] >= 1
    read_cache = status["cache"]["read_cache"]
    assert read_cache["miss_bytes"] >= 300_000 and read_cache["limit"] > 0
    assert "read cache:" in text and "hit rate" in text
    assert str(mount.path) in text and "/movie.bin" in text and "2.00M" in text
    assert "/new.bin" in text and "300.00K" in text and "connected since" in text
    assert status_json(mount.path, capsys)["open_files"] == []
    held.let_through()


def run_umount(path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "putiofs", "umount", str(path), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_umount_waits_for_a_pending_upload_and_says_so(writable, held, server):
    mount = writable()
    data = os.urandom(1024 * 1024)
    (mount.path / "big.bin").write_bytes(data)
    assert held.wait_arrived(1)
    umount = run_umount(mount.path)
    first = umount.stdout.readline()  # not a terminal: plain lines, the first one at once
    assert "waiting for 1 upload(s): 1.00M left" in first, first
    held.let_through()
    out, err = umount.communicate(timeout=60)
    assert umount.returncode == 0, err
    assert "every upload landed on put.io" in out
    item = V2Api(server).find(0, "big.bin")
    assert server.account.file_bytes(str(item["id"])) == data
    assert mount.process.wait(20) == 0


def test_umount_that_stops_waiting_says_what_is_left_and_where(writable, held, tmp_path):
    mount = writable("--upload-wait", "1")
    (mount.path / "left.bin").write_bytes(os.urandom(512 * 1024))
    assert held.wait_arrived(1)
    umount = run_umount(mount.path)
    out, err = umount.communicate(timeout=60)
    assert umount.returncode == 0, err
    assert mount.process.wait(20) == 0
    held.let_through()
    assert "/left.bin  (512.00K left)" in out, out
    assert "continue at the next mount" in out and str(tmp_path / "cache") in out, out
    assert "\r" not in out
