"""Writing without a kernel: the operations object over the fake backend's TUS uploads, and the
spool on a temporary folder (manifest atomicity, recovery rules)."""

from __future__ import annotations

import errno
import json
import os
import stat
import sys
from dataclasses import replace

import pytest

from putiofs.api.errors import InvalidNameError, ServerError, TransportError, UploadOffsetError
from putiofs.front.operations import build_operations
from putiofs.front.options import MountOptions
from putiofs.front.writes import WriteFiles
from putiofs.write.overlay import HIDDEN_GRACE
from putiofs.write.spool import Spool, parse_size
from tests.support.fake_backend import WRITABLE, FakeBackend
from tests.support.polling import wait_for


class BaseReader:
    """Stands in for the HTTP reader of an original file."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.reads: list[tuple[int, int]] = []

    def read(self, offset: int, length: int) -> bytes:
        self.reads.append((offset, length))
        return self.data[offset:offset + length]

    def close(self) -> None:
        pass


@pytest.fixture
def backend(monkeypatch):
    b = FakeBackend()
    b.capabilities = WRITABLE
    b.add("0", "old.txt", b"old contents")
    b.add("0", "Docs")
    monkeypatch.setattr(WriteFiles, "_reader_for",
                        lambda self, entry: BaseReader(b.data[entry.id]))
    return b


def mount(backend, spool_dir, **options):
    options.setdefault("upload_chunk_size", 4)
    ops = build_operations(backend, MountOptions(cache_ttl=30, spool_dir=spool_dir, **options))
    ops.init("/")
    return ops


@pytest.fixture
def ops(backend, tmp_path):
    ops = mount(backend, tmp_path / "account")
    yield ops
    ops.destroy("/")


def settle(ops):
    assert ops.writes.uploads.wait(20), ops.writes.uploads.snapshot()


def on_server(backend, name, parent="0"):
    found = [e for e in backend.items.values() if e.parent_id == parent and e.name == name]
    return [(e, backend.data.get(e.id)) for e in found]


def write_file(ops, path, data, flags=None):
    fh = ops.create(path, 0o644) if flags is None else ops.open(path, flags)
    if data:
        ops.write(path, data, 0, fh)
    ops.flush(path, fh)
    ops.release(path, fh)


def test_a_new_file_shows_at_once_reads_from_the_spool_and_lands_whole(ops, backend):
    fh = ops.create("/new.bin", 0o644)
    ops.write("/new.bin", b"0123456789", 0, fh)
    assert ops.getattr("/new.bin")["st_size"] == 10
    assert "new.bin" in ops.readdir("/", None)
    assert ops.read("/new.bin", 4, 3, fh) == b"3456"
    assert not on_server(backend, "new.bin")  # nothing uploaded while open
    ops.release("/new.bin", fh)
    settle(ops)
    [(entry, data)] = on_server(backend, "new.bin")
    assert data == b"0123456789"
    assert ops.getattr("/new.bin")["st_size"] == 10
    assert not list((ops.writes.spool.pending).iterdir())


def test_an_empty_file_is_uploaded_too(ops, backend):
    write_file(ops, "/empty", b"")
    settle(ops)
    assert on_server(backend, "empty")[0][1] == b""


def test_overwrite_uploads_first_then_deletes_the_old_item(ops, backend):
    [(old, _)] = on_server(backend, "old.txt")
    write_file(ops, "/old.txt", b"new!", os.O_WRONLY | os.O_TRUNC)
    assert ops.read("/old.txt", 100, 0, ops.open("/old.txt", os.O_RDONLY)) == b"new!"
    settle(ops)
    [(entry, data)] = on_server(backend, "old.txt")
    assert data == b"new!" and entry.id != old.id


def test_a_failed_delete_of_the_old_item_leaves_both_never_neither(ops, backend):
    real_delete = backend.delete
    failures = [TransportError("down")]

    def flaky_delete(item_id):
        if failures:
            assert len(on_server(backend, "old.txt")) == 2  # the new one is already there
            raise failures.pop()
        real_delete(item_id)

    backend.delete = flaky_delete
    write_file(ops, "/old.txt", b"v2", os.O_WRONLY | os.O_TRUNC)
    settle(ops)
    assert [d for _, d in on_server(backend, "old.txt")] == [b"v2"]


def test_dropped_and_refused_chunks_resume_at_the_servers_offset(ops, backend):
    backend.send_faults = [("cut", 2, TransportError("dropped")), ServerError("502"),
                           UploadOffsetError("409", status=409)]
    write_file(ops, "/chunks.bin", b"abcdefghijk")
    settle(ops)
    assert on_server(backend, "chunks.bin")[0][1] == b"abcdefghijk"
    assert backend.calls["upload_begin"] == 1
    # 0: cut after 2 bytes; resumed at 2 (502), again at 2 (409), then on in 4-byte chunks
    assert backend.offsets_sent == [0, 2, 2, 2, 6, 10]


def test_writing_into_an_existing_file_fetches_only_what_it_needs(ops, backend):
    fh = ops.open("/old.txt", os.O_RDWR)
    ops.write("/old.txt", b"NEW", 4, fh)
    assert ops.read("/old.txt", 100, 0, fh) == b"old NEWtents"
    ops.release("/old.txt", fh)
    settle(ops)
    assert [d for _, d in on_server(backend, "old.txt")] == [b"old NEWtents"]


def test_append_and_truncate(ops, backend):
    fh = ops.open("/old.txt", os.O_WRONLY | os.O_APPEND)
    ops.write("/old.txt", b"+more", 0, fh)
    ops.release("/old.txt", fh)
    settle(ops)
    assert [d for _, d in on_server(backend, "old.txt")] == [b"old contents+more"]
    ops.truncate("/old.txt", 3)
    assert ops.getattr("/old.txt")["st_size"] == 3
    settle(ops)
    assert [d for _, d in on_server(backend, "old.txt")] == [b"old"]


def test_times_travel_with_the_upload_and_touch_sets_them(ops, backend):
    fh = ops.create("/t.txt", 0o644)
    ops.write("/t.txt", b"x", 0, fh)
    ops.utimens("/t.txt", (0, 1_600_000_000_500_000_000))
    ops.release("/t.txt", fh)
    assert ops.getattr("/t.txt")["st_mtime"] // 10**9 == 1_600_000_000
    settle(ops)
    assert on_server(backend, "t.txt")[0][0].mtime == 1_600_000_000
    ops.utimens("/Docs", (0, 1_500_000_000 * 10**9))
    assert on_server(backend, "Docs")[0][0].mtime == 1_500_000_000


def test_chmod_chown_accepted_links_and_devices_refused(ops):
    assert ops.chmod("/old.txt", 0o600) == 0
    assert ops.chown("/old.txt", 0, 0) == 0
    for call, args in ((ops.symlink, ("/l", "/old.txt")), (ops.link, ("/l", "/old.txt")),
                       (ops.mknod, ("/fifo", stat.S_IFIFO | 0o644, 0))):
        with pytest.raises(OSError) as info:
            call(*args)
        assert info.value.errno == errno.EPERM
    with pytest.raises(OSError) as info:
        ops.chmod("/missing", 0o600)
    assert info.value.errno == errno.ENOENT


def test_writing_through_a_handle_not_open_for_writing_is_ebadf(ops):
    writing = ops.create("/r.txt", 0o644)  # open for writing: not uploaded meanwhile
    ops.write("/r.txt", b"abc", 0, writing)
    reading = ops.open("/r.txt", os.O_RDONLY)
    for fh in (reading, 12345):
        with pytest.raises(OSError) as info:
            ops.write("/r.txt", b"x", 0, fh)
        assert info.value.errno == errno.EBADF
    with pytest.raises(OSError) as info:
        ops.truncate("/r.txt", 1, reading)
    assert info.value.errno == errno.EBADF
    assert ops.read("/r.txt", 10, 0, reading) == b"abc"
    ops.release("/r.txt", reading)
    ops.release("/r.txt", writing)


def test_unlink_of_an_open_pending_file_uploads_nothing(ops, backend):
    fh = ops.create("/gone.txt", 0o644)
    ops.write("/gone.txt", b"bye", 0, fh)
    ops.unlink("/gone.txt")
    assert "gone.txt" not in ops.readdir("/", None)
    assert ops.read("/gone.txt", 10, 0, fh) == b"bye"  # still readable through its handle
    ops.release("/gone.txt", fh)
    settle(ops)
    assert not on_server(backend, "gone.txt") and backend.calls["upload_begin"] == 0


def test_editor_save_rename_over_replaces_the_original(ops, backend):
    fh = ops.create("/.old.txt.swp", 0o644)
    ops.write("/.old.txt.swp", b"saved", 0, fh)
    ops.fsync("/.old.txt.swp", 0, fh)
    ops.rename("/.old.txt.swp", "/old.txt")
    ops.release("/old.txt", fh)
    assert ops.readdir("/", None).count("old.txt") == 1
    settle(ops)
    assert [d for _, d in on_server(backend, "old.txt")] == [b"saved"]
    assert not on_server(backend, ".old.txt.swp")


def test_two_writers_share_the_file(ops, backend):
    one = ops.create("/shared", 0o644)
    two = ops.open("/shared", os.O_WRONLY)
    ops.write("/shared", b"aaaa", 0, one)
    ops.write("/shared", b"bb", 4, two)
    ops.release("/shared", one)
    assert backend.calls["upload_begin"] == 0  # the second writer still has it open
    ops.write("/shared", b"cc", 6, two)
    ops.release("/shared", two)
    settle(ops)
    assert [d for _, d in on_server(backend, "shared")] == [b"aaaabbcc"]


def test_quota_and_spool_cap_are_enospc_and_keep_the_data(backend, tmp_path):
    backend.quota_left = 6
    ops = mount(backend, tmp_path / "account")
    fh = ops.create("/big", 0o644)
    ops.write("/big", b"12345", 0, fh)
    with pytest.raises(OSError) as info:
        ops.write("/big", b"67890", 5, fh)
    assert info.value.errno == errno.ENOSPC
    assert ops.read("/big", 10, 0, fh) == b"12345"
    ops.destroy("/")
    capped = mount(backend, tmp_path / "other", cache_max_size=8)
    fh = capped.create("/capped", 0o644)
    with pytest.raises(OSError) as info:
        capped.write("/capped", b"123456789", 0, fh)
    assert info.value.errno == errno.ENOSPC
    capped.destroy("/")


def test_an_upload_refused_for_quota_stays_and_fsync_says_enospc(backend, tmp_path):
    ops = mount(backend, tmp_path / "account")
    backend.quota_left = 2  # after the mount asked: the write passes, the upload is refused
    fh = ops.create("/late", 0o644)
    ops.write("/late", b"12345", 0, fh)
    ops.release("/late", fh)
    assert not ops.writes.uploads.wait(1.5)
    fh = ops.open("/late", os.O_WRONLY)
    with pytest.raises(OSError) as info:
        ops.fsync("/late", 0, fh)
    assert info.value.errno == errno.ENOSPC
    ops.release("/late", fh)
    ops.options.upload_wait = 0
    ops.destroy("/")
    [manifest] = (tmp_path / "account" / "pending").glob("*.json")
    assert json.loads(manifest.read_text())["accepted"]


def test_a_remount_uploads_accepted_files_and_hands_back_half_written_ones(backend, tmp_path):
    spool_dir = tmp_path / "account"
    first = mount(backend, spool_dir, upload_wait=0)
    backend.send_faults = [("cut", 3, TransportError("mount killed"))] + \
        [TransportError("down")] * 50
    write_file(first, "/done.txt", b"all of it")
    fh = first.create("/half.txt", 0o644)
    first.write("/half.txt", b"half", 0, fh)
    first.writes.uploads.wait(1)
    first.writes.uploads.stop()  # as if killed: no release of half.txt, done.txt mid-upload
    backend.send_faults = []
    second = mount(backend, spool_dir)
    settle(second)
    assert on_server(backend, "done.txt")[0][1] == b"all of it"
    assert backend.calls["upload_begin"] == 1  # resumed with the saved ticket
    assert 3 in backend.offsets_sent
    assert not on_server(backend, "half.txt")
    assert (spool_dir / "recovered" / "half.txt").read_bytes() == b"half"
    states = {r.state for r in second.writes.uploads.snapshot()}
    assert states == {"recovered"}
    second.destroy("/")


def test_status_json_lists_pending_uploads(backend, tmp_path):
    ops = mount(backend, tmp_path / "account", upload_wait=0)
    backend.send_faults = [TransportError("down")] * 100
    write_file(ops, "/slow.bin", b"12345678")
    ops.writes.uploads.write_status()
    status = json.loads((tmp_path / "account" / "status.json").read_text())
    [record] = status["uploads"]
    assert record["path"] == "/slow.bin" and record["size"] == 8
    assert record["state"] in ("queued", "uploading", "retrying")
    assert "files/" not in json.dumps(status)  # the TUS URL is not shown
    ops.destroy("/")


# -- the spool alone ----------------------------------------------------------------------


def test_manifest_writes_are_atomic_and_leftovers_ignored(tmp_path):
    spool = Spool(tmp_path / "a", 1 << 20)
    spooled = spool.create("0", "f", "/f", 1.0)
    spooled.pwrite(b"data", 0)
    spooled.manifest.accepted = True
    spooled.save(durable=True)
    manifest = spool.manifest_path(spooled.id)
    manifest.with_suffix(".tmp").write_text("{half a manif")  # a crash mid-write
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o700
    assert manifest.stat().st_mode & 0o777 == 0o600
    again = Spool(tmp_path / "a", 1 << 20)
    [loaded] = again.load_all()
    assert loaded.manifest.accepted and loaded.pread(10, 0) == b"data"
    assert not manifest.with_suffix(".tmp").exists()
    assert again.used == 4


def test_unreadable_manifests_and_orphan_data_are_handed_back(tmp_path):
    spool = Spool(tmp_path / "a", 1 << 20)
    (spool.pending / "x.json").write_text("not json")
    (spool.pending / "x.data").write_bytes(b"keep me")
    (spool.pending / "y.data").write_bytes(b"me too")
    assert spool.load_all() == []
    kept = sorted(p.read_bytes() for p in spool.recovered_files())
    assert kept == [b"keep me", b"me too"]


def test_sizes_parse_with_suffixes():
    assert parse_size("10G") == 10 * 2**30 and parse_size("512k") == 512 * 1024
    assert parse_size("42") == 42
    with pytest.raises(ValueError):
        parse_size("lots")


def _hold_deletes(backend):
    """Deletes wait until released: the landing stops between the swap and the delete."""
    import threading

    started, release = threading.Event(), threading.Event()
    real_delete = backend.delete

    def held_delete(item_id):
        started.set()
        assert release.wait(20)
        real_delete(item_id)

    backend.delete = held_delete
    return started, release


def _hold_uploads(backend):
    """Upload chunks wait until released: an upload stops while it is being sent."""
    import threading

    sending, go_on = threading.Event(), threading.Event()
    real_send = backend.upload_send

    def held_send(*args):
        sending.set()
        assert go_on.wait(20)
        return real_send(*args)

    backend.upload_send = held_send
    return sending, go_on


def test_append_just_after_a_landing_starts_from_the_landed_version(ops, backend):
    """Reproduces the known defect: between an upload landing and the delete of the item it
    replaced, the name resolved to the doomed item (ENOENT, or an empty/missing base)."""
    started, release = _hold_deletes(backend)
    write_file(ops, "/old.txt", b"xy", os.O_WRONLY | os.O_TRUNC)
    assert started.wait(20)  # landed; the old item not yet deleted
    assert "old.txt" in ops.readdir("/")
    assert ops.getattr("/old.txt")["st_size"] == 2
    fh = ops.open("/old.txt", os.O_WRONLY | os.O_APPEND)
    ops.write("/old.txt", b"z", 0, fh)
    ops.release("/old.txt", fh)
    assert ops.read("/old.txt", 10, 0, ops.open("/old.txt", os.O_RDONLY)) == b"xyz"
    release.set()
    settle(ops)
    assert [d for _, d in on_server(backend, "old.txt")] == [b"xyz"]


def test_a_landing_that_cannot_take_its_name_fails_once_and_keeps_the_data(ops, backend):
    """A name taken on put.io by an item the mount did not replace: no endless retries; the
    new item stays under its upload name, the failure is in the listing, unmount does not
    wait for it."""
    backend.unique_names = True
    sending, go_on = _hold_uploads(backend)
    write_file(ops, "/a.txt", b"data", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    assert sending.wait(20)  # uploading as a.txt
    ops.rename("/a.txt", "/b.txt", 0)
    backend.add("0", "b.txt", b"someone else's")  # another client, before the landing
    go_on.set()
    settle(ops)
    names = sorted((e.name, d) for e, d in
                   [(e, backend.data.get(e.id)) for e in backend.items.values()
                    if e.parent_id == "0" and not e.is_dir])
    assert ("a.txt", b"data") in names and ("b.txt", b"someone else's") in names
    [failed] = [r for r in ops.writes.uploads.snapshot() if r.state == "failed"]
    assert "b.txt" in failed.error
    assert ops.writes.uploads.pending() == (0, 0)


@pytest.mark.parametrize("refusal", [ServerError("unexpected redirect (HTTP 307)", status=307)],
                         ids=["redirect"])
def test_a_permanent_refusal_is_failed_not_retried_and_kept_for_the_next_mount(backend,
                                                                               tmp_path,
                                                                               refusal):
    ops = mount(backend, tmp_path / "account")
    backend.send_faults = [refusal]
    write_file(ops, "/x.txt", b"payload")
    settle(ops)
    [failed] = [r for r in ops.writes.uploads.snapshot() if r.state == "failed"]
    assert type(refusal).__name__ in failed.error
    assert backend.calls["upload_send"] == 1
    ops.destroy("/")
    again = mount(backend, tmp_path / "account")  # the next mount tries again
    settle(again)
    assert on_server(backend, "x.txt")[0][1] == b"payload"
    again.destroy("/")


def test_a_name_put_io_refuses_is_failed_with_its_reason_and_handed_back(backend, tmp_path):
    """Trying again cannot change a refused name: the file leaves the mount, its data goes to
    recovered/, the listing says why, and the next mount does not try again."""
    ops = mount(backend, tmp_path / "account")
    backend.send_faults = [InvalidNameError("TUS create: Name cannot be empty")]
    write_file(ops, "/x.txt", b"payload")
    settle(ops)
    [failed] = [r for r in ops.writes.uploads.snapshot() if r.state == "failed"]
    assert "Name cannot be empty" in failed.error and "recovered" in failed.error
    assert (tmp_path / "account" / "recovered" / "x.txt").read_bytes() == b"payload"
    assert "x.txt" not in ops.readdir("/")
    assert backend.calls["upload_send"] == 1
    ops.destroy("/")
    again = mount(backend, tmp_path / "account")
    settle(again)
    assert on_server(backend, "x.txt") == []
    again.destroy("/")


def test_a_delete_that_keeps_failing_is_retried_also_by_the_next_mount(backend, tmp_path):
    ops = mount(backend, tmp_path / "account")
    [(old, _)] = on_server(backend, "old.txt")
    real_delete = backend.delete

    def refusing(item_id):
        raise TransportError("down")

    backend.delete = refusing
    write_file(ops, "/old.txt", b"v2", os.O_WRONLY | os.O_TRUNC)
    settle(ops)
    assert old.id in backend.items  # both on put.io, the old hidden
    assert ops.readdir("/").count("old.txt") == 1
    assert ops.getattr("/old.txt")["st_size"] == 2
    ops.destroy("/")
    backend.delete = real_delete
    again = mount(backend, tmp_path / "account")
    import time

    for _ in range(100):  # retried in the background (within a second or two)
        if old.id not in backend.items:
            break
        time.sleep(0.1)
    assert old.id not in backend.items
    assert [d for _, d in on_server(backend, "old.txt")] == [b"v2"]
    again.destroy("/")


def test_a_folder_time_set_through_the_mount_survives_uploads_into_it(ops, backend):
    ops.utimens("/Docs", (1_500_000_000 * 10**9, 1_500_000_000 * 10**9))
    folder = next(e for e in backend.items.values() if e.name == "Docs")
    real_begin = backend.upload_begin

    def bumping(parent_id, name, size, mtime):  # put.io bumps a folder's time
        backend.items[folder.id] = replace(backend.items[folder.id], mtime=1_700_000_000.0)
        return real_begin(parent_id, name, size, mtime)

    backend.upload_begin = bumping
    write_file(ops, "/Docs/in.txt", b"inside")
    settle(ops)
    assert backend.items[folder.id].mtime == 1_500_000_000


def test_unlink_of_an_open_server_file_keeps_its_name_for_the_trash(ops, backend):
    """libfuse renames an unlinked open file to .fuse_hidden…: only in the mount; the unlink
    of that name deletes the item under its own name."""
    [(old, _)] = on_server(backend, "old.txt")
    ops.rename("/old.txt", "/.fuse_hidden0001", 0)
    assert backend.items[old.id].name == "old.txt"
    assert "old.txt" not in ops.readdir("/")
    assert ops.getattr("/.fuse_hidden0001")["st_size"] == len(b"old contents")
    with pytest.raises(OSError) as info:
        ops.getattr("/old.txt")
    assert info.value.errno == errno.ENOENT
    ops.unlink("/.fuse_hidden0001")
    # Deleted by id once the hidden name's grace is over (a process that looked the file up
    # before it was unlinked may still open it meanwhile).
    assert ops.getattr("/.fuse_hidden0001")["st_size"] == len(b"old contents")
    wait_for(lambda: old.id not in backend.items, HIDDEN_GRACE + 5)
    assert old.id not in backend.items and backend.calls["rename"] == 0


def test_append_while_the_previous_version_uploads_replaces_it_when_both_land(ops, backend):
    sending, go_on = _hold_uploads(backend)
    write_file(ops, "/p.txt", b"xy")
    assert sending.wait(20)  # the first version is uploading
    fh = ops.open("/p.txt", os.O_WRONLY | os.O_APPEND)
    ops.write("/p.txt", b"z", 0, fh)
    ops.release("/p.txt", fh)
    assert ops.read("/p.txt", 10, 0, ops.open("/p.txt", os.O_RDONLY)) == b"xyz"
    go_on.set()
    settle(ops)
    assert [d for _, d in on_server(backend, "p.txt")] == [b"xyz"]
    assert ops.readdir("/").count("p.txt") == 1


def test_a_file_opened_for_writing_and_closed_unchanged_is_not_uploaded(backend, tmp_path):
    """Bigger than the cap, opened O_RDWR, read, timed, truncated to its size, closed: nothing
    uploaded or kept in the spool, the item keeps its id and number and has the time; a write
    then is a change, charged (ENOSPC past the cap) and, within it, uploaded."""
    ops = mount(backend, tmp_path / "account", cache_max_size=8)
    [(old, _)] = on_server(backend, "old.txt")
    number = ops.getattr("/old.txt")["st_ino"]
    fh = ops.open("/old.txt", os.O_RDWR)
    assert ops.read("/old.txt", 3, 4, fh) == b"con"
    ops.utimens("/old.txt", (0, 1_700_000_000 * 10**9))
    ops.truncate("/old.txt", len(b"old contents"), fh)  # same size: mtime now, no change
    assert ops.getattr("/old.txt", fh)["st_mtime"] > 1_700_000_000 * 10**9
    ops.utimens("/old.txt", (0, 1_700_000_000 * 10**9))
    ops.flush("/old.txt", fh)
    ops.release("/old.txt", fh)
    settle(ops)
    assert on_server(backend, "old.txt") == [(backend.items[old.id], b"old contents")]
    assert int(backend.items[old.id].mtime) == 1_700_000_000
    shown = ops.getattr("/old.txt")
    assert (shown["st_ino"], shown["st_mtime"] // 10**9) == (number, 1_700_000_000)
    assert list((tmp_path / "account" / "pending").iterdir()) == []
    assert ops.writes.spool.used == 0
    fh = ops.open("/old.txt", os.O_WRONLY)
    with pytest.raises(OSError) as info:
        ops.write("/old.txt", b"O", 0, fh)
    assert info.value.errno == errno.ENOSPC
    ops.truncate("/old.txt", 3, fh)  # a cut of it fits: charged what it keeps
    ops.flush("/old.txt", fh)
    ops.release("/old.txt", fh)
    settle(ops)
    assert [data for _, data in on_server(backend, "old.txt")] == [b"old"]
    ops.destroy("/")


def test_an_unchanged_version_left_by_a_dead_mount_is_dropped_quietly(backend, tmp_path,
                                                                       caplog):
    first = mount(backend, tmp_path / "account")
    first.open("/old.txt", os.O_WRONLY)
    first.writes.uploads.stop()  # the mount dies with the file open
    second = mount(backend, tmp_path / "account")
    settle(second)
    assert [data for _, data in on_server(backend, "old.txt")] == [b"old contents"]
    assert list((tmp_path / "account" / "pending").iterdir()) == []
    assert list((tmp_path / "account" / "recovered").iterdir()) == []
    assert "ERROR" not in caplog.text
    second.destroy("/")


def _land_when_found(ops, backend, path, data):
    """A new file at ``path`` whose upload is held, then lands just after the pending names'
    unlink or rename finds it (as the uploader thread may, between that lookup and the lock):
    the finder waits until the new item is in place."""
    sending, go_on = _hold_uploads(backend)
    write_file(ops, path, data)
    assert sending.wait(20)
    overlay = ops.writes.overlay
    real_pending_at = overlay.pending_at

    def pending_at_then_land(at):
        found = real_pending_at(at)
        caller = sys._getframe(1).f_globals["__name__"]
        if (found is not None and at == path and not go_on.is_set()
                and caller == "putiofs.front.pending_names"):
            go_on.set()
            settle(ops)
        return found

    overlay.pending_at = pending_at_then_land


def test_an_unlink_that_an_upload_lands_under_deletes_the_landed_item(ops, backend):
    """Without the second look under the lock, the unlink dropped the version that had just
    landed, returned success, and left its new item on put.io under the removed name."""
    _land_when_found(ops, backend, "/u.txt", b"data")
    ops.unlink("/u.txt")
    settle(ops)
    assert on_server(backend, "u.txt") == []
    assert "u.txt" not in ops.readdir("/")


def test_a_rename_that_an_upload_lands_under_moves_the_landed_item(ops, backend):
    _land_when_found(ops, backend, "/r.txt", b"data")
    ops.rename("/r.txt", "/s.txt")
    settle(ops)
    assert on_server(backend, "r.txt") == []
    assert [d for _, d in on_server(backend, "s.txt")] == [b"data"]
    assert "r.txt" not in ops.readdir("/") and "s.txt" in ops.readdir("/")
