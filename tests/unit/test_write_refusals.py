"""Versions a write was refused for, without a kernel (the operations object over the fake
backend): never uploaded, dropped at the last close with what was there before shown again; a
refused change of bytes once accepted is handed back; an accepted version a refused call did
not change is kept."""

from __future__ import annotations

import errno
import os

import pytest

from putiofs.front.operations import build_operations
from putiofs.front.options import MountOptions
from putiofs.front.writes import WriteFiles
from putiofs.write.uploader import Uploads
from tests.support.fake_backend import WRITABLE, FakeBackend
from tests.unit.test_writes import BaseReader, _hold_uploads, on_server, settle, write_file


@pytest.fixture
def backend(monkeypatch):
    b = FakeBackend()
    b.capabilities = WRITABLE
    b.add("0", "old.txt", b"old contents")
    monkeypatch.setattr(WriteFiles, "_reader_for",
                        lambda self, entry: BaseReader(b.data[entry.id]))
    return b


@pytest.fixture
def capped(backend, tmp_path, monkeypatch):
    """A mount whose spool holds 10 bytes at most. Its uploads start at ``ops.go()``, so a
    file closed before waits in the queue (opening it again writes into it)."""
    start = Uploads.start
    monkeypatch.setattr(Uploads, "start", lambda self: None)
    ops = build_operations(backend, MountOptions(cache_ttl=30, spool_dir=tmp_path / "account",
                                                 cache_max_size=10, upload_chunk_size=4,
                                                 upload_wait=5))
    ops.init("/")
    ops.go = lambda: start(ops.writes.uploads)
    yield ops
    ops.destroy("/")


def errno_of(call, *args) -> int | None:
    try:
        call(*args)
    except OSError as exc:
        return exc.errno
    return None


def refused_records(ops) -> list[tuple[str, str]]:
    return [(r.path, r.error) for r in ops.writes.uploads.snapshot() if r.state == "refused"]


def test_a_refused_new_file_is_never_uploaded_and_its_name_goes(capped, backend):
    fh = capped.create("/new.bin", 0o644)
    capped.write("/new.bin", b"12345", 0, fh)
    assert errno_of(capped.write, "/new.bin", b"678901", 5, fh) == errno.ENOSPC
    assert errno_of(capped.write, "/new.bin", b"6", 5, fh) == errno.ENOSPC  # it stays refused
    assert errno_of(capped.flush, "/new.bin", fh) == errno.ENOSPC
    assert "new.bin" not in capped.readdir("/", None)  # at close(2), before the release
    assert errno_of(capped.truncate, "/new.bin", 0, fh) == errno.ENOSPC  # too late to restart
    capped.release("/new.bin", fh)
    capped.go()
    settle(capped)
    assert "new.bin" not in capped.readdir("/", None)
    assert not on_server(backend, "new.bin")
    assert list(capped.writes.spool.pending.glob("*.data")) == []
    [(path, why)] = refused_records(capped)
    assert path == "/new.bin" and "cap" in why


def test_a_refused_version_of_an_existing_file_leaves_the_old_one_shown(capped, backend):
    [(old, _)] = on_server(backend, "old.txt")
    fh = capped.open("/old.txt", os.O_WRONLY | os.O_TRUNC)
    assert errno_of(capped.write, "/old.txt", b"x" * 11, 0, fh) == errno.ENOSPC
    capped.release("/old.txt", fh)
    assert capped.getattr("/old.txt")["st_size"] == len(b"old contents")
    assert capped.readdir("/", None).count("old.txt") == 1
    capped.go()
    settle(capped)
    assert on_server(backend, "old.txt") == [(old, b"old contents")]


def test_a_truncate_to_nothing_starts_a_refused_version_clean(capped, backend):
    fh = capped.create("/again.bin", 0o644)
    assert errno_of(capped.write, "/again.bin", b"x" * 11, 0, fh) == errno.ENOSPC
    capped.truncate("/again.bin", 0, fh)
    capped.write("/again.bin", b"fresh", 0, fh)
    capped.flush("/again.bin", fh)
    capped.release("/again.bin", fh)
    capped.go()
    settle(capped)
    assert on_server(backend, "again.bin")[0][1] == b"fresh"


def test_a_refused_call_that_changed_nothing_keeps_the_accepted_version(capped, backend):
    write_file(capped, "/kept.txt", b"kept")
    fh = capped.open("/kept.txt", os.O_WRONLY | os.O_APPEND)
    assert errno_of(capped.write, "/kept.txt", b"x" * 7, 0, fh) == errno.ENOSPC
    assert errno_of(capped.flush, "/kept.txt", fh) is None
    capped.release("/kept.txt", fh)
    capped.go()
    settle(capped)
    assert on_server(backend, "kept.txt")[0][1] == b"kept"


def test_a_refused_change_of_an_accepted_version_is_handed_back(capped, backend):
    write_file(capped, "/p.txt", b"abc")
    fh = capped.open("/p.txt", os.O_WRONLY | os.O_APPEND)
    capped.write("/p.txt", b"de", 0, fh)  # the accepted bytes are changed...
    assert errno_of(capped.write, "/p.txt", b"x" * 6, 0, fh) == errno.ENOSPC  # ...then refused
    capped.release("/p.txt", fh)
    capped.go()
    settle(capped)
    assert not on_server(backend, "p.txt")
    assert "p.txt" not in capped.readdir("/", None)
    [kept] = capped.writes.spool.recovered_files()
    assert kept.read_bytes() == b"abcde"


def test_a_refused_version_that_was_to_follow_a_running_upload_gives_the_name_back(
        capped, backend):
    sending, go_on = _hold_uploads(backend)
    capped.go()
    write_file(capped, "/run.txt", b"first")
    assert sending.wait(20)
    fh = capped.open("/run.txt", os.O_WRONLY | os.O_APPEND)  # a newer version (a copy)
    assert errno_of(capped.write, "/run.txt", b"x", 5, fh) == errno.ENOSPC  # 5 + 5 + 1 > 10
    capped.release("/run.txt", fh)
    go_on.set()
    settle(capped)
    assert [d for _, d in on_server(backend, "run.txt")] == [b"first"]
    assert capped.readdir("/", None).count("run.txt") == 1
