"""The v2 Backend: entries with dates and checksums, the tree calls, capabilities, and the
per-file stream URL cache — also through the filesystem layer, reading real bytes."""

from __future__ import annotations

import errno
import os
import re

import pytest

from putiofs.api.backend import Capabilities, Entry
from putiofs.api.errors import (
    BadRequestError,
    NameExistsError,
    NotFoundError,
    NotSupportedError,
    ServerError,
)
from putiofs.front.account_view import AccountView
from putiofs.front.operations import MountOptions, PutioFS
from putiofs.v2 import V2Backend
from tests.support.v2_stub import Reply, Seen, V2Stub, error, file_json, ok

ACCOUNT = {"user_id": 1, "username": "demo", "disk": {"avail": 700, "size": 2000, "used": 1300},
           "settings": {"trash_enabled": True}}


pytest_plugins = ("tests.support.v2_stub",)


@pytest.fixture
def make_backend(make_client, fake_time):
    def make(**kwargs):
        return V2Backend(make_client(), clock=fake_time.clock, **kwargs)

    return make


def serve_url(stub: V2Stub, file_id: int) -> None:
    """``/files/{id}/url`` answers a new signed URL on every call: ``...?u=sig<n>``."""
    count = {"n": 0}

    def answer(seen: Seen) -> Reply:
        count["n"] += 1
        return ok(url=f"{stub.base_url}/storage/{file_id}?u=signature-{file_id}-{count['n']}")

    stub.on("GET", f"/files/{file_id}/url", answer)


def url_calls(stub: V2Stub, file_id: int) -> int:
    return len(stub.requests("GET", f"/files/{file_id}/url"))


def entry(file_id: str = "5", size: int = 10, mtime: float | None = 1.0) -> Entry:
    return Entry(id=file_id, name="f", is_dir=False, size=size, parent_id="0", mtime=mtime)


# -- entries and the tree -------------------------------------------------------------------

def test_listing_gives_entries_with_times_and_crc32(stub, make_backend):
    stub.on("GET", "/files/list", ok(files=[
        file_json(1, "Movies", folder=True, size=4096),
        file_json(2, "a.mkv", size=123, file_type="VIDEO", crc32="66A1512F",
                  screenshot="https://s/2.jpg", icon="https://s/2.png")], cursor=None))
    movies, film = make_backend().list_folder("0")
    assert (movies.is_dir, movies.type, movies.crc32, movies.download_url) == (
        True, "folder", None, None)
    assert (film.id, film.name, film.size, film.parent_id, film.type) == (
        "2", "a.mkv", 123, "0", "video")
    assert film.mtime == 1714649415.0  # updated_at 2024-05-02T11:30:15
    assert film.ctime == 1714557600.0  # created_at 2024-05-01T10:00:00
    assert film.crc32 == "66a1512f"
    assert film.download_url == f"{stub.base_url}/files/2/download"
    assert (film.screenshot_url, film.thumb_url) == ("https://s/2.jpg", "https://s/2.png")


def test_lookup_and_not_found(stub, make_backend):
    stub.on("GET", "/files/2", ok(file=file_json(2, "a", parent_id=7)))
    stub.on("GET", "/files/3", error(404, "NOT_FOUND"))
    backend = make_backend()
    assert backend.lookup("2").parent_id == "7"
    with pytest.raises(NotFoundError):
        backend.lookup("3")


def test_no_folder_map_on_v2(make_backend):
    with pytest.raises(NotSupportedError):
        make_backend().folder_map()


def test_capabilities_come_from_the_account_once(stub, make_backend):
    stub.on("GET", "/account/info", ok(info=ACCOUNT))
    backend = make_backend()
    assert backend.capabilities == Capabilities(folder_map=False, write_contents=True,
                                                set_times=True, trash=True,
                                                slash_in_names=False, blank_names=False,
                                                subtitles=True)
    assert backend.capabilities.trash
    assert len(stub.seen) == 1


def test_capabilities_while_the_account_is_unreachable(stub, make_backend):
    stub.on("GET", "/account/info", error(500, "X"))
    backend = make_backend()
    assert backend.capabilities.trash is False  # every attempt failed: not known yet
    stub.on("GET", "/account/info", ok(info=ACCOUNT))
    assert backend.capabilities.trash is True


def test_quota_from_the_disk_figures(stub, make_backend):
    stub.on("GET", "/account/info", ok(info=ACCOUNT))
    quota = make_backend().quota()
    assert (quota.total, quota.available) == (2000, 700)


def test_rename_returns_the_renamed_entry(stub, make_backend):
    stub.on("POST", "/files/rename", ok())
    stub.on("GET", "/files/5", ok(file=file_json(5, "new.txt", parent_id=3)))
    renamed = make_backend().rename("5", "new.txt")
    assert (renamed.name, renamed.parent_id) == ("new.txt", "3")
    assert stub.seen[0].form == {"file_id": "5", "name": "new.txt"}


def test_rename_uses_the_file_in_the_answer_when_there_is_one(stub, make_backend):
    stub.on("POST", "/files/rename", ok(file=file_json(5, "new.txt", parent_id=3)))
    assert make_backend().rename("5", "new.txt").name == "new.txt"
    assert len(stub.seen) == 1


def test_move_with_a_new_name_is_one_call(stub, make_backend):
    stub.on("POST", "/files/move", ok(errors=[]))
    stub.on("GET", "/files/5", ok(file=file_json(5, "b.txt", parent_id=9)))
    moved = make_backend().move("5", "9", name="b.txt")
    assert (moved.parent_id, moved.name) == ("9", "b.txt")
    assert len(stub.requests("POST", "/files/move")) == 1
    assert stub.seen[0].form == {"file_id": "5", "parent_id": "9", "name": "b.txt"}


def test_make_folder_name_taken(stub, make_backend):
    stub.on("POST", "/files/create-folder", error(400, "NAME_ALREADY_EXIST"))
    with pytest.raises(NameExistsError):
        make_backend().make_folder("0", "Movies")
    assert len(stub.seen) == 1


def test_delete_of_an_item_put_io_did_not_have_is_not_found(stub, make_backend):
    stub.on("POST", "/files/delete", ok(cursor=None, skipped=1))
    with pytest.raises(NotFoundError):
        make_backend().delete("5")


def test_delete_whose_first_answer_was_lost_is_done(stub, make_backend):
    stub.on("POST", "/files/delete", Reply(drop=True), ok(cursor=None, skipped=1))
    make_backend().delete("5")
    assert len(stub.seen) == 2
    assert stub.seen[1].form == {"file_ids": "5"}


# -- the stream URL cache -------------------------------------------------------------------

def test_one_url_call_per_file_across_opens(stub, make_backend):
    serve_url(stub, 5)
    serve_url(stub, 6)
    backend = make_backend()
    first = backend.stream_url(entry("5"))
    assert backend.stream_url(entry("5")) == first
    assert backend.stream_url(entry("5")) == first
    assert url_calls(stub, 5) == 1
    assert backend.stream_url(entry("6")) != first
    assert url_calls(stub, 6) == 1


def test_refresh_fetches_a_new_url_and_later_opens_use_it(stub, make_backend, fake_time):
    serve_url(stub, 5)
    backend = make_backend()
    old = backend.stream_url(entry("5"))
    fake_time.now += 1.0
    new = backend.stream_url(entry("5"), refresh_token=True)
    assert new != old and url_calls(stub, 5) == 2
    assert backend.stream_url(entry("5")) == new
    assert url_calls(stub, 5) == 2


def test_readers_refused_at_once_share_one_new_url(stub, make_backend, fake_time):
    serve_url(stub, 5)
    backend = make_backend(url_refresh_interval=0.25)
    backend.stream_url(entry("5"))
    fake_time.now += 5.0
    new = backend.stream_url(entry("5"), refresh_token=True)
    assert backend.stream_url(entry("5"), refresh_token=True) == new
    assert url_calls(stub, 5) == 2


def test_a_replaced_file_gets_a_new_url(stub, make_backend):
    serve_url(stub, 5)
    backend = make_backend()
    old = backend.stream_url(entry("5", size=10, mtime=1.0))
    assert backend.stream_url(entry("5", size=11, mtime=2.0)) != old
    assert url_calls(stub, 5) == 2


def test_urls_expire_and_the_cache_is_bounded(stub, make_backend, fake_time):
    for file_id in (5, 6, 7):
        serve_url(stub, file_id)
    backend = make_backend(url_cache_size=2, url_max_age=100.0)
    backend.stream_url(entry("5"))
    fake_time.now += 101.0
    backend.stream_url(entry("5"))
    assert url_calls(stub, 5) == 2  # too old
    backend.stream_url(entry("6"))
    backend.stream_url(entry("7"))
    backend.stream_url(entry("5"))
    assert url_calls(stub, 5) == 3  # pushed out by two others


def test_folders_have_no_stream_url(make_backend):
    with pytest.raises(BadRequestError):
        make_backend().stream_url(Entry(id="1", name="d", is_dir=True, size=0, parent_id="0"))


# -- through the filesystem layer -----------------------------------------------------------

DATA = bytes(range(256)) * 40


def serve_storage(stub: V2Stub, file_id: int, data: bytes, refuse: set[str]) -> None:
    """A storage URL that answers Range GETs, and 403 for the signatures in ``refuse``."""

    def answer(seen: Seen) -> Reply:
        if seen.query.get("u") in refuse:
            return Reply(status=403, body=b"expired", content_type="text/plain")
        assert "Authorization" not in seen.headers  # the token never goes to storage
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", seen.headers.get("Range", ""))
        assert match, seen.headers
        start = int(match[1])
        end = int(match[2]) + 1 if match[2] else len(data)
        end = min(end, len(data))
        return Reply(status=206, body=data[start:end], content_type="application/octet-stream",
                     headers={"Content-Range": f"bytes {start}-{end - 1}/{len(data)}"})

    stub.on("GET", f"/storage/{file_id}", answer)


def read_whole(ops: PutioFS, path: str) -> bytes:
    fh = ops.open(path, os.O_RDONLY)
    try:
        return ops.read(path, len(DATA) + 10, 0, fh)
    finally:
        ops.release(path, fh)


def test_mount_reads_through_one_url_and_recovers_from_a_refused_one(stub, make_backend):
    stub.on("GET", "/files/list", ok(files=[file_json(5, "clip.bin", size=len(DATA))],
                                     cursor=None))
    serve_url(stub, 5)
    refused: set[str] = set()
    serve_storage(stub, 5, DATA, refused)
    ops = PutioFS(AccountView(make_backend(url_refresh_interval=0.0), MountOptions(cache_ttl=30)))
    assert ops.getattr("/clip.bin")["st_size"] == len(DATA)
    assert read_whole(ops, "/clip.bin") == DATA
    assert read_whole(ops, "/clip.bin") == DATA
    assert url_calls(stub, 5) == 1
    refused.add("signature-5-1")  # the URL expired at storage
    assert read_whole(ops, "/clip.bin") == DATA
    assert url_calls(stub, 5) == 2
    assert read_whole(ops, "/clip.bin") == DATA
    assert url_calls(stub, 5) == 2


def test_mount_mkdir_onto_a_taken_name_fails_without_a_second_folder(stub, make_backend):
    stub.on("GET", "/files/list", ok(files=[], cursor=None))
    stub.on("POST", "/files/create-folder", error(400, "NAME_ALREADY_EXIST"))
    ops = PutioFS(AccountView(make_backend(), MountOptions(cache_ttl=30)))
    with pytest.raises(OSError) as raised:
        ops.mkdir("/Movies", 0o755)
    assert raised.value.errno == errno.EEXIST
    # never a retry
    assert len(stub.requests("POST", "/files/create-folder")) == 1


SRT = b"1\n00:00:01,000 --> 00:00:02,000\nHello\n"


def test_subtitles_are_listed_and_fetched_as_srt(stub: V2Stub, make_backend) -> None:
    stub.on("GET", "/files/5/subtitles", ok(default="k1", subtitles=[
        {"key": "k1", "language": "English", "language_code": "eng", "name": "a.srt",
         "source": "opensubtitles", "format": "srt", "url": "x"},
        {"language_code": "fre", "name": "no key: nothing could fetch it"},
        {"key": "k/2", "language_code": None, "source": "folder"}]))
    stub.on("GET", "/files/5/subtitles/k%2F2", Reply(body=SRT, content_type="application/x-subrip"))
    stub.on("GET", "/account/info", ok(info=ACCOUNT))
    backend = make_backend()
    assert backend.capabilities.subtitles
    found = backend.subtitles("5")
    assert [(s.key, s.language_code, s.language, s.source) for s in found] == [
        ("k1", "eng", "English", "opensubtitles"), ("k/2", None, None, "folder")]
    assert backend.subtitle_text("5", "k/2", 1000) == SRT
    assert stub.requests("GET", "/files/5/subtitles/k%2F2")[0].query == {"format": "srt"}
    with pytest.raises(ServerError):
        backend.subtitle_text("5", "k/2", 10)


def test_a_subtitle_behind_a_redirect_is_fetched_without_the_token_elsewhere(
        stub: V2Stub, make_backend) -> None:
    other = V2Stub()
    try:
        other.on("GET", "/sub.srt", Reply(body=SRT, content_type="text/plain"))
        stub.on("GET", "/files/5/subtitles/k", Reply(status=302, body=b"", headers={
            "Location": f"{other.base_url}/sub.srt"}))
        assert make_backend().subtitle_text("5", "k", 1000) == SRT
        assert "Authorization" not in other.requests("GET", "/sub.srt")[0].headers
    finally:
        other.close()


def test_a_missing_subtitle_is_not_found(stub: V2Stub, make_backend) -> None:
    stub.on("GET", "/files/5/subtitles/k", error(404, "NotFound"))
    with pytest.raises(NotFoundError):
        make_backend().subtitle_text("5", "k", 1000)
