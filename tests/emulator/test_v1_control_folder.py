"""The control folder through the operations class (no kernel) on the v1 API: snapshots, add,
search."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from putiofs.config import Settings
from putiofs.emulator import EmulatorServer
from putiofs.front.operations import MountOptions, PutioFS, build_operations
from putiofs.v1.account import V1Services
from putiofs.v1.backend import V1Backend
from putiofs.v1.client import V1Client
from putiofs.v1.wire import V1Wire
from tests.conftest import API_KEY, API_SECRET
from tests.support.fake_time import FakeTime

pytestmark = pytest.mark.server(transfer_seconds=3600)


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


@pytest.fixture
def fs(server: EmulatorServer, clock: FakeTime):
    settings = Settings(api_url=server.base_url, api_key=API_KEY, api_secret=API_SECRET)
    wire = V1Wire(settings)
    client = V1Client(wire)
    operations = build_operations(V1Backend(client), MountOptions(), V1Services(client),
                                  refresh=2.0, search_ttl=30.0, clock=clock)
    yield operations
    operations.destroy("/")
    wire.close()


def read_all(fs: PutioFS, path: str) -> bytes:
    fh = fs.open(path, os.O_RDONLY)
    try:
        return fs.read(path, 1 << 20, 0, fh)
    finally:
        fs.release(path, fh)


def fail_code(call, *args) -> int:
    with pytest.raises(OSError) as exc:
        call(*args)
    return exc.value.errno


def test_each_open_serves_the_newest_text_whole_with_direct_io(
        fs: PutioFS, api, server: EmulatorServer, clock: FakeTime) -> None:
    reported = fs.getattr("/.putio/transfers")
    assert stat.S_ISREG(reported["st_mode"]) and reported["st_mode"] & 0o777 == 0o444
    api(server, "transfers", "add", {"links": ["http://example.com/new.iso"]})
    clock.now += 10  # the text is stale now (the kernel may still believe the old size)
    fh = fs.open("/.putio/transfers", os.O_RDONLY)
    # the kernel reads past the size it believes only with direct I/O: the mount asks
    assert fs.direct_io(fh)
    data = fs.read("/.putio/transfers", 1 << 20, 0, fh)
    assert b"new.iso" in data and len(data) > reported["st_size"]
    assert fs.getattr("/.putio/transfers", fh)["st_size"] == len(data)
    assert fs.getattr("/.putio/transfers")["st_mtime"] > reported["st_mtime"]
    fs.release("/.putio/transfers", fh)
    add = fs.open("/.putio/add", os.O_WRONLY)
    assert not fs.direct_io(add)  # only the generated files
    fs.release("/.putio/add", add)


def test_text_is_reused_within_refresh(fs: PutioFS, server: EmulatorServer, api,
                                       clock: FakeTime) -> None:
    first = fs.getattr("/.putio/messages")
    api(server, "messages", "delete", {"id": 3770})
    clock.now += 1.0
    assert fs.getattr("/.putio/messages") == first
    clock.now += 1.5
    assert fs.getattr("/.putio/messages")["st_size"] < first["st_size"]


def test_getattr_with_handle_reports_the_handles_snapshot(fs: PutioFS, api,
                                                          server: EmulatorServer,
                                                          clock: FakeTime) -> None:
    fh = fs.open("/.putio/transfers", os.O_RDONLY)
    size = fs.getattr("/.putio/transfers", fh)["st_size"]
    api(server, "transfers", "add", {"links": ["http://example.com/more.iso"]})
    clock.now += 10
    assert fs.getattr("/.putio/transfers", fh)["st_size"] == size
    assert len(fs.read("/.putio/transfers", 1 << 20, 0, fh)) == size
    fs.release("/.putio/transfers", fh)


def test_add_takes_complete_lines_and_the_rest_at_flush(fs: PutioFS, api,
                                                        server: EmulatorServer) -> None:
    fh = fs.open("/.putio/add", os.O_WRONLY | os.O_TRUNC)
    assert fs.truncate("/.putio/add", 0, fh) == 0
    assert fs.write("/.putio/add", b"http://example.com/one.bin\nhttp://exa", 0, fh) == 37
    names = [t["name"] for t in api(server, "transfers", "list").json()["response"]["results"]]
    assert names == ["one.bin"]
    fs.write("/.putio/add", b"mple.com/two.bin", 37, fh)
    fs.flush("/.putio/add", fh)
    fs.release("/.putio/add", fh)
    names = [t["name"] for t in api(server, "transfers", "list").json()["response"]["results"]]
    assert names == ["one.bin", "two.bin"]
    assert read_all(fs, "/.putio/add") == b""


def test_add_refusals(fs: PutioFS, api, server: EmulatorServer) -> None:
    fh = fs.open("/.putio/add", os.O_WRONLY)
    assert fail_code(fs.write, "/.putio/add", b"not a link\n", 0, fh) == errno.EINVAL
    assert fail_code(fs.write, "/.putio/add", b"http://host.invalid/x\n", 0, fh) == errno.EINVAL
    # the same failing link again is a new failure, not one seen before
    assert fail_code(fs.write, "/.putio/add", b"http://host.invalid/x\n", 0, fh) == errno.EINVAL
    assert fail_code(fs.write, "/.putio/add", b"\xff\xfe\n", 0, fh) == errno.EINVAL
    assert fs.write("/.putio/add", b"# a comment\n\n", 0, fh) == 13
    fs.release("/.putio/add", fh)
    results = api(server, "transfers", "list").json()["response"]["results"]
    assert [t["name"] for t in results] == ["x", "x"]


def test_add_when_put_io_is_unreachable_is_eio(server: EmulatorServer) -> None:
    settings = Settings(api_url=server.base_url, api_key=API_KEY, api_secret=API_SECRET)
    with V1Wire(settings, retries=0) as wire:
        client = V1Client(wire)
        fs = build_operations(V1Backend(client), MountOptions(), V1Services(client))
        fh = fs.open("/.putio/add", os.O_WRONLY)
        server.stop()
        assert fail_code(fs.write, "/.putio/add", b"http://example.com/a\n", 0, fh) == errno.EIO


def test_generated_files_refuse_writing(fs: PutioFS) -> None:
    assert fail_code(fs.open, "/.putio/user", os.O_WRONLY) == errno.EACCES
    assert fail_code(fs.truncate, "/.putio/user", 0) == errno.EACCES
    assert fail_code(fs.write, "/.putio/user", b"x", 0, 12345) == errno.EACCES
    assert fail_code(fs.access, "/.putio/user", os.W_OK) == errno.EACCES
    assert fs.access("/.putio/add", os.W_OK) == 0
    assert fail_code(fs.open, "/.putio", os.O_RDONLY) == errno.EISDIR
    assert fail_code(fs.getattr, "/.putio/nothing") == errno.ENOENT
    for call, args in ((fs.mkdir, ("/.putio/d", 0o755)), (fs.unlink, ("/.putio/user",)),
                       (fs.rmdir, ("/.putio/search",)), (fs.rename, ("/.putio/user", "/u")),
                       (fs.rename, ("/README.txt", "/.putio/README.txt"))):
        assert fail_code(call, *args) == errno.EPERM


def test_root_listing_hides_the_folder_unless_asked(fs: PutioFS) -> None:
    assert ".putio" not in fs.readdir("/")
    assert stat.S_ISDIR(fs.getattr("/.putio")["st_mode"])
    fs.options.show_control = True
    assert ".putio" in fs.readdir("/")
    assert fs.readdir("/.putio") == [".", "..", "add", "messages", "refresh", "search",
                                     "status.json", "subscriptions", "transfers", "user"]


def test_search_folder(fs: PutioFS, server: EmulatorServer) -> None:
    names = fs.readdir("/.putio/search/notes")
    assert sorted(names[2:]) == ["Café — notes.txt", "notes [#15].txt", "notes.txt"]
    assert fs.readdir("/.putio/search") == [".", "..", "notes"]
    assert read_all(fs, "/.putio/search/notes/notes [#15].txt") == server.account.file_bytes("15")
    assert fs.getxattr("/.putio/search/notes/notes.txt", "user.putio.id") == b"14"
    assert fs.readdir("/.putio/search/Tones/Tones") == [".", "..", "tone-330hz.mp3"]
    assert fs.getattr("/.putio/search/Tones/Tones/tone-330hz.mp3")["st_size"] == len(
        server.account.file_bytes("9"))
    assert fail_code(fs.getattr, "/.putio/search/notes/absent.txt") == errno.ENOENT
    assert fs.readdir("/.putio/search/zzz-nothing") == [".", ".."]
