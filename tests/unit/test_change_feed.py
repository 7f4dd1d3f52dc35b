"""The change feed (putiofs.tree.changes): relistings diffed by item id, realtime events with
the place they left, the mount's own edits, and paths worked out for folders not held."""

from __future__ import annotations

from dataclasses import replace

from putiofs.api.backend import ROOT_ID, Entry
from putiofs.api.realtime import CREATED, DELETED, UPDATED, FileChange
from putiofs.tree.cache import MetadataCache
from putiofs.tree.changes import CHANGED, MOVED, Change, ChangeFeed
from putiofs.tree.live_updates import LiveUpdates
from tests.support.fake_backend import FakeBackend
from tests.support.fake_time import FakeTime


def setup():
    backend = FakeBackend()
    clock = FakeTime()
    cache = MetadataCache(backend, ttl=30.0, clock=clock.clock)
    feed = ChangeFeed(cache)
    told: list[Change] = []
    feed.attach(told.append)
    return backend, clock, cache, feed, told


def told_as(feed: ChangeFeed, told: list[Change], backend: FakeBackend) -> list[tuple]:
    resolved = feed.resolve(told, backend.lookup)
    told.clear()
    return [(c.event, c.path, c.old_path) for c in resolved]


def relist(cache: MetadataCache, clock: FakeTime, *folders: str) -> None:
    clock.now += 31
    for folder in folders:
        cache.listing(folder)


def test_the_first_listing_of_a_folder_tells_nothing_and_a_relisting_tells_what_differs():
    backend, clock, cache, feed, told = setup()
    movies = backend.add(ROOT_ID, "Movies")
    old = backend.add(movies.id, "old.mkv", b"1")
    kept = backend.add(movies.id, "kept.mkv", b"22")
    renamed = backend.add(movies.id, "draft.mkv", b"333")
    cache.listing(ROOT_ID)
    cache.listing(movies.id)
    assert told == []
    new = backend.add(movies.id, "new.mkv", b"4444")
    del backend.items[old.id]
    backend.items[kept.id] = replace(kept, size=5, crc32="deadbeef")
    backend.items[renamed.id] = replace(renamed, name="final.mkv")
    relist(cache, clock, ROOT_ID, movies.id)
    assert sorted(told_as(feed, told, backend)) == [
        ("changed", "/Movies/kept.mkv", None),
        ("created", "/Movies/new.mkv", None),
        ("deleted", "/Movies/old.mkv", None),
        ("moved", "/Movies/final.mkv", "/Movies/draft.mkv"),
    ]
    assert new.id
    relist(cache, clock, ROOT_ID, movies.id)
    assert told == []  # nothing changed since


def test_a_folder_whose_only_change_is_its_time_or_size_is_not_a_change():
    backend, clock, cache, feed, told = setup()
    shows = backend.add(ROOT_ID, "Shows")
    cache.listing(ROOT_ID)
    backend.items[shows.id] = replace(shows, size=10, mtime=1234.0)
    relist(cache, clock, ROOT_ID)
    assert told == []


def test_a_move_between_held_folders_is_moved_when_the_new_folder_is_listed_first():
    backend, clock, cache, feed, told = setup()
    inbox = backend.add(ROOT_ID, "Inbox")
    movies = backend.add(ROOT_ID, "Movies")
    film = backend.add(inbox.id, "film.mkv", b"x")
    for folder in (ROOT_ID, inbox.id, movies.id):
        cache.listing(folder)
    backend.items[film.id] = replace(film, parent_id=movies.id)
    relist(cache, clock, movies.id, inbox.id)
    assert told_as(feed, told, backend) == [("moved", "/Movies/film.mkv", "/Inbox/film.mkv")]


def test_changes_of_names_the_mount_hides_and_of_its_own_uploads_are_not_told():
    backend, clock, cache, feed, told = setup()
    feed.ignore_name = lambda name: name.startswith(".putiofs-replaced-")
    cache.listing(ROOT_ID)
    backend.add(ROOT_ID, ".putiofs-replaced-7", b"x")
    upload = backend.add(ROOT_ID, "upload.bin", b"y")
    with cache.quiet(ROOT_ID, ids=[upload.id]):
        relist(cache, clock, ROOT_ID)
    assert told == []


def test_without_a_sink_the_feed_does_nothing():
    backend = FakeBackend()
    cache = MetadataCache(backend)
    feed = ChangeFeed(cache)
    assert not feed.active and cache.listing_observers == []
    feed.own(CREATED, "/x")
    assert feed.places("1") == []


def test_events_tell_created_moved_changed_and_deleted_with_the_path_they_left():
    backend, clock, cache, feed, told = setup()
    docs = backend.add(ROOT_ID, "Docs")
    cache.listing(ROOT_ID)
    cache.listing(docs.id)
    updates = LiveUpdates(cache, changes=feed)
    new = Entry(id="900", name="a.mkv", is_dir=False, size=3, parent_id=ROOT_ID)
    updates.file_changed(FileChange(CREATED, new.id, new, ROOT_ID))
    updates.file_changed(FileChange(UPDATED, new.id, replace(new, name="b.mkv"), ROOT_ID))
    moved = replace(new, name="b.mkv", parent_id=docs.id)
    updates.file_changed(FileChange(UPDATED, new.id, moved, docs.id))
    updates.file_changed(FileChange(UPDATED, new.id, replace(moved, size=9), docs.id))
    updates.file_changed(FileChange(UPDATED, new.id, replace(moved, size=9), docs.id))
    updates.file_changed(FileChange(DELETED, new.id, replace(moved, size=9), docs.id))
    assert told_as(feed, told, backend) == [
        ("created", "/a.mkv", None),
        ("moved", "/b.mkv", "/a.mkv"),
        ("moved", "/Docs/b.mkv", "/b.mkv"),
        ("changed", "/Docs/b.mkv", None),
        ("deleted", "/Docs/b.mkv", None),
    ]
    # the relisting that confirms what the events did tells nothing more
    relist(cache, clock, ROOT_ID, docs.id)
    assert told == []


def test_an_event_in_a_folder_not_held_is_resolved_by_looking_its_folders_up():
    backend, clock, cache, feed, told = setup()
    movies = backend.add(ROOT_ID, "Movies")
    season = backend.add(movies.id, "Show/Season 1")  # a '/' in a name shows as '∕'
    updates = LiveUpdates(cache, changes=feed)
    episodes = [Entry(id=str(900 + n), name=f"e{n}.mkv", is_dir=False, size=1,
                      parent_id=season.id) for n in range(3)]
    for episode in episodes:
        updates.file_changed(FileChange(CREATED, episode.id, episode, season.id))
    assert [c.path for c in told] == [None, None, None]
    before = backend.calls["lookup"]
    assert told_as(feed, told, backend) == [
        ("created", f"/Movies/Show\u2215Season 1/e{n}.mkv", None) for n in range(3)]
    assert backend.calls["lookup"] - before == 2  # the two folders, once for the batch


def test_an_event_that_does_not_place_its_item_tells_nothing_but_its_relisting_does():
    backend, clock, cache, feed, told = setup()
    cache.listing(ROOT_ID)
    updates = LiveUpdates(cache, changes=feed)
    item = backend.add(ROOT_ID, "new.mkv", b"x")
    updates.file_changed(FileChange(CREATED, item.id, None, ROOT_ID))
    assert told == []
    cache.listing(ROOT_ID)  # the event expired the folder
    assert told_as(feed, told, backend) == [("created", "/new.mkv", None)]


def test_own_edits_are_told_as_given_and_a_landed_upload_once_put_io_has_it():
    backend, clock, cache, feed, told = setup()
    folder = backend.add(ROOT_ID, "Up")
    cache.listing(ROOT_ID)
    cache.listing(folder.id)
    feed.own(MOVED, "/Up/b", old_path="/Up/a")
    landed = backend.add(folder.id, "clip.mp4", b"data")
    cache.added(landed)
    feed.landed(landed, replaced=False)
    feed.landed(landed, replaced=True)
    assert told_as(feed, told, backend) == [
        ("moved", "/Up/b", "/Up/a"), ("created", "/Up/clip.mp4", None),
        (CHANGED, "/Up/clip.mp4", None)]


def test_a_torrent_of_500_files_relisted_is_500_changes_and_one_run_on_its_folder():
    from putiofs.hooks.batches import plan

    backend, clock, cache, feed, told = setup()
    torrent = backend.add(ROOT_ID, "Big Torrent")
    other = backend.add(ROOT_ID, "Other")
    kept = backend.add(other.id, "moved-in.rar", b"x")
    for folder in (ROOT_ID, torrent.id, other.id):
        cache.listing(folder)
    for n in range(500):
        backend.add(torrent.id, f"part{n:03}.rar", b"x")
    backend.items[kept.id] = replace(kept, parent_id=torrent.id)
    relist(cache, clock, torrent.id)
    changes = feed.resolve(told, backend.lookup)
    assert len(changes) == 501
    assert [c for c in changes if c.event == MOVED] == [
        Change(MOVED, "/Big Torrent/moved-in.rar", False, kept.id, "/Other/moved-in.rar",
               torrent.id, "moved-in.rar")]
    assert [(r.event, r.path, len(r.changes)) for r in plan(changes)] == [
        (CHANGED, "/Big Torrent", 501)]


def test_holders_of_finds_many_items_in_one_pass():
    backend, clock, cache, feed, told = setup()
    folder = backend.add(ROOT_ID, "F")
    a = backend.add(folder.id, "a", b"1")
    cache.listing(ROOT_ID)
    cache.listing(folder.id)
    found = cache.holders_of({a.id, folder.id, "nope"})
    assert found == {a.id: [(folder.id, a)], folder.id: [(ROOT_ID, folder)]}
    assert cache.holders_of({a.id}) == {a.id: cache.holders(a.id)}
