"""Writing through a real v2 mount when put.io says no, holds on, or changes under it: a folder
deleted elsewhere, a name put.io refuses, a PATCH the server still holds, other clients' changes
in the folder an upload goes to, an unmount in the middle of an upload, and what the uploads
listings say meanwhile."""

from __future__ import annotations

import errno
import functools
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from putiofs.emulator.http.faults import Fault
from tests.support.mounting import Mount, requires_fuse
from tests.support.polling import wait_for
from tests.support.scripted_faults import Queued, Turnstile
from tests.support.versions import V2_TOKEN, V2Api

pytestmark = requires_fuse

CHUNK = "64K"
PATCH = "upload.tus_patch"


@pytest.fixture
def v2(emulator_factory):
    """``v2(faults=...)``: an empty v2 account's emulator."""
    return functools.partial(emulator_factory, api="v2", token=V2_TOKEN, demo=False)


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def writable(mount_factory, cache):
    def start(server: Any, *extra: str) -> Mount:
        return mount_factory(server, "--upload-chunk-size", CHUNK, "--cache-dir", str(cache),
                             "-o", "show_control", *extra)
    return start


def server_bytes(server: Any, folder_id: int, name: str) -> bytes | None:
    item = V2Api(server).find(folder_id, name)
    return None if item is None else server.account.file_bytes(str(item["id"]))


def arrived(server: Any, name: str, data: bytes, folder_id: int = 0) -> None:
    wait_for(lambda: server_bytes(server, folder_id, name) == data, 30,
             fail=f"{name} never arrived on put.io")


def uploads_rows(mount: Mount, path: str) -> list[list[str]]:
    """The rows of /.putio/uploads about the file at ``path`` in the mount: state, done,
    speed, path, error."""
    lines = (mount.path / ".putio" / "uploads").read_text().splitlines()
    return [row for row in (line.split(None, 4) for line in lines[1:]) if row[3] == path]


def uploads_command(cache: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """What ``putiofs uploads --json`` prints, run with no credentials at all."""
    from putiofs.cli import main
    capsys.readouterr()
    assert main(["uploads", "--cache-dir", str(cache), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    """No put.io credentials anywhere: neither in the environment nor in a config file."""
    for name in list(os.environ):
        if name.startswith("PUTIO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))


def test_a_file_whose_folder_is_deleted_elsewhere_leaves_the_mount_and_is_handed_back(
        v2, writable, cache):
    """Its upload cannot land: the file is handed back in recovered/ at once, leaves the
    mount (without events its folder's listing is still trusted), a handle open across the
    hand-back fails with ESTALE, and closing it queues nothing: unmount does not wait."""
    held = Turnstile(PATCH)
    server = v2(faults=held)
    mount = writable(server, "--no-events", "--upload-wait", "10")
    os.mkdir(mount.path / "d")
    data = os.urandom(100 * 1024)
    (mount.path / "d" / "f.bin").write_bytes(data)
    assert held.wait_arrived(1)
    reader = os.open(mount.path / "d" / "f.bin", os.O_RDONLY)
    try:
        V2Api(server).post("/files/delete", file_ids=V2Api(server).find(0, "d")["id"])
        held.let_through()
        [account] = cache.iterdir()
        wait_for(lambda: (account / "recovered" / "f.bin").exists(), 30,
                 fail="the file was never handed back")
        assert (account / "recovered" / "f.bin").read_bytes() == data
        assert "f.bin" not in os.listdir(mount.path / "d")
        with pytest.raises(FileNotFoundError):
            os.stat(mount.path / "d" / "f.bin")
        with pytest.raises(OSError) as info:
            os.pread(reader, 100, 0)
        assert info.value.errno == errno.ESTALE
    finally:
        os.close(reader)
    [row] = uploads_rows(mount, "/d/f.bin")
    assert row[0] == "failed" and "folder is gone" in row[4]
    assert mount.unmount() == 0
    log = mount.log()
    assert "waiting for" not in log and "No such file or directory" not in log
    assert not list((account / "pending").iterdir())


def test_a_name_put_io_refuses_is_refused_at_create_mkdir_and_rename(v2, writable):
    server = v2()
    mount = writable(server)
    (mount.path / "fine.txt").write_bytes(b"fine")
    for name in ("   ", " \t "):
        with pytest.raises(OSError) as info:
            os.open(mount.path / name, os.O_WRONLY | os.O_CREAT, 0o644)
        assert info.value.errno == errno.EINVAL
        with pytest.raises(OSError) as info:
            os.mkdir(mount.path / name)
        assert info.value.errno == errno.EINVAL
        with pytest.raises(OSError) as info:
            os.rename(mount.path / "fine.txt", mount.path / name)
        assert info.value.errno == errno.EINVAL
    assert sorted(os.listdir(mount.path)) == [".putio", "fine.txt"]
    arrived(server, "fine.txt", b"fine")


def test_a_name_put_io_refuses_later_is_shown_failed_with_its_reason_and_handed_back(
        v2, writable, cache, capsys, no_credentials):
    """A file put.io refuses for its name (here one an older mount accepted, left in the
    spool) is failed with put.io's reason in both listings and one ERROR line, its data kept
    in recovered/, and it no longer shows in the mount."""
    server = v2()
    first = writable(server)
    assert first.unmount() == 0
    [account] = cache.iterdir()
    (account / "pending" / "old.data").write_bytes(b"kept")
    (account / "pending" / "old.json").write_text(json.dumps(
        {"id": "old", "parent_id": "0", "name": "   ", "path": "/   ", "size": 4,
         "mtime": 1_600_000_000, "accepted": True, "created": 1.0}))
    mount = writable(server)
    wait_for(lambda: (account / "recovered" / "   ").exists(), 30,
             fail="the refused file was never handed back")
    assert (account / "recovered" / "   ").read_bytes() == b"kept"
    assert os.listdir(mount.path) == [".putio"]
    [row] = [line for line in (mount.path / ".putio" / "uploads").read_text().splitlines()
             if line.startswith("failed")]
    assert "Name cannot be empty" in row
    [failed] = wait_for(lambda: [r for r in uploads_command(cache, capsys)
                                 if r["state"] == "failed"], 10,
                        fail="putiofs uploads never listed the failure")
    assert failed["path"] == "/   " and "Name cannot be empty" in failed["error"]
    errors = [line for line in mount.log().splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "Name cannot be empty" in errors[0], errors


def test_a_patch_the_server_still_holds_is_retried_with_backoff_and_shown(v2, writable):
    """The server holds an earlier PATCH (a stalled connection) and answers 409 to the next:
    the mount backs off instead of sending HEAD and PATCH as fast as the server answers, and
    the listing says it is retrying, and why."""
    faults = Queued()
    server = v2(faults=faults)
    mount = writable(server, "--timeout", "3")  # a PATCH is given up after 1 s of silence
    faults.queue(PATCH, Fault(drop_after=10_000, stall=10))
    data = os.urandom(200 * 1024)
    (mount.path / "held.bin").write_bytes(data)
    row = wait_for(lambda: [r for r in uploads_rows(mount, "/held.bin") if r[0] == "retrying"],
                   10, fail="the listing never said the upload is retrying")[0]
    assert "holds an earlier PATCH" in row[4]
    during = server.stats()["requests"].get(PATCH, 0)
    time.sleep(3)  # still within the stall
    assert server.stats()["requests"].get(PATCH, 0) - during <= 5
    arrived(server, "held.bin", data)


def test_changes_elsewhere_show_while_an_upload_goes_to_the_same_folder(v2, writable):
    """Only the events of our own upload are ignored while it lands, not the whole folder's."""
    held = Turnstile(PATCH)
    server = v2(faults=held)
    mount = writable(server)
    wait_for(lambda: "realtime events connected" in mount.log(), 10,
             fail="the events never connected")
    assert os.listdir(mount.path) == [".putio"]  # listed once the events are heard
    data = os.urandom(100 * 1024)
    (mount.path / "mine.bin").write_bytes(data)
    assert held.wait_arrived(1)
    V2Api(server).create_folder("0", "made elsewhere")
    shown = wait_for(lambda: "made elsewhere" in os.listdir(mount.path), 10)
    landed = V2Api(server).find(0, "mine.bin") is not None
    held.let_through()
    assert shown and not landed
    arrived(server, "mine.bin", data)
    assert sorted(os.listdir(mount.path)) == [".putio", "made elsewhere", "mine.bin"]


def test_an_upload_interrupted_by_unmount_says_so_and_goes_on_at_the_next_mount(
        v2, writable, cache):
    faults = Queued()
    server = v2(faults=faults)
    mount = writable(server, "--upload-wait", "0")
    faults.queue(PATCH, Fault(delay=2))
    data = os.urandom(200 * 1024)
    (mount.path / "cut.bin").write_bytes(data)
    wait_for(lambda: server.stats()["requests"].get(PATCH), 10, fail="the upload never began")
    assert mount.unmount() == 0
    lines = [line for line in mount.log().splitlines() if "cut.bin" in line]
    assert not [line for line in lines if "refused" in line or " ERROR " in line], lines
    assert [line for line in lines if "interrupted by unmount" in line
            and "next mount" in line and (" WARNING " in line or " INFO " in line)], lines
    again = writable(server)
    arrived(server, "cut.bin", data)
    assert (again.path / "cut.bin").read_bytes() == data


def test_both_uploads_listings_say_the_same_at_the_same_moment(v2, writable, cache, capsys,
                                                                no_credentials):
    """/.putio/uploads and ``putiofs uploads`` (which needs no credentials: it only reads the
    spool) show the same progress while an upload stands still between two chunks."""
    held = Turnstile(PATCH)
    server = v2(faults=held)
    mount = writable(server)
    (mount.path / "slow.bin").write_bytes(os.urandom(300 * 1024))
    assert held.wait_arrived(1)
    assert uploads_rows(mount, "/slow.bin")[0][1] == "0.00B/300.00K"
    held.let_through(2)
    assert held.wait_arrived(3)  # two chunks taken, the third one held
    [row] = uploads_rows(mount, "/slow.bin")
    [record] = [r for r in uploads_command(cache, capsys) if r["path"] == "/slow.bin"]
    held.let_through()
    assert row[1] == "128.00K/300.00K"
    assert record["bytes_done"] == 128 * 1024
