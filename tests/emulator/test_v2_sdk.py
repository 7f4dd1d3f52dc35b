"""put.io's own Python SDK (putio.py 8.8.0, module ``putiopy``, with tus.py) against the v2
emulator, unmodified: it only has its URL globals pointed at the emulator
(:func:`tests.support.realclients.putio_sdk`). Nobody here wrote it, so what it sends is what a real
client sends: ``File.list`` with its default arguments (``sort_by=""``, ``stream_url=False``,
``hidden=False``...), a form-encoded ``cursor``, a single ``file_id`` delete, a HEAD without
redirects for links, ``Range: bytes=N-`` downloads checked against ``crc32``, multipart and TUS
uploads. Every test checks the result against the emulator's own state."""

from __future__ import annotations

import functools
import os
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from putiofs.emulator import EmulatorServer
from putiofs.emulator.account.state import ROOT_ID
from tests.support import polling
from tests.support.realclients import putio_sdk

#: Polling for the emulator's jobs: fails the test after 20 s.
wait_for = functools.partial(polling.wait_for, seconds=20.0,
                             fail="the emulator's transfer did not finish")

putiopy = pytest.importorskip(
    "putiopy", reason="put.io's Python SDK is not installed (pip install putio.py==8.8.0)")

TOKEN = "sdk-token-4e1b"
VIDEO_ID = 4  # the demo library's "Test Pattern (10s).mp4"
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")

pytestmark = pytest.mark.server(api="v2", token=TOKEN, transfer_seconds=0.3)


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """tus.py uses module-level ``requests`` calls, which honour proxy variables: keep it on
    loopback whatever the calling environment says."""
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def sdk(server: EmulatorServer) -> Iterator[Any]:
    with putio_sdk(server.base_url, TOKEN) as client:
        yield client


def _files(server: EmulatorServer) -> list:
    """Every file (not folder) of the account, as the emulator holds it."""
    return [n for n in server.account.descendants() if not n.is_dir]


def _bytes(server: EmulatorServer, node_id: int) -> bytes:
    source = server.account.file_source(node_id)
    return b"".join(source.chunks(0, source.size - 1)) if source.size else b""


def _requests(server: EmulatorServer, name: str) -> int:
    return server.stats()["requests"].get(name, 0)


def _folder(server: EmulatorServer, name: str, parent: int = ROOT_ID) -> int:
    with server.account.lock:
        return server.account.create(parent, name, True).id


# -- listing and search -----------------------------------------------------------------------

def test_list_with_the_sdks_default_arguments(server: EmulatorServer, sdk: Any) -> None:
    files = sdk.File.list()
    account = server.account
    root = account.nodes[ROOT_ID]
    assert sorted(f.id for f in files) == sorted(root.children)
    for item in files:
        node = account.nodes[item.id]
        assert item.name == node.name
        assert item.parent_id == ROOT_ID
        assert item.size == account.size_of(node)
        assert (item.content_type == "application/x-directory") == node.is_dir
        if not node.is_dir:
            assert item.crc32 == f"{zlib.crc32(_bytes(server, node.id)):08x}"


def test_sdk_created_at_is_the_emulators_creation_second(server: EmulatorServer,
                                                         sdk: Any) -> None:
    """The SDK parses ``created_at`` itself (whole seconds, read as UTC)."""
    server.account.nodes[1].created = 1_600_000_123.75
    [readme] = [f for f in sdk.File.list() if f.id == 1]
    assert readme.created_at.timetuple()[:6] == time.gmtime(1_600_000_123)[:6]


def test_list_pages_through_the_form_cursor(server: EmulatorServer, sdk: Any) -> None:
    folder = _folder(server, "Paged")
    for i in range(5):
        server.account.put_file(folder, f"part-{i}.txt", b"x" * i)
    server.reset_stats()
    files = sdk.File.list(parent_id=folder, per_page=2)
    assert [f.name for f in files] == [f"part-{i}.txt" for i in range(5)]
    assert [f.size for f in files] == list(range(5))
    assert _requests(server, "files.list") == 1
    assert _requests(server, "files.list_continue") == 2


def test_listing_a_file_gives_no_children(server: EmulatorServer, sdk: Any) -> None:
    assert sdk.File.list(parent_id=1) == []


def test_search(server: EmulatorServer, sdk: Any) -> None:
    found = sdk.File.search("pattern")
    assert [(f.id, f.name) for f in found] == [(VIDEO_ID, "Test Pattern (10s).mp4")]
    assert sdk.File.search("no such words anywhere") == []


# -- changing the tree ------------------------------------------------------------------------

def test_create_rename_move_get_delete(server: EmulatorServer, sdk: Any) -> None:
    account = server.account
    target = _folder(server, "Target")
    folder = sdk.File.create_folder("From the SDK")
    assert folder.content_type == "application/x-directory"
    assert account.nodes[folder.id].name == "From the SDK"
    assert account.nodes[folder.id].parent_id == ROOT_ID

    folder.rename("Renamed by the SDK")
    assert account.nodes[folder.id].name == "Renamed by the SDK"

    folder.move(target)
    assert account.nodes[folder.id].parent_id == target
    fetched = sdk.File.get(folder.id)
    assert (fetched.name, fetched.parent_id) == ("Renamed by the SDK", target)

    answer = folder.delete()
    assert answer["skipped"] == 0
    assert folder.id not in account.nodes
    assert folder.id in account.trash.records


def test_delete_multi_skips_what_is_gone(server: EmulatorServer, sdk: Any) -> None:
    gone = sdk.File.create_folder("gone soon")
    answer = sdk.File.delete_multi([gone.id, 987654], skip_nonexistents=True)
    assert answer["skipped"] == 1
    assert gone.id not in server.account.nodes


def test_name_clash_and_missing_items_are_client_errors(sdk: Any) -> None:
    with pytest.raises(putiopy.ClientError) as clash:
        sdk.File.create_folder("Movies")
    assert clash.value.type == "NAME_ALREADY_EXIST"
    assert clash.value.response.status_code == 400
    with pytest.raises(putiopy.ClientError) as missing:
        sdk.File.get(987654)
    assert missing.value.response.status_code == 404


def test_a_bad_token_is_a_401_client_error(server: EmulatorServer) -> None:
    with putio_sdk(server.base_url, "not-the-token") as client, \
            pytest.raises(putiopy.ClientError) as refused:
        client.File.list()
    assert refused.value.response.status_code == 401


# -- downloads --------------------------------------------------------------------------------

@pytest.fixture
def verified(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The results of the SDK's own size and CRC-32 check of each download (it only logs a
    mismatch, so the test records what ``_verify_file`` returned)."""
    results: list[bool] = []
    original = putiopy._File._verify_file

    def recording(self: Any, filepath: str) -> bool:
        results.append(original(self, filepath))
        return results[-1]

    monkeypatch.setattr(putiopy._File, "_verify_file", recording)
    return results


def test_every_file_downloads_with_a_matching_crc32(server: EmulatorServer, sdk: Any,
                                                   tmp_path: Path, verified: list[bool]) -> None:
    nodes = _files(server)
    for node in nodes:
        sdk.File.get(node.id).download(str(tmp_path), save_as=f"{node.id}.bin")
        assert (tmp_path / f"{node.id}.bin").read_bytes() == _bytes(server, node.id), node.name
    assert verified == [True] * len(nodes)


def test_a_partial_download_is_resumed_with_a_range(server: EmulatorServer, sdk: Any,
                                                    tmp_path: Path, verified: list[bool]) -> None:
    data = _bytes(server, VIDEO_ID)
    (tmp_path / "video.mp4").write_bytes(data[:30_001])
    server.reset_stats()
    sdk.File.get(VIDEO_ID).download(str(tmp_path), save_as="video.mp4")
    assert (tmp_path / "video.mp4").read_bytes() == data
    assert verified == [True]
    assert server.stats()["bytes_served"] == len(data) - 30_001


def test_stream_and_download_links_lead_to_the_bytes(server: EmulatorServer, sdk: Any) -> None:
    video = sdk.File.get(VIDEO_ID)
    for link in (video.get_download_link(), video.get_stream_link(),
                 video.get_stream_link(tunnel=False)):
        answer = requests.get(link, timeout=10)  # storage URLs need no token
        assert answer.status_code == 200
        assert answer.content == _bytes(server, VIDEO_ID)


def test_subtitles_of_the_demo_video(sdk: Any) -> None:
    found = sdk.File.get(VIDEO_ID).get_subtitles()
    assert [(s.language_code, s.source) for s in found] == [("eng", "opensubtitles"),
                                                            ("fre", "opensubtitles")]
    link = found[0].get_download_link()  # putio.py resolves it with HEAD
    assert link is not None and "/subtitles/" in link


def test_mp4_conversion(server: EmulatorServer, sdk: Any) -> None:
    video = sdk.File.get(VIDEO_ID)
    assert video.get_mp4_status()["status"] == "NOT_AVAILABLE"
    video.convert_to_mp4()
    assert video.get_mp4_status()["status"] in ("IN_QUEUE", "CONVERTING", "COMPLETED")


# -- uploads ----------------------------------------------------------------------------------

def _uploaded(server: EmulatorServer, parent: int, name: str) -> int:
    [node_id] = [c for c in server.account.nodes[parent].children
                 if server.account.nodes[c].name == name]
    return node_id


def test_multipart_upload_reads_back_equal(server: EmulatorServer, sdk: Any, tmp_path: Path,
                                          verified: list[bool]) -> None:
    folder = _folder(server, "Uploads")
    data = os.urandom(70_000)
    source = tmp_path / "local.bin"
    source.write_bytes(data)
    uploaded = sdk.File.upload(str(source), name="Tëst ☕.bin", parent_id=folder)
    assert (uploaded.name, uploaded.parent_id, uploaded.size) == ("Tëst ☕.bin", folder,
                                                                  len(data))
    assert uploaded.crc32 == f"{zlib.crc32(data):08x}"
    assert _bytes(server, uploaded.id) == data
    uploaded.download(str(tmp_path), save_as="back.bin")
    assert (tmp_path / "back.bin").read_bytes() == data
    assert verified == [True]


@pytest.mark.parametrize("size", [0, 1000, 4 * 1024 * 1024 + 3],
                         ids=["empty", "one-patch", "two-patches"])
def test_tus_upload_reads_back_equal(server: EmulatorServer, sdk: Any, tmp_path: Path,
                                     verified: list[bool], size: int) -> None:
    folder = _folder(server, "TUS")
    data = os.urandom(size)
    source = tmp_path / "local.bin"
    source.write_bytes(data)
    server.reset_stats()
    sdk.File.upload_tus(str(source), name="über tus.bin", parent_id=folder)
    # tus.py sends 4 MiB a PATCH, and none for an empty file (complete at creation)
    assert _requests(server, "upload.tus_patch") == -(-size // (4 * 1024 * 1024))
    [listed] = sdk.File.list(parent_id=folder)
    assert (listed.name, listed.size) == ("über tus.bin", size)
    assert listed.crc32 == f"{zlib.crc32(data):08x}"
    assert _bytes(server, _uploaded(server, folder, "über tus.bin")) == data
    listed.download(str(tmp_path), save_as="back.bin")
    assert (tmp_path / "back.bin").read_bytes() == data
    assert verified == [True]


def test_a_torrent_upload_becomes_a_transfer(server: EmulatorServer, sdk: Any,
                                             tmp_path: Path) -> None:
    torrent = tmp_path / "Some Album.torrent"
    torrent.write_bytes(b"d4:infod4:name10:Some Albumee")
    transfer = sdk.Transfer.add_torrent(str(torrent))
    assert transfer.id in server.account.transfers
    assert [t.id for t in sdk.Transfer.list()] == [transfer.id]


# -- transfers and the account ----------------------------------------------------------------

def test_transfers_add_list_cancel_clean(server: EmulatorServer, sdk: Any) -> None:
    folder = _folder(server, "Downloads")
    done = sdk.Transfer.add_url("http://example.com/big.iso", parent_id=folder)
    doomed = sdk.Transfer.add_url("http://example.com/other.iso", parent_id=folder)
    assert doomed.status in ("IN_QUEUE", "DOWNLOADING")
    assert {t.id for t in sdk.Transfer.list()} == {done.id, doomed.id}

    doomed.cancel()
    assert [t.id for t in sdk.Transfer.list()] == [done.id]

    finished = wait_for(lambda: (t := sdk.Transfer.get(done.id)).status == "COMPLETED" and t)
    assert finished.save_parent_id == folder
    assert server.account.nodes[finished.file_id].parent_id == folder
    assert sdk.Transfer.clean()["deleted_ids"] == [done.id]
    assert sdk.Transfer.list() == []


def test_account_info_matches_the_account(server: EmulatorServer, sdk: Any) -> None:
    info = sdk.Account.info()["info"]
    account = server.account
    assert info["username"] == account.user_name
    assert info["disk"] == {"size": account.disk_size, "used": account.disk_used(),
                            "avail": account.disk_size - account.disk_used()}
    assert info["settings"]["trash_enabled"] is True
    assert sdk.Account.settings()["settings"]["trash_enabled"] is True


def test_revoking_a_device_token(server: EmulatorServer) -> None:
    code = requests.get(f"{server.base_url}/oauth2/oob/code", params={"app_id": 8993},
                        timeout=10).json()["code"]
    requests.post(f"{server.root_url}/_emulator/approve", params={"code": code},
                  timeout=10).raise_for_status()
    token = requests.get(f"{server.base_url}/oauth2/oob/code/{code}",
                         timeout=10).json()["oauth_token"]
    with putio_sdk(server.base_url, token) as client:
        assert client.Account.info()["info"]["username"] == server.account.user_name
        putiopy.revoke_access_token(token)
        with pytest.raises(putiopy.ClientError) as refused:
            client.Account.info()
    assert refused.value.response.status_code == 401
