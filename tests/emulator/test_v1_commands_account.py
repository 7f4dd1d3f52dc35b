"""``putiofs urls | messages | subscriptions | user`` against the v1 emulator, both dialects."""

from __future__ import annotations

import io

import pytest

from putiofs.emulator import EmulatorServer
from tests.support.commands_cli import Cli
from tests.support.servers import on_each_dialect

pytestmark = on_each_dialect


def results(api, server, service, method, params=None):
    return api(server, service, method, params or {}).json()["response"]["results"]


# -- urls ----------------------------------------------------------------------------------

def test_urls_analyze(cli: Cli) -> None:
    good, torrent = "http://example.com/pub/disk.iso", "magnet:?xt=urn:btih:abc&dn=Album"
    result = cli("urls", "analyze", good, torrent)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split()[:2] == ["HANDLER", "SIZE"]
    assert any(line.startswith("Single Url") and "disk.iso" in line for line in lines)
    assert any(line.startswith("Torrent") and "Album" in line for line in lines)
    urls = cli("urls", "analyze", "--json", good, torrent).json()["urls"]
    assert {u["name"] for u in urls} == {"disk.iso", "Album"}
    assert all(u["file_size"] > 0 and u["error"] is None for u in urls)


def test_urls_analyze_exits_1_for_an_unfetchable_link(cli: Cli) -> None:
    result = cli("urls", "analyze", "http://host.invalid/x.zip")
    assert result.code == 1
    assert "Could not fetch" in result.out


def test_urls_extract_from_a_file_and_stdin(cli: Cli, tmp_path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    text = "see http://a.example/one.avi and\nftp://b.example/two.zip, twice http://a.example/one.avi"
    path = tmp_path / "page.txt"
    path.write_text(text)
    result = cli("urls", "extract", str(path))
    assert result.code == 0, result.err
    assert result.out == "http://a.example/one.avi\nftp://b.example/two.zip\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert cli("urls", "extract", "--json").json() == [
        "http://a.example/one.avi", "ftp://b.example/two.zip"]


def test_urls_extract_missing_file(cli: Cli, tmp_path) -> None:
    result = cli("urls", "extract", str(tmp_path / "absent.txt"))
    assert result.code == 1
    assert result.err.startswith("putiofs: error: cannot read ")


# -- messages ------------------------------------------------------------------------------

def test_messages_list_matches_the_api(cli: Cli, api, server: EmulatorServer) -> None:
    expected = results(api, server, "messages", "list")
    assert len(expected) == 2
    listed = cli("messages", "list", "--json").json()
    assert [(m["id"], m["file_name"]) for m in listed] == [
        (m["id"], m["file_name"]) for m in expected]
    text = cli("messages", "list").out
    assert "<a" not in text and "<span" not in text  # HTML titles as plain text
    for message in expected:
        assert f"{message['file_name']} (" in text and "downloaded" in text
        assert str(message["id"]) in text


def test_messages_delete(cli: Cli, api, server: EmulatorServer) -> None:
    first, second = (m["id"] for m in results(api, server, "messages", "list"))
    result = cli("messages", "delete", str(first), "999999")
    assert result.code == 1
    assert result.out == f"deleted message {first}\n"
    assert result.err == "putiofs: error: message 999999: Message not found\n"
    assert [m["id"] for m in results(api, server, "messages", "list")] == [second]


# -- subscriptions -------------------------------------------------------------------------

def test_subscriptions_list_and_info(cli: Cli, api, server: EmulatorServer) -> None:
    [expected] = results(api, server, "subscriptions", "list")
    listed = cli("subscriptions", "list", "--json").json()
    assert [(s["id"], s["name"], s["url"], s["do_filters"], s["paused"]) for s in listed] == [
        (expected["id"], expected["name"], expected["url"], expected["do_filters"], False)]
    table = cli("subscriptions", "list").out.splitlines()
    assert table[1].split()[:4] == [str(expected["id"]), "active", "Jazz", "Radio"]
    info = cli("subscriptions", "info", str(expected["id"]))
    assert info.code == 0
    assert "name:" in info.out and "Jazz Radio" in info.out and "smooth, wav" in info.out


def test_subscriptions_create_edit_pause_delete(cli: Cli, api, server: EmulatorServer) -> None:
    created = cli("subscriptions", "create", "--json", "--title", "Podcasts",
                  "--url", "http://feeds.example/rss", "--do", "mp3, ogg", "--dont", "wav",
                  "--paused")
    assert created.code == 0, created.err
    sub = created.json()
    stored = results(api, server, "subscriptions", "info", {"id": sub["id"]})[0]
    assert (stored["name"], stored["url"], stored["do_filters"], stored["dont_filters"],
            stored["paused"]) == ("Podcasts", "http://feeds.example/rss", "mp3, ogg", "wav",
                                  True)

    edited = cli("subscriptions", "edit", str(sub["id"]), "--title", "Radio", "--no-paused",
                 "--json").json()
    assert (edited["name"], edited["paused"], edited["url"]) == (
        "Radio", False, "http://feeds.example/rss")

    paused = cli("subscriptions", "pause", str(sub["id"]))
    assert paused.out == f"subscription {sub['id']} is now paused\n"
    assert results(api, server, "subscriptions", "info", {"id": sub["id"]})[0]["paused"]

    deleted = cli("subscriptions", "delete", str(sub["id"]))
    assert deleted.code == 0
    assert sub["id"] not in [s["id"] for s in results(api, server, "subscriptions", "list")]


def test_subscriptions_errors(cli: Cli) -> None:
    for argv in (("info", "4242"), ("pause", "4242"), ("delete", "4242"),
                 ("edit", "4242", "--title", "x")):
        result = cli("subscriptions", *argv)
        assert (result.code, result.err) == (1, "putiofs: error: Subscription not found\n")
    with pytest.raises(SystemExit) as exc:
        cli("subscriptions", "create", "--title", "only a title")
    assert exc.value.code == 2


def test_subscriptions_create_in_a_missing_folder(cli: Cli) -> None:
    result = cli("subscriptions", "create", "--title", "t", "--url", "http://f.example/rss",
                 "--folder", "99999")
    assert result.code == 1
    assert result.err.startswith("putiofs: error: ") and "not found" in result.err


# -- user ----------------------------------------------------------------------------------

def test_user_info_and_friends(cli: Cli, api, server: EmulatorServer) -> None:
    expected = results(api, server, "user", "info")[0]
    info = cli("user", "info", "--json").json()
    assert info["user_name"] == expected["user_name"] and info["user_id"] == expected["user_id"]
    assert not {"api_key", "api_secret", "access_token"} & set(info)
    text = cli("user", "info").out
    assert text.startswith("user:") and expected["user_name"] in text
    if "disk_quota" in expected:
        assert "disk quota:" in text and f"({expected['disk_quota']} bytes)" in text
    friends = cli("user", "friends", "--json").json()
    assert friends == results(api, server, "user", "friends")
    assert cli("user", "friends").out.splitlines()[1].split() == [
        friends[0]["id"], friends[0]["name"], friends[0]["dir_id"]]
