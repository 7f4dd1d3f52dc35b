"""The FUSE operations class called directly (no kernel) against a running v1 emulator."""

from __future__ import annotations

import errno
import hashlib
import os
import random
import stat

import pytest

from putiofs.config import Settings
from putiofs.front.account_view import AccountView
from putiofs.front.operations import PutioFS
from putiofs.front.options import MountOptions
from putiofs.v1.backend import V1Backend
from putiofs.v1.client import V1Client
from putiofs.v1.wire import V1Wire
from tests.support.servers import on_each_dialect

pytestmark = on_each_dialect


@pytest.fixture
def ops(server):
    wire = V1Wire(Settings(api_url=server.base_url, api_key="demo", api_secret="demo"))
    yield PutioFS(AccountView(V1Backend(V1Client(wire)), MountOptions(cache_ttl=30)))
    wire.close()


def walk(ops: PutioFS, path: str = "/"):
    for name in ops.readdir(path, None):
        if name in (".", ".."):
            continue
        child = f"{path.rstrip('/')}/{name}"
        yield child, ops.getattr(child)
        if stat.S_ISDIR(ops.getattr(child)["st_mode"]):
            yield from walk(ops, child)


def read_all(ops: PutioFS, path: str, chunk: int = 131072) -> bytes:
    fh = ops.open(path, os.O_RDONLY)
    try:
        parts, offset = [], 0
        while data := ops.read(path, chunk, offset, fh):
            parts.append(data)
            offset += len(data)
        return b"".join(parts)
    finally:
        ops.release(path, fh)


def test_every_file_reads_back_exactly_what_the_emulator_serves(ops, server):
    files = [(p, st) for p, st in walk(ops) if stat.S_ISREG(st["st_mode"])]
    assert len(files) >= 8
    for path, st in files:
        item_id = ops.getxattr(path, "user.putio.id").decode()
        expected = server.account.file_bytes(item_id)
        data = read_all(ops, path)
        assert len(data) == st["st_size"] == len(expected), path
        assert hashlib.sha256(data).digest() == hashlib.sha256(expected).digest(), path


def test_a_readdir_fills_the_attributes_of_every_child_without_more_calls(ops, server):
    ops.readdir("/", None)
    names = [n for n in ops.readdir("/Documents", None) if n not in (".", "..")]
    server.reset_stats()
    for name in names:
        ops.getattr(f"/Documents/{name}")
    for probe in (".hidden", "desktop.ini", ".DS_Store", "Thumbs.db", "autorun.inf",
                  ".xdg-volume-info"):
        with pytest.raises(OSError) as info:
            ops.getattr(f"/Documents/{probe}")
        assert info.value.errno == errno.ENOENT
    assert server.stats()["requests_total"] == 0


def test_random_reads_match_and_a_deep_path_costs_two_calls(ops, server):
    folder = server.account.add_folder("0", "deep")
    for level in range(4):
        folder = server.account.add_folder(folder, f"level{level}")
    data = random.Random(3).randbytes(2 * 1024 * 1024 + 5)
    server.account.add_file(folder, "blob.bin", data=data)
    server.reset_stats()
    path = "/deep/level0/level1/level2/level3/blob.bin"
    assert ops.getattr(path)["st_size"] == len(data)
    assert server.stats()["requests_total"] <= 2  # dirmap + the last folder's listing
    fh = ops.open(path, os.O_RDONLY)
    rng = random.Random(5)
    for _ in range(40):
        offset = rng.randrange(0, len(data))
        size = rng.choice((4096, 65536, 131072))
        assert ops.read(path, size, offset, fh) == data[offset:offset + size]
    ops.release(path, fh)


def test_an_item_deleted_behind_our_back_reads_as_enoent(ops, server):
    item_id = server.account.add_file("0", "short-lived.txt", data=b"x" * 1000)
    fh = ops.open("/short-lived.txt", os.O_RDONLY)
    server.account.delete(item_id)
    with pytest.raises(OSError) as info:
        ops.read("/short-lived.txt", 100, 0, fh)
    assert info.value.errno == errno.ENOENT
    ops.release("/short-lived.txt", fh)
