"""The v2 emulator's auth, envelopes and files endpoints, spoken as raw HTTP the way put.io's
own clients (putio.py, go-putio/rclone, the TypeScript SDK) send it."""

from __future__ import annotations

import re
import time
import zlib

import pytest
import requests

from tests.support.emulator_v2_http import STAMP, TOKEN, failed, ok

pytest_plugins = ("tests.support.emulator_v2_http",)

FILE_KEYS = {
    "id", "name", "parent_id", "size", "content_type", "file_type", "extension", "crc32",
    "created_at", "updated_at", "first_accessed_at", "folder_type", "icon", "screenshot",
    "is_hidden", "is_shared", "is_mp4_available", "opensubtitles_hash",
}


def check_file(item: dict) -> None:
    assert set(item) == FILE_KEYS, set(item) ^ FILE_KEYS
    assert isinstance(item["id"], int) and isinstance(item["size"], int)
    assert item["parent_id"] is None or isinstance(item["parent_id"], int)
    assert STAMP.fullmatch(item["created_at"]) and STAMP.fullmatch(item["updated_at"])
    if item["file_type"] == "FOLDER":
        assert item["content_type"] == "application/x-directory"
        assert item["crc32"] is None and item["extension"] is None
    else:
        assert re.fullmatch(r"[0-9a-f]{8}", item["crc32"]), item
        assert item["content_type"] != "application/x-directory"


# ------------------------------------------------------------------------------- auth


@pytest.mark.parametrize("header", ["Bearer", "bearer", "token", "Token", "TOKEN"])
def test_every_authorization_scheme_word(v2, header):
    ok(v2.get("files/list", headers={"Authorization": f"{header} {TOKEN}"}))


def test_oauth_token_query_parameter(v2):
    ok(v2.get("files/list", headers={}, params={"oauth_token": TOKEN}))


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"},
                                     {"Authorization": f"Basic {TOKEN}"}])
def test_missing_or_bad_tokens_are_401_envelopes(v2, headers):
    failed(v2.get("files/list", headers=headers), 401, "Unauthorized")


def test_token_comes_from_the_options(v2_factory):
    v2 = v2_factory(token="s3cret")
    failed(v2.get("files/list"), 401)
    ok(v2.get("files/list", headers={"Authorization": "token s3cret"}))


def test_unknown_paths_and_methods(v2):
    failed(v2.get("files/nothing-here"), 404, "NotFound")
    failed(v2.get("nothing"), 404)
    resp = v2.http.delete(v2.url("files/list"), headers=v2.auth, timeout=10)
    failed(resp, 405)
    assert "GET" in resp.headers["Allow"]


# ----------------------------------------------------------------------------- listing


def test_root_listing_shape(v2):
    body = ok(v2.get("files/list", params={"parent_id": 0, "per_page": 1000}))
    assert set(body) == {"files", "parent", "cursor", "status"}
    assert body["cursor"] is None
    assert body["parent"]["id"] == 0 and body["parent"]["parent_id"] is None
    names = {f["name"] for f in body["files"]}
    assert {"README.txt", "Movies", "Music", "Documents"} <= names
    for item in [body["parent"], *body["files"]]:
        check_file(item)
    movies = next(f for f in body["files"] if f["name"] == "Movies")
    assert movies["file_type"] == "FOLDER" and movies["parent_id"] == 0
    readme = next(f for f in body["files"] if f["name"] == "README.txt")
    data = v2.account.file_bytes(str(readme["id"]))
    assert readme["crc32"] == f"{zlib.crc32(data):08x}" and readme["size"] == len(data)
    assert (readme["extension"], readme["file_type"]) == ("txt", "TEXT")
    assert readme["content_type"] == "text/plain"


def test_folder_size_is_the_sum_of_its_contents(v2):
    music = v2.child(0, "Music")
    below = v2.listing(music["id"])
    tones = next(f for f in below if f["name"] == "Tones")
    assert music["size"] == sum(f["size"] for f in below) > 0
    assert tones["size"] == sum(f["size"] for f in v2.listing(tones["id"]))


def test_paging_with_opaque_cursors_in_form_and_json(v2):
    folder = ok(v2.post("files/create-folder", data={"name": "many", "parent_id": 0}))["file"]
    for i in range(5):
        v2.account.add_file(str(folder["id"]), f"f{i}.txt", b"x" * i)
    first = ok(v2.get("files/list", params={"parent_id": folder["id"], "per_page": 2}))
    assert len(first["files"]) == 2 and isinstance(first["cursor"], str) and first["cursor"]
    # putio.py continues by form, go-putio/rclone by JSON; per_page in the query (TS) or body.
    second = ok(v2.post("files/list/continue", data={"cursor": first["cursor"]},
                        params={"per_page": 2}))
    assert set(second) >= {"files", "cursor"} and len(second["files"]) == 2
    third = ok(v2.post("files/list/continue", json={"cursor": second["cursor"], "per_page": 2}))
    assert len(third["files"]) == 1 and third["cursor"] is None
    names = [f["name"] for page in (first, second, third) for f in page["files"]]
    assert sorted(names) == [f"f{i}.txt" for i in range(5)]
    # The same cursor may be asked again (a client retrying a lost answer).
    again = ok(v2.post("files/list/continue", data={"cursor": first["cursor"]},
                       params={"per_page": 2}))
    assert [f["id"] for f in again["files"]] == [f["id"] for f in second["files"]]


@pytest.mark.parametrize("cursor", ["", "not-a-cursor"])
def test_bad_cursor_is_400(v2, cursor):
    failed(v2.post("files/list/continue", data={"cursor": cursor}), 400)


def test_per_page_is_capped_at_1000(v2):
    for i in range(1003):
        v2.account.add_file("0", f"bulk{i}", b"")
    body = ok(v2.get("files/list", params={"per_page": 5000}))
    assert len(body["files"]) == 1000 and body["cursor"]
    rest = ok(v2.post("files/list/continue", data={"cursor": body["cursor"]},
                      params={"per_page": 5000}))
    assert len(body["files"]) + len(rest["files"]) == len(v2.account.children("0"))
    failed(v2.get("files/list", params={"per_page": 0}), 400)


def test_putio_py_parameter_spellings(v2):
    """putio.py sends sort_by="" and booleans as str(bool): "" is absent, False is off."""
    body = ok(v2.get("files/list", params={"parent_id": 0, "per_page": 1000, "sort_by": "",
                                           "stream_url": "False", "hidden": "False"}))
    assert all("stream_url" not in f for f in body["files"])
    for spelling in ("True", "true", "1"):
        body = ok(v2.get("files/list", params={"stream_url": spelling, "per_page": 1000}))
        readme = next(f for f in body["files"] if f["name"] == "README.txt")
        assert readme["stream_url"].startswith(v2.server.root_url)
    failed(v2.get("files/list", params={"stream_url": "maybe"}), 400)


def test_sorting_and_total(v2):
    body = ok(v2.get("files/list", params={"sort_by": "NAME_DESC", "total": 1,
                                           "per_page": 1000}))
    names = [f["name"] for f in body["files"]]
    assert names == sorted(names, key=str.casefold, reverse=True)
    assert body["total"] == len(names)
    failed(v2.get("files/list", params={"sort_by": "SIDEWAYS"}), 400)


def test_listing_a_file_or_a_missing_parent(v2):
    readme = v2.child(0, "README.txt")
    body = ok(v2.get("files/list", params={"parent_id": readme["id"]}))
    assert body["files"] == [] and body["parent"]["id"] == readme["id"]
    failed(v2.get("files/list", params={"parent_id": 999999}), 404)


# ------------------------------------------------------------------------- get, child


def test_get_by_id_and_child_by_name(v2):
    documents = v2.child(0, "Documents")
    got = ok(v2.get(f"files/{documents['id']}"))["file"]
    assert got == documents
    failed(v2.get("files/2147483647"), 404)
    failed(v2.get(f"files/{documents['id']}/child", params={"name": "missing.txt"}), 404)
    cafe = v2.child(documents["id"], "Café — notes.txt")
    assert cafe["parent_id"] == documents["id"]


def test_child_of_duplicate_names_is_the_newest(v2):
    documents = v2.child(0, "Documents")
    twins = [f for f in v2.listing(documents["id"]) if f["name"] == "notes.txt"]
    assert len(twins) == 2
    assert v2.child(documents["id"], "notes.txt")["id"] == max(f["id"] for f in twins)


# ------------------------------------------------------------------------------ search


def test_search_and_continue(v2):
    body = ok(v2.get("files/search", params={"query": "notes", "per_page": 2}))
    assert body["total"] == 3 and len(body["files"]) == 2 and body["cursor"]
    rest = ok(v2.post("files/search/continue", data={"cursor": body["cursor"]}))
    assert len(rest["files"]) == 1 and rest["cursor"] is None
    found = {f["name"] for f in body["files"] + rest["files"]}
    assert found == {"notes.txt", "Café — notes.txt"}
    typed = ok(v2.get("files/search", params={"query": "t", "type": "VIDEO"}))
    assert [f["name"] for f in typed["files"]] == ["Test Pattern (10s).mp4"]
    failed(v2.get("files/search", params={"query": "x" * 300}), 400, "SEARCH_TOO_LONG_QUERY")
    failed(v2.get("files/search"), 400)


def test_search_by_pages_as_go_putio_2021_asks(v2):
    for i in range(60):
        v2.account.add_file("0", f"paged {i}.txt", b"")
    first = ok(v2.get("files/search/paged/page/1"))
    assert len(first["files"]) == 50 and first["total"] == 60
    second = v2.http.get(first["next"], headers=v2.auth, timeout=10)
    assert len(ok(second)["files"]) == 10 and ok(second)["next"] is None
    assert len(ok(v2.get("files/search/paged/page/-1"))["files"]) == 60


# ------------------------------------------------------------------ create, rename, move


def test_create_folder_and_name_rules(v2):
    made = ok(v2.post("files/create-folder", data={"name": "New", "parent_id": 0}))["file"]
    check_file(made)
    assert (made["name"], made["parent_id"], made["size"]) == ("New", 0, 0)
    assert v2.child(0, "New")["id"] == made["id"]
    failed(v2.post("files/create-folder", data={"name": "New", "parent_id": 0}), 400,
           "NAME_ALREADY_EXIST")
    failed(v2.post("files/create-folder", data={"name": "README.txt", "parent_id": 0}), 400,
           "NAME_ALREADY_EXIST")
    failed(v2.post("files/create-folder", data={"name": "", "parent_id": 0}), 400, "EMPTY_NAME")
    failed(v2.post("files/create-folder", data={"name": "a/b", "parent_id": 0}), 400,
           "SLASH_IN_NAME")
    failed(v2.post("files/create-folder", data={"name": "é" * 128, "parent_id": 0}), 400,
           "NAME_TOO_LONG")
    failed(v2.post("files/create-folder", data={"name": "x", "parent_id": 999999}), 404)
    # A JSON body works as well as a form.
    ok(v2.post("files/create-folder", json={"name": "From JSON", "parent_id": made["id"]}))
    assert [f["name"] for f in v2.listing(made["id"])] == ["From JSON"]


def test_rename(v2):
    readme = v2.child(0, "README.txt")
    body = ok(v2.post("files/rename", data={"file_id": readme["id"], "name": "READ ME.txt"}))
    assert body["file"]["name"] == "READ ME.txt"
    assert v2.child(0, "READ ME.txt")["id"] == readme["id"]
    ok(v2.post("files/rename", data={"file_id": readme["id"], "name": "READ ME.txt"}))
    failed(v2.post("files/rename", data={"file_id": readme["id"], "name": "Movies"}), 400,
           "NAME_ALREADY_EXIST")
    failed(v2.post("files/rename", data={"file_id": readme["id"], "name": "a/b"}), 400,
           "SLASH_IN_NAME")
    failed(v2.post("files/rename", data={"file_id": 999999, "name": "x"}), 404)


def test_batch_move_reports_per_item_errors_at_200(v2):
    music, movies = v2.child(0, "Music"), v2.child(0, "Movies")
    readme = v2.child(0, "README.txt")
    clips = v2.child(movies["id"], "Demo Clips")
    body = ok(v2.post("files/move", data={
        "file_ids": f"{readme['id']},999999,{movies['id']}", "parent_id": clips["id"]}))
    errors = {e["id"]: e for e in body["errors"]}
    assert set(errors) == {999999, movies["id"]}
    assert errors[999999]["status_code"] == 404 and errors[999999]["name"] is None
    assert errors[movies["id"]]["status_code"] == 400
    assert errors[movies["id"]]["name"] == "Movies"
    assert all(set(e) == {"error_type", "id", "name", "status_code"} for e in body["errors"])
    assert v2.child(clips["id"], "README.txt")["id"] == readme["id"]
    ok(v2.post("files/move", data={"file_ids": str(readme["id"]), "parent_id": music["id"]}))
    assert v2.child(music["id"], "README.txt")["id"] == readme["id"]
    failed(v2.post("files/move", data={"file_ids": str(readme["id"]), "parent_id": 999999}),
           404)


def test_single_move_and_rename_as_rclone_sends_it(v2):
    readme, music = v2.child(0, "README.txt"), v2.child(0, "Music")
    ok(v2.post("files/move", data={"file_id": readme["id"], "parent_id": music["id"],
                                   "name": "moved.txt"}))
    moved = v2.child(music["id"], "moved.txt")
    assert moved["id"] == readme["id"] and moved["parent_id"] == music["id"]
    failed(v2.post("files/move", data={"file_id": 999999, "parent_id": 0, "name": "x"}), 404)


# ------------------------------------------------------------------------------ delete


def test_delete_goes_to_the_trash_when_enabled(v2):
    readme = v2.child(0, "README.txt")
    body = ok(v2.post("files/delete", data={"file_ids": str(readme["id"])},
                      params={"skip_nonexistents": "true"}))
    assert body == {"status": "OK", "cursor": None, "skipped": 0}
    failed(v2.get(f"files/{readme['id']}"), 404)
    trash = ok(v2.get("trash/list"))
    assert [f["id"] for f in trash["files"]] == [readme["id"]]
    assert trash["trash_size"] == readme["size"]
    info = ok(v2.get("account/info"))["info"]
    assert info["trash_size"] == readme["size"]


def test_delete_skip_trash_and_skip_nonexistents(v2):
    music = v2.child(0, "Music")
    body = ok(v2.post("files/delete", data={"file_ids": f"{music['id']},999998,999999"},
                      params={"skip_trash": "1", "skip_nonexistents": "1"}))
    assert body["skipped"] == 2 and body["cursor"] is None
    assert ok(v2.get("trash/list"))["files"] == []
    failed(v2.get(f"files/{music['id']}"), 404)


def test_delete_of_a_missing_item_without_skip_changes_nothing(v2):
    readme = v2.child(0, "README.txt")
    failed(v2.post("files/delete", data={"file_ids": f"{readme['id']},999999"}), 404)
    assert v2.child(0, "README.txt")["id"] == readme["id"]


def test_delete_single_file_id_with_form_flags_like_putio_py(v2):
    readme = v2.child(0, "README.txt")
    body = ok(v2.post("files/delete", data={"file_id": readme["id"], "skip_nonexistents": 1}))
    assert body["skipped"] == 0
    failed(v2.get(f"files/{readme['id']}"), 404)


def test_delete_without_trash_when_the_setting_is_off(v2):
    ok(v2.post("account/settings", json={"trash_enabled": False}))
    assert ok(v2.get("account/info"))["info"]["settings"]["trash_enabled"] is False
    readme = v2.child(0, "README.txt")
    ok(v2.post("files/delete", data={"file_ids": str(readme["id"])}))
    assert ok(v2.get("trash/list"))["files"] == []


# ------------------------------------------------------------------------- touch, copy


@pytest.mark.parametrize("spelling", ["2022-01-02T03:04:05Z", "2022-01-02T03:04:05.678Z",
                                      "2022-01-02T04:04:05+01:00", "2022-01-02T03:04:05"])
def test_touch_as_rclone_sends_it(v2, spelling):
    readme = v2.child(0, "README.txt")
    ok(v2.post("files/touch", params={"file_id": readme["id"], "updated_at": spelling}))
    assert v2.child(0, "README.txt")["updated_at"] == "2022-01-02T03:04:05"


def test_touch_as_the_typescript_sdk_sends_it(v2):
    readme, music = v2.child(0, "README.txt"), v2.child(0, "Music")
    ok(v2.post("files/touch", data={"file_ids": f"{readme['id']},{music['id']}",
                                    "updated_at": "2021-06-07T08:09:10Z"}))
    assert v2.child(0, "README.txt")["updated_at"] == "2021-06-07T08:09:10"
    assert v2.child(0, "Music")["updated_at"] == "2021-06-07T08:09:10"
    failed(v2.post("files/touch", data={"file_ids": "999999", "updated_at": "2021-01-01"}), 404)
    failed(v2.post("files/touch", data={"file_ids": str(readme["id"]),
                                        "updated_at": "yesterday"}), 400)


def test_copy(v2):
    readme, music = v2.child(0, "README.txt"), v2.child(0, "Music")
    copy = ok(v2.post("files/copy", data={"file_id": readme["id"], "parent_id": music["id"],
                                          "name": "copy.txt"}))["file"]
    assert copy["id"] != readme["id"] and copy["crc32"] == readme["crc32"]
    assert v2.account.file_bytes(str(copy["id"])) == v2.account.file_bytes(str(readme["id"]))
    failed(v2.post("files/copy", data={"file_id": readme["id"], "parent_id": music["id"],
                                       "name": "copy.txt"}), 400, "NAME_ALREADY_EXIST")
    movies = v2.child(0, "Movies")
    tree = ok(v2.post("files/copy", data={"file_id": movies["id"], "parent_id": 0,
                                          "name": "Movies 2"}))["file"]
    assert tree["size"] == movies["size"]


# --------------------------------------------------------------------- url and storage


def test_url_is_self_authorizing_with_ranges_and_head(v2):
    video = v2.child(v2.child(v2.child(0, "Movies")["id"], "Demo Clips")["id"],
                     "Test Pattern (10s).mp4")
    data = v2.account.file_bytes(str(video["id"]))
    url = ok(v2.get(f"files/{video['id']}/url", params={"notunnel": 0}))["url"]
    whole = requests.get(url, timeout=10)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["Content-Length"] == str(len(data))
    part = requests.get(url, headers={"Range": "bytes=100-199"}, timeout=10)
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    tail = requests.get(url, headers={"Range": "bytes=0-"}, timeout=10)
    assert tail.status_code == 206 and tail.content == data
    failed(requests.get(url, headers={"Range": f"bytes={len(data)}-"}, timeout=10), 416)
    head = requests.head(url, timeout=10)
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(data))
    assert head.content == b""
    failed(requests.get(url.replace("/_storage/", "/_storage/x"), timeout=10), 404)


def test_storage_urls_expire_after_url_ttl(v2_factory):
    v2 = v2_factory(url_ttl=0.3)
    readme = v2.child(0, "README.txt")
    url = ok(v2.get(f"files/{readme['id']}/url"))["url"]
    deadline = time.monotonic() + 10
    while requests.get(url, timeout=10).status_code == 200:
        assert time.monotonic() < deadline, "the URL never expired"
        time.sleep(0.1)
    failed(requests.get(url, timeout=10), 403)
    fresh = ok(v2.get(f"files/{readme['id']}/url"))["url"]
    assert requests.get(fresh, timeout=10).status_code == 200


@pytest.mark.parametrize("suffix", ["download", "download/README.txt", "stream"])
def test_download_and_stream_redirect_to_storage(v2, suffix):
    readme = v2.child(0, "README.txt")
    data = v2.account.file_bytes(str(readme["id"]))
    resp = v2.get(f"files/{readme['id']}/{suffix}")
    assert resp.status_code == 302
    assert requests.get(resp.headers["Location"], timeout=10).content == data
    # putio.py resolves links with HEAD and without following redirects.
    head = v2.http.head(v2.url(f"files/{readme['id']}/{suffix}"), headers={},
                        params={"oauth_token": TOKEN}, allow_redirects=False, timeout=10)
    assert head.status_code == 302 and head.headers["Location"].startswith(v2.server.root_url)
    failed(v2.get(f"files/{v2.child(0, 'Music')['id']}/url"), 400, "NotFile")
    failed(v2.get(f"files/{readme['id']}/download", headers={}), 401)


def test_a_file_that_is_no_video_has_no_subtitles_and_a_folder_none_at_all(v2):
    readme = v2.child(0, "README.txt")
    assert ok(v2.get(f"files/{readme['id']}/subtitles")) == {"default": None, "subtitles": [],
                                                              "status": "OK"}
    failed(v2.get(f"files/{readme['id']}/subtitles/default"), 404)
    failed(v2.get(f"files/{v2.child(0, 'Music')['id']}/subtitles"), 400, "NotFile")


def _demo_video(v2) -> dict:
    clips = v2.child(v2.child(0, "Movies")["id"], "Demo Clips")
    return v2.child(clips["id"], "Test Pattern (10s).mp4")


def test_the_demo_video_has_opensubtitles_in_english_and_french_as_srt_and_webvtt(v2):
    video = _demo_video(v2)
    answer = ok(v2.get(f"files/{video['id']}/subtitles"))
    found = answer["subtitles"]
    assert [(s["language_code"], s["language"], s["source"], s["format"]) for s in found] == [
        ("eng", "English", "opensubtitles", "srt"), ("fre", "French", "opensubtitles", "srt")]
    assert answer["default"] == found[0]["key"]
    english = v2.get(f"files/{video['id']}/subtitles/{found[0]['key']}",
                     params={"format": "srt"})
    assert english.status_code == 200
    srt = english.content.decode()
    assert srt.startswith("1\n00:00:00,500 --> 00:00:03,000\nThis is the putiofs demo video.")
    last = re.findall(r"--> (\d\d):(\d\d):(\d\d),(\d{3})", srt)[-1]
    assert int(last[0]) == int(last[1]) == 0 and int(last[2]) < 10  # within the 10 s video
    assert v2.get(f"files/{video['id']}/subtitles/default").content == english.content
    vtt = v2.get(f"files/{video['id']}/subtitles/{found[1]['key']}",
                 params={"format": "webvtt"})
    assert vtt.headers["Content-Type"].startswith("text/vtt")
    text = vtt.content.decode()
    assert text.startswith("WEBVTT\n\n1\n00:00:00.500 --> 00:00:03.000\n")
    assert "," not in "".join(line for line in text.splitlines() if "-->" in line)
    assert "Voici la vidéo" in text
    failed(v2.get(f"files/{video['id']}/subtitles/nothing-such"), 404)
    failed(v2.get(f"files/{video['id']}/subtitles/default", params={"format": "ass"}), 400)


def test_srt_files_beside_a_data_video_are_its_folder_subtitles(v2_factory, tmp_path):
    (tmp_path / "Movie.mkv").write_bytes(b"\x1a\x45\xdf\xa3 not really a video")
    (tmp_path / "Movie.srt").write_bytes(b"\xef\xbb\xbf1\r\n00:00:01,000 --> 00:00:02,000"
                                         b"\r\nPlain\r\n")
    (tmp_path / "Movie.en.srt").write_text("1\n00:00:01,000 --> 00:00:02,500\nHello\n")
    (tmp_path / "Movie.en.forced.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nX\n")
    (tmp_path / "Other.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nNo\n")
    v2 = v2_factory(demo=False, data_dir=tmp_path)
    video = v2.child(0, "Movie.mkv")
    answer = ok(v2.get(f"files/{video['id']}/subtitles"))
    found = answer["subtitles"]
    assert [(s["name"], s["language_code"], s["language"], s["source"]) for s in found] == [
        ("Movie.srt", None, None, "folder"), ("Movie.en.srt", "en", "English", "folder")]
    assert answer["default"] == found[0]["key"]
    assert v2.get(f"files/{video['id']}/subtitles/default").content == (
        b"1\r\n00:00:01,000 --> 00:00:02,000\r\nPlain\r\n")
    vtt = v2.get(f"files/{video['id']}/subtitles/{found[1]['key']}", params={"format": "webvtt"})
    assert vtt.content == b"WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.500\nHello\n"
    other = v2.child(0, "Other.srt")
    assert ok(v2.get(f"files/{other['id']}/subtitles"))["subtitles"] == []


def test_data_dir_crc32_and_undecodable_names(v2_factory, tmp_path):
    (tmp_path / "a.bin").write_bytes(b"hello world")
    with open(bytes(tmp_path) + b"/b\xff.txt", "wb") as fh:
        fh.write(b"")
    v2 = v2_factory(demo=False, data_dir=tmp_path)
    files = {f["name"]: f for f in v2.listing()}
    assert files["a.bin"]["crc32"] == f"{zlib.crc32(b'hello world'):08x}"
    assert files["b\ufffd.txt"]["crc32"] == "00000000" and files["b\ufffd.txt"]["size"] == 0


# ---------------------------------------------------------------------- account, stats


def test_account_info(v2):
    info = ok(v2.get("account/info"))["info"]
    disk = info["disk"]
    assert disk["avail"] == disk["size"] - disk["used"] and disk["used"] > 0
    assert disk["used"] == ok(v2.get("files/list"))["parent"]["size"]
    assert info["settings"]["trash_enabled"] is True and info["trash_size"] == 0
    assert info["user_id"] == v2.account.user_id and info["username"] == "demo"
    assert "download_token" in ok(v2.get("account/info", params={"download_token": 1}))["info"]


def test_stats_count_v2_calls_by_name(v2):
    reset = requests.post(f"{v2.server.root_url}/_emulator/reset", timeout=10)
    assert reset.status_code == 200
    ok(v2.get("files/list"))
    ok(v2.get("files/list"))
    ok(v2.get("account/info"))
    stats = requests.get(f"{v2.server.root_url}/_emulator/stats", timeout=10).json()
    assert stats["requests"] == {"account.info": 1, "files.list": 2}


def test_a_videos_screenshot_is_a_jpeg_served_without_credentials(v2):
    root = ok(v2.get("files/list", params={"parent_id": 0}))["files"]
    assert {f["name"]: f["screenshot"] for f in root}["README.txt"] is None
    movies = next(f for f in root if f["name"] == "Movies")
    clips = ok(v2.get("files/list", params={"parent_id": movies["id"]}))["files"][0]
    video = next(f for f in ok(v2.get("files/list", params={"parent_id": clips["id"]}))["files"]
                 if f["file_type"] == "VIDEO")
    shot = requests.get(video["screenshot"], timeout=10)
    assert shot.status_code == 200 and shot.headers["Content-Type"] == "image/jpeg"
    assert shot.content.startswith(b"\xff\xd8") and len(shot.content) > 1000
    v2.account.delete(str(video["id"]))
    assert requests.get(video["screenshot"], timeout=10).status_code == 404
