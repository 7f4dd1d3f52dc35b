"""``putiofs account | friends | events`` (and, on v2, ``share | shared``) against the
emulator, both API versions: the table, ``--json``, and v1's "not available" lines."""

from __future__ import annotations

import pytest
import requests

from putiofs.emulator import EmulatorServer
from tests.conftest import V2_TOKEN
from tests.support.commands_cli import Cli

NOT_ON_V1 = "is not available on the put.io API v1"


@pytest.fixture
def cli(demo_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(demo_emulator, monkeypatch, capsys)


def v2_get(server: EmulatorServer, path: str, **params: object) -> dict:
    answer = requests.get(f"{server.base_url}/{path}", params=params, timeout=10,
                          headers={"Authorization": f"Bearer {V2_TOKEN}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_account_shows_the_disk_as_the_api_reports_it(cli: Cli, api_version: str) -> None:
    result = cli("account", "--json")
    assert result.code == 0, result.err
    account = result.json()
    text = cli("account").out
    assert account["user_name"] and account["user_name"] in text
    if api_version == "v2":
        assert account["disk_quota"] > 0
        assert account["disk_used"] + account["disk_quota_available"] == account["disk_quota"]
        assert "disk quota" in text and "disk available" in text and "disk used" in text
        info = v2_get(cli.server, "account/info")["info"]
        assert account["disk_used"] == info["disk"]["used"]
        assert account["trash_enabled"] is True and account["account_status"] == "active"
        assert account["trash_size"] == info["trash_size"]
        assert "trash" in text and "on (deleted items go to the trash)" in text
        assert "status" in text and "active" in text
    else:  # the v1 doc dialect's user info: who, no quotas, no trash, no status
        assert account["trash_enabled"] is None and account["account_status"] is None
        assert account["disk_quota"] is None
        assert "trash" not in text and "status" not in text and "disk" not in text


def test_account_on_legacy_v1_shows_its_quotas(emulator_factory,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    cli = Cli(emulator_factory(demo=True, dialect="legacy"), monkeypatch, capsys)
    account = cli("account", "--json").json()
    assert account["disk_quota"] > 0
    assert account["disk_used"] + account["disk_quota_available"] == account["disk_quota"]
    assert account["shared_items"] == 1
    assert "disk available" in cli("account").out


def test_friends_lists_the_friend_and_their_folder(cli: Cli) -> None:
    friends = cli("friends", "--json").json()
    assert [f["name"] for f in friends] == ["alice"]
    assert friends[0]["dir_id"] is not None
    lines = cli("friends").out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "SHARED", "FOLDER"]
    assert lines[1].split()[1] == "alice"


@pytest.mark.parametrize("api_version", ["v2"], indirect=True)
def test_events_pages_back_with_before_and_limit(cli: Cli) -> None:
    for n in range(60):  # more than put.io's first page of 50
        cli.server.account.post_event("upload", file_id=n, file_name=f"up{n}.txt", file_size=n)
    events = cli("events", "--json").json()
    assert len(events) == 50 and events == cli("events", "list", "--json").json()
    assert events[0]["name"] == "up59.txt"  # newest first
    everything = cli("events", "--limit", "1000", "--json").json()
    assert len(everything) >= 60  # fetched over two pages
    assert [e["id"] for e in everything[:50]] == [e["id"] for e in events]
    first = cli("events", "--limit", "2", "--json").json()
    assert [e["id"] for e in first] == [e["id"] for e in events[:2]]
    rest = cli("events", "list", "--before", str(first[-1]["id"]), "--limit", "3",
               "--json").json()
    assert [e["id"] for e in rest] == [e["id"] for e in events[2:5]]
    text = cli("events", "--limit", "2").out.splitlines()
    assert text[0].split() == ["ID", "WHEN", "TYPE", "DETAIL", "NAME"]
    assert text[1].split()[0] == str(first[0]["id"]) and text[1].endswith("up59.txt")


def test_events_on_v1_is_one_error_line(cli: Cli, api_version: str) -> None:
    result = cli("events", "--limit", "3")
    if api_version == "v1":
        assert result.code == 1
        assert result.err == f"putiofs: error: events {NOT_ON_V1}\n"
    else:
        assert result.code == 0, result.err


def test_events_limit_must_be_positive(cli: Cli) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli("events", "--limit", "0")
    assert exit_info.value.code == 2


# -- share, shared, unshare ------------------------------------------------------------------

def test_share_with_a_friend_and_everyone_then_unshare(cli: Cli, api_version: str) -> None:
    result = cli("share", "/Documents", "--with", "alice")
    if api_version == "v1":
        assert result.code == 1 and result.out == ""
        assert result.err == f"putiofs: error: shares {NOT_ON_V1}\n"
        assert cli("shared").err == f"putiofs: error: shares {NOT_ON_V1}\n"
        assert cli("unshare", "/Documents").err == f"putiofs: error: shares {NOT_ON_V1}\n"
        return
    assert result.code == 0, result.err
    assert result.out == "shared /Documents with alice\n"
    assert cli("share", "/Music", "--with", "everyone", "--json").json()["with"] == "everyone"
    by_name = {f["name"]: str(f["id"])
               for f in v2_get(cli.server, "files/list", parent_id=0)["files"]}
    shared = cli("shared", "--json").json()
    assert sorted((s["name"], s["everyone"], s["friends"]) for s in shared) == [
        ("Documents", False, ["alice"]), ("Music", True, [])]
    assert {s["file_id"] for s in shared} == {by_name["Documents"], by_name["Music"]}
    lines = cli("shared").out.splitlines()
    assert lines[0].split() == ["ID", "WITH", "NAME"]
    assert any(line.split()[1:] == ["alice", "Documents"] for line in lines[1:])
    assert any(line.split()[1:] == ["everyone", "Music"] for line in lines[1:])
    api_shared = v2_get(cli.server, "files/shared")["shared"]
    assert {str(s["file_id"]) for s in api_shared} == {by_name["Documents"], by_name["Music"]}
    assert cli("unshare", "/Music").out == "stopped sharing /Music\n"
    assert [s["name"] for s in cli("shared", "--json").json()] == ["Documents"]


@pytest.mark.parametrize("api_version", ["v2"], indirect=True)
def test_share_refusals_are_one_error_line_and_share_nothing(cli: Cli) -> None:
    result = cli("share", "/Documents", "--with", "mallory")
    assert result.code == 1 and result.out == ""
    assert result.err.startswith("putiofs: error: ") and "mallory" in result.err
    assert result.err.count("\n") == 1
    missing = cli("share", "/no such folder", "--with", "alice")
    assert missing.code == 1
    assert missing.err == "putiofs: error: /no such folder: no such file or folder\n"
    root = cli("share", "/", "--with", "everyone")
    assert root.err == "putiofs: error: the root folder cannot be shared\n"
    assert cli("shared").out == "nothing shared\n"
    assert v2_get(cli.server, "files/shared")["shared"] == []
