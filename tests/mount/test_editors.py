"""Editors saving through a real writable mount of the v2 emulator.

Each save strategy of :mod:`tests.support.editor_saves` (real vim in its ``backupcopy``, swap
and ``writebackup`` settings, real nano and ``gio save``, emacs's and LibreOffice's system calls
replayed) saves twice in a row on a file written through the mount, the second save coming
while the first one's upload still runs (every upload chunk is held back 0.15 s by the
emulator), and once over a put.io item from before the mount.

What is checked is what put.io holds once the uploads are done (the mount is unmounted first:
unmount waits for every upload and delete): the saved file keeps its name and holds exactly the
bytes saved last, in one item; nothing else is left in the folder (no swap, lock, probe, temp
or backup file, no replaced version), except the backup the program itself keeps (``name~``
of emacs, ``nano --backup``, ``gio save --backup``), which holds the version the last save
replaced.

The last tests hold one race open each (the emulator delays one request): the races the
editors ran into now and then, each fixed.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path
from typing import Any

import pytest

from putiofs.emulator.account.state import ApiError
from putiofs.emulator.http.faults import Fault
from tests.support.editor_saves import Strategy, all_strategies
from tests.support.errnos import errno_of
from tests.support.mounting import requires_fuse
from tests.support.polling import wait_for
from tests.support.scripted_faults import Queued, Scripted
from tests.support.versions import V2_TOKEN, V2Api

pytestmark = requires_fuse

NAME = "notes.txt"
STRATEGIES = all_strategies()

#: vim with a swap file probes its folder with a ``.name.swp`` it creates, closes and removes
#: at once; now and then that name is back a moment later (E325 "Found a swap file", E303).
def version(number: int) -> bytes:
    """The text of a save: lines (vim and nano keep lines), 49 KB: one upload chunk."""
    return b"".join(b"version %d, line %05d of the notes\n" % (number, line)
                    for line in range(1400))


def on_put_io(server: Any, folder_id: int = 0) -> list[tuple[str, bytes]]:
    """(name, bytes) of every file in the folder on put.io, sorted."""
    return sorted((item["name"], server.account.file_bytes(str(item["id"])))
                  for item in V2Api(server).children(folder_id))


def expected(strategy: Strategy, last: bytes, before: bytes) -> list[tuple[str, bytes]]:
    """The folder once a save of ``last`` over ``before`` has landed."""
    kept = [(f"{NAME}~", before)] if strategy.backup else []
    return sorted([(NAME, last), *kept])


def landed(server: Any, data: bytes) -> None:
    """One item of the file's name on put.io, with exactly those bytes (the one just listed
    may be a replaced version, deleted before its bytes are read)."""
    def check() -> bool:
        items = [item for item in V2Api(server).children(0) if item["name"] == NAME]
        try:
            return len(items) == 1 and server.account.file_bytes(str(items[0]["id"])) == data
        except ApiError:
            return False
    wait_for(check, 30, fail=f"{NAME} with the bytes saved is not on put.io")


@pytest.fixture(params=[pytest.param(s, id=s.name) for s in STRATEGIES])
def strategy(request: pytest.FixtureRequest) -> Strategy:
    chosen: Strategy = request.param
    if (reason := chosen.missing()) is not None:
        pytest.skip(reason)
    return chosen


@pytest.fixture
def v2(emulator_factory):
    def start(faults: Any) -> Any:
        return emulator_factory(api="v2", token=V2_TOKEN, demo=False, faults=faults)
    return start


@pytest.fixture
def slow_uploads() -> Scripted:
    """Every upload chunk answered 0.15 s late: a save's upload outlasts the next save."""
    return Scripted({"upload.tus_patch": Fault(delay=0.15)})


@pytest.fixture
def writable(mount_factory, tmp_path):
    def start(server: Any) -> Any:
        return mount_factory(server, "--upload-chunk-size", "64K",
                             "--cache-dir", str(tmp_path / "cache"))
    return start


def test_two_saves_in_a_row_leave_the_last_one(strategy, v2, writable, slow_uploads):
    server = v2(slow_uploads)
    mount = writable(server)
    path = mount.path / NAME
    path.write_bytes(version(0))
    landed(server, version(0))
    strategy.save(path, version(1))
    strategy.save(path, version(2))
    assert path.read_bytes() == version(2)
    landed(server, version(2))
    assert mount.unmount() == 0
    assert on_put_io(server) == expected(strategy, version(2), version(1))


def test_a_save_over_an_item_from_before_the_mount(strategy, v2, writable, slow_uploads):
    server = v2(slow_uploads)
    server.account.add_file("0", NAME, data=version(0))
    mount = writable(server)
    path = mount.path / NAME
    assert path.read_bytes() == version(0)
    strategy.save(path, version(1))
    assert path.read_bytes() == version(1)
    landed(server, version(1))
    assert mount.unmount() == 0
    assert on_put_io(server) == expected(strategy, version(1), version(0))


# -- the races, held open ------------------------------------------------------------------


@pytest.fixture
def held(v2, writable):
    """A mount over ``notes.txt`` (version 0, from before the mount) and ``other.txt``; the
    emulator's faults, to queue."""
    faults = Queued()
    server = v2(faults)
    server.account.add_file("0", NAME, data=version(0))
    server.account.add_file("0", "other.txt", data=b"other")
    mount = writable(server)
    assert (mount.path / NAME).read_bytes() == version(0)
    return server, mount, faults


def _landing_under_way(held: tuple[Any, Any, Queued],
                       delete_delay: float) -> tuple[Path, os.stat_result]:
    """Version 1 written over the item from before the mount, and its landing under way: the
    new item is in place on put.io beside the one it replaces, whose delete the emulator holds
    back ``delete_delay`` s. The file's path, and its stat as written."""
    server, mount, faults = held
    faults.queue("files.delete", Fault(delay=delete_delay))
    path = mount.path / NAME
    path.write_bytes(version(1))
    written = path.stat()
    wait_for(lambda: [item["name"] for item in V2Api(server).children(0)].count(NAME) == 2,
             10, fail="the new version did not reach put.io")
    time.sleep(0.2)
    return path, written


def test_the_mtime_an_editor_read_stays_while_the_upload_lands(held):
    """vim refuses to write over a file whose mtime changed since it read it."""
    path, read = _landing_under_way(held, 2.5)  # longer than the kernel caches attributes
    seen = set()
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        seen.add(os.stat(path).st_mtime_ns)
        time.sleep(0.02)
    assert seen == {read.st_mtime_ns}


def test_a_rename_right_after_a_landing_moves_the_new_version(held):
    """gio save --backup, emacs and vim rename the file to ``name~`` before writing anew."""
    server, mount, _ = held
    path, _ = _landing_under_way(held, 1.0)
    os.rename(path, mount.path / f"{NAME}~")
    assert mount.unmount() == 0
    assert on_put_io(server) == [(f"{NAME}~", version(1)), ("other.txt", b"other")]


def test_an_unlink_right_after_a_landing_removes_the_new_version(held):
    """vim removes its backup, LibreOffice its lock, right after they landed."""
    server, mount, _ = held
    path, _ = _landing_under_way(held, 1.0)
    os.unlink(path)
    assert not path.exists()
    assert mount.unmount() == 0
    assert on_put_io(server) == [("other.txt", b"other")]


def test_a_removed_swap_file_stays_removed(held):
    """vim's swap-file probe: ``.name.swp`` created, closed and removed, then looked up and
    created again with ``O_EXCL``, while the folder is listed anew."""
    server, mount, faults = held
    swap = mount.path / f".{NAME}.swp"
    for step in ("upload.tus_patch", "upload.tus_head"):  # the probe's upload stays under way
        faults.queue(step, Fault(delay=1.0))
    os.close(os.open(swap, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    wait_for(lambda: V2Api(server).find(0, swap.name) is not None, 10,
             fail="the probe's upload did not start")
    os.unlink(swap)
    os.rename(mount.path / "other.txt", mount.path / "other2.txt")  # lists the folder anew
    assert errno_of(os.stat, swap) == errno.ENOENT
    os.close(os.open(swap, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
