"""``putiofs ls | search | info`` against the v1 emulator: names as the mount shows them (on
v2: tests/emulator/test_v2_commands.py)."""

from __future__ import annotations

import pytest

from putiofs.api.services import Account
from putiofs.commands.output import human_size, table, to_json
from putiofs.emulator import EmulatorServer
from tests.support.commands_cli import Cli


@pytest.fixture
def cli(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(emulator, monkeypatch, capsys)


def results(api, server, service, method, params=None):
    return api(server, service, method, params or {}).json()["response"]["results"]


def test_ls_root_lists_every_item_with_sizes(cli: Cli, api, emulator: EmulatorServer) -> None:
    result = cli("ls")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["ID", "SIZE", "TYPE", "NAME"]
    listed = {line.split()[0]: line for line in lines[1:]}
    for item in results(api, emulator, "files", "list", {"parent_id": "0"}):
        line = listed[item["id"]]
        shown = item["name"] + ("/" if item["is_dir"] else "")
        assert line.endswith(shown)
    assert "Movies/" in result.out and "README.txt" in result.out
    readme = next(i for i in results(api, emulator, "files", "list", {"parent_id": "0"})
                  if i["name"] == "README.txt")
    assert f"{int(readme['size'])}.00B" in listed[readme["id"]]


def test_ls_names_duplicates_like_the_mount(cli: Cli) -> None:
    result = cli("ls", "/Documents", "--json")
    assert result.code == 0, result.err
    shown = {entry["shown_name"]: entry for entry in result.json()}
    low, high = sorted((e for e in result.json() if e["name"] == "notes.txt"),
                       key=lambda e: int(e["id"]))
    assert shown["notes.txt"]["id"] == low["id"]
    assert shown[f"notes [#{high['id']}].txt"]["id"] == high["id"]
    # the suffixed name resolves, as it would in the mount
    again = cli("ls", f"/Documents/notes [#{high['id']}].txt", "--json").json()
    assert [e["id"] for e in again] == [high["id"]]


def test_ls_json_matches_the_api(cli: Cli, api, emulator: EmulatorServer) -> None:
    music = next(i for i in results(api, emulator, "files", "list", {"parent_id": "0"})
                 if i["name"] == "Music")
    listed = cli("ls", "/Music", "--json").json()
    expected = results(api, emulator, "files", "list", {"parent_id": music["id"]})
    assert sorted((e["id"], e["name"], e["size"], e["is_dir"]) for e in listed) == sorted(
        (i["id"], i["name"], int(i["size"]), i["is_dir"]) for i in expected)
    assert {e["shown_name"] for e in listed} == {"Tones", "AC\u2215DC - Live.txt"}


def test_ls_shows_names_exactly_with_control_characters_escaped(
        cli: Cli, api, emulator: EmulatorServer) -> None:
    """`ls` folded whitespace ('sp ace ' showed as 'sp ace') and printed
    terminal sequences raw. Tables escape (\\, \\n, \\t, \\xNN); --json is exact."""
    renamed = {"17": "sp ace ", "16": "tab\there\nnew", "15": "\x1b]2;pwned\x07\x1b[2Jevil",
               "14": "back\\slash \x9b1m"}
    for item_id, name in renamed.items():
        api(emulator, "files", "rename", {"id": item_id, "name": name})
    result = cli("ls", "/Documents")
    assert result.code == 0, result.err
    for raw in ("\x1b", "\x07", "\t", "\x9b"):
        assert raw not in result.out
    lines = result.out.split("\n")
    assert len(lines) == 1 + 5 + 1  # header, five items, nothing after the last newline
    shown = {line.split()[0]: line for line in lines[1:-1]}
    assert shown["17"].endswith("  sp ace ")
    assert shown["16"].endswith("  tab\\there\\nnew")
    assert shown["15"].endswith("  \\x1b]2;pwned\\x07\\x1b[2Jevil")
    assert shown["14"].endswith("  back\\\\slash \\x9b1m")
    as_json = {e["id"]: e for e in cli("ls", "/Documents", "--json").json()}
    for item_id, name in renamed.items():
        assert as_json[item_id]["name"] == as_json[item_id]["shown_name"] == name
    # the name shown exactly is the name the mount resolves
    assert cli("info", "/Documents/sp ace ", "--json").json()["id"] == "17"
    assert "\x9b" not in cli("ls", "/Documents", "--json").out  # C1 escaped in JSON too


def test_ls_missing_path_is_one_line_error(cli: Cli) -> None:
    result = cli("ls", "/Movies/nothing here")
    assert result.code == 1
    assert result.out == ""
    assert result.err == "putiofs: error: /Movies/nothing here: no such file or folder\n"
    through_file = cli("ls", "/README.txt/x")
    assert through_file.code == 1 and "not a folder" in through_file.err


def test_search_finds_and_names_duplicates(cli: Cli, api, emulator: EmulatorServer) -> None:
    expected = results(api, emulator, "files", "search", {"query": "notes"})
    result = cli("search", "notes")
    assert result.code == 0, result.err
    assert len(result.out.splitlines()) == 1 + len(expected)
    found = cli("search", "notes", "--json").json()
    assert sorted(e["id"] for e in found) == sorted(i["id"] for i in expected)
    assert len({e["shown_name"] for e in found}) == len(found)


def test_search_without_results_and_with_a_refused_query(cli: Cli) -> None:
    nothing = cli("search", "no-such-thing-anywhere")
    assert nothing.code == 0
    assert "nothing found" in nothing.out
    assert cli("search", "no-such-thing-anywhere", "--json").json() == []
    empty = cli("search", " ")
    assert empty.code == 1 and empty.err.startswith("putiofs: error: ")


def test_info_by_path_and_by_id(cli: Cli, api, emulator: EmulatorServer) -> None:
    by_path = cli("info", "/Music/Tones/tone-330hz.mp3", "--json").json()
    expected = results(api, emulator, "files", "info", {"id": by_path["id"]})[0]
    assert by_path["name"] == expected["name"] == "tone-330hz.mp3"
    assert by_path["size"] == int(expected["size"])
    assert cli("info", by_path["id"], "--json").json() == by_path
    text = cli("info", by_path["id"]).out
    assert "name:" in text and "tone-330hz.mp3" in text
    assert f"({expected['size']} bytes)" in text


def test_info_unknown_id_reports_putios_message(cli: Cli) -> None:
    result = cli("info", "987654")
    assert result.code == 1
    assert result.err == "putiofs: error: Item not found\n"


def test_missing_credentials_is_one_line_error(cli: Cli, monkeypatch: pytest.MonkeyPatch,
                                               tmp_path) -> None:
    monkeypatch.delenv("PUTIO_API_SECRET")
    monkeypatch.setenv("HOME", str(tmp_path))
    result = cli("ls")
    assert result.code == 1
    assert result.err.startswith("putiofs: error: no put.io api_secret")
    assert len(result.err.splitlines()) == 1


def test_wrong_secret_is_refused_without_printing_it(cli: Cli,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUTIO_API_SECRET", "wrong-secret-value")
    result = cli("user", "info")
    assert result.code == 1
    assert result.err.startswith("putiofs: error: ")
    assert "wrong-secret-value" not in result.err + result.out


@pytest.mark.parametrize(("size", "shown"), [
    (0, "0.00B"), (1023, "1023.00B"), (92014, "89.86K"), (104961263, "100.10M"),
    (244091464, "232.78M"), (5 * 1024**4, "5.00T"), (None, "-"),
])
def test_human_size_as_the_spec_shows_it(size: int | None, shown: str) -> None:
    assert human_size(size) == shown


def test_table_aligns_and_json_drops_secrets() -> None:
    assert table(("A", "LONGER"), [("xyz", 1), (None, "b")]) == "A    LONGER\nxyz  1\n-    b\n"
    account = Account(user_id=1, user_name="me")
    assert to_json(account)["user_name"] == "me"
    assert not {"api_key", "api_secret", "access_token"} & set(to_json(account))
    assert to_json({"user": "me", "token": "t" * 8, "api_secret": "s" * 8}) == {"user": "me"}
