"""How the API commands resolve mount-style paths: the names the mount shows, one error line
for a path that does not resolve, one listing per folder for a whole command."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from putiofs.commands.base import CommandError
from putiofs.commands.paths import path_cache, path_errors, resolve, resolve_shown, shown_name
from putiofs.tree import names
from tests.support.fake_backend import FakeBackend


@pytest.fixture
def backend() -> FakeBackend:
    backend = FakeBackend()
    movies = backend.add("0", "Movies")
    backend.add(movies.id, "a/b.mkv", b"x")
    backend.add(movies.id, "twin", b"1")
    backend.add(movies.id, "twin", b"2")
    backend.add("0", "notes.txt", b"n")
    return backend


def cache_of(backend: FakeBackend):
    return path_cache(SimpleNamespace(backend=backend))  # type: ignore[arg-type]


def test_names_are_the_mounts_and_each_folder_is_listed_once(backend):
    cache = cache_of(backend)
    assert resolve_shown(cache, "/")[0] == "/"
    shown, entry = resolve_shown(cache, "/Movies/a∕b.mkv")
    assert (shown, entry.name) == ("a∕b.mkv", "a/b.mkv")
    twins = sorted(name for name in cache.listing(entry.parent_id).by_name if "twin" in name)
    assert len(twins) == 2
    for name in twins:
        assert resolve_shown(cache, f"/Movies/{name}")[0] == name
    assert resolve(cache, "/notes.txt").name == "notes.txt"
    assert backend.calls["list_folder"] == 2   # the root and /Movies, once each


def test_shown_name_falls_back_when_the_folder_does_not_list_the_item(backend):
    cache = cache_of(backend)
    notes = resolve(cache, "/notes.txt")
    movies = resolve(cache, "/Movies")
    assert shown_name(cache, "0", notes, "x") == "notes.txt"
    assert shown_name(cache, movies.id, notes, "fallback") == "fallback"


@pytest.mark.parametrize(("path", "why"), [
    ("/Movies/nothing", "no such file or folder"),
    ("/notes.txt/inside", "a component of the path is not a folder"),
    ("/" + "n" * (names.NAME_MAX + 1), f"a name in the path is longer than {names.NAME_MAX} bytes"),
])
def test_a_path_that_does_not_resolve_is_one_line(backend, path, why):
    cache = cache_of(backend)
    for lookup in (resolve, resolve_shown):
        with pytest.raises(CommandError) as excinfo:
            lookup(cache, path)
        assert str(excinfo.value) == f"{path}: {why}"


def test_path_errors_words_the_line_as_asked(backend):
    cache = cache_of(backend)
    with (pytest.raises(CommandError, match=r"^--to /nope: no such folder$"),
          path_errors("--to /nope", missing="no such folder")):
        cache.resolve("/nope")
