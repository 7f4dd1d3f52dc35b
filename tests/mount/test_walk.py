"""What a walk, an open and a seek cost on a real v2 mount, counted by the emulator's stats:
``find`` of a tree cold lists each folder once (calls <= folders + 2) with the next folders
read ahead, warm it makes no call; opening a file costs at most its one ``/files/{id}/url``
call before the first byte (none when that URL is cached), a far seek one storage request."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from putiofs.tree.walk_ahead import MAX_AHEAD
from tests.support.mounting import requires_fuse
from tests.support.servers import from_fixture

pytestmark = [requires_fuse,
              pytest.mark.server(api="v2", demo=False, data_dir=from_fixture("data_dir"))]

SUBFOLDERS = 40
FILES_PER_FOLDER = 5
BIG_SIZE = 16 * 1024 * 1024


def _content(size: int) -> bytes:
    return bytes((i * 7 + i // 251) % 256 for i in range(size))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("walk-data")
    for i in range(SUBFOLDERS):
        folder = root / "tree" / f"d{i:02d}"
        folder.mkdir(parents=True)
        for j in range(FILES_PER_FOLDER):
            (folder / f"f{j}.txt").write_bytes(f"{i}-{j}\n".encode())
    (root / "big.bin").write_bytes(_content(BIG_SIZE))
    return root


def api_calls(server) -> dict[str, int]:
    return server.stats()["requests"]


def find(path: Path) -> list[str]:
    done = subprocess.run(["find", str(path)], capture_output=True, text=True, check=True,
                          timeout=120)
    return sorted(done.stdout.splitlines())


def expected_find(mount: Path) -> list[str]:
    paths = [str(mount / "tree")]
    for i in range(SUBFOLDERS):
        paths.append(str(mount / "tree" / f"d{i:02d}"))
        paths += [str(mount / "tree" / f"d{i:02d}" / f"f{j}.txt")
                  for j in range(FILES_PER_FOLDER)]
    return sorted(paths)


def test_find_cold_lists_each_folder_once_and_warm_makes_no_call(server, mount_factory):
    mount = mount_factory(server, "--cache-ttl", "300")
    server.reset_stats()
    assert find(mount.path / "tree") == expected_find(mount.path)
    folders = 1 + 1 + SUBFOLDERS  # the root (to look /tree up), /tree and its subfolders
    cold = api_calls(server)
    assert cold == {"files.list": folders}, cold  # each once, nothing read ahead in vain
    server.reset_stats()
    assert find(mount.path / "tree") == expected_find(mount.path)
    assert api_calls(server) == {}


def test_two_sibling_listings_read_the_next_folders_ahead(server, mount_factory):
    mount = mount_factory(server, "--cache-ttl", "300")
    tree = mount.path / "tree"
    assert len(os.listdir(tree)) == SUBFOLDERS
    server.reset_stats()
    os.listdir(tree / "d00")
    os.listdir(tree / "d01")
    for _ in range(500):  # at most 10 s for the read-ahead threads' calls to arrive
        if api_calls(server).get("files.list", 0) >= 2 + MAX_AHEAD:
            break
        time.sleep(0.02)
    assert api_calls(server) == {"files.list": 2 + MAX_AHEAD}
    for i in range(2, 2 + MAX_AHEAD):  # the walker finds them listed: no call
        assert sorted(os.listdir(tree / f"d{i:02d}")) == [f"f{j}.txt" for j in range(5)]
    assert api_calls(server)["files.list"] <= 2 + 2 * MAX_AHEAD  # the next ones, ahead
    assert find(tree) == expected_find(mount.path)
    assert api_calls(server)["files.list"] == SUBFOLDERS  # every folder once in all


def test_an_open_costs_at_most_the_url_call_and_a_far_seek_one_request(server, mount_factory):
    mount = mount_factory(server, "--cache-ttl", "300")
    big = mount.path / "big.bin"
    expected = _content(BIG_SIZE)
    assert os.stat(big).st_size == BIG_SIZE  # looked up: what follows is the open alone
    server.reset_stats()
    with open(big, "rb", buffering=0) as handle:
        assert handle.read(4096) == expected[:4096]
        assert api_calls(server) == {"files.url": 1}
        before = server.stats()["data_requests"]
        handle.seek(BIG_SIZE // 2)
        assert handle.read(4096) == expected[BIG_SIZE // 2:BIG_SIZE // 2 + 4096]
        assert server.stats()["data_requests"] - before == 1
    with open(big, "rb", buffering=0) as handle:  # the URL is kept: no call at all
        handle.seek(BIG_SIZE // 4)
        assert handle.read(4096) == expected[BIG_SIZE // 4:BIG_SIZE // 4 + 4096]
    assert api_calls(server) == {"files.url": 1}
