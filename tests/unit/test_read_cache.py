"""The read cache's store (putiofs.read.disk_cache) under a StreamReader: what is kept, what is
evicted first, what a torn or rotten chunk and a full disk do, and threads."""

from __future__ import annotations

import dataclasses
import errno
import os
import threading
from pathlib import Path

import pytest

from putiofs.api.backend import Entry
from putiofs.read import disk_cache
from putiofs.read.disk_cache import ReadCache
from putiofs.read.reader import StreamReader

MIB = 1024 * 1024


class Body:
    def __init__(self, data: bytes, start: int) -> None:
        self.data, self.pos, self.end = data, start, len(data)

    def readinto(self, view: memoryview) -> int:
        count = min(len(view), self.end - self.pos)
        view[:count] = self.data[self.pos:self.pos + count]
        self.pos += count
        return count

    def close(self, *, reuse: bool = True) -> None:
        pass


class Source:
    """Plain bytes as a RangeSource; counts its requests."""

    def __init__(self, data: bytes) -> None:
        self.data, self.requests = data, 0

    def open(self, start: int, end: int) -> Body:
        self.requests += 1
        return Body(self.data, start)

    def fetch(self, start: int, end: int) -> bytes:
        self.requests += 1
        return self.data[start:end]

    def forget_target(self) -> None:
        pass


def entry(item_id: str, data: bytes) -> Entry:
    return Entry(item_id, f"{item_id}.mkv", False, len(data), "0", crc32=f"{item_id:0>8}")


def read_through(cache: ReadCache, item: Entry, data: bytes, start: int = 0,
                 end: int | None = None) -> int:
    """Read [start, end) of ``item`` in 128 KiB requests; the source's request count."""
    source = Source(data)
    reader = StreamReader(source, len(data), cache=cache, key=item.contents_key)
    end = len(data) if end is None else end
    for offset in range(start, end, 128 * 1024):
        assert reader.read(offset, min(128 * 1024, end - offset)) == \
            data[offset:min(offset + 128 * 1024, end)]
    reader.close()
    assert cache.drain()
    return source.requests


@pytest.fixture
def account(tmp_path: Path) -> Path:
    return tmp_path / "account"


def test_a_second_read_and_a_reopened_cache_ask_the_source_nothing(account):
    data = os.urandom(5 * MIB + 99)
    item = entry("1", data)
    cache = ReadCache.open(account, 64 * MIB)
    assert read_through(cache, item, data) >= 1
    assert read_through(cache, item, data) == 0
    cache.close()
    reopened = ReadCache.open(account, 64 * MIB)
    assert reopened.holds(item)
    assert read_through(reopened, item, data) == 0
    assert reopened.stats()["hit_rate"] == 1.0
    changed = dataclasses.replace(item, crc32="ffffffff")
    assert not reopened.holds(changed)   # new contents: another key
    reopened.close()


def test_the_bound_evicts_the_least_recently_used_and_keeps_edges_longest(account):
    cache = ReadCache.open(account, 8 * MIB)
    first, second = os.urandom(6 * MIB), os.urandom(6 * MIB)
    read_through(cache, entry("1", first), first)
    read_through(cache, entry("2", second), second)
    stats = cache.stats()
    assert stats["size"] <= 8 * MIB
    # the first file's edges outlived its middle and the second file's middle came in
    assert read_through(cache, entry("1", first), first, 0, MIB) == 0
    assert read_through(cache, entry("1", first), first, 5 * MIB, 6 * MIB) == 0
    assert read_through(cache, entry("1", first), first, 2 * MIB, 3 * MIB) == 1
    cache.close()


def test_a_torn_or_rotten_chunk_is_dropped_and_read_again(account):
    data = os.urandom(3 * MIB)
    item = entry("1", data)
    cache = ReadCache.open(account, 64 * MIB)
    read_through(cache, item, data)
    cache.close()
    chunks = sorted((account / disk_cache.FOLDER / "data").iterdir())
    chunks[0].write_bytes(chunks[0].read_bytes()[:1000])            # torn
    rotten = bytearray(chunks[1].read_bytes())
    rotten[12345] ^= 1
    chunks[1].write_bytes(bytes(rotten))                           # a flipped bit
    reopened = ReadCache.open(account, 64 * MIB)
    assert read_through(reopened, item, data) >= 1   # bytes right, fetched again
    assert reopened.stats()["dropped_corrupt"] == 2
    assert read_through(reopened, item, data) == 0   # and kept again
    reopened.close()


def test_a_full_disk_shrinks_the_cache_and_reads_go_on(account, monkeypatch):
    cache = ReadCache.open(account, 64 * MIB)
    kept = os.urandom(4 * MIB)
    read_through(cache, entry("1", kept), kept)
    before = cache.stats()["size"]
    real_open = open

    def full(path, mode="r", *args, **kwargs):
        if str(path).endswith(".tmp"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", full)
    more = os.urandom(2 * MIB)
    assert read_through(cache, entry("2", more), more) >= 1   # no error to the reader
    stats = cache.stats()
    assert stats["limit"] <= before * 3 // 4 and stats["size"] <= stats["limit"]
    assert not list((account / disk_cache.FOLDER / "data").glob("*.tmp"))
    cache.close()


def test_the_spool_reserve_is_never_taken(account):
    cache = ReadCache(account / disk_cache.FOLDER, 64 * MIB, reserve=1 << 62)
    data = os.urandom(2 * MIB)
    read_through(cache, entry("1", data), data)
    assert cache.stats()["size"] == 0 and cache.stats()["skipped_bytes"] >= len(data)
    cache.close()


def test_size_zero_is_no_cache_and_a_held_cache_is_not_shared(account):
    assert ReadCache.open(account, 0) is None
    assert not (account / disk_cache.FOLDER).exists()
    held = ReadCache.open(account, MIB)
    assert ReadCache.open(account, MIB) is None   # another mount holds it
    with pytest.raises(disk_cache.CacheInUse):
        disk_cache.clear(account)
    held.close()
    assert disk_cache.clear(account) == 0


def test_threads_on_handles_of_one_file_read_right_bytes(account):
    data = os.urandom(4 * MIB + 7)
    item = entry("1", data)
    cache = ReadCache.open(account, 64 * MIB)
    failures: list[BaseException] = []

    def reader(seed: int) -> None:
        try:
            for _ in range(2):
                stream = StreamReader(Source(data), len(data), cache=cache, key=item.contents_key)
                for offset in range(seed * 4096, len(data), 300 * 1024):
                    assert stream.read(offset, 200_000) == data[offset:offset + 200_000]
                stream.close()
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert cache.drain()
    assert read_through(cache, item, data) <= 4
    cache.close()
