"""Editors saving through a real writable mount of the v2 emulator: each save strategy of
:mod:`tests.support.editor_saves` (real vim in every ``backupcopy``/swap/``writebackup``
combination, real nano and ``gio save``, emacs's and LibreOffice's system calls replayed), twice
in a row on a file written through the mount, and once over a put.io item from before the
mount.

What is checked is what put.io holds once the uploads are done (the mount is unmounted first:
unmount waits for every upload and delete): the saved file keeps its name and holds exactly the
bytes saved last, in one item; nothing else is left in the folder (no swap, lock, probe, temp
or backup file, no replaced version), except the backup the program itself keeps (``name~``
of emacs, ``nano --backup``, ``gio save --backup``), which holds the version the last save
replaced.
"""

from __future__ import annotations

from typing import Any

import pytest

from putiofs.emulator.http.faults import Fault
from tests.support.editor_saves import Strategy, all_strategies
from tests.support.mounting import requires_fuse
from tests.support.polling import wait_for
from tests.support.scripted_faults import Queued
from tests.support.versions import V2_TOKEN, V2Api

pytestmark = requires_fuse

NAME = "notes.txt"
STRATEGIES = all_strategies()


def version(number: int) -> bytes:
    """The text of a save: lines (vim and nano keep lines), 96 KiB or so, so that its upload
    takes two 64 KiB chunks."""
    return b"".join(b"version %d, line %05d of the notes\n" % (number, line)
                    for line in range(2800))


def on_put_io(server: Any, folder_id: int = 0) -> list[tuple[str, bytes]]:
    """(name, bytes) of every file in the folder on put.io, sorted."""
    return sorted((item["name"], server.account.file_bytes(str(item["id"])))
                  for item in V2Api(server).children(folder_id))


def expected(strategy: Strategy, last: bytes, before: bytes) -> list[tuple[str, bytes]]:
    """The folder once a save of ``last`` over ``before`` has landed."""
    kept = [(f"{NAME}~", before)] if strategy.backup else []
    return sorted([(NAME, last), *kept])


def landed(server: Any, data: bytes) -> None:
    """One item of the file's name on put.io, with exactly those bytes."""
    def check() -> bool:
        items = [item for item in V2Api(server).children(0) if item["name"] == NAME]
        return len(items) == 1 and server.account.file_bytes(str(items[0]["id"])) == data
    wait_for(check, 30, fail=f"{NAME} with the bytes saved is not on put.io")


@pytest.fixture(params=STRATEGIES, ids=[strategy.name for strategy in STRATEGIES])
def strategy(request: pytest.FixtureRequest) -> Strategy:
    chosen: Strategy = request.param
    if (reason := chosen.missing()) is not None:
        pytest.skip(reason)
    return chosen


@pytest.fixture
def faults() -> Queued:
    return Queued()


@pytest.fixture
def v2(emulator_factory, faults):
    def start(**options: Any) -> Any:
        return emulator_factory(api="v2", token=V2_TOKEN, demo=False, faults=faults, **options)
    return start


@pytest.fixture
def writable(mount_factory, tmp_path):
    def start(server: Any) -> Any:
        return mount_factory(server, "--upload-chunk-size", "64K",
                             "--cache-dir", str(tmp_path / "cache"))
    return start


def test_two_saves_in_a_row_leave_the_last_one(strategy, v2, writable, faults):
    """The second save comes while the first one's upload is still running (its first chunk
    is held back by the emulator)."""
    server = v2()
    mount = writable(server)
    path = mount.path / NAME
    path.write_bytes(version(0))
    landed(server, version(0))
    faults.queue("upload.tus_patch", Fault(delay=0.5))
    strategy.save(path, version(1))
    strategy.save(path, version(2))
    assert path.read_bytes() == version(2)
    landed(server, version(2))
    assert mount.unmount() == 0
    assert on_put_io(server) == expected(strategy, version(2), version(1))


def test_a_save_over_an_item_from_before_the_mount(strategy, v2, writable):
    server = v2()
    server.account.add_file("0", NAME, data=version(0))
    mount = writable(server)
    path = mount.path / NAME
    assert path.read_bytes() == version(0)
    strategy.save(path, version(1))
    assert path.read_bytes() == version(1)
    landed(server, version(1))
    assert mount.unmount() == 0
    assert on_put_io(server) == expected(strategy, version(1), version(0))
