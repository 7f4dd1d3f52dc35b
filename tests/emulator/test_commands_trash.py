"""``putiofs trash list | restore | delete | empty`` against the v2 emulator, and v1's answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from putiofs.emulator import EmulatorServer
from putiofs.v2.client import V2Client
from putiofs.v2.wire import V2Wire
from tests.support.commands_cli import Cli
from tests.support.versions import V2_TOKEN

pytestmark = pytest.mark.server(api="v2", token=V2_TOKEN)


@pytest.fixture
def client(server: EmulatorServer) -> Iterator[V2Client]:
    with V2Wire(V2_TOKEN, base_url=server.base_url) as wire:
        yield V2Client(wire)


def _files(client: V2Client, folder: str = "0") -> dict[str, object]:
    return {f.name: f for f in client.list_folder(folder)}


def _two_trashed_of_one_name(client: V2Client) -> tuple[str, str, str]:
    """Two files named ``twin.txt`` (from two folders) deleted: their ids and the first's folder."""
    folder = client.create_folder("0", "Elsewhere")
    root_file = next(f for f in client.list_folder("0") if not f.is_dir)
    copy = client.copy(root_file.id, folder.id, "twin.txt")
    original = client.copy(root_file.id, "0", "twin.txt")
    client.delete([original.id])
    client.delete([copy.id])
    return original.id, copy.id, folder.id


def test_list_names_items_as_the_mount_does(cli: Cli, client: V2Client) -> None:
    first, second, folder = _two_trashed_of_one_name(client)
    listed = cli("trash", "list", "--json")
    assert listed.code == 0, listed.err
    by_id = {item["id"]: item for item in listed.json()}
    assert set(by_id) == {first, second}
    assert by_id[first]["original_folder_id"] == "0"
    assert by_id[second]["original_folder_id"] == folder
    shown = {item["shown_name"] for item in by_id.values()}
    assert "twin.txt" in shown and len(shown) == 2
    assert any(name.startswith("twin [#") for name in shown)
    assert by_id[first]["deleted_at"] is not None
    text = cli("trash", "list").out.splitlines()
    assert text[0].split() == ["ID", "SIZE", "DELETED", "FROM", "NAME"]
    assert len(text) == 3


def test_restore_by_name_and_by_id_puts_items_back(cli: Cli, client: V2Client) -> None:
    first, second, folder = _two_trashed_of_one_name(client)
    shown = {item["shown_name"]: item["id"] for item in cli("trash", "list", "--json").json()}
    other = next(item_id for item_id in (first, second) if item_id != shown["twin.txt"])
    result = cli("trash", "restore", "/.putio/trash/twin.txt", other)
    assert result.code == 0, result.err
    assert result.out.count("restored") == 2
    assert _files(client)["twin.txt"].id in {first, second}
    assert "twin.txt" in _files(client, folder)
    assert cli("trash", "list", "--json").json() == []
    assert cli("trash", "list").out == "the trash is empty\n"


def test_unknown_target_is_an_error_line_and_the_others_are_restored(
        cli: Cli, client: V2Client) -> None:
    first, _, _ = _two_trashed_of_one_name(client)
    result = cli("trash", "restore", "--json", "999999", "no-such-name", first)
    assert result.code == 1
    assert result.json() == {"restored": [first]}
    errors = result.err.splitlines()
    assert errors == ["putiofs: error: 999999: not in the trash",
                      "putiofs: error: no-such-name: not in the trash"]


def test_delete_and_empty_remove_for_good(cli: Cli, client: V2Client) -> None:
    first, second, _ = _two_trashed_of_one_name(client)
    deleted = cli("trash", "delete", first)
    assert deleted.code == 0, deleted.err
    assert [item["id"] for item in cli("trash", "list", "--json").json()] == [second]
    with pytest.raises(SystemExit) as refused:  # ids only: a name is a usage error
        cli("trash", "delete", "twin.txt")
    assert refused.value.code == 2
    assert len(cli("trash", "list", "--json").json()) == 1
    emptied = cli("trash", "empty", "--json")
    assert emptied.json() == {"emptied": 1}
    assert cli("trash", "list", "--json").json() == []
    assert cli("trash", "restore", first).code == 1


def test_v1_has_no_trash(emulator_factory, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    cli = Cli(emulator_factory(demo=True), monkeypatch, capsys)
    for argv in (["list"], ["restore", "1"], ["delete", "1"], ["empty"]):
        result = cli("trash", *argv)
        assert result.code == 1
        assert result.err == "putiofs: error: trash is not available on the put.io API v1\n"
