"""A put.io file opened for writing and closed unchanged (``touch``, ``touch -a``, editors and
gio opening a file O_WRONLY without writing), through real mounts of the v2 emulator: nothing is
uploaded or downloaded, the item keeps its id, inode and mode, and the times and modes set while
it was open are the item's."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.mount.test_writes import CHUNK, arrived
from tests.support.mounting import Mount, requires_fuse
from tests.support.polling import wait_for
from tests.support.versions import V2_TOKEN, V2Api

pytestmark = requires_fuse

MIB = 1024 * 1024


@pytest.fixture
def server(emulator_factory):
    return emulator_factory(api="v2", token=V2_TOKEN, demo=False)


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


@pytest.fixture
def writable(mount_factory, cache):
    def start(server: Any) -> Any:
        return mount_factory(server, "--upload-chunk-size", CHUNK, "--cache-dir", str(cache),
                             "--upload-wait", "5")
    return start


def spooled(cache: Path) -> list[str]:
    """What the spool holds: data files and manifests of pending versions."""
    return sorted(p.name for account in cache.iterdir() for p in (account / "pending").iterdir()
                  if p.suffix in (".data", ".json"))


def recovered(cache: Path) -> list[str]:
    return [p.name for account in cache.iterdir() for p in (account / "recovered").iterdir()]


def uploads(server: Any) -> int:
    return server.stats()["requests"].get("upload.tus_post", 0)


def ids_of(server: Any, name: str) -> list[str]:
    return [str(f["id"]) for f in V2Api(server).children(0) if f["name"] == name]


def item_of(server: Any, name: str) -> dict:
    [item] = [f for f in V2Api(server).children(0) if f["name"] == name]
    return item


def test_touch_uploads_nothing_and_sets_the_items_time(server, writable, cache):
    data = os.urandom(2 * MIB)
    item_id = server.account.add_file("0", "movie.mkv", data)
    mount = writable(server)
    path = mount.path / "movie.mkv"
    before = path.stat()
    served = server.stats()["bytes_served"]

    subprocess.run(["touch", str(path)], check=True)
    now = path.stat()
    assert now.st_mtime > time.time() - 60 and now.st_ino == before.st_ino
    subprocess.run(["touch", "-d", "@1700000000", str(path)], check=True)
    assert int(path.stat().st_mtime) == 1_700_000_000
    subprocess.run(["touch", "-a", str(path)], check=True)
    assert int(path.stat().st_mtime) == 1_700_000_000

    wait_for(lambda: spooled(cache) == [], 20, fail=f"the spool still holds {spooled(cache)}")
    assert uploads(server) == 0
    assert server.stats()["bytes_served"] - served < MIB  # not a copy of the file
    item = item_of(server, "movie.mkv")
    assert str(item["id"]) == item_id and item["updated_at"].startswith("2023-11-14T22:13:20")
    shown = path.stat()
    assert (shown.st_ino, shown.st_size, int(shown.st_mtime)) == (before.st_ino, len(data),
                                                                  1_700_000_000)
    assert path.read_bytes() == data


def test_modes_set_through_an_unchanged_version_are_kept_and_reads_see_the_item(
        server, writable, cache):
    data = os.urandom(MIB + 5)
    item_id = server.account.add_file("0", "notes.txt", data)
    mount = writable(server)
    path = mount.path / "notes.txt"
    before = path.stat()
    fd = os.open(path, os.O_RDWR)
    try:
        os.fchmod(fd, 0o600)
        assert os.pread(fd, 100, MIB - 50) == data[MIB - 50:MIB + 5]
        assert stat.S_IMODE(os.fstat(fd).st_mode) == 0o600
    finally:
        os.close(fd)
    wait_for(lambda: spooled(cache) == [], 20, fail=f"the spool still holds {spooled(cache)}")
    shown = path.stat()
    assert stat.S_IMODE(shown.st_mode) == 0o600 and shown.st_ino == before.st_ino
    assert int(shown.st_mtime) == int(before.st_mtime)
    assert uploads(server) == 0 and str(item_of(server, "notes.txt")["id"]) == item_id


def test_a_write_of_the_same_bytes_is_a_change_and_uploads(server, writable, cache):
    data = b"the same bytes\n" * 100
    item_id = server.account.add_file("0", "same.txt", data)
    mount = writable(server)
    with open(mount.path / "same.txt", "r+b") as handle:
        handle.write(data[:15])
    arrived(server, "same.txt", data)
    # while the new item lands, put.io holds both for a moment: wait for the one new item
    wait_for(lambda: ids_of(server, "same.txt") not in ([], [item_id])
             and len(ids_of(server, "same.txt")) == 1, 20, fail="the write was not uploaded")
    assert uploads(server) == 1


def test_a_rename_or_unlink_while_open_unchanged_moves_or_removes_the_item(server, writable,
                                                                          cache):
    server.account.add_file("0", "a.txt", b"first")
    server.account.add_file("0", "b.txt", b"second")
    mount = writable(server)
    fd = os.open(mount.path / "a.txt", os.O_WRONLY)
    os.rename(mount.path / "a.txt", mount.path / "moved.txt")
    os.close(fd)
    fd = os.open(mount.path / "b.txt", os.O_WRONLY)
    os.unlink(mount.path / "b.txt")
    os.close(fd)
    assert sorted(os.listdir(mount.path)) == ["moved.txt"]
    assert (mount.path / "moved.txt").read_bytes() == b"first"
    arrived(server, "moved.txt", b"first")
    wait_for(lambda: [f["name"] for f in V2Api(server).children(0)] == ["moved.txt"], 20,
             fail="put.io does not hold moved.txt alone")


def test_a_mount_killed_while_an_unchanged_version_is_open_leaves_no_trace(
        server, mount_factory, cache, tmp_path):
    data = os.urandom(3000)
    item_id = server.account.add_file("0", "kept.bin", data)
    where = tmp_path / "killed"
    where.mkdir()
    first = Mount(server.base_url, where, tmp_path / "killed.log", "--cache-dir", str(cache),
                  "--upload-wait", "0", token=V2_TOKEN, upload_url=server.root_url)
    fd = os.open(first.path / "kept.bin", os.O_WRONLY)
    try:
        os.utime(first.path / "kept.bin", (1_600_000_000, 1_600_000_000))
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(10)
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
        subprocess.run(["fusermount", "-uz", str(where)], check=False, capture_output=True)
    second = mount_factory(server, "--cache-dir", str(cache))
    assert (second.path / "kept.bin").read_bytes() == data
    assert int((second.path / "kept.bin").stat().st_mtime) == 1_600_000_000
    assert spooled(cache) == [] and recovered(cache) == []
    assert "ERROR" not in second.log() and uploads(server) == 0
    assert str(item_of(server, "kept.bin")["id"]) == item_id
