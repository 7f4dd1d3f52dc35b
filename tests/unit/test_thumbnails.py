"""--thumbnails without a mount: the URI and MD5 naming file managers look thumbnails up by
(checked against GLib itself where it is installed), the PNG's keys as Pillow reads them back,
sizes, and a current thumbnail left alone."""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import io
import logging
import os
import stat
import threading
from dataclasses import replace
from pathlib import Path

import pytest
import requests
from PIL import Image

from putiofs.thumbnails import image, naming
from putiofs.thumbnails.writer import Thumbnails, owner_of
from putiofs.tree.cache import MetadataCache
from tests.support.fake_backend import FakeBackend
from tests.support.polling import wait_for

NAMES = {
    "/mnt/putio/a b.mp4": "file:///mnt/putio/a%20b.mp4",
    "/mnt/putio/Café 東京.mkv": "file:///mnt/putio/Caf%C3%A9%20%E6%9D%B1%E4%BA%AC.mkv",
    "/mnt/putio/#1 100% done?.mp4": "file:///mnt/putio/%231%20100%25%20done%3F.mp4",
    "/m/!$&'()*+,-.:=@_~[x]{y}^`|\\;<>\".avi":
        "file:///m/!$&'()*+,-.:=@_~%5Bx%5D%7By%7D%5E%60%7C%5C%3B%3C%3E%22.avi",
    "/m/tab\there": "file:///m/tab%09here",
}


@pytest.mark.parametrize("path", sorted(NAMES))
def test_the_uri_is_glibs_and_the_name_its_md5(path: str) -> None:
    uri = naming.file_uri(path)
    assert uri == NAMES[path]
    assert naming.thumbnail_name(uri) == hashlib.md5(uri.encode()).hexdigest() + ".png"
    assert naming.thumbnail_path(Path("/t"), "large", uri) == \
        Path("/t/large", hashlib.md5(uri.encode()).hexdigest() + ".png")


def _glib():
    found = ctypes.util.find_library("glib-2.0")
    if found is None:
        pytest.skip("GLib is not installed here")
    glib = ctypes.CDLL(found)
    glib.g_filename_to_uri.restype = ctypes.c_void_p
    glib.g_filename_to_uri.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p]
    glib.g_free.argtypes = [ctypes.c_void_p]
    return glib


def test_every_byte_is_escaped_as_glib_escapes_it() -> None:
    glib = _glib()
    paths = [*NAMES, "/x/" + bytes(range(1, 128)).replace(b"/", b"").decode(),
             "/x/\udcff\udcfe not utf-8"]
    for path in paths:
        made = glib.g_filename_to_uri(path.encode("utf-8", "surrogateescape"), None, None)
        try:
            assert naming.file_uri(path) == ctypes.string_at(made).decode("ascii"), path
        finally:
            glib.g_free(made)


def test_the_root_is_xdg_cache_home_when_absolute() -> None:
    assert naming.default_root({"XDG_CACHE_HOME": "/c"}) == Path("/c/thumbnails")
    assert naming.default_root({"XDG_CACHE_HOME": "relative"}) == \
        Path.home() / ".cache" / "thumbnails"


def _jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


ORIGINAL = image.Original("file:///m/a%20b.mp4", 1700000000, 123456)


@pytest.mark.parametrize(("source", "largest", "expected"), [
    ((320, 240), 128, (128, 96)), ((320, 240), 256, (256, 192)),
    ((96, 72), 256, (96, 72)),      # never larger than the screenshot
    ((240, 320), 128, (96, 128)),
])
def test_the_png_keeps_the_aspect_and_carries_the_keys(source, largest, expected) -> None:
    data = image.render(_jpeg(*source), ORIGINAL, largest)
    with Image.open(io.BytesIO(data)) as png:
        assert png.format == "PNG" and png.size == expected
        assert {key: png.info[key] for key in ("Thumb::URI", "Thumb::MTime", "Thumb::Size",
                                               "Software")} == {
            "Thumb::URI": ORIGINAL.uri, "Thumb::MTime": "1700000000",
            "Thumb::Size": "123456", "Software": "putiofs"}


def test_bytes_that_are_no_image_are_refused() -> None:
    with pytest.raises((OSError, ValueError)):
        image.render(b"<html>not found</html>", ORIGINAL, 128)


def test_a_thumbnail_is_current_while_its_uri_and_mtime_match(tmp_path: Path) -> None:
    target = tmp_path / "t.png"
    assert not image.is_current(target, ORIGINAL)
    image.write_atomically(target, image.render(_jpeg(64, 48), ORIGINAL, 128))
    assert image.is_current(target, ORIGINAL)
    assert image.is_current(target, replace(ORIGINAL, size=1))  # Size is not compared
    assert not image.is_current(target, replace(ORIGINAL, mtime=1700000001))
    assert not image.is_current(target, replace(ORIGINAL, uri="file:///m/other.mp4"))
    target.write_bytes(b"\x89PNG torn")
    assert not image.is_current(target, ORIGINAL)
    assert [p.name for p in tmp_path.iterdir()] == ["t.png"]  # no temporary left


class Session:
    """The pooled session's ``get``: a JPEG per screenshot URL, counted; ``fail`` raises."""

    def __init__(self) -> None:
        self.gets: list[str] = []
        self.fail: Exception | None = None
        self.lock = threading.Lock()

    def get(self, url: str, timeout: object = None) -> requests.Response:
        with self.lock:
            self.gets.append(url)
        if self.fail is not None:
            raise self.fail
        response = requests.Response()
        response.status_code = 200
        response._content = _jpeg(320, 240)
        return response


def _account():
    backend = FakeBackend()
    movies = backend.add("0", "Movies")
    clips = backend.add(movies.id, "Clips #1")
    for name in ("a.mp4", "b.mkv"):
        entry = backend.add(clips.id, name, b"v" * 10)
        backend.items[entry.id] = replace(entry, type="video", mtime=1700000000.0,
                                          screenshot_url=f"https://img/{entry.id}.jpg")
    backend.add(clips.id, "notes.txt", b"text")
    return backend, movies, clips


def _thumbnails(backend, tmp_path: Path, session: Session, **kwargs):
    cache = MetadataCache(backend, ttl=0.0)
    writer = Thumbnails(cache, session, Path("/mnt/put io"), lambda entry: int(entry.mtime),
                        root=tmp_path / "thumbnails", workers=1, **kwargs)
    cache.listing_observers.append(writer.listed)
    writer.start()
    return cache, writer


def _settled(writer: Thumbnails, total: int):
    return lambda: writer.idle() and sum(writer.counts.values()) >= total


def test_listing_writes_both_sizes_once_and_leaves_current_ones_alone(tmp_path) -> None:
    backend, movies, clips = _account()
    session = Session()
    cache, writer = _thumbnails(backend, tmp_path, session)
    try:
        cache.listing("0")
        cache.listing(movies.id)
        cache.listing(clips.id)
        wait_for(_settled(writer, 2), fail="the thumbnails were not written")
        uri = "file:///mnt/put%20io/Movies/Clips%20%231/a.mp4"
        for size in ("normal", "large"):
            written = tmp_path / "thumbnails" / size / naming.thumbnail_name(uri)
            assert image.is_current(written, image.Original(uri, 1700000000, 10))
        assert len(session.gets) == 2 and writer.counts["written"] == 2
        cache.listing(clips.id)  # listed again: the same entries, nothing to do
        writer2_cache, writer2 = _thumbnails(backend, tmp_path, session)  # a new mount
        writer2_cache.listing("0")
        writer2_cache.listing(movies.id)
        writer2_cache.listing(clips.id)
        wait_for(_settled(writer2, 2), fail="the second mount did not look")
        writer2.stop()
        assert writer2.counts == {"written": 0, "current": 2, "failed": 0}
        assert len(session.gets) == 2  # current thumbnails: no screenshot fetched again
    finally:
        writer.stop()


def test_a_failed_fetch_is_logged_once_without_url_or_traceback(tmp_path, caplog) -> None:
    backend, movies, clips = _account()
    session = Session()
    session.fail = requests.ConnectionError("refused by https://img/secret")
    cache, writer = _thumbnails(backend, tmp_path, session)
    caplog.set_level(logging.DEBUG, logger="putiofs.thumbnails")
    try:
        for folder in ("0", movies.id, clips.id):
            cache.listing(folder)
        wait_for(_settled(writer, 2), fail="the failures were not counted")
    finally:
        writer.stop()
    infos = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert len(infos) == 1 and "ConnectionError" in infos[0].getMessage()
    assert not any("img/" in r.getMessage() or r.exc_info for r in caplog.records)
    assert not (tmp_path / "thumbnails" / "normal").exists() or \
        not list((tmp_path / "thumbnails" / "normal").iterdir())


def test_the_folder_path_follows_the_held_listings_as_shown() -> None:
    backend, movies, clips = _account()
    cache = MetadataCache(backend)
    assert cache.path_of(clips.id) is None  # nothing held yet: no API call made
    assert backend.calls["list_folder"] == 0
    for folder in ("0", movies.id, clips.id):
        cache.listing(folder)
    assert cache.path_of(clips.id) == "/Movies/Clips #1"
    assert cache.path_of("0") == "/"


def test_a_listing_queues_at_most_its_cap_and_the_queue_is_bounded(tmp_path) -> None:
    backend, movies, clips = _account()
    cache = MetadataCache(backend)
    writer = Thumbnails(cache, Session(), Path("/m"), lambda entry: 0, root=tmp_path,
                        queue_size=1, per_listing=1)
    cache.listing_observers.append(writer.listed)  # not started: jobs only wait
    cache.listing(clips.id)
    other = backend.add("0", "Other")
    video = backend.add(other.id, "c.mp4", b"v")
    backend.items[video.id] = replace(video, type="movie", screenshot_url="https://img/c")
    cache.listing(other.id)  # a second folder: the queue of one is full
    assert writer.waiting() == {clips.id: 1}


def test_the_option_is_a_flag_an_o_key_and_an_fstab_key() -> None:
    from putiofs.cli import _mount_options, build_parser, subcommand_parsers
    from putiofs.mount import fstab

    parser = build_parser()
    for argv in (["mount", "/m"], ["mount", "/m", "--thumbnails"], ["mount", "/m", "-o",
                                                                     "ro,thumbnails"],
                 fstab.mount_argv(["putio", "/m", "-o", "rw,thumbnails"],
                                  subcommand_parsers(build_parser())["mount"])):
        options, settings = _mount_options(parser.parse_args(argv))
        assert options.thumbnails is (argv != ["mount", "/m"]), argv
        assert "thumbnails" not in settings.extra  # never handed to libfuse


@pytest.mark.skipif(os.geteuid() != 0, reason="giving files to another user needs root")
def test_as_root_into_another_users_cache_the_thumbnails_are_theirs(tmp_path) -> None:
    cache = tmp_path / "alice-cache"
    cache.mkdir()
    os.chown(cache, 4321, 4322)
    root = cache / "thumbnails"
    owner = owner_of(root)
    assert owner == (4321, 4322)
    target = root / "normal" / "x.png"
    image.make_folder(target.parent, owner)
    image.write_atomically(target, b"png", owner)
    for made in (root, root / "normal", target):
        info = made.stat()
        assert (info.st_uid, info.st_gid) == owner, made
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert owner_of(tmp_path / "thumbnails") is None  # root's own cache: left as root's


def test_a_screenshot_that_is_no_image_is_logged_as_such_and_nothing_written(tmp_path,
                                                                            caplog) -> None:
    backend, movies, clips = _account()
    session = Session()
    session.get = lambda url, timeout=None: _answer(b"<html>gone</html>")  # type: ignore
    cache, writer = _thumbnails(backend, tmp_path, session)
    caplog.set_level(logging.INFO, logger="putiofs.thumbnails")
    try:
        for folder in ("0", movies.id, clips.id):
            cache.listing(folder)
        wait_for(_settled(writer, 2), fail="the failures were not counted")
    finally:
        writer.stop()
    assert [r.getMessage() for r in caplog.records] == [
        f"thumbnails: image failed (item {_first_video(backend)}'s screenshot: "
        "UnidentifiedImageError); later such failures are logged at debug level"]
    assert not (tmp_path / "thumbnails").exists()


def _answer(body: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = body
    return response


def _first_video(backend) -> str:
    return min((e for e in backend.items.values() if e.type == "video"),
               key=lambda e: int(e.id)).id
