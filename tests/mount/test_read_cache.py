"""The persistent read cache, as a user of a v2 mount meets it: a remount with the same
--cache-dir reads every file again from disk (at most one storage request in all, no /url
call), a file whose contents changed on put.io reads as its new bytes, a flipped byte in a
cache file is never served, ``--read-cache-size 0`` keeps nothing, ``putiofs cache clear``
empties it (and refuses while a mount holds it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.mounting import requires_fuse

pytestmark = [requires_fuse, pytest.mark.server(api="v2", demo=False)]

SIZES = {"a.mkv": 3 * 1024 * 1024 + 17, "b.mkv": 600 * 1024, "c.srt": 2000}


def _content(seed: int, size: int) -> bytes:
    return bytes((i * 13 + seed + i // 509) % 256 for i in range(size))


@pytest.fixture
def files(server) -> dict[str, bytes]:
    made = {}
    for seed, (name, size) in enumerate(SIZES.items()):
        made[name] = _content(seed, size)
        server.account.add_file("0", name, data=made[name])
    return made


def _read_all(root: Path, names) -> dict[str, bytes]:
    return {name: (root / name).read_bytes() for name in names}


def _chunk_files(cache_dir: Path) -> list[Path]:
    return sorted(p for p in cache_dir.glob("*/read-cache/data/*") if p.is_file())


def _cache_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "putiofs", "cache", "clear", *args],
                          capture_output=True, text=True, timeout=60)


def test_a_remount_reads_every_file_from_the_cache(server, files, mount_factory, tmp_path):
    cache_dir = tmp_path / "cache"
    first = mount_factory(server, "--cache-dir", str(cache_dir))
    assert _read_all(first.path, files) == files
    assert first.unmount() == 0
    assert _chunk_files(cache_dir)
    server.reset_stats()
    again = mount_factory(server, "--cache-dir", str(cache_dir))
    assert _read_all(again.path, files) == files
    stats = server.stats()
    assert stats["data_requests"] <= 1
    assert "files.url" not in stats["requests"]


def test_changed_contents_and_a_flipped_byte_are_never_served(server, files, mount_factory,
                                                              tmp_path):
    cache_dir = tmp_path / "cache"
    first = mount_factory(server, "--cache-dir", str(cache_dir))
    assert _read_all(first.path, files) == files
    assert first.unmount() == 0
    # a.mkv changes on put.io (same id, same size, new bytes); one chunk of the others rots
    node_id = next(n.id for n in server.account.nodes.values() if n.name == "a.mkv")
    node = server.account.node(node_id)
    new = _content(99, SIZES["a.mkv"])
    node.data, node.crc = new, None
    for chunk in _chunk_files(cache_dir):
        data = bytearray(chunk.read_bytes())
        data[len(data) // 2] ^= 0xFF
        chunk.write_bytes(bytes(data))
    again = mount_factory(server, "--cache-dir", str(cache_dir))
    server.reset_stats()
    assert _read_all(again.path, files) == {**files, "a.mkv": new}
    assert server.stats()["data_requests"] >= 2   # read again from put.io, not from the cache


def test_size_zero_keeps_nothing_and_cache_clear_empties(server, files, mount_factory,
                                                         tmp_path):
    off_dir, on_dir = tmp_path / "off", tmp_path / "on"
    off = mount_factory(server, "--cache-dir", str(off_dir), "--read-cache-size", "0")
    assert _read_all(off.path, files) == files
    assert off.unmount() == 0
    assert not list(off_dir.glob("*/read-cache"))
    on = mount_factory(server, "--cache-dir", str(on_dir))
    assert _read_all(on.path, files) == files
    refused = _cache_cli("--cache-dir", str(on_dir))
    assert refused.returncode == 1 and "in use by a running mount" in refused.stderr
    assert on.unmount() == 0
    assert _chunk_files(on_dir)
    done = _cache_cli("--cache-dir", str(on_dir))
    assert done.returncode == 0 and "cleared" in done.stdout, done.stderr
    assert _chunk_files(on_dir) == []
    assert os.listdir(on_dir)  # the account folder (and any spool) stays


@pytest.mark.server(api="v1", demo=False)
def test_a_v1_mount_which_writes_no_files_keeps_a_read_cache_too(server, files, mount_factory,
                                                                 tmp_path):
    cache_dir = tmp_path / "cache"
    first = mount_factory(server, "--cache-dir", str(cache_dir))
    assert _read_all(first.path, files) == files
    assert first.unmount() == 0
    server.reset_stats()
    again = mount_factory(server, "--cache-dir", str(cache_dir))
    assert _read_all(again.path, files) == files
    assert server.stats()["data_requests"] <= 1
