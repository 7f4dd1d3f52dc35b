"""Subtitle sidecars without a mount: their names (language, numbering, real files winning,
put.io's "folder" subtitles left out), what they cost (one ``/subtitles`` call per video and
version, however many listings), the texts' memory bound, and the front's answers."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import replace

import pytest

from putiofs.api.backend import Capabilities, Entry, Subtitle
from putiofs.api.errors import ServerError, TransportError
from putiofs.front.operations import build_operations
from putiofs.subtitles.naming import sidecar_names, stem_of
from putiofs.subtitles.sidecars import Sidecars
from putiofs.tree.cache import MetadataCache
from tests.support.errnos import errno_of
from tests.support.fake_backend import FakeBackend
from tests.support.polling import wait_for

ENG = Subtitle("k-eng", "eng", "English", source="opensubtitles")
ENG2 = Subtitle("k-eng-2", "ENG", "English", source="opensubtitles")
FRE = Subtitle("k-fre", "fre", "French", source="opensubtitles")
NONE = Subtitle("k-none", None, source="mkv")
BESIDE = Subtitle("k-folder", "en", "English", source="folder")


def names(video: str, subtitles: list[Subtitle], taken: set[str] = frozenset()) -> list[str]:
    return [name for name, _ in sidecar_names(video, subtitles, taken.__contains__)]


def test_a_sidecar_is_the_stem_and_the_language_code_with_a_number_for_the_next_ones() -> None:
    assert names("Movie (2020).mkv", [ENG, FRE, ENG2, NONE, BESIDE]) == [
        "Movie (2020).eng.srt", "Movie (2020).fre.srt", "Movie (2020).eng.2.srt",
        "Movie (2020).srt"]
    assert names("Movie", [Subtitle("k", "../x"), Subtitle("k2", "")]) == [
        "Movie.srt", "Movie.2.srt"]  # no plain code: the default subtitle's name
    assert stem_of("a.b.mp4") == "a.b" and stem_of(".hidden") == ".hidden"


def test_a_taken_name_is_not_given_and_the_others_keep_theirs() -> None:
    assert names("M.mp4", [ENG, ENG2, FRE], {"M.eng.srt"}) == ["M.eng.2.srt", "M.fre.srt"]


class SubtitleBackend(FakeBackend):
    """FakeBackend with put.io's subtitles: ``found[item id]`` and each key's text."""

    capabilities = Capabilities(folder_map=True, subtitles=True)

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, list[Subtitle]] = {}
        self.texts: dict[str, bytes] = {}
        self.fail_subtitles: Exception | None = None

    def subtitles(self, item_id: str) -> list[Subtitle]:
        self.calls["subtitles"] += 1
        if self.fail_subtitles is not None:
            raise self.fail_subtitles
        return list(self.found.get(item_id, []))

    def subtitle_text(self, item_id: str, key: str, max_bytes: int) -> bytes:
        self.calls["subtitle_text"] += 1
        return self.texts[key]

    def video(self, parent_id: str, name: str, subtitles: list[Subtitle]) -> Entry:
        entry = replace(self.add(parent_id, name, b"\0" * 100), type="video", crc32="0000abcd")
        self.items[entry.id] = entry
        self.found[entry.id] = subtitles
        return entry


@pytest.fixture
def backend() -> SubtitleBackend:
    backend = SubtitleBackend()
    backend.texts.update({"k-eng": b"1\n00:00:01,000 --> 00:00:02,000\nHello\n",
                          "k-fre": b"1\n00:00:01,000 --> 00:00:02,000\nBonjour\n",
                          "k-folder": b"never fetched"})
    return backend


@contextlib.contextmanager
def watching(backend: SubtitleBackend) -> Iterator[tuple[MetadataCache, Sidecars]]:
    """A cache whose every listing fetches anew, observed by running sidecars."""
    cache = MetadataCache(backend, ttl=0.0)
    sidecars = Sidecars(cache, backend)
    cache.listing_observers.append(sidecars.listed)
    sidecars.start()
    try:
        yield cache, sidecars
    finally:
        sidecars.stop()


def learnt(sidecars: Sidecars, backend: SubtitleBackend, asked: int) -> None:
    wait_for(lambda: sidecars.idle() and sidecars.counts["asked"] >= asked,
             fail="the subtitles were not learnt")


def test_many_listings_cost_one_subtitles_call_per_video_and_version(backend) -> None:
    movies = backend.add("0", "Movies")
    first = backend.video(movies.id, "A.mkv", [ENG, BESIDE])
    backend.video(movies.id, "B.mp4", [])
    backend.add(movies.id, "notes.txt", b"not a video")
    with watching(backend) as (cache, sidecars):
        cache.listing(movies.id)
        learnt(sidecars, backend, 2)
        for _ in range(5):
            cache.listing(movies.id)
        learnt(sidecars, backend, 2)
        assert backend.calls["list_folder"] == 6
        assert backend.calls["subtitles"] == 2      # A and B once each, B's empty answer too
        assert backend.calls["subtitle_text"] == 1  # the "folder" one is the real file's
        assert list(sidecars.in_folder(movies.id)) == ["A.eng.srt"]
        backend.items[first.id] = replace(first, crc32="ffff0000", size=101)  # replaced
        cache.listing(movies.id)
        learnt(sidecars, backend, 3)
        cache.listing(movies.id)
        learnt(sidecars, backend, 3)
        assert backend.calls["subtitles"] == 3


def test_a_failed_call_is_not_retried_at_every_listing(backend) -> None:
    movies = backend.add("0", "Movies")
    backend.video(movies.id, "A.mkv", [ENG])
    backend.fail_subtitles = TransportError("no answer")
    with watching(backend) as (cache, sidecars):
        cache.listing(movies.id)
        learnt(sidecars, backend, 1)
        for _ in range(3):
            cache.listing(movies.id)
        learnt(sidecars, backend, 1)
    assert backend.calls["subtitles"] == 1
    assert sidecars.in_folder(movies.id) == {}


def test_real_names_and_other_videos_sidecars_win(backend) -> None:
    movies = backend.add("0", "Movies")
    a_mkv = backend.video(movies.id, "A.mkv", [ENG, FRE])
    a_mp4 = backend.video(movies.id, "A.mp4", [ENG, FRE])
    backend.add(movies.id, "A.fre.srt", b"a real file")
    cache = MetadataCache(backend)
    sidecars = Sidecars(cache, backend)
    listing = cache.listing(movies.id)
    sidecars.do_folder(movies.id, [a_mkv, a_mp4])
    shown = sidecars.in_folder(movies.id)
    assert sorted(shown) == ["A.eng.srt"]  # A.mkv's (first by name); A.fre.srt is real
    assert shown["A.eng.srt"].video.id == a_mkv.id
    assert set(shown).isdisjoint(listing.by_name)


def test_a_text_pushed_out_of_memory_is_fetched_again_and_checked(backend) -> None:
    movies = backend.add("0", "Movies")
    video = backend.video(movies.id, "A.mkv", [ENG, FRE])
    cache = MetadataCache(backend)
    sidecars = Sidecars(cache, backend, text_budget=60)  # room for one text at a time
    cache.listing(movies.id)
    sidecars.do_folder(movies.id, [video])
    shown = sidecars.in_folder(movies.id)
    assert sidecars.text(shown["A.eng.srt"]) == backend.texts["k-eng"]
    assert backend.calls["subtitle_text"] == 3  # pushed out by the French one: fetched again
    backend.texts["k-fre"] = b"other bytes"
    with pytest.raises(ServerError):
        sidecars.text(shown["A.fre.srt"])  # not of the size shown: never served


def test_the_front_shows_them_read_only_and_a_real_file_still_wins(backend) -> None:
    movies = backend.add("0", "Movies")
    video = backend.video(movies.id, "A.mkv", [ENG, FRE])
    backend.add(movies.id, "A.fre.srt", b"mine")
    operations = build_operations(backend)
    sidecars = Sidecars(operations.tree.cache, backend)
    operations.sidecars.attach(sidecars)
    assert operations.readdir("/Movies") == [".", "..", "A.fre.srt", "A.mkv"]
    sidecars.do_folder(movies.id, [video])
    assert operations.readdir("/Movies") == [".", "..", "A.eng.srt", "A.fre.srt", "A.mkv"]
    calls = dict(backend.calls)
    shown = operations.getattr("/Movies/A.eng.srt")
    assert backend.calls == calls  # no API call in getattr
    assert stat.S_IMODE(shown["st_mode"]) == 0o444 and stat.S_ISREG(shown["st_mode"])
    assert shown["st_size"] == len(backend.texts["k-eng"])
    assert shown["st_ino"] != operations.getattr("/Movies/A.mkv")["st_ino"]
    fh = operations.open("/Movies/A.eng.srt", os.O_RDONLY)
    assert operations.read("/Movies/A.eng.srt", 4096, 0, fh) == backend.texts["k-eng"]
    assert operations.read("/Movies/A.eng.srt", 5, 2, fh) == backend.texts["k-eng"][2:7]
    operations.release("/Movies/A.eng.srt", fh)
    assert errno_of(operations.open, "/Movies/A.eng.srt", os.O_WRONLY) == errno.EACCES
    assert errno_of(operations.unlink, "/Movies/A.eng.srt") == errno.EACCES
    assert errno_of(operations.rename, "/Movies/A.eng.srt", "/Movies/B.srt") == errno.EACCES
    assert errno_of(operations.truncate, "/Movies/A.eng.srt", 0) == errno.EACCES
    assert errno_of(operations.chmod, "/Movies/A.eng.srt", 0o644) == errno.EACCES
    assert errno_of(operations.access, "/Movies/A.eng.srt", os.W_OK) == errno.EACCES
    assert operations.access("/Movies/A.eng.srt", os.R_OK) == 0
    assert operations.listxattr("/Movies/A.eng.srt") == []
    real = operations.getattr("/Movies/A.fre.srt")  # the real file, not the sidecar
    assert real["st_size"] == len(b"mine") and stat.S_IMODE(real["st_mode"]) != 0o444
    assert errno_of(operations.getattr, "/Movies/A.deu.srt") == errno.ENOENT
