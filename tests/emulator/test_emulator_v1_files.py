"""The emulator's files service and envelopes, spoken as raw HTTP the way the spec shows."""

from __future__ import annotations

import json
import logging
import time

import pytest
import requests

from putiofs.emulator.v1 import api as emulator_api
from tests.conftest import raw_call
from tests.support.v1_envelopes import failed, ok

DOC_ITEM_KEYS = {
    "id", "name", "type", "size", "is_dir", "parent_id", "screenshot_url", "thumb_url",
    "file_icon_url", "download_url",
}
LEGACY_ITEM_KEYS = DOC_ITEM_KEYS | {"stream_url", "zip_url", "folder_icon_url"}
FILETYPES = {"folder", "file", "audio", "movie", "image", "compressed", "pdf", "ms_doc", "text",
             "swf"}


def by_name(items: list[dict], name: str) -> dict:
    matches = [i for i in items if i["name"] == name]
    assert len(matches) == 1, f"{name!r} in {[i['name'] for i in items]}"
    return matches[0]


def listing(server, parent_id: str = "0", **params) -> list[dict]:
    return ok(raw_call(server, "files", "list", {"parent_id": parent_id, **params}))


def check_item_types(item: dict, legacy: bool) -> None:
    assert set(item) == (LEGACY_ITEM_KEYS if legacy else DOC_ITEM_KEYS)
    for key in ("id", "size", "parent_id", "name", "type", "file_icon_url", "download_url"):
        assert isinstance(item[key], str), (key, item)
    assert item["id"].isdigit() and item["size"].isdigit() and item["parent_id"].isdigit()
    assert isinstance(item["is_dir"], bool)
    assert item["type"] in FILETYPES
    assert (item["type"] == "folder") == item["is_dir"]


# ------------------------------------------------------------------------------ envelopes


@pytest.mark.parametrize("via", ["get", "post"])
def test_doc_success_envelope_by_get_and_post(emulator, via):
    resp = raw_call(emulator, "files", "list", via=via)
    body = resp.json()
    assert resp.status_code == 200
    assert set(body) == {"user_id", "response", "error", "error_message"}
    assert body["error"] is None and body["error_message"] is None
    assert body["user_id"] == emulator.account.user_id
    assert {i["name"] for i in body["response"]["results"]} >= {"README.txt", "Movies", "Music"}


@pytest.mark.parametrize("via", ["get", "post"])
def test_legacy_success_envelope_by_get_and_post(legacy_emulator, via):
    body = raw_call(legacy_emulator, "files", "list", via=via).json()
    assert body["error"] is False
    assert body["id"] == body["user_id"] == legacy_emulator.account.user_id
    assert body["user_name"] == "demo"
    assert body["response"]["results"]


def test_curl_style_post_body(emulator):
    """Exactly the issue's curl command: a form body, no method in the body."""
    resp = requests.post(
        f"{emulator.base_url}/files?method=list",
        data='request={"api_key":"demo","api_secret":"demo","params":{}}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert "README.txt" in {i["name"] for i in ok(resp)}


@pytest.mark.parametrize("fixture", ["emulator", "legacy_emulator"])
@pytest.mark.parametrize("via", ["get", "post"])
def test_bad_credentials(request, fixture, via):
    server = request.getfixturevalue(fixture)
    resp = raw_call(server, "files", "list", via=via, api_secret="wrong")
    body = failed(resp, "Invalid api_key or api_secret")
    assert body["user_id"] is None


@pytest.mark.parametrize(
    ("fixture", "status"), [("emulator", 200), ("legacy_emulator", 404)]
)
def test_unknown_service_and_method(request, fixture, status):
    server = request.getfixturevalue(fixture)
    failed(raw_call(server, "nosuch", "list"), "Unknown service: nosuch", status)
    failed(raw_call(server, "files", "nosuch"), "Unknown method: nosuch", status)
    failed(raw_call(server, "files", "rename", {"id": "1"}), "Missing parameter: name", status)
    failed(raw_call(server, "files", "list", {"offset": "x"}), "Invalid parameter: offset", status)


@pytest.mark.parametrize("fixture", ["emulator", "legacy_emulator"])
@pytest.mark.parametrize(
    "raw", ['{"api_key": "demo", ', "[1, 2]", '{"api_key":"demo","api_secret":"demo","params":7}']
)
def test_malformed_request(request, fixture, raw):
    server = request.getfixturevalue(fixture)
    url = f"{server.base_url}/files?method=list"
    failed(requests.post(url, data={"request": raw}, timeout=10), "Malformed request")
    failed(requests.get(url, params={"request": raw}, timeout=10), "Malformed request")


def test_missing_request_field(emulator):
    resp = requests.post(f"{emulator.base_url}/files?method=list", data={"x": "1"}, timeout=10)
    failed(resp, "Malformed request")


def test_params_may_be_absent(emulator):
    raw = json.dumps({"api_key": "demo", "api_secret": "demo"})
    resp = requests.post(f"{emulator.base_url}/user?method=info", data={"request": raw}, timeout=10)
    assert ok(resp)[0]["user_name"] == "demo"


@pytest.mark.parametrize(("fixture", "status"), [("emulator", 200), ("legacy_emulator", 500)])
def test_handler_fault_is_an_envelope(request, monkeypatch, caplog, fixture, status):
    server = request.getfixturevalue(fixture)

    def boom(call):
        raise RuntimeError("handler broke")

    monkeypatch.setitem(emulator_api.SERVICES["files"], "list", boom)
    with caplog.at_level(logging.ERROR, logger="putiofs.emulator"):
        resp = raw_call(server, "files", "list", api_secret="demo")
    failed(resp, "Internal server error", status)
    assert "handler broke" in caplog.text
    assert '"api_secret"' not in caplog.text
    # The server still answers afterwards.
    monkeypatch.undo()
    assert ok(raw_call(server, "files", "list"))


def test_unknown_path_is_a_json_404(emulator):
    resp = requests.get(f"{emulator.root_url}/nowhere/at/all", timeout=10)
    failed(resp, "Not found", 404)
    resp = requests.request("BREW", f"{emulator.root_url}/v1/files", timeout=10)
    assert resp.headers["Content-Type"].startswith("application/json")


# ---------------------------------------------------------------------------------- items


@pytest.mark.parametrize(("fixture", "legacy"), [("emulator", False), ("legacy_emulator", True)])
def test_item_attributes_and_types(request, fixture, legacy):
    server = request.getfixturevalue(fixture)
    root = listing(server)
    for item in root:
        check_item_types(item, legacy)
        assert item["parent_id"] == "0"
    movies = by_name(root, "Movies")
    clips = by_name(listing(server, movies["id"]), "Demo Clips")
    video = by_name(listing(server, clips["id"]), "Test Pattern (10s).mp4")
    check_item_types(video, legacy)
    assert video["type"] == "movie" and video["is_dir"] is False
    assert int(video["size"]) == len(server.account.file_bytes(video["id"]))
    assert video["download_url"] == (
        f"{server.root_url}/download-file/{server.account.user_id}/{video['id']}"
    )
    readme = by_name(root, "README.txt")
    assert readme["type"] == "text"
    assert readme["screenshot_url"] is None and readme["thumb_url"] is None
    if legacy:
        assert video["stream_url"] == (
            f"{server.root_url}/stream/{server.account.user_id}/{video['id']}"
        )
        assert movies["stream_url"] is None and movies["folder_icon_url"]


def test_pictures_served_for_movies_and_images(emulator):
    pictures = by_name(listing(emulator), "Pictures")
    image = listing(emulator, pictures["id"])[0]
    assert image["type"] == "image"
    for url in (image["thumb_url"], image["screenshot_url"]):
        resp = requests.get(url, timeout=10)
        assert resp.status_code == 200 and resp.headers["Content-Type"] == "image/jpeg"
        assert resp.content.startswith(b"\xff\xd8")
    icon = requests.get(image["file_icon_url"], timeout=10)
    assert icon.status_code == 200 and icon.content.startswith(b"\x89PNG")


def test_folder_size_is_the_subtree_sum(emulator):
    account = emulator.account
    folder = account.add_folder("0", "sized")
    inner = account.add_folder(folder, "inner")
    account.add_file(folder, "a.bin", b"x" * 100)
    account.add_file(inner, "b.bin", b"y" * 23)
    item = by_name(listing(emulator), "sized")
    assert item["size"] == "123"
    total = sum(int(i["size"]) for i in listing(emulator, limit=2000))
    info = ok(raw_call(emulator, "files", "info", {"id": "0"}))[0]
    assert info["size"] == str(total) and info["is_dir"] is True and info["parent_id"] is None


def test_demo_library_shape(emulator):
    root = listing(emulator, limit=100)
    music = listing(emulator, by_name(root, "Music")["id"])
    assert by_name(music, "AC/DC - Live.txt")["type"] == "text"
    tones = listing(emulator, by_name(music, "Tones")["id"])
    assert by_name(tones, "tone-330hz.mp3")["type"] == "audio"
    docs = listing(emulator, by_name(root, "Documents")["id"])
    assert [i["name"] for i in docs].count("notes.txt") == 2
    assert len({i["id"] for i in docs if i["name"] == "notes.txt"}) == 2
    assert by_name(docs, "Café — notes.txt")["size"] != "0"
    assert by_name(docs, "empty.txt")["size"] == "0"
    empty = by_name(docs, "Empty Folder")
    assert empty["size"] == "0" and listing(emulator, empty["id"]) == []
    clips = listing(emulator, by_name(listing(emulator, by_name(root, "Movies")["id"]),
                                      "Demo Clips")["id"])
    extras = listing(emulator, by_name(clips, "Extras")["id"])
    assert extras and extras[0]["type"] == "text"


# --------------------------------------------------------------------------------- listing


def test_default_limit_and_pages(emulator):
    folder = emulator.account.add_folder("0", "many")
    ids = {emulator.account.add_file(folder, f"f{i:02}.txt", b"x") for i in range(45)}
    assert len(listing(emulator, folder)) == 20
    seen: list[str] = []
    for offset in range(0, 60, 20):
        seen += [i["id"] for i in listing(emulator, folder, offset=offset, limit=20)]
    assert len(seen) == 45 and set(seen) == ids
    assert listing(emulator, folder, offset="40", limit="10") == listing(
        emulator, folder, offset=40, limit=10
    )
    assert listing(emulator, folder, offset=45) == []


def test_limit_is_clamped_to_2000(emulator):
    folder = emulator.account.add_folder("0", "huge")
    for i in range(2005):
        emulator.account.add_file(folder, f"{i}.txt", b"")
    assert len(listing(emulator, folder, limit=5000)) == 2000
    assert len(listing(emulator, folder, limit=5000, offset=2000)) == 5


@pytest.mark.parametrize(("name", "value"), [("limit", 0), ("limit", -1), ("offset", -1),
                                             ("limit", "ten"), ("offset", True)])
def test_bad_paging_values(emulator, name, value):
    resp = raw_call(emulator, "files", "list", {name: value})
    failed(resp, f"Invalid parameter: {name}")


ORDER_FILES = [("b.TXT", b"1"), ("a.mp4", b"22"), ("C.jpg", b""), ("a.mp4", b"4444"),
               ("zeta", b"55555")]


def _expected_order(items: list[dict], orderby: str, created: list[str]) -> list[str]:
    type_codes = {"folder": 0, "file": 1, "audio": 2, "movie": 3, "image": 4, "text": 8}

    def ext(item):
        if item["is_dir"] or "." not in item["name"]:
            return ""
        return item["name"].rsplit(".", 1)[1].lower()

    keys = {
        "id": lambda i: (int(i["id"]),),
        "type": lambda i: (type_codes[i["type"]], int(i["id"])),
        "name": lambda i: (i["name"].casefold(), i["name"], int(i["id"])),
        "extension": lambda i: (ext(i), int(i["id"])),
        "createdat": lambda i: (created.index(i["id"]), int(i["id"])),
    }
    key, way = orderby.rsplit("_", 1)
    ordered = sorted(items, key=keys[key], reverse=way == "desc")
    return [i["id"] for i in ordered]


@pytest.mark.parametrize("orderby", [f"{k}_{w}" for k in ("id", "type", "name", "extension",
                                                         "createdat") for w in ("asc", "desc")])
def test_all_ten_orderby_values(emulator, orderby):
    account = emulator.account
    folder = account.add_folder("0", "ordered")
    base = time.time()
    # Creation times deliberately disagree with id order.
    created_at = [base + 5, base + 1, base + 3, base + 2, base + 4, base]
    made = [account.add_file(folder, name, data, created=created_at[n])
            for n, (name, data) in enumerate(ORDER_FILES)]
    made.append(account.add_folder(folder, "sub", created=created_at[5]))
    created = [i for _, i in sorted(zip(created_at, made, strict=True))]
    items = listing(emulator, folder, orderby=orderby)
    assert [i["id"] for i in items] == _expected_order(items, orderby, created)
    again = listing(emulator, folder, orderby=orderby)
    assert again == items


def test_default_order_is_createdat_desc(emulator):
    folder = emulator.account.add_folder("0", "recent")
    first = emulator.account.add_file(folder, "first.txt", b"")
    second = emulator.account.add_file(folder, "second.txt", b"")
    assert [i["id"] for i in listing(emulator, folder)] == [second, first]


def test_unknown_orderby(emulator):
    failed(raw_call(emulator, "files", "list", {"orderby": "size_asc"}),
           "Invalid parameter: orderby")


def test_type_filter_doc_takes_names(emulator):
    root = listing(emulator)
    assert {i["type"] for i in listing(emulator, type="folder")} == {"folder"}
    assert [i["name"] for i in listing(emulator, type="text")] == ["README.txt"]
    assert len(listing(emulator, type="folder")) == sum(i["is_dir"] for i in root)
    for wrong in (8, "8", "textfile"):
        failed(raw_call(emulator, "files", "list", {"type": wrong}), "Invalid parameter: type")


def test_type_filter_legacy_takes_codes(legacy_emulator):
    for code in (8, "8"):
        items = listing(legacy_emulator, type=code)
        assert [i["name"] for i in items] == ["README.txt"]
    assert all(i["is_dir"] for i in listing(legacy_emulator, type=0))
    for wrong in ("text", 42):
        failed(raw_call(legacy_emulator, "files", "list", {"type": wrong}),
               "Invalid parameter: type", 404)


def test_list_with_id_returns_that_item(emulator):
    readme = by_name(listing(emulator), "README.txt")
    assert listing(emulator, id=readme["id"]) == [readme]
    assert listing(emulator, id=int(readme["id"])) == [readme]


def test_list_errors(emulator):
    readme = by_name(listing(emulator), "README.txt")
    failed(raw_call(emulator, "files", "list", {"parent_id": readme["id"]}),
           "Target is not a folder")
    failed(raw_call(emulator, "files", "list", {"parent_id": "999999"}), "Item not found")
    failed(raw_call(emulator, "files", "info", {"id": "999999"}), "Item not found")
    failed(raw_call(emulator, "files", "info", {}), "Missing parameter: id")
    failed(raw_call(emulator, "files", "info", {"id": "abc"}), "Invalid parameter: id")


# ------------------------------------------------------------------------------- changing


@pytest.mark.parametrize("fixture", ["emulator", "legacy_emulator"])
def test_create_rename_move_delete(request, fixture):
    server = request.getfixturevalue(fixture)
    legacy = fixture == "legacy_emulator"
    made = ok(raw_call(server, "files", "create_dir", {"name": "New/Folder", "parent_id": "0"}))
    assert len(made) == 1
    folder = made[0]
    check_item_types(folder, legacy)
    assert folder["name"] == "New/Folder" and folder["is_dir"] and folder["size"] == "0"
    twin = ok(raw_call(server, "files", "create_dir", {"name": "New/Folder", "parent_id": 0}))[0]
    assert twin["id"] != folder["id"]
    assert [i["name"] for i in listing(server, limit=100)].count("New/Folder") == 2

    params = {"name": "child", "parent_id": folder["id"]}
    child = ok(raw_call(server, "files", "create_dir", params))[0]
    assert child["parent_id"] == folder["id"]
    renamed = ok(raw_call(server, "files", "rename", {"id": child["id"], "name": "Ünïcode"}))[0]
    assert renamed["name"] == "Ünïcode" and renamed["id"] == child["id"]
    moved = ok(raw_call(server, "files", "move", {"id": child["id"], "parent_id": twin["id"]}))[0]
    assert moved["parent_id"] == twin["id"]
    assert [i["id"] for i in listing(server, twin["id"])] == [child["id"]]

    server.account.add_file(child["id"], "deep.txt", b"abc")
    assert ok(raw_call(server, "files", "delete", {"id": twin["id"]})) == []
    failed(raw_call(server, "files", "info", {"id": child["id"]}), "Item not found")
    assert server.account.item(child["id"]) is None
    failed(raw_call(server, "files", "delete", {"id": twin["id"]}), "Item not found")


def test_change_errors(emulator):
    account = emulator.account
    top = account.add_folder("0", "top")
    mid = account.add_folder(top, "mid")
    leaf = account.add_file(mid, "leaf.txt", b"")
    subtree = "Cannot move a folder into itself or its own subtree"
    failed(raw_call(emulator, "files", "move", {"id": top, "parent_id": mid}), subtree)
    failed(raw_call(emulator, "files", "move", {"id": top, "parent_id": top}), subtree)
    failed(raw_call(emulator, "files", "move", {"id": top, "parent_id": leaf}),
           "Target is not a folder")
    failed(raw_call(emulator, "files", "create_dir", {"name": "x", "parent_id": leaf}),
           "Target is not a folder")
    failed(raw_call(emulator, "files", "create_dir", {"name": "", "parent_id": top}),
           "Invalid parameter: name")
    failed(raw_call(emulator, "files", "create_dir", {"parent_id": top}), "Missing parameter: name")
    failed(raw_call(emulator, "files", "rename", {"id": leaf, "name": ""}),
           "Invalid parameter: name")
    failed(raw_call(emulator, "files", "move", {"id": leaf}), "Missing parameter: parent_id")
    failed(raw_call(emulator, "files", "move", {"id": leaf, "parent_id": "424242"}),
           "Item not found")
    for method, params in (("rename", {"name": "x"}), ("move", {"parent_id": top}),
                           ("delete", {})):
        failed(raw_call(emulator, "files", method, {"id": "0", **params}),
               "Invalid parameter: id")
    assert account.item(top)["parent_id"] == "0"  # nothing changed on the way


def test_account_helpers_follow_api_rules(emulator):
    from putiofs.emulator import ApiError

    account = emulator.account
    top = account.add_folder("0", "t")
    sub = account.add_folder(top, "s")
    with pytest.raises(ApiError, match="own subtree"):
        account.move(top, sub)
    account.rename(sub, "renamed")
    assert [c["name"] for c in account.children(top)] == ["renamed"]
    account.delete(top)
    assert account.item(top) is None and account.item(sub) is None


# ---------------------------------------------------------------------------- search, dirmap


def test_search_doc(emulator):
    found = ok(raw_call(emulator, "files", "search", {"query": "NOTES"}))
    names = sorted(i["name"] for i in found)
    assert names == ["Café — notes.txt", "notes.txt", "notes.txt"]
    for item in found:
        check_item_types(item, legacy=False)
    # The doc dialect knows no operators: "ext:mp3" is just text.
    assert ok(raw_call(emulator, "files", "search", {"query": "ext:mp3"})) == []
    failed(raw_call(emulator, "files", "search", {}), "Missing parameter: query")


def test_search_legacy_operators(legacy_emulator):
    def names(query: str) -> list[str]:
        found = ok(raw_call(legacy_emulator, "files", "search", {"query": query}))
        return sorted(i["name"] for i in found)

    assert names("ext:mp3") == ["tone-330hz.mp3"]
    assert names("type:video") == ["Test Pattern (10s).mp4"]
    assert names("type:audio tone") == ["tone-330hz.mp3"]
    assert names("from:shares") == ["holiday plans.txt"]
    assert "holiday plans.txt" not in names("from:me txt")
    assert "holiday plans.txt" in names("from:all txt")
    legacy_emulator.account.add_file("0", "fresh.txt", b"made today")
    assert "fresh.txt" in names("time:today")
    assert "README.txt" not in names("time:today")  # the demo library is dated 2025
    assert names("time:yesterday") == []
    assert names("notes ext:txt") == ["Café — notes.txt", "notes.txt", "notes.txt"]
    failed(raw_call(legacy_emulator, "files", "search", {"query": "time:someday"}),
           "Invalid parameter: query", 404)


def test_dirmap_doc_is_flat(emulator):
    dirs = ok(raw_call(emulator, "files", "dirmap"))
    assert dirs and all(set(d) == {"id", "name", "parent_id"} for d in dirs)
    assert all(isinstance(d["id"], str) and isinstance(d["parent_id"], str) for d in dirs)
    by_id = {d["id"]: d for d in dirs}
    assert "0" not in by_id
    extras = next(d for d in dirs if d["name"] == "Extras")
    clips = by_id[extras["parent_id"]]
    movies = by_id[clips["parent_id"]]
    assert (clips["name"], movies["name"], movies["parent_id"]) == ("Demo Clips", "Movies", "0")
    assert not any(d["name"] == "README.txt" for d in dirs)


def test_dirmap_legacy_is_the_root_folder_object(legacy_emulator):
    """putio.py 0.91/0.92's get_folder_list() reads ``results['dirs']``: results is the root."""
    root = ok(raw_call(legacy_emulator, "files", "dirmap"))
    assert isinstance(root, dict)
    assert set(root) == {"id", "name", "dirs", "shared", "default_shared"}
    assert (root["id"], root["name"], root["shared"]) == ("0", "Your Files", False)
    movies = next(d for d in root["dirs"] if d["name"] == "Movies")
    clips = movies["dirs"][0]
    assert clips["name"] == "Demo Clips" and clips["dirs"][0]["name"] == "Extras"
    assert set(clips) == set(root) and isinstance(clips["id"], str)
    alice = next(d for d in root["dirs"] if d["name"] == "alice")
    assert alice["shared"] is True and movies["shared"] is False


DEPTH = 700  # deeper than Python's default recursion limit allows a recursive walk


def _deep_chain(server) -> list[str]:
    ids = ["0"]
    for level in range(DEPTH):
        ids.append(server.account.add_folder(ids[-1], f"level {level}"))
    return ids


@pytest.mark.parametrize("fixture", ["emulator", "legacy_emulator"])
def test_deep_folder_chains_list_with_exact_sizes(request, fixture):
    server = request.getfixturevalue(fixture)
    before = int(by_name(listing(server), "Music")["size"])
    ids = _deep_chain(server)
    bottom = server.account.add_file(ids[-1], "deep.bin", b"x" * 1234)
    top = by_name(listing(server), "level 0")
    assert top["size"] == "1234"
    assert ok(raw_call(server, "files", "info", {"id": ids[DEPTH // 2]}))[0]["size"] == "1234"
    # Sizes stay exact after every change: move the file up, then into Music, then delete it.
    ok(raw_call(server, "files", "move", {"id": bottom, "parent_id": ids[3]}))
    assert by_name(listing(server, ids[1]), "level 1")["size"] == "1234"
    assert by_name(listing(server, ids[3]), "level 3")["size"] == "0"
    music = by_name(listing(server), "Music")["id"]
    ok(raw_call(server, "files", "move", {"id": bottom, "parent_id": music}))
    assert by_name(listing(server), "level 0")["size"] == "0"
    assert by_name(listing(server), "Music")["size"] == str(before + 1234)
    ok(raw_call(server, "files", "delete", {"id": ids[1]}))
    assert [i["name"] for i in listing(server) if i["name"].startswith("level")] == []
    ok(raw_call(server, "files", "delete", {"id": bottom}))
    assert by_name(listing(server), "Music")["size"] == str(before)


@pytest.mark.parametrize("fixture", ["emulator", "legacy_emulator"])
def test_deep_folder_chains_in_dirmap(request, fixture):
    server = request.getfixturevalue(fixture)
    ids = _deep_chain(server)
    resp = raw_call(server, "files", "dirmap")
    if fixture == "emulator":
        dirs = {d["id"]: d["parent_id"] for d in ok(resp)}
        assert dirs[ids[-1]] == ids[-2]
        return
    # The nested answer is deeper than a recursive JSON parser takes: walk the raw text.
    assert resp.status_code == 200 and resp.text.count('"level ') == DEPTH
    assert resp.text.count('"default_shared": false') == len(server.account.nodes) - \
        sum(1 for n in server.account.nodes.values() if not n.is_dir)
