"""Races in a real mount between a writer and readers: a rename over a file, and a pending file
against its own upload landing. Each test runs many rounds (bounded in rounds and in seconds)
and asserts what a user would see: a reader always finds the old file or the new one, a name
that was removed stays removed, and a name that exists can be removed."""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from putiofs.emulator.http.faults import Fault
from tests.support.mounting import requires_fuse
from tests.support.polling import wait_for
from tests.support.scripted_faults import Queued
from tests.support.versions import V2_TOKEN, V2Api

pytestmark = requires_fuse

#: Each race runs at most this long (and at most its number of rounds).
SECONDS = 4.0


@pytest.fixture
def v2(emulator_factory):
    return emulator_factory(api="v2", token=V2_TOKEN, demo=False)


@pytest.fixture
def writable(mount_factory, tmp_path):
    def start(server: Any, *extra: str) -> Path:
        return mount_factory(server, "--cache-dir", str(tmp_path / "cache"),
                             "--upload-wait", "5", *extra).path
    return start


class Readers:
    """Threads opening and reading ``path()`` until stopped; what they saw, by errno name, and
    the contents they read."""

    def __init__(self, path: Callable[[], Path], threads: int = 2) -> None:
        self.path = path
        self.errors: dict[str, int] = {}
        self.opens = 0
        self.seen: set[bytes] = set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._read, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Readers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                with open(self.path(), "rb") as handle:
                    data = handle.read()
            except OSError as exc:
                with self._lock:
                    name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
                    self.errors[name] = self.errors.get(name, 0) + 1
                continue
            with self._lock:
                self.opens += 1
                self.seen.add(data)


def _rounds(count: int) -> Iterator[int]:
    """Up to ``count`` rounds, stopping early once SECONDS have passed."""
    end = time.monotonic() + SECONDS
    for number in range(count):
        if time.monotonic() > end:
            return
        yield number


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)


def test_a_pending_file_renamed_over_a_put_io_file_never_hides_the_name(v2, writable):
    """A new version written aside and renamed over a file on put.io (an editor's save):
    an open of the name finds the old file or the new one, never nothing."""
    server = v2
    count = 400
    for number in range(count):
        server.account.add_file("0", f"t{number}", b"old")
    mnt = writable(server)
    assert len(os.listdir(mnt)) == count
    current = [0]
    with Readers(lambda: mnt / f"t{current[0]}") as readers:
        for number in _rounds(count):
            _write(mnt / f"new{number}", b"new")
            os.rename(mnt / f"new{number}", mnt / f"t{number}")
            current[0] = number + 1 if number + 1 < count else number
    assert readers.errors == {}, f"{readers.errors} in {readers.opens} opens"
    assert readers.seen <= {b"old", b"new"}


def test_a_pending_file_renamed_over_a_pending_file_never_hides_the_name(v2, writable):
    """Versions renamed one after the other over one name while earlier ones upload."""
    mnt = writable(v2)
    _write(mnt / "t", b"v0")
    with Readers(lambda: mnt / "t") as readers:
        for number in _rounds(3000):
            _write(mnt / "new", b"v%d" % (number + 1))
            os.rename(mnt / "new", mnt / "t")
    assert readers.errors == {}, f"{readers.errors} in {readers.opens} opens"


def test_a_put_io_file_renamed_over_a_put_io_file_never_hides_the_name(v2, writable):
    server = v2
    count = 300
    for number in range(count):
        server.account.add_file("0", f"s{number}", b"new")
        server.account.add_file("0", f"t{number}", b"old")
    mnt = writable(server)
    current = [0]
    with Readers(lambda: mnt / f"t{current[0]}") as readers:
        for number in _rounds(count):
            os.rename(mnt / f"s{number}", mnt / f"t{number}")
            current[0] = number + 1 if number + 1 < count else number
    assert readers.errors == {}, f"{readers.errors} in {readers.opens} opens"
    names = [f["name"] for f in V2Api(server).children(0)]
    assert len(names) == len(set(names))  # one item per name: the targets were replaced


def test_a_put_io_file_renamed_over_a_pending_file_never_hides_the_name(v2, writable):
    server = v2
    count = 300
    for number in range(count):
        server.account.add_file("0", f"s{number}", b"new")
    mnt = writable(server)
    _write(mnt / "t0", b"old")
    current = [0]
    with Readers(lambda: mnt / f"t{current[0]}") as readers:
        for number in _rounds(count):
            os.rename(mnt / f"s{number}", mnt / f"t{number}")
            if number + 1 < count:
                _write(mnt / f"t{number + 1}", b"old")
                current[0] = number + 1
    assert readers.errors == {}, f"{readers.errors} in {readers.opens} opens"


def test_a_removed_name_stays_removed_and_an_existing_one_can_be_removed(v2, writable):
    """pjdfstest truncate/00.t's steps, many times: write, truncate twice (each a new version
    whose upload may land at any moment), unlink, create with O_EXCL, unlink. Listings are
    trusted briefly, so the folder is listed anew while uploads are in flight (as when other
    clients change it)."""
    server = v2
    mnt = writable(server, "--cache-ttl", "0.2")
    failures: list[str] = []
    path = mnt / "f"
    for number in _rounds(400):
        _write(path, os.urandom(1234))
        os.truncate(path, 2345)
        os.truncate(path, 1)
        try:
            os.unlink(path)
        except OSError as exc:
            failures.append(f"round {number}: unlink after truncate: {exc.strerror}")
            continue
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except OSError as exc:
            failures.append(f"round {number}: create O_EXCL after unlink: {exc.strerror}")
            continue
        os.unlink(path)
    assert failures == []
    wait_for(lambda: V2Api(server).children(0) == [], 20)  # uploads in flight settle
    assert [f["name"] for f in V2Api(server).children(0)] == []
    assert os.listdir(mnt) == []


def test_a_time_set_on_a_new_file_survives_its_landing(v2, writable):
    """pjdfstest utimensat/00.t's steps, many times: a new empty file (its upload lands at
    once) is given a time; stat shows that time, before and after the landing."""
    server = v2
    mnt = writable(server)
    failures: list[str] = []
    rounds = 0
    for number in _rounds(300):
        path = mnt / f"f{number}"
        path.write_bytes(b"")
        time.sleep(number % 10 / 1000)  # the time comes at another moment of the landing
        stamp = 1_900_000_000 + number  # 2030-03-17
        os.utime(path, (stamp, stamp))
        if int(path.stat().st_mtime) != stamp:
            failures.append(f"round {number}: mtime {int(path.stat().st_mtime)}")
        rounds += 1
    assert failures == []

    def dates() -> list[str]:
        return [f["updated_at"][:10] for f in V2Api(server).children(0)]

    wait_for(lambda: len(dates()) == rounds, 20, fail="the uploads did not land")
    assert set(dates()) == {"2030-03-17"}


def test_a_folder_emptied_while_uploads_are_in_flight_can_be_removed(v2, writable):
    """pjdfstest truncate/01.t's steps, many times: a new file in a new folder, unlinked at
    once (its upload may still complete on put.io), then the folder removed."""
    mnt = writable(v2)
    failures: list[str] = []
    for number in _rounds(200):
        folder = mnt / f"d{number}"
        folder.mkdir()
        (folder / "f").write_bytes(b"")
        (folder / "f").unlink()
        try:
            folder.rmdir()
        except OSError as exc:
            failures.append(f"round {number}: rmdir: {exc.strerror}")
    assert failures == []
    assert os.listdir(mnt) == []


def test_a_folder_holding_a_pending_file_is_not_empty(emulator_factory, writable):
    faults = Queued()
    server = emulator_factory(api="v2", token=V2_TOKEN, demo=False, faults=faults)
    mnt = writable(server)
    (mnt / "d").mkdir()
    faults.queue("upload.tus_post", Fault(delay=3))  # the file stays pending a while
    (mnt / "d" / "f").write_bytes(b"kept")
    with pytest.raises(OSError) as info:
        (mnt / "d").rmdir()
    assert info.value.errno == errno.ENOTEMPTY
    wait_for(lambda: V2Api(server).find(V2Api(server).find(0, "d")["id"], "f"), 20,
             fail="the file did not land")
    assert (mnt / "d" / "f").read_bytes() == b"kept"


def test_a_folder_can_take_the_name_of_a_file_just_removed(v2, writable):
    """pjdfstest mkdir/10.t's steps, many times: a new file, unlinked at once (its upload may
    still complete under that name), then a folder of that name."""
    mnt = writable(v2)
    failures: list[str] = []
    for number in _rounds(200):
        path = mnt / f"n{number}"
        path.write_bytes(b"")
        path.unlink()
        try:
            path.mkdir()
        except OSError as exc:
            failures.append(f"round {number}: mkdir: {exc.strerror}")
    assert failures == []
    wait_for(lambda: all(f["content_type"] == "application/x-directory"
                         for f in V2Api(v2).children(0)), 20,
             fail="a removed file is still on put.io")
