"""MetadataCache.listing_observers: told of every stored listing, with the one it replaced."""

from __future__ import annotations

from putiofs.tree.cache import MetadataCache
from putiofs.tree.listing import Listing
from tests.support.fake_backend import FakeBackend


def test_observers_see_each_fetch_and_the_listing_it_replaced() -> None:
    backend = FakeBackend()
    now = [0.0]
    cache = MetadataCache(backend, ttl=10.0, clock=lambda: now[0])
    seen: list[tuple[set[str], set[str] | None]] = []

    def observer(listing: Listing, previous: Listing | None) -> None:
        seen.append((set(listing.by_name), None if previous is None else set(previous.by_name)))

    cache.listing_observers.append(observer)
    backend.add("0", "a", b"x")
    cache.listing("0")
    cache.listing("0")  # fresh: no fetch, nothing to tell
    now[0] = 11.0
    backend.add("0", "b", b"y")
    cache.listing("0")
    assert seen == [({"a"}, None), ({"a", "b"}, {"a"})]


def test_a_failing_observer_does_not_fail_the_listing(caplog) -> None:
    backend = FakeBackend()
    backend.add("0", "a", b"x")
    cache = MetadataCache(backend)
    told: list[str] = []

    def broken(listing: Listing, previous: Listing | None) -> None:
        raise RuntimeError("observer bug")

    cache.listing_observers.extend([broken, lambda listing, previous: told.append("ok")])
    assert set(cache.listing("0").by_name) == {"a"}
    assert told == ["ok"]
    assert "observer of folder 0" in caplog.text
