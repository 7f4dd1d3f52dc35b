"""Realtime changes applied to the cache (putiofs.tree.live_updates), on a fake clock: precise
edits, the TTL switch, the re-listing after a reconnect, and wrong events bounded by the TTL."""

from __future__ import annotations

from dataclasses import replace

from putiofs.api.backend import ROOT_ID, Entry
from putiofs.api.realtime import CREATED, DELETED, UPDATED, FileChange
from putiofs.tree.cache import MetadataCache
from putiofs.tree.live_updates import LiveUpdates
from tests.support.fake_backend import FakeBackend
from tests.support.fake_time import FakeTime


def setup(base_ttl: float = 30.0):
    backend = FakeBackend()
    clock = FakeTime()
    cache = MetadataCache(backend, ttl=base_ttl, clock=clock.clock)
    updates = LiveUpdates(cache, live_ttl=600.0)
    updates.live_changed(True)
    clock.sleep(0.001)
    return backend, clock, cache, updates


def names(cache: MetadataCache, folder_id: str = ROOT_ID) -> set[str]:
    return set(cache.listing(folder_id).by_name)


def test_created_renamed_moved_and_deleted_items_are_edited_in_without_a_listing():
    backend, clock, cache, updates = setup()
    docs = backend.add(ROOT_ID, "Docs")
    assert names(cache) == {"Docs"} and names(cache, docs.id) == set()
    calls = backend.calls["list_folder"]
    new = Entry(id="900", name="a.txt", is_dir=False, size=3, parent_id=ROOT_ID)
    updates.file_changed(FileChange(CREATED, new.id, new, ROOT_ID))
    assert names(cache) == {"Docs", "a.txt"}
    updates.file_changed(FileChange(UPDATED, new.id, replace(new, name="b.txt"), ROOT_ID))
    assert names(cache) == {"Docs", "b.txt"}
    moved = replace(new, name="b.txt", parent_id=docs.id)
    updates.file_changed(FileChange(UPDATED, new.id, moved, docs.id))
    assert names(cache) == {"Docs"} and names(cache, docs.id) == {"b.txt"}
    updates.file_changed(FileChange(DELETED, new.id, moved, docs.id))
    updates.file_changed(FileChange(DELETED, new.id, moved, docs.id))  # a duplicate: no harm
    assert names(cache, docs.id) == set()
    assert backend.calls["list_folder"] == calls


def test_listings_live_600_s_while_live_and_30_s_once_the_feed_is_down():
    backend, clock, cache, updates = setup()
    names(cache)
    clock.sleep(100)
    names(cache)
    assert backend.calls["list_folder"] == 1
    updates.live_changed(False)
    names(cache)
    assert backend.calls["list_folder"] == 2  # 100 s old: beyond the normal 30 s


def test_a_reconnect_lists_every_held_folder_anew_at_its_next_use():
    backend, clock, cache, updates = setup()
    names(cache)
    updates.live_changed(False)
    backend.add(ROOT_ID, "made while away")
    clock.sleep(1)
    updates.live_changed(True)
    assert "made while away" in names(cache)


def test_a_wrong_event_shows_or_hides_a_file_no_longer_than_the_normal_ttl():
    backend, clock, cache, updates = setup()
    real = backend.add(ROOT_ID, "real", b"x")
    names(cache)
    ghost = Entry(id="901", name="ghost", is_dir=False, size=1, parent_id=ROOT_ID)
    updates.file_changed(FileChange(CREATED, ghost.id, ghost, ROOT_ID))
    assert "ghost" in names(cache)
    clock.sleep(31)
    assert "ghost" not in names(cache)
    updates.file_changed(FileChange(DELETED, real.id, real, ROOT_ID))  # wrong: it exists
    assert "real" not in names(cache)
    clock.sleep(31)
    assert "real" in names(cache)


def test_an_event_without_a_name_lists_the_folder_anew():
    backend, clock, cache, updates = setup()
    item = backend.add(ROOT_ID, "old", b"x")
    names(cache)
    backend.items[item.id] = replace(item, name="new")
    updates.file_changed(FileChange(UPDATED, item.id, None, None))
    assert names(cache) == {"new"}


def test_events_about_a_folder_where_our_upload_lands_do_not_undo_our_own_edits():
    """put.io reports our upload's own steps (created under its upload name, then renamed):
    applied after the mount's own edit, the first would show the old name again."""
    backend, clock, cache, updates = setup()
    names(cache)
    uploaded = Entry(id="901", name="other.txt", is_dir=False, size=5, parent_id=ROOT_ID)
    with cache.quiet(ROOT_ID, ["other.txt"]) as own:
        own.add(uploaded.id)
        cache.added(replace(uploaded, name="p.txt"))  # the landing renamed it
        updates.file_changed(FileChange(CREATED, uploaded.id, uploaded, ROOT_ID))
        assert names(cache) == {"p.txt"}
    clock.sleep(1)
    updates.file_changed(FileChange(CREATED, uploaded.id, uploaded, ROOT_ID))  # late, in grace
    assert names(cache) == {"p.txt"}
    calls = backend.calls["list_folder"]
    clock.sleep(30)  # a skipped event is confirmed by a listing within the normal TTL
    backend.add(ROOT_ID, "elsewhere.txt")
    assert "elsewhere.txt" in names(cache)
    assert backend.calls["list_folder"] == calls + 1
    clock.sleep(5)  # quiet is over: events apply again
    later = Entry(id="902", name="new.txt", is_dir=False, size=1, parent_id=ROOT_ID)
    updates.file_changed(FileChange(CREATED, later.id, later, ROOT_ID))
    assert "new.txt" in names(cache)


def test_only_our_uploads_own_events_are_set_aside_not_the_folders():
    """While our upload lands in a folder, another client's changes there apply at once; only
    the events about the upload's name and the ids it touches wait for the next listing."""
    backend, clock, cache, updates = setup()
    replaced = backend.add(ROOT_ID, "mine.txt", b"old")
    names(cache)
    with cache.quiet(ROOT_ID, ["mine.txt"], [replaced.id]) as own:
        created = Entry(id="901", name="mine.txt", is_dir=False, size=3, parent_id=ROOT_ID)
        updates.file_changed(FileChange(CREATED, created.id, created, ROOT_ID))  # by name
        own.add(created.id)
        updates.file_changed(FileChange(UPDATED, created.id, replace(created, name="x"),
                                        ROOT_ID))  # by id
        updates.file_changed(FileChange(DELETED, replaced.id, replaced, ROOT_ID))  # by id
        assert names(cache) == {"mine.txt"}
        other = Entry(id="902", name="other.txt", is_dir=False, size=1, parent_id=ROOT_ID)
        updates.file_changed(FileChange(CREATED, other.id, other, ROOT_ID))
        assert names(cache) == {"mine.txt", "other.txt"}
        updates.file_changed(FileChange(DELETED, other.id, other, ROOT_ID))
        assert names(cache) == {"mine.txt"}
