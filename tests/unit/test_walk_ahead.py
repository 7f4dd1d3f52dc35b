"""Read-ahead of folder walks (putiofs.tree.walk_ahead) through the account tree: a walk of N
folders lists each once and at most N + 2 calls in all, walked folders read ahead cost the walker no
call, a stopped walk stops the read-ahead, a failed read-ahead is never seen and poisons
nothing. The fetches run on a manual executor, so each test says exactly when they run."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from typing import Any

import pytest

from putiofs.api.backend import Entry
from putiofs.api.errors import ServerError, TransportError
from putiofs.front.account_view import AccountView
from putiofs.front.options import MountOptions
from putiofs.tree.cache import MetadataCache
from putiofs.tree.walk_ahead import MAX_AHEAD, WalkReadAhead
from tests.support.fake_backend import FakeBackend
from tests.support.fake_time import FakeTime

FOLDERS = 30


class ManualExecutor(Executor):
    """Queues what is submitted; ``run()`` runs it all (and what that submits)."""

    def __init__(self) -> None:
        self.queue: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        self.queue.append((fn, args))
        return Future()

    def run(self) -> None:
        while self.queue:
            fn, args = self.queue.pop(0)
            fn(*args)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if cancel_futures:
            self.queue.clear()


class CountingBackend(FakeBackend):
    """Counts listings per folder; ``failing[folder_id]`` makes that folder's listing fail."""

    def __init__(self) -> None:
        super().__init__()
        self.listed: Counter[str] = Counter()
        self.failing: dict[str, Exception] = {}

    def list_folder(self, folder_id: str) -> Iterator[Entry]:
        self.listed[folder_id] += 1
        if folder_id in self.failing:
            self.calls["list_folder"] += 1
            raise self.failing[folder_id]
        return super().list_folder(folder_id)


@pytest.fixture
def backend() -> CountingBackend:
    backend = CountingBackend()
    tree = backend.add("0", "tree")
    for i in range(FOLDERS):
        folder = backend.add(tree.id, f"d{i:02d}")
        for j in range(3):
            backend.add(folder.id, f"f{j}.txt", b"x" * j)
    return backend


def make_tree(backend: CountingBackend, clock: FakeTime, ttl: float = 30.0
              ) -> tuple[AccountView, ManualExecutor]:
    options = MountOptions(cache_ttl=ttl, read_ahead_folders=False)
    cache = MetadataCache(backend, ttl=ttl, clock=clock)
    tree = AccountView(backend, options, cache=cache)
    executor = ManualExecutor()
    tree.walks = WalkReadAhead(tree.cache, clock=clock, executor=executor)
    return tree, executor


def folder_id(backend: CountingBackend, name: str) -> str:
    return next(e.id for e in backend.items.values() if e.name == name)


def test_a_walk_lists_each_folder_once_and_ahead_of_the_walker(backend) -> None:
    clock = FakeTime()
    tree, executor = make_tree(backend, clock)
    assert len(tree.readdir("/tree")) == FOLDERS
    free = []  # folders whose listing cost the walker no call
    for i in range(FOLDERS):
        before = backend.calls["list_folder"]
        assert tree.readdir(f"/tree/d{i:02d}") == ["f0.txt", "f1.txt", "f2.txt"]
        if backend.calls["list_folder"] == before:
            free.append(i)
        executor.run()
        clock.now += 0.05
    assert backend.calls["list_folder"] == FOLDERS + 2  # root, /tree and each folder once
    assert set(backend.listed.values()) == {1}
    assert free == list(range(2, FOLDERS))  # all but the first two were read ahead


def test_a_warm_walk_makes_no_call(backend) -> None:
    clock = FakeTime()
    tree, executor = make_tree(backend, clock)
    for _ in range(2):
        before = backend.calls["list_folder"]
        tree.readdir("/tree")
        for i in range(FOLDERS):
            tree.readdir(f"/tree/d{i:02d}")
            executor.run()
            clock.now += 0.05
    assert backend.calls["list_folder"] == before


def test_a_stopped_walk_stops_the_read_ahead(backend) -> None:
    clock = FakeTime()
    tree, executor = make_tree(backend, clock)
    tree.readdir("/tree")
    for i in range(3):
        tree.readdir(f"/tree/d{i:02d}")
        clock.now += 0.05
    executor.run()
    calls = backend.calls["list_folder"]
    assert calls <= 2 + 3 + MAX_AHEAD
    # The walker stops; looking at the folders without listing them reads nothing ahead.
    for i in range(FOLDERS):
        tree.getattr(f"/tree/d{i:02d}")
    assert executor.queue == []
    executor.run()
    assert backend.calls["list_folder"] == calls


def test_looking_at_one_folder_reads_nothing_ahead(backend) -> None:
    clock = FakeTime()
    tree, executor = make_tree(backend, clock)
    tree.readdir("/tree")                  # ls -l /tree: a listing, then stat of each child
    for name in tree.readdir("/tree"):
        tree.getattr(f"/tree/{name}")
    tree.readdir("/tree/d07")              # one folder opened
    assert executor.queue == []
    assert backend.calls["list_folder"] == 3


def test_sibling_listings_slower_than_the_pace_are_no_walk(backend) -> None:
    clock = FakeTime()
    tree, executor = make_tree(backend, clock)
    walks = tree.walks
    assert walks is not None
    tree.readdir("/tree")
    for i in range(4):
        tree.readdir(f"/tree/d{i:02d}")
        clock.now += walks.pace + 0.5     # someone clicking through folders
    assert executor.queue == []


def test_a_walk_spends_at_most_the_budget_ahead(backend) -> None:
    clock = FakeTime()
    tree, executor = make_tree(backend, clock)
    tree.readdir("/tree")
    tree.readdir("/tree/d00")
    tree.readdir("/tree/d01")
    assert len(executor.queue) == MAX_AHEAD
    executor.run()
    tree.readdir("/tree/d01")              # the same folder again: no further step
    assert executor.queue == []
    tree.readdir("/tree/d02")              # one read-ahead used: room for one more
    assert len(executor.queue) == 1
    executor.run()
    # Unused read-aheads stop counting once they have expired (the TTL).
    clock.now += 31
    tree.readdir("/tree/d03")
    tree.readdir("/tree/d04")
    assert len(executor.queue) == MAX_AHEAD


def test_a_failed_read_ahead_is_not_seen_and_poisons_nothing(backend) -> None:
    clock = FakeTime()
    tree, executor = make_tree(backend, clock)
    tree.readdir("/tree")
    tree.readdir("/tree/d05")              # listed once: a last-known listing exists
    d05 = folder_id(backend, "d05")
    backend.add(d05, "new.txt", b"new")
    clock.now += 31                        # every listing has expired
    tree.readdir("/tree")
    backend.failing[d05] = TransportError("connection reset")
    backend.failing[folder_id(backend, "d06")] = ServerError("HTTP 500")
    tree.readdir("/tree/d03")
    tree.readdir("/tree/d04")              # a walk: d05 ... d12 read ahead; d05 and d06 fail
    executor.run()
    assert backend.listed[d05] == 2
    # Neither the stale listing re-armed nor an outage pause started: the walker asks again
    # and sees put.io as it is now.
    del backend.failing[d05]
    assert tree.readdir("/tree/d05") == ["f0.txt", "f1.txt", "f2.txt", "new.txt"]
    assert backend.listed[d05] == 3
    # Where put.io still fails, the walker sees its own call's error, as without read-ahead.
    with pytest.raises(ServerError):
        tree.readdir("/tree/d06")


def test_our_change_during_a_read_ahead_keeps_it_out_of_the_cache(backend) -> None:
    clock = FakeTime()
    tree, executor = make_tree(backend, clock)
    tree.readdir("/tree")
    tree.readdir("/tree/d00")
    tree.readdir("/tree/d01")
    d02 = folder_id(backend, "d02")
    made: list[Entry] = []
    real_list = backend.list_folder

    def list_with_a_change(folder: str) -> Iterator[Entry]:
        answer = list(real_list(folder))   # the answer leaves put.io ...
        if folder == d02 and not made:     # ... then our mkdir lands, before it is stored
            made.append(backend.make_folder(d02, "made"))
            tree.cache.added(made[0])
        return iter(answer)

    backend.list_folder = list_with_a_change  # type: ignore[method-assign]
    executor.run()
    assert tree.cache.cached_listing(d02) is None
    assert "made" in tree.readdir("/tree/d02")


def test_no_read_ahead_when_listings_expire_at_once(backend) -> None:
    tree = AccountView(backend, MountOptions(cache_ttl=0.1))
    assert tree.walks is None
    assert AccountView(backend, MountOptions(cache_ttl=30)).walks is not None


def test_the_threads_read_ahead_for_real(backend) -> None:
    tree = AccountView(backend, MountOptions(cache_ttl=30))
    try:
        tree.readdir("/tree")
        tree.readdir("/tree/d00")
        tree.readdir("/tree/d01")
        ahead = [folder_id(backend, f"d{i:02d}") for i in range(2, 2 + MAX_AHEAD)]
        for _ in range(1000):  # at most 10 s: each is one in-memory call
            if all(tree.cache.cached_listing(f) is not None for f in ahead):
                break
            time.sleep(0.01)
        for i in range(FOLDERS):
            tree.readdir(f"/tree/d{i:02d}")
        assert all(backend.listed[f] == 1 for f in ahead)
        assert backend.calls["list_folder"] <= FOLDERS + 2
    finally:
        tree.destroy()
