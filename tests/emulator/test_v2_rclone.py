"""Debian's rclone (1.60.1, its own put.io backend built on go-putio) against the v2 emulator,
through the loopback TLS CONNECT front (:mod:`putiofs.emulator.tls.front`): rclone believes it
talks to ``api.put.io`` and ``upload.put.io``. Nobody here wrote rclone, so it checks what our
own client cannot: Bearer auth, JSON ``{"cursor"}`` continue bodies, zone-less timestamps,
``/files/{id}/child?name=``, TUS with streamed PATCH bodies and ``Putio-File-Id``, the single
``file_id`` + ``name`` move, query-string touch, copy, ``trash/empty``.

Every result is checked against the emulator's own state (bytes, ids, times, the trash). Each
rclone run is bounded by a timeout; the module takes a few seconds.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from putiofs.emulator import EmulatorOptions, EmulatorServer
from putiofs.emulator.account.state import ROOT_ID, Node
from putiofs.emulator.tls.front import TlsFront
from tests.support.realclients import Rclone, rclone_env, requires_rclone

pytestmark = requires_rclone

TOKEN = "rclone-token-93ad"
RUN_TIMEOUT = 30.0
VIDEO = "Movies/Demo Clips/Test Pattern (10s).mp4"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    """One v2 demo emulator for the whole module (not the shared, per-test ``server`` of
    tests.support.servers): rclone's config and TLS front are set up once per module."""
    emulator = EmulatorServer(EmulatorOptions(api="v2", demo=True, token=TOKEN)).start()
    # distinct modification times, so that a listing showing the wrong item's time fails
    with emulator.account.lock:
        for node in emulator.account.nodes.values():
            node.updated = 1_500_000_000 + node.id * 86_461
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def rclone(server: EmulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rclone]:
    with TlsFront(server.base_url) as front:
        yield rclone_env(front, TOKEN, tmp_path_factory.mktemp("rclone"))


def run(rclone: Rclone, *argv: str) -> bytes:
    """rclone's stdout; the test fails with rclone's stderr if it exits non-zero."""
    result = rclone.run(*argv, timeout=RUN_TIMEOUT)
    assert result.returncode == 0, (argv, result.stderr.decode(errors="replace"))
    return result.stdout


def lsjson(rclone: Rclone, *argv: str) -> dict[str, dict[str, Any]]:
    return {item["Path"]: item for item in json.loads(run(rclone, "lsjson", *argv))}


def path_of(server: EmulatorServer, node: Node) -> str:
    """The node's path as rclone shows it (a ``/`` inside a name is shown as ``／``)."""
    parts = []
    while node.id != ROOT_ID:
        parts.append(node.name.replace("/", "\uff0f"))
        node = server.account.nodes[node.parent_id]
    return "/".join(reversed(parts))


def node_at(server: EmulatorServer, path: str) -> Node:
    account = server.account
    node = account.nodes[ROOT_ID]
    for part in path.split("/"):
        [node] = [account.nodes[c] for c in node.children if account.nodes[c].name == part]
    return node


def data_of(server: EmulatorServer, node: Node) -> bytes:
    source = server.account.file_source(node.id)
    return b"".join(source.chunks(0, source.size - 1)) if source.size else b""


def zstamp(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def requests_of(server: EmulatorServer, name: str) -> int:
    return server.stats()["requests"].get(name, 0)


def fresh_folder(server: EmulatorServer, name: str) -> Node:
    with server.account.lock:
        return server.account.create(ROOT_ID, name, True)


# -- reading ----------------------------------------------------------------------------------

def test_lsd_lists_the_root_folders(server: EmulatorServer, rclone: Rclone) -> None:
    listed = sorted(line.split()[-1] for line in run(rclone, "lsd", "putio:").decode().splitlines())
    root = server.account.nodes[ROOT_ID]
    assert listed == sorted(server.account.nodes[c].name for c in root.children
                            if server.account.nodes[c].is_dir)


def test_ls_lists_every_file_with_its_size(server: EmulatorServer, rclone: Rclone) -> None:
    """``rclone ls`` is recursive: every file of the account, with its size."""
    listed = sorted(tuple(line.strip().split(" ", 1))
                    for line in run(rclone, "ls", "putio:").decode().splitlines())
    expected = sorted((str(n.size), path_of(server, n))
                      for n in server.account.descendants() if not n.is_dir)
    assert listed == expected and len(expected) > 10


def test_lsjson_shows_every_item_with_updated_at_as_modtime(server: EmulatorServer,
                                                            rclone: Rclone) -> None:
    listed = json.loads(run(rclone, "lsjson", "-R", "putio:Documents"))
    folder = node_at(server, "Documents")
    nodes = [n for n in server.account.descendants(folder.id) if n.id != folder.id]
    # two files share the name notes.txt: rclone shows both (put.io allows duplicates)
    assert sorted(item["Path"] for item in listed) == \
        sorted(path_of(server, n).removeprefix("Documents/") for n in nodes)
    by_id = {int(item["ID"]): item for item in listed if "ID" in item}
    folders = {item["Path"]: item for item in listed if item["IsDir"]}
    for node in nodes:
        if node.is_dir:
            item = folders[path_of(server, node).removeprefix("Documents/")]
        else:
            item = by_id[node.id]
            assert item["Size"] == node.size
        assert item["ModTime"] == zstamp(node.updated), node.name


@pytest.mark.parametrize("path", ["README.txt", VIDEO, "Documents/Café — notes.txt",
                                  "Documents/empty.txt"])
def test_cat_gives_the_bytes(server: EmulatorServer, rclone: Rclone, path: str) -> None:
    assert run(rclone, "cat", f"putio:{path}") == data_of(server, node_at(server, path))


def test_ranged_cat_gives_those_bytes(server: EmulatorServer, rclone: Rclone) -> None:
    data = data_of(server, node_at(server, VIDEO))
    assert run(rclone, "cat", "--offset", "40000", "--count", "1234",
               f"putio:{VIDEO}") == data[40000:41234]
    assert run(rclone, "cat", "--tail", "777", f"putio:{VIDEO}") == data[-777:]
    assert run(rclone, "cat", "--offset", str(len(data) - 5), f"putio:{VIDEO}") == data[-5:]


def test_hashsum_crc32_is_zlibs(server: EmulatorServer, rclone: Rclone) -> None:
    sums = {}
    for line in run(rclone, "hashsum", "crc32", "putio:Movies").decode().splitlines():
        digest, path = line.split("  ", 1)
        sums[path] = digest
    files = [n for n in server.account.descendants(node_at(server, "Movies").id) if not n.is_dir]
    assert sums == {path_of(server, n).removeprefix("Movies/"):
                    f"{zlib.crc32(data_of(server, n)):08x}" for n in files}


def test_a_listing_of_several_pages(server: EmulatorServer, rclone: Rclone) -> None:
    """go-putio asks 1000 a page and continues with a JSON ``{"cursor": ...}`` body."""
    big = fresh_folder(server, "Many")
    for i in range(2345):
        server.account.put_file(big.id, f"item-{i:05d}.txt", b"")
    server.reset_stats()
    names = run(rclone, "lsf", "putio:Many").decode().splitlines()
    assert names == [f"item-{i:05d}.txt" for i in range(2345)]
    assert requests_of(server, "files.list_continue") == 2


def test_a_missing_file_is_an_error(rclone: Rclone) -> None:
    result = rclone.run("cat", "putio:Documents/no such file.txt", timeout=RUN_TIMEOUT)
    assert result.returncode != 0
    assert b"not found" in result.stderr.lower()


# -- writing ----------------------------------------------------------------------------------

def test_upload_then_overwrite(server: EmulatorServer, rclone: Rclone, tmp_path: Path) -> None:
    # in a zone east of UTC, rclone's updated-at metadata carries an offset (+05:30)
    rclone = dataclasses.replace(rclone, env={**rclone.env, "TZ": "Asia/Kolkata"})
    folder = fresh_folder(server, "Uploads")
    source = tmp_path / "local.bin"
    first = os.urandom(300_000)
    source.write_bytes(first)
    os.utime(source, (1_400_000_000, 1_400_000_007))
    run(rclone, "copyto", str(source), "putio:Uploads/remote.bin")
    node = node_at(server, "Uploads/remote.bin")
    assert data_of(server, node) == first
    assert node.updated == 1_400_000_007  # rclone's updated-at upload metadata
    assert node.crc == f"{zlib.crc32(first):08x}"
    assert run(rclone, "cat", "putio:Uploads/remote.bin") == first

    second = os.urandom(12_345)
    source.write_bytes(second)
    os.utime(source, (1_400_000_000, 1_400_000_100))
    run(rclone, "copyto", str(source), "putio:Uploads/remote.bin")
    [replacement] = [server.account.nodes[c] for c in folder.children]
    assert replacement.name == "remote.bin" and replacement.id != node.id
    assert data_of(server, replacement) == second
    assert replacement.updated == 1_400_000_100
    assert node.id in server.account.trash.records  # rclone deletes the old one first


def test_upload_of_an_empty_file(server: EmulatorServer, rclone: Rclone, tmp_path: Path) -> None:
    fresh_folder(server, "Empty uploads")
    source = tmp_path / "nothing"
    source.write_bytes(b"")
    run(rclone, "copyto", str(source), "putio:Empty uploads/nothing.txt")
    node = node_at(server, "Empty uploads/nothing.txt")
    assert (node.size, data_of(server, node), node.crc) == (0, b"", "00000000")


def test_server_side_copy(server: EmulatorServer, rclone: Rclone) -> None:
    fresh_folder(server, "Copies")
    original = node_at(server, "README.txt")
    server.reset_stats()
    run(rclone, "copyto", "putio:README.txt", "putio:Copies/readme.txt")
    copy = node_at(server, "Copies/readme.txt")
    assert copy.id != original.id
    assert data_of(server, copy) == data_of(server, original)
    assert requests_of(server, "files.copy") == 1
    assert server.stats()["bytes_served"] == 0  # no byte went through rclone
    assert node_at(server, "README.txt") is original


def test_moveto_moves_and_renames_in_one_call(server: EmulatorServer, rclone: Rclone) -> None:
    target = fresh_folder(server, "Moved here")
    node = node_at(server, "Pictures/test-card.jpg")
    data, updated = data_of(server, node), node.updated
    server.reset_stats()
    run(rclone, "moveto", "putio:Pictures/test-card.jpg", "putio:Moved here/card.jpg")
    assert (node.parent_id, node.name) == (target.id, "card.jpg")
    assert data_of(server, node) == data and node.updated == updated
    assert requests_of(server, "files.move") == 1
    assert run(rclone, "cat", "putio:Moved here/card.jpg") == data


def test_moveto_of_a_folder(server: EmulatorServer, rclone: Rclone) -> None:
    folder = fresh_folder(server, "Folder to move")
    server.account.put_file(folder.id, "inside.txt", b"inside\n")
    fresh_folder(server, "New home")
    run(rclone, "moveto", "putio:Folder to move", "putio:New home/Moved folder")
    assert path_of(server, folder) == "New home/Moved folder"
    assert run(rclone, "cat", "putio:New home/Moved folder/inside.txt") == b"inside\n"


def test_mkdir_and_rmdir(server: EmulatorServer, rclone: Rclone) -> None:
    run(rclone, "mkdir", "putio:Made/by/rclone")
    made = node_at(server, "Made/by/rclone")
    assert made.is_dir
    refused = rclone.run("rmdir", "putio:Made/by", timeout=RUN_TIMEOUT)
    assert refused.returncode != 0 and b"not empty" in refused.stderr
    assert node_at(server, "Made/by/rclone") is made
    run(rclone, "rmdir", "putio:Made/by/rclone")
    assert made.id not in server.account.nodes
    assert node_at(server, "Made/by").children == {}


def test_deletefile_goes_to_the_trash_and_cleanup_empties_it(server: EmulatorServer,
                                                             rclone: Rclone) -> None:
    folder = fresh_folder(server, "Doomed")
    doomed = server.account.put_file(folder.id, "doomed.txt", b"bye\n")
    run(rclone, "deletefile", "putio:Doomed/doomed.txt")
    assert doomed.id not in server.account.nodes
    assert doomed.id in server.account.trash.records
    run(rclone, "cleanup", "putio:")
    assert server.account.trash.records == {}


def test_about_shows_the_disk_figures(server: EmulatorServer, rclone: Rclone) -> None:
    about = json.loads(run(rclone, "about", "--json", "putio:"))
    account = server.account
    assert about == {"total": account.disk_size, "used": account.disk_used(),
                     "free": account.disk_size - account.disk_used()}


def test_touch_sets_the_modtime_or_creates_an_empty_file(server: EmulatorServer,
                                                         rclone: Rclone) -> None:
    folder = fresh_folder(server, "Touched")
    existing = server.account.put_file(folder.id, "old.txt", b"old\n")
    run(rclone, "touch", "-t", "2021-03-04T05:06:07", "putio:Touched/old.txt")
    assert existing.updated == 1_614_834_367  # 2021-03-04T05:06:07Z
    assert lsjson(rclone, "putio:Touched")["old.txt"]["ModTime"] == "2021-03-04T05:06:07Z"
    run(rclone, "touch", "putio:Touched/new.txt")
    created = node_at(server, "Touched/new.txt")
    assert (created.size, data_of(server, created)) == (0, b"")
