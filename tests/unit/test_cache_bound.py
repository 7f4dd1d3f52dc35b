"""The metadata cache's size bound: listings of at most ``max_entries`` items in all, least
recently used out first; a folder larger than the bound still cached, alone; nothing kept per
folder once its fetch is over; ``--cache-entries`` checked."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from putiofs.tree.cache import MetadataCache
from tests.support.fake_backend import FakeBackend


def folders_of(backend: FakeBackend, count: int, files: int) -> list[str]:
    ids = []
    for i in range(count):
        folder = backend.add("0", f"f{i}")
        for j in range(files):
            backend.add(folder.id, f"{j}.txt", b"x")
        ids.append(folder.id)
    return ids


def test_the_least_recently_used_listing_goes_when_the_items_exceed_the_bound() -> None:
    backend = FakeBackend()
    a, b, c = folders_of(backend, 3, 4)   # each listing counts 4 items + 1
    cache = MetadataCache(backend, ttl=300, max_entries=12)
    cache.listing(a)
    cache.listing(b)
    cache.listing(a)                      # a used last: b is the least recently used
    cache.listing(c)                      # 15 > 12: b goes
    assert backend.calls["list_folder"] == 3
    assert [cache.cached_listing(f) is not None for f in (a, b, c)] == [True, False, True]
    assert len(cache.listing(b)) == 4     # listed again: one more call
    assert backend.calls["list_folder"] == 4


def test_a_folder_larger_than_the_bound_is_still_cached_alone() -> None:
    backend = FakeBackend()
    small, big = folders_of(backend, 1, 2)[0], folders_of(backend, 1, 50)[0]
    cache = MetadataCache(backend, ttl=300, max_entries=10)
    cache.listing(small)
    for _ in range(3):
        assert len(cache.listing(big)) == 50
    assert backend.calls["list_folder"] == 2  # the big one once: every stat in it is free
    assert cache.cached_listing(small) is None


def test_nothing_is_kept_per_folder_once_its_fetch_is_over() -> None:
    backend = FakeBackend()
    ids = folders_of(backend, 40, 1)
    cache = MetadataCache(backend, ttl=300, max_entries=10)
    threads = [threading.Thread(target=cache.listing, args=(folder,))
               for folder in ids for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert backend.calls["list_folder"] <= 2 * len(ids)
    assert cache._flights == {}           # no lock or counter left behind per folder
    assert sum(cache.cached_listing(f) is not None for f in ids) == 5  # 2 per listing, 10 max


def test_cache_entries_below_one_is_a_clear_error(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUTIO_")}
    env.update(PUTIO_API="v2", PUTIO_TOKEN="a-token-for-nothing",
               PUTIO_API_URL="http://127.0.0.1:9/v2", XDG_CONFIG_HOME=str(tmp_path / "config"))
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    done = subprocess.run([sys.executable, "-m", "putiofs", "mount", str(mountpoint), "-f",
                           "--cache-entries", "0"], capture_output=True, text=True, timeout=60,
                          env=env)
    assert done.returncode != 0
    assert done.stderr.strip() == "putiofs: error: --cache-entries must be at least 1"
