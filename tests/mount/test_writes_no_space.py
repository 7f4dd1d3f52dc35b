"""No room: a full cache disk, ``--cache-max-size`` and a nearly full put.io, through real mounts
of the v2 emulator. A write refused with ENOSPC refuses its file: close says so too, nothing of
it is uploaded, its space is freed, the name shows what was there before, and the uploads
listing says why; what was accepted before stays and is uploaded; the mount goes on when room
returns."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from putiofs.emulator.http.faults import Fault
from tests.mount.test_writes import CHUNK, arrived, until
from tests.support.mounting import requires_fuse
from tests.support.scripted_faults import Queued
from tests.support.versions import V2_TOKEN, V2Api

pytestmark = requires_fuse

MIB = 1024 * 1024


@pytest.fixture
def v2(emulator_factory):
    def start(**options: Any) -> Any:
        return emulator_factory(api="v2", token=V2_TOKEN, demo=False, **options)
    return start


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """An 8 MiB tmpfs, the cache disk that fills."""
    where = tmp_path / "small"
    where.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs",
                           str(where)], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs for the cache disk: {made.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


def copy_in(data: bytes, target: Path, chunk: int = 128 * 1024) -> int | None:
    """Write ``data`` to ``target`` as cp does (create, write in chunks, close): the errno of
    the first failure, or None. The data written so far is not the point: it must not show."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except OSError as exc:
        return exc.errno
    failure = None
    try:
        for start in range(0, len(data), chunk):
            os.write(fd, data[start:start + chunk])
    except OSError as exc:
        failure = exc.errno
    try:
        os.close(fd)
    except OSError as exc:
        return failure or exc.errno
    return failure


def close_errno(fd: int) -> int | None:
    try:
        os.close(fd)
    except OSError as exc:
        return exc.errno
    return None


def uploads_listed(mnt: Path) -> dict[str, list[str]]:
    """/.putio/uploads as {path: [state, ..., error]}."""
    lines = (mnt / ".putio" / "uploads").read_text().splitlines()[1:]
    return {row[3]: row for row in (line.split(None, 4) for line in lines) if len(row) >= 4}


def spool_data(cache: Path) -> list[Path]:
    return [p for account in cache.iterdir() if account.is_dir()
            for p in (account / "pending").glob("*.data")]


def names_on_putio(server: Any) -> list[str]:
    return sorted(f["name"] for f in V2Api(server).children(0))


# -- a full cache disk ---------------------------------------------------------------------


def test_a_write_that_fills_the_cache_disk_is_refused_and_frees_its_space(
        small_disk, v2, mount_factory):
    server = v2()
    mount = mount_factory(server, "--upload-chunk-size", CHUNK, "--cache-dir", str(small_disk),
                          "-o", "show_control")
    mnt = mount.path
    assert copy_in(os.urandom(12 * MIB), mnt / "big.bin") == errno.ENOSPC
    assert "big.bin" not in os.listdir(mnt)
    assert spool_data(small_disk) == []  # no stranded partial file
    row = uploads_listed(mnt)["/big.bin"]
    assert row[0] == "refused" and "space" in row[-1]
    assert "big.bin not uploaded" in mount.log()
    data = os.urandom(MIB)
    assert copy_in(data, mnt / "after.bin") is None  # room again, without a remount
    arrived(server, "after.bin", data)
    mount.unmount()
    assert names_on_putio(server) == ["after.bin"]


def test_a_full_cache_disk_keeps_what_was_accepted_and_recovers_when_room_returns(
        small_disk, v2, mount_factory):
    faults = Queued()
    server = v2(faults=faults)
    server.account.add_file("0", "keep.bin", b"the old version")
    mount = mount_factory(server, "--upload-chunk-size", CHUNK, "--cache-dir", str(small_disk),
                          "-o", "show_control")
    mnt = mount.path
    faults.queue("upload.tus_patch", Fault(delay=3))
    kept = os.urandom(MIB)
    assert copy_in(kept, mnt / "keep.bin") is None
    until(lambda: server.stats()["requests"].get("upload.tus_patch"), "the upload started")
    filler = small_disk / "filler"  # someone else fills the cache disk
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    with pytest.raises(OSError) as full:
        while True:
            os.write(fd, b"\0" * 65536)
    os.close(fd)
    assert full.value.errno == errno.ENOSPC
    assert copy_in(os.urandom(MIB), mnt / "refused.bin") == errno.ENOSPC
    assert "refused.bin" not in os.listdir(mnt)
    arrived(server, "keep.bin", kept)  # its manifest saves and the delete of the old version
    [account] = [p for p in small_disk.iterdir() if p.is_dir()]
    status = account / "status.json"
    filler.unlink()
    stamp = json.loads(status.read_text())["updated"] if status.exists() else 0.0
    until(lambda: status.exists() and json.loads(status.read_text())["updated"] > stamp,
          "the status thread writes status.json again")
    again = os.urandom(MIB)
    assert copy_in(again, mnt / "again.bin") is None
    arrived(server, "again.bin", again)
    log = mount.log()
    assert "CRITICAL" not in log and "failed" not in log
    mount.unmount()
    assert names_on_putio(server) == ["again.bin", "keep.bin"]


# -- a write refused for the cap or put.io's quota ------------------------------------------


@pytest.mark.parametrize("room", ["cache-max-size", "putio-quota"])
def test_a_copy_refused_for_lack_of_room_is_not_published(v2, mount_factory, tmp_path, room):
    server = v2(disk_size=3 * MIB) if room == "putio-quota" else v2()
    server.account.add_file("0", "old.bin", b"what was there before")
    extra = ("--cache-max-size", "3M") if room == "cache-max-size" else ()
    mount = mount_factory(server, "--upload-chunk-size", CHUNK, "--cache-dir",
                          str(tmp_path / "cache"), "-o", "show_control", *extra)
    mnt = mount.path
    source = tmp_path / "a.bin"
    source.write_bytes(os.urandom(5 * MIB))
    copied = subprocess.run(["cp", str(source), str(mnt / "a.bin")], capture_output=True,
                            text=True, check=False)
    assert copied.returncode != 0 and "No space left" in copied.stderr
    assert "a.bin" not in os.listdir(mnt)
    assert uploads_listed(mnt)["/a.bin"][0] == "refused"
    # over an existing file: the refused version never shows, the old one stays
    assert copy_in(source.read_bytes(), mnt / "old.bin") == errno.ENOSPC
    assert (mnt / "old.bin").read_bytes() == b"what was there before"
    assert spool_data(tmp_path / "cache") == []
    assert mount.log().count("a.bin not uploaded") == 1
    mount.unmount()
    assert names_on_putio(server) == ["old.bin"]
    assert server.account.file_bytes(str(V2Api(server).find(0, "old.bin")["id"])) == \
        b"what was there before"


def test_a_first_write_refused_then_close_uploads_nothing_and_truncate_starts_clean(
        v2, mount_factory, tmp_path):
    server = v2()
    mount = mount_factory(server, "--upload-chunk-size", CHUNK, "--cache-dir",
                          str(tmp_path / "cache"), "--cache-max-size", "1M")
    mnt = mount.path
    still_open: set[int] = set()

    def opened(name: str) -> int:
        fd = os.open(mnt / name, os.O_WRONLY | os.O_CREAT, 0o644)
        still_open.add(fd)
        return fd

    def closed(fd: int) -> int | None:
        still_open.discard(fd)
        return close_errno(fd)

    try:
        hold = opened("hold.bin")
        os.write(hold, os.urandom(MIB))  # the cap is full while this one is open
        empty = opened("empty.bin")
        with pytest.raises(OSError) as info:
            os.write(empty, b"x" * 1000)
        assert info.value.errno == errno.ENOSPC
        assert closed(empty) == errno.ENOSPC
        assert "empty.bin" not in os.listdir(mnt)
        clean = opened("clean.bin")
        with pytest.raises(OSError):
            os.write(clean, b"y" * 1000)
        assert closed(hold) is None
        until(lambda: V2Api(server).find(0, "hold.bin"), "hold.bin uploaded, the cap free again")
        os.ftruncate(clean, 0)  # starts clean: what was refused is forgotten
        os.write(clean, b"fresh")
        assert closed(clean) is None
    finally:
        for fd in list(still_open):
            closed(fd)
    arrived(server, "clean.bin", b"fresh")
    mount.unmount()
    assert names_on_putio(server) == ["clean.bin", "hold.bin"]


def test_a_size_past_the_largest_file_is_efbig_and_changes_nothing(v2, mount_factory, tmp_path):
    """POSIX ``EFBIG`` (pjdfstest truncate/12.t), not ``ENOSPC``: the file is not refused, its
    later writes and its close go on and it is uploaded as written."""
    server = v2()
    mount = mount_factory(server, "--cache-dir", str(tmp_path / "cache"))
    path = mount.path / "big.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"start")
        for huge in (999_999_999_999_999_999, 1 << 50):
            with pytest.raises(OSError) as info:
                os.ftruncate(fd, huge)
            assert info.value.errno == errno.EFBIG
        with pytest.raises(OSError) as info:
            os.truncate(path, 1 << 50)
        assert info.value.errno == errno.EFBIG
        with pytest.raises(OSError) as info:
            os.pwrite(fd, b"x", 1 << 50)
        assert info.value.errno == errno.EFBIG
        os.write(fd, b" end")
    finally:
        assert close_errno(fd) is None
    arrived(server, "big.bin", b"start end")
