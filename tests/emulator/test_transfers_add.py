"""``putiofs transfers add`` with ``--to`` and local .torrent files, and watch's speed and ETA,
against the emulator on both API versions (v1 has neither a target folder nor .torrent
uploads: one clear error line, nothing added). Recognising a torrent and drawing the progress
line, without an emulator: tests/unit/test_transfers_add.py."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from putiofs.commands.watch import watch
from putiofs.config import Settings
from putiofs.connect import connect
from putiofs.emulator import EmulatorServer
from tests.conftest import API_KEY, API_SECRET
from tests.support.commands_cli import Cli
from tests.support.servers import on_each_version
from tests.support.torrents import TORRENT
from tests.support.versions import version_of

pytestmark = [on_each_version, pytest.mark.server(transfer_seconds=0.6)]


def transfer_names(server: EmulatorServer) -> list[str]:
    with server.account.lock:
        return [t.name for t in server.account.transfers.values()]


@pytest.fixture
def torrent_file(tmp_path: Path) -> Path:
    path = tmp_path / "my movie.torrent"
    path.write_bytes(TORRENT)
    return path


def test_a_url_transfer_into_a_folder_is_watched_to_completed_and_appears_there(
        cli: Cli, server: EmulatorServer) -> None:
    if version_of(server) == "v1":
        pytest.skip("v1 has no --to (see test_to_is_not_available_on_v1)")
    added = cli("transfers", "add", "--to", "/Music", "--json",
                "http://example.com/files/new-song.mp3")
    assert added.code == 0, added.err
    [transfer] = [t for t in added.json() if t["name"] == "new-song.mp3"]
    watched = cli("transfers", "watch", "--interval", "0.1", transfer["id"])
    assert watched.code == 0, watched.err
    assert "Completed" in watched.out.splitlines()[-1]
    listed = cli("ls", "/Music")
    assert listed.code == 0, listed.err
    assert "new-song.mp3" in listed.out
    assert "new-song.mp3" not in cli("ls", "/").out


def test_add_to_a_folder_that_does_not_exist_adds_nothing(cli: Cli,
                                                          server: EmulatorServer) -> None:
    result = cli("transfers", "add", "--to", "/No such folder", "http://example.com/a.iso")
    assert result.code == 1
    assert result.err.strip() == "putiofs: error: --to /No such folder: no such folder"
    assert transfer_names(server) == []
    not_folder = cli("transfers", "add", "--to", "/README.txt", "http://example.com/a.iso")
    assert not_folder.err.strip() == "putiofs: error: --to /README.txt: not a folder"
    assert transfer_names(server) == []


def test_a_local_torrent_file_becomes_a_transfer(cli: Cli, server: EmulatorServer,
                                                 torrent_file: Path) -> None:
    result = cli("transfers", "add", "--json", str(torrent_file), "http://example.com/b.iso")
    if version_of(server) == "v1":
        assert result.code == 1
        assert result.err.strip() == ("putiofs: error: adding a .torrent file is not "
                                      "available on the put.io API v1")
        assert transfer_names(server) == []   # the link was not added either
        return
    assert result.code == 0, result.err
    names = sorted(t["name"] for t in result.json())
    assert names == ["b.iso", "my movie"]
    assert sorted(transfer_names(server)) == names


def test_to_is_not_available_on_v1(cli: Cli, server: EmulatorServer) -> None:
    if version_of(server) == "v2":
        pytest.skip("v2 has --to (see the test above)")
    result = cli("transfers", "add", "--to", "/Music", "http://example.com/c.iso")
    assert result.code == 1
    assert result.err.strip() == ("putiofs: error: transfers add --to is not available on "
                                  "the put.io API v1")
    assert transfer_names(server) == []


def test_a_local_file_that_is_no_torrent_adds_nothing(cli: Cli, server: EmulatorServer,
                                                      tmp_path: Path) -> None:
    notes = tmp_path / "notes.torrent"
    notes.write_bytes(b"http://example.com/x.iso\n")
    result = cli("transfers", "add", "http://example.com/d.iso", str(notes))
    assert result.code == 1
    assert result.err.strip() == (f"putiofs: error: {notes}: not a .torrent file "
                                  "(no bencoded info dictionary)")
    assert transfer_names(server) == []


def settings_of(server: EmulatorServer) -> Settings:
    if version_of(server) == "v2":
        return Settings(api="v2", api_url=server.base_url, token=server.options.token,
                        upload_url=server.root_url)
    return Settings(api_url=server.base_url, api_key=API_KEY, api_secret=API_SECRET)


def test_watch_shows_put_io_s_speed_and_eta_while_downloading(server_factory) -> None:
    server = server_factory(demo=True, transfer_seconds=3600)
    connection = connect(settings_of(server))
    try:
        [added] = connection.services.add_transfers(["http://example.com/files/big.iso"]
                                                    ).transfers[-1:]
        with server.account.lock:
            for transfer in server.account.transfers.values():
                transfer.started -= 1800          # half way through its hour

        def finish(_: float) -> None:
            with server.account.lock:
                for transfer in server.account.transfers.values():
                    transfer.started -= 3600

        out = io.StringIO()
        code = watch(connection.services, [added.id], interval=0.01, out=out, tty=False,
                     sleep=finish)
    finally:
        connection.close()
    assert code == 0
    downloading, completed = out.getvalue().splitlines()
    if version_of(server) == "v2":
        assert re.search(r"\]  50%  \d+(\.\d)? [kMG]?B/s  ETA 30m0\ds  Downloading  big\.iso$",
                         downloading), downloading
    else:
        assert downloading.endswith("]  50%  -  ETA -  Downloading  big.iso"), downloading
    assert completed == "[" + "#" * 30 + "] 100%  Completed  big.iso"


def test_several_links_are_added_in_one_call_and_a_refused_one_is_reported(
        cli: Cli, server: EmulatorServer) -> None:
    """v2: one ``transfers/add-multi`` for every link; a link put.io refuses (a blank in it)
    is an error line and exit status 1, the others are added."""
    if version_of(server) == "v1":
        pytest.skip("v1 adds links one by one (its own API)")
    server.reset_stats()
    added = cli("transfers", "add", "--to", "/Music", "--json",
                "http://example.com/one.iso", "magnet:?xt=urn:btih:abc&dn=two",
                "http://example.com/th ree.iso")
    assert added.code == 1
    assert added.err.strip() == ("putiofs: error: http://example.com/th ree.iso: "
                                 "refused (INVALID_URL)")
    assert sorted(t["name"] for t in added.json() if t["id"]) == ["one.iso", "two"]
    assert sorted(transfer_names(server)) == ["one.iso", "two"]
    requests = server.stats()["requests"]
    assert requests.get("transfers.add_multi") == 1
    assert "transfers.add" not in requests
    [music] = [c["id"] for c in server.account.children("0") if c["name"] == "Music"]
    with server.account.lock:
        assert {t.save_parent_id for t in server.account.transfers.values()} == {int(music)}
