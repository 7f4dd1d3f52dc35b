"""Modes and owners without a kernel: the store (sqlite, bounded by its pruner), the POSIX rules
of :mod:`putiofs.front.permissions`, and the operations object keeping them over the fake
backend (rows follow a landing, go with a delete)."""

from __future__ import annotations

import errno
import multiprocessing
import os
import stat

import pytest

from putiofs.api.backend import Entry
from putiofs.front.operations import build_operations
from putiofs.front.options import MountOptions
from putiofs.front.permissions import Permissions
from putiofs.write.modes import FILE_NAME, Kept, ModeStore, ModeStoreError, Pruner
from tests.support.fake_backend import WRITABLE, FakeBackend

FOLDER = Entry(id="7", name="f", is_dir=True, size=0, parent_id="0")


@pytest.fixture
def store(tmp_path):
    kept = ModeStore(tmp_path / FILE_NAME)
    yield kept
    kept.close()


def test_rows_are_kept_copied_moved_and_dropped(store):
    store.put("1", Kept(0o600, 5, 6, 10.5))
    assert store.get("1") == Kept(0o600, 5, 6, 10.5)
    assert store.get("2") is None
    store.copy("1", "pending-a")
    store.move("pending-a", "3", dropping=["1"])
    assert (store.get("1"), store.get("pending-a"), store.get("3")) == (None, None,
                                                                      Kept(0o600, 5, 6, 10.5))
    store.copy("missing", "3")  # the copy of nothing is nothing
    assert store.get("3") is None and len(store) == 0


def test_rows_held_in_memory_follow_changes_made_by_another_mount(tmp_path):
    """Two mounts of one account share the store: what one keeps shows in the other once it
    looks again (``recheck`` seconds, 0 here), a delete as well."""
    mine, theirs = ModeStore(tmp_path / FILE_NAME, recheck=0), ModeStore(tmp_path / FILE_NAME)
    theirs.put("1", Kept(0o600, 5, 6))
    assert mine.get("1") == Kept(0o600, 5, 6)
    theirs.drop(["1"])
    theirs.put("2", Kept(0o700, 5, 6))
    assert (mine.get("1"), mine.get("2")) == (None, Kept(0o700, 5, 6))
    mine.close()
    theirs.close()


def test_a_table_too_big_for_memory_is_read_from_sqlite(tmp_path):
    store = ModeStore(tmp_path / FILE_NAME, memory_rows=2)
    for item_id in "123":
        store.put(item_id, Kept(0o600, int(item_id), 6))
    store.drop(["2"])
    assert [store.get(i) for i in "1234"] == [Kept(0o600, 1, 6), None, Kept(0o600, 3, 6), None]
    reopened = ModeStore(tmp_path / FILE_NAME, memory_rows=1)
    assert reopened.get("3") == Kept(0o600, 3, 6)
    store.close()
    reopened.close()


def _write_and_die(path):
    ModeStore(path).put("9", Kept(0o4750, 1, 2))
    os._exit(0)  # no close, no checkpoint: as a killed mount


def test_a_committed_row_survives_a_killed_process(tmp_path):
    child = multiprocessing.get_context("fork").Process(target=_write_and_die,
                                                        args=(tmp_path / FILE_NAME,))
    child.start()
    child.join()
    reopened = ModeStore(tmp_path / FILE_NAME)
    assert reopened.get("9") == Kept(0o4750, 1, 2)
    assert stat.S_IMODE((tmp_path / FILE_NAME).stat().st_mode) == 0o600
    reopened.close()


def test_an_unreadable_store_stops_the_mount_with_one_line(tmp_path):
    (tmp_path / FILE_NAME).write_bytes(b"not a database" * 100)
    with pytest.raises(ModeStoreError, match="move it away"):
        ModeStore(tmp_path / FILE_NAME)


def test_the_pruner_drops_rows_of_items_gone_and_waits_while_put_io_is_away(tmp_path):
    now = [1000.0]
    store = ModeStore(tmp_path / FILE_NAME, clock=lambda: now[0])
    for item_id in ("1", "2", "3"):
        store.put(item_id, Kept(0o600, 0, 0))
    answers = {"1": True, "2": False, "3": None}
    pruner = Pruner(store, answers.get, age=60)
    assert pruner.run_once() == 0  # all checked just now
    now[0] += 61
    assert pruner.run_once() == 1
    assert [store.get(i) is not None for i in ("1", "2", "3")] == [True, False, True]
    answers["3"] = False
    now[0] += 61
    assert pruner.run_once() == 1 and len(store) == 1
    store.close()


def test_defaults_keep_no_row_and_a_setgid_folder_gives_its_group(store):
    options = MountOptions(uid=1000, gid=1000)
    caller = [(1000, 1000)]
    permissions = Permissions(store, options, lambda: caller[0], clock=lambda: 50.0)
    permissions.created("f", False, stat.S_IFREG | 0o644, FOLDER)
    permissions.created("d", True, stat.S_IFDIR | 0o755, FOLDER)
    assert len(store) == 0
    caller[0] = (0, 0)
    permissions.created("r", False, stat.S_IFREG | 0o640, FOLDER)
    assert permissions.of("r", False) == Kept(0o640, 0, 0)
    permissions.chmod("7", True, stat.S_IFDIR | 0o2775)
    permissions.chown("7", True, -1, 4242)
    assert permissions.of("7", True) == Kept(0o2775, 1000, 4242, 50.0)
    caller[0] = (65534, 65534)
    permissions.created("in-file", False, 0o644, FOLDER)
    permissions.created("in-folder", True, 0o700, FOLDER)
    assert permissions.of("in-file", False) == Kept(0o644, 65534, 4242)
    assert permissions.of("in-folder", True) == Kept(0o2700, 65534, 4242)
    permissions.chmod("r", False, 0o644)
    permissions.chown("r", False, 1000, 1000)  # back at the defaults: the row goes
    assert store.get("r") is None


@pytest.fixture
def ops(tmp_path):
    backend = FakeBackend()
    backend.capabilities = WRITABLE
    backend.add("0", "old.txt", b"old")
    ops = build_operations(backend, MountOptions(cache_ttl=30, spool_dir=tmp_path / "account",
                                                 uid=1000, gid=1000, upload_chunk_size=4))
    ops.init("/")
    yield ops
    ops.destroy("/")


def test_stat_shows_what_is_kept_and_a_delete_drops_it(ops):
    ops.chmod("/old.txt", stat.S_IFREG | 0o4711)
    ops.chown("/old.txt", 7, -1)
    shown = ops.getattr("/old.txt")
    assert (shown["st_mode"], shown["st_uid"], shown["st_gid"]) == (stat.S_IFREG | 0o4711, 7,
                                                                    1000)
    ops.mkdir("/sticky", 0o1777)
    assert ops.getattr("/sticky")["st_mode"] == stat.S_IFDIR | 0o1777
    ops.unlink("/old.txt")
    ops.rmdir("/sticky")
    assert len(ops.permissions.store) == 0


def test_a_pending_file_carries_its_attributes_to_the_item_it_lands_as(ops):
    fh = ops.create("/new.txt", stat.S_IFREG | 0o600)
    ops.write("/new.txt", b"data", 0, fh)
    ops.chown("/new.txt", 5, 6)
    ops.release("/new.txt", fh)
    assert ops.writes.uploads.wait(20)
    landed = ops.overlay.resolve("/new.txt")
    assert not landed.id.startswith("pending-")
    shown = ops.getattr("/new.txt")
    assert (stat.S_IMODE(shown["st_mode"]), shown["st_uid"], shown["st_gid"]) == (0o600, 5, 6)
    assert len(ops.permissions.store) == 1


def test_chmod_on_a_mount_that_keeps_nothing_is_refused(tmp_path):
    backend = FakeBackend()
    backend.add("0", "old.txt", b"old")
    ops = build_operations(backend, MountOptions())
    with pytest.raises(OSError) as info:
        ops.chmod("/old.txt", 0o600)
    assert info.value.errno == errno.EROFS
    assert stat.S_IMODE(ops.getattr("/old.txt")["st_mode"]) == 0o644
