"""The emulator's user, messages, transfers, urls and subscriptions services, as raw HTTP."""

from __future__ import annotations

import re

import pytest

from putiofs.emulator.account.filetypes import human_size
from tests.conftest import raw_call
from tests.support.v1_envelopes import failed, ok

MESSAGE_TYPES = {
    "id": int, "user_id": int, "title": str, "importance": int, "file_name": str,
    "file_type": str, "user_file_id": int, "channel": int, "hidden": int,
}
SUBSCRIPTION_KEYS = {"id", "url", "name", "do_filters", "dont_filters", "parent_folder_id",
                     "last_update_time", "next_update_time", "paused"}
STAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d")


# ----------------------------------------------------------------------------------- user


def test_user_info_doc(emulator):
    info = ok(raw_call(emulator, "user", "info"))
    assert info == [{"user_id": emulator.account.user_id, "user_name": "demo"}]


def test_user_info_legacy_quotas(legacy_emulator):
    info = ok(raw_call(legacy_emulator, "user", "info"))[0]
    assert info["user_name"] == info["name"] == "demo"
    assert "api_secret" not in info and "demo" not in {info.get("api_key")}
    for key in ("disk_quota", "disk_quota_available", "bw_quota", "bw_quota_available",
                "shared_space"):
        assert isinstance(info[key], str) and info[key].isdigit(), key
    assert info["friends_count"] == 1
    root = ok(raw_call(legacy_emulator, "files", "info", {"id": 0}))[0]
    used = int(root["size"])
    assert int(info["disk_quota"]) - int(info["disk_quota_available"]) == used
    legacy_emulator.account.add_file("0", "more.bin", b"z" * 1000)
    after = ok(raw_call(legacy_emulator, "user", "info"))[0]
    assert int(info["disk_quota_available"]) - int(after["disk_quota_available"]) == 1000


@pytest.mark.parametrize("fixture", ["emulator", "legacy_emulator"])
def test_friends_share_a_listable_folder(request, fixture):
    server = request.getfixturevalue(fixture)
    friends = ok(raw_call(server, "user", "friends"))
    assert len(friends) == 1
    friend = friends[0]
    assert set(friend) == {"id", "name", "dir_id"} and friend["name"] == "alice"
    assert isinstance(friend["dir_id"], str)
    shared = ok(raw_call(server, "files", "list", {"parent_id": friend["dir_id"]}))
    assert [i["name"] for i in shared] == ["holiday plans.txt"]


def test_empty_account_has_no_friends(emulator_factory):
    server = emulator_factory()
    assert ok(raw_call(server, "user", "friends")) == []
    assert ok(raw_call(server, "files", "list")) == []


# ------------------------------------------------------------------------------- messages


def test_messages_list_and_delete(emulator):
    messages = ok(raw_call(emulator, "messages", "list"))
    assert len(messages) == 2
    for message in messages:
        for key, kind in MESSAGE_TYPES.items():
            assert isinstance(message[key], kind), key
        assert message["description"] is None and message["from_user_id"] is None
        assert message["hidden"] in (0, 1)
        assert emulator.account.item(str(message["user_file_id"]))["name"] == message["file_name"]
    video = emulator.account.item(str(messages[0]["user_file_id"]))
    assert video["type"] == "movie"
    assert f"({human_size(video['size'])}) downloaded" in messages[0]["title"]
    assert ok(raw_call(emulator, "messages", "delete", {"id": messages[0]["id"]})) == []
    assert [m["id"] for m in ok(raw_call(emulator, "messages", "list"))] == [messages[1]["id"]]
    failed(raw_call(emulator, "messages", "delete", {"id": messages[0]["id"]}),
           "Message not found")
    failed(raw_call(emulator, "messages", "delete", {}), "Missing parameter: id")


# ------------------------------------------------------------------------------ transfers


def _transfer_named(transfers: list[dict], name: str) -> dict:
    return next(t for t in transfers if t["name"] == name)


def test_transfer_progresses_to_completed(emulator_factory):
    server = emulator_factory(demo=True, transfer_seconds=0.8)
    now = [1000.0]  # the emulator's time, moved by the test: no race with a busy machine
    server.account.clock = lambda: now[0]
    before = len(ok(raw_call(server, "messages", "list")))
    added = ok(raw_call(server, "transfers", "add",
                        {"links": ["http://example.com/media/Some%20Film.mp4"]}))
    transfer = _transfer_named(added, "Some Film.mp4")
    assert set(transfer) == {"id", "name", "status", "percent_done"}
    assert isinstance(transfer["id"], str)
    assert (transfer["status"], transfer["percent_done"]) == ("Waiting", "0")
    now[0] += 0.4
    middle = _transfer_named(ok(raw_call(server, "transfers", "list")), "Some Film.mp4")
    assert middle["status"] == "Downloading" and 45 <= int(middle["percent_done"]) <= 50
    now[0] += 0.5
    done = _transfer_named(ok(raw_call(server, "transfers", "list")), "Some Film.mp4")
    assert (done["status"], done["percent_done"]) == ("Completed", "100")
    root = ok(raw_call(server, "files", "list", {"limit": 100}))
    file = next(i for i in root if i["name"] == "Some Film.mp4")
    assert file["type"] == "movie" and 2048 <= int(file["size"]) <= 6144
    assert len(server.account.file_bytes(file["id"])) == int(file["size"])
    messages = ok(raw_call(server, "messages", "list"))
    assert len(messages) == before + 1
    assert messages[-1]["file_name"] == "Some Film.mp4"
    assert messages[-1]["user_file_id"] == int(file["id"])
    assert "downloaded" in messages[-1]["title"]


def test_transfer_links_as_newline_string_and_magnets(emulator_factory):
    server = emulator_factory(transfer_seconds=0.0)
    links = "ftp://files.example.org/pub/a.iso\nmagnet:?xt=urn:btih:abc&dn=Linux%20ISO\n"
    added = ok(raw_call(server, "transfers", "add", {"links": links}))
    assert {t["name"] for t in added} == {"a.iso", "Linux ISO"}
    assert {t["status"] for t in added} == {"Completed"}
    assert {i["name"] for i in ok(raw_call(server, "files", "list"))} == {"a.iso", "Linux ISO"}


def test_failing_transfers(emulator):
    added = ok(raw_call(emulator, "transfers", "add",
                        {"links": ["http://host.invalid/x.avi", "not a link at all"]}))
    assert len(added) == 2
    for transfer in added:
        assert transfer["id"] is None and transfer["percent_done"] is None
        assert transfer["status"].startswith("Error: Could not fetch ")
    failed(raw_call(emulator, "transfers", "add", {}), "Missing parameter: links")
    failed(raw_call(emulator, "transfers", "add", {"links": 5}), "Invalid parameter: links")


def test_cancel_transfer(emulator):
    added = ok(raw_call(emulator, "transfers", "add", {"links": ["https://a.example/one.zip",
                                                                 "https://a.example/two.zip"]}))
    one = _transfer_named(added, "one.zip")
    left = ok(raw_call(emulator, "transfers", "cancel", {"id": one["id"]}))
    assert [t["name"] for t in left] == ["two.zip"]
    assert [t["name"] for t in ok(raw_call(emulator, "transfers", "list"))] == ["two.zip"]
    failed(raw_call(emulator, "transfers", "cancel", {"id": one["id"]}), "Transfer not found")


# ----------------------------------------------------------------------------------- urls


def test_human_size_matches_spec_samples():
    assert human_size(92014) == "89.86K"
    assert human_size(104961263) == "100.10M"
    assert human_size(244091464) == "232.78M"
    assert human_size(0) == "0.00B"


def test_urls_analyze_doc(emulator):
    links = ["ftp://a.b.c/name_of_the_file.mp4", "http://a.b/c.torrent",
             "http://r.example/files/ab.part1.rar", "http://r.example/files/ab.part2.rar",
             "http://broken.invalid/x"]
    found = ok(raw_call(emulator, "urls", "analyze", {"urls": links}))
    single = next(u for u in found if u["dl_handler"] == "Single Url" and not u["error"])
    assert single["name"] == "name_of_the_file.mp4" and single["dltype"] == 3
    assert single["type_name"] == single["file_type"] == "movie"
    assert isinstance(single["file_size"], str) and single["paid_bw"] == 0
    assert single["human_size"] == human_size(int(single["file_size"]))
    torrent = next(u for u in found if u["dl_handler"] == "Torrent")
    assert torrent["dltype"] == 2 and torrent["name"] == "c" and torrent["error"] is None
    multipart = next(u for u in found if u["dl_handler"] == "Multipart")
    assert multipart["name"] == "ab" and multipart["dltype"] == 4
    assert multipart["urls"] == links[2:4]
    error = next(u for u in found if u["error"])
    assert error["url"] == "http://broken.invalid/x"
    failed(raw_call(emulator, "urls", "analyze", {"links": links}), "Missing parameter: urls")


def test_urls_analyze_legacy(legacy_emulator):
    links = ["http://a.example/x.mkv", "magnet:?xt=urn:btih:1&dn=thing", "http://bad.invalid/y"]
    result = ok(raw_call(legacy_emulator, "urls", "analyze", {"links": links}))
    assert set(result) == {"items", "disk_avail", "bw_avail"}
    assert result["disk_avail"].isdigit() and result["bw_avail"].isdigit()
    items = result["items"]
    assert set(items) == {"singleurl", "torrent", "multiparturl", "error"}
    assert [u["url"] for u in items["singleurl"]] == links[:1]
    assert [u["name"] for u in items["torrent"]] == ["thing"]
    assert [u["url"] for u in items["error"]] == links[2:]
    assert items["multiparturl"] == []


def test_urls_analyze_legacy_items_carry_size_paid_bw_and_parts(legacy_emulator):
    """putio.py 0.91/0.92 reads paid_bw and size of every item, parts of a multipart one."""
    links = ["http://a.example/x.mkv", "magnet:?xt=urn:btih:1&dn=thing",
             "http://r.example/files/ab.part1.rar", "http://r.example/files/ab.part2.rar"]
    items = ok(raw_call(legacy_emulator, "urls", "analyze", {"links": links}))["items"]
    for bucket in ("singleurl", "torrent", "multiparturl"):
        assert len(items[bucket]) == 1, bucket
        item = items[bucket][0]
        assert isinstance(item["paid_bw"], int) and isinstance(item["size"], int), item
    single = items["singleurl"][0]
    assert single["size"] == int(single["file_size"])
    multipart = items["multiparturl"][0]
    parts = multipart["parts"]
    assert [p["url"] for p in parts] == links[2:]
    assert all(isinstance(p["size"], int) and isinstance(p["paid_bw"], int) for p in parts)
    assert multipart["size"] == sum(p["size"] for p in parts) == multipart["file_size"]


@pytest.mark.parametrize("fixture", ["emulator", "legacy_emulator"])
def test_extracturls(request, fixture):
    server = request.getfixturevalue(fixture)
    txt = ("see http://a.example/one.avi, and ftp://b.example/two.zip\n"
           "or magnet:?xt=urn:btih:3&dn=z then http://a.example/one.avi again; nothing else")
    found = ok(raw_call(server, "urls", "extracturls", {"txt": txt}))
    assert found == [{"url": "http://a.example/one.avi"}, {"url": "ftp://b.example/two.zip"},
                     {"url": "magnet:?xt=urn:btih:3&dn=z"}]
    failed(raw_call(server, "urls", "extracturls", {}), "Missing parameter: txt",
           404 if fixture == "legacy_emulator" else 200)


# -------------------------------------------------------------------------- subscriptions


def _check_subscription(sub: dict) -> None:
    assert set(sub) == SUBSCRIPTION_KEYS
    assert isinstance(sub["id"], int) and isinstance(sub["parent_folder_id"], int)
    assert isinstance(sub["paused"], bool)
    for key in ("url", "name", "do_filters", "dont_filters"):
        assert isinstance(sub[key], str)
    assert STAMP.fullmatch(sub["last_update_time"]) and STAMP.fullmatch(sub["next_update_time"])


@pytest.mark.parametrize("fixture", ["emulator", "legacy_emulator"])
def test_subscription_lifecycle(request, fixture):
    server = request.getfixturevalue(fixture)
    seeded = ok(raw_call(server, "subscriptions", "list"))
    assert [s["name"] for s in seeded] == ["Jazz Radio"]
    _check_subscription(seeded[0])
    folder = server.account.add_folder("0", "feeds")
    created = ok(raw_call(server, "subscriptions", "create", {
        "title": "Talks", "url": "http://feeds.example/talks.rss", "do_filters": "talk",
        "dont_filters": "", "parent_folder_id": folder, "paused": "false",
    }))[0]
    _check_subscription(created)
    assert (created["name"], created["parent_folder_id"], created["paused"]) == (
        "Talks", int(folder), False)
    sid = created["id"]
    assert ok(raw_call(server, "subscriptions", "info", {"id": sid})) == [created]
    edited = ok(raw_call(server, "subscriptions", "edit",
                         {"id": sid, "title": "Talks 2", "dont_filters": "cam"}))[0]
    assert (edited["name"], edited["dont_filters"], edited["url"]) == (
        "Talks 2", "cam", created["url"])
    assert ok(raw_call(server, "subscriptions", "pause", {"id": sid}))[0]["paused"] is True
    assert ok(raw_call(server, "subscriptions", "pause", {"id": sid}))[0]["paused"] is False
    assert len(ok(raw_call(server, "subscriptions", "list"))) == 2
    assert ok(raw_call(server, "subscriptions", "delete", {"id": sid})) == []
    failed(raw_call(server, "subscriptions", "info", {"id": sid}), "Subscription not found")
    failed(raw_call(server, "subscriptions", "pause", {"id": sid}), "Subscription not found")


def test_subscription_errors(emulator):
    failed(raw_call(emulator, "subscriptions", "create", {"url": "http://x.example/"}),
           "Missing parameter: title")
    failed(raw_call(emulator, "subscriptions", "create", {"title": "x"}),
           "Missing parameter: url")
    failed(raw_call(emulator, "subscriptions", "create",
                    {"title": "x", "url": "http://x.example/", "paused": "maybe"}),
           "Invalid parameter: paused")
    failed(raw_call(emulator, "subscriptions", "create",
                    {"title": "x", "url": "http://x.example/", "parent_folder_id": 98765}),
           "Item not found")
    assert len(ok(raw_call(emulator, "subscriptions", "list"))) == 1
