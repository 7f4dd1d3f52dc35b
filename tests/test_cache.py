import pytest

from putiofs.cache import MetadataCache, PathNotADirectory, PathNotFound
from putiofs.errors import NotFoundError, TransportError
from tests.fake_backend import FakeBackend


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def tree():
    backend = FakeBackend()
    a = backend.add("0", "a")
    b = backend.add(a.id, "b")
    c = backend.add(b.id, "c")
    backend.add(c.id, "deep.txt", b"deep")
    for i in range(5):
        backend.add(a.id, f"file{i}.txt", b"x" * i)
    return backend


def test_one_listing_answers_every_child_and_every_missing_name(tree):
    cache = MetadataCache(tree, ttl=30)
    for i in range(5):
        assert cache.resolve(f"/a/file{i}.txt").size == i
    for probe in (".hidden", "desktop.ini", ".DS_Store", "Thumbs.db", "autorun.inf"):
        with pytest.raises(PathNotFound):
            cache.resolve(f"/a/{probe}")
    assert tree.calls["list_folder"] == 2  # root and /a, once each
    assert tree.calls["lookup"] == 0


def test_deep_path_is_resolved_with_one_folder_map_call(tree):
    cache = MetadataCache(tree, ttl=30)
    assert cache.resolve("/a/b/c/deep.txt").size == 4
    assert tree.calls["folder_map"] == 1
    assert tree.calls["list_folder"] == 1  # only /a/b/c


def test_listings_expire_after_the_ttl(tree):
    clock = Clock()
    cache = MetadataCache(tree, ttl=10, clock=clock)
    cache.resolve("/a/file1.txt")
    tree.add(tree.items[cache.resolve("/a").id].id, "new.txt", b"n")
    with pytest.raises(PathNotFound):
        cache.resolve("/a/new.txt")
    clock.now += 11
    assert cache.resolve("/a/new.txt").size == 1


def test_a_stale_listing_is_served_when_the_api_is_down(tree):
    clock = Clock()
    cache = MetadataCache(tree, ttl=10, stale_ttl=60, clock=clock)
    cache.resolve("/a/file1.txt")
    tree.fail_with = TransportError("down")
    clock.now += 30
    assert cache.resolve("/a/file1.txt").size == 1
    clock.now += 100
    with pytest.raises(TransportError):
        cache.resolve("/a/file1.txt")


def test_a_file_in_the_middle_of_a_path_is_not_a_directory(tree):
    cache = MetadataCache(tree, ttl=30)
    with pytest.raises(PathNotADirectory):
        cache.resolve("/a/file1.txt/x")


def test_own_changes_are_applied_in_place_without_refetching(tree):
    cache = MetadataCache(tree, ttl=30)
    entry = cache.resolve("/a/file1.txt")
    calls = tree.calls["list_folder"]
    renamed = tree.rename(entry.id, "renamed.txt")
    cache.replaced(entry, renamed)
    assert cache.resolve("/a/renamed.txt").id == entry.id
    with pytest.raises(PathNotFound):
        cache.resolve("/a/file1.txt")
    b = cache.resolve("/a/b")
    moved = tree.move(entry.id, b.id)
    cache.replaced(renamed, moved)
    assert cache.resolve("/a/b/renamed.txt").id == entry.id
    assert tree.calls["list_folder"] == calls + 1  # only /a/b, listed for the first time


def test_a_removed_folder_forgets_its_subtree(tree):
    cache = MetadataCache(tree, ttl=30)
    cache.resolve("/a/b/c/deep.txt")
    b = cache.resolve("/a/b")
    tree.delete(b.id)
    cache.removed(b)
    with pytest.raises(PathNotFound):
        cache.resolve("/a/b/c/deep.txt")


def test_a_folder_gone_from_the_server_is_not_found(tree):
    cache = MetadataCache(tree, ttl=30)
    c = cache.resolve("/a/b/c")
    tree.delete(c.id)
    with pytest.raises(NotFoundError):
        cache.listing(c.id)


def test_a_listing_fetched_while_our_own_change_lands_does_not_undo_it(tree):
    cache = MetadataCache(tree, ttl=30)
    a = cache.resolve("/a")
    cache.forget_folder(a.id)
    original = tree.list_folder
    entry = next(e for e in tree.items.values() if e.name == "file1.txt")
    fetches = []

    def list_folder_racing_a_rename(folder_id):
        snapshot = list(original(folder_id))  # the server's answer, before the rename
        if not fetches:
            renamed = tree.rename(entry.id, "renamed.txt")
            cache.replaced(entry, renamed)  # our rename completes while the pages travel
        fetches.append(folder_id)
        return iter(snapshot)

    tree.list_folder = list_folder_racing_a_rename
    assert cache.listing(a.id).find("renamed.txt") is not None
    assert cache.resolve("/a/renamed.txt").id == entry.id
    assert len(fetches) == 2
