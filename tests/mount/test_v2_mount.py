"""What only put.io's v2 API gives, on a real mount: a touch on put.io shows in ``ls -l``,
CRC-32 in ``getfattr``, deletes honour the account's trash, one ``/url`` call per file. (The
commands on v2: tests/emulator/test_v2_commands.py.)

Everything a v1 mount does too runs on both versions in the shared suite (``test_mount.py``,
``test_namespace_mount.py``, ``test_control_mount.py``, ``test_reliability_mount.py``,
``test_security.py``, ``test_bad_input.py``), with the expectations that differ branched there.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.support.mounting import requires_fuse
from tests.support.stamps import epoch
from tests.support.versions import V2Api

TOKEN = "v2-mount-token-0123456789"
TOUCHED = "2021-03-04T05:06:07"

pytestmark = pytest.mark.server(api="v2", token=TOKEN)


@pytest.fixture
def api(server) -> V2Api:
    return V2Api(server)


# -- what ls, stat and getfattr show ----------------------------------------------------------

@requires_fuse
def test_a_touch_on_put_io_shows_in_ls_and_getfattr_shows_the_crc32(server, api: V2Api,
                                                                    mount_factory) -> None:
    readme = api.find(0, "README.txt")
    api.post("/files/touch", file_ids=readme["id"], updated_at=TOUCHED)
    mount = mount_factory(server)
    assert int(os.stat(mount.path / "README.txt").st_mtime) == epoch(TOUCHED)
    listing = subprocess.run(["ls", "-l", "--time-style=+%Y-%m-%dT%H:%M:%S", str(mount.path)],
                             capture_output=True, text=True, check=True).stdout
    assert any(line.endswith(f"{TOUCHED} README.txt") for line in listing.splitlines())
    if shutil.which("getfattr"):
        dumped = subprocess.run(["getfattr", "-d", str(mount.path / "README.txt")],
                                capture_output=True, text=True, check=True).stdout
        assert f'user.putio.crc32="{readme["crc32"]}"' in dumped


# -- changing the tree ----------------------------------------------------------------------

@requires_fuse
@pytest.mark.parametrize("trash", [True, False], ids=["trash-on", "trash-off"])
def test_rm_and_rmdir_honour_the_account_s_trash(emulator_factory, mount_factory,
                                                 trash) -> None:
    """v1 has no trash: there a deleted item is gone (the shared namespace tests check that)."""
    server = emulator_factory(api="v2", demo=True, token=TOKEN, trash_enabled=trash)
    api = V2Api(server)
    mount = mount_factory(server)
    (mount.path / "Inbox").mkdir()
    inbox = api.find(0, "Inbox")
    readme = api.find(0, "README.txt")
    os.unlink(mount.path / "README.txt")
    os.rmdir(mount.path / "Inbox")
    assert api.find(0, "README.txt") is None and api.find(0, "Inbox") is None
    assert not {"README.txt", "Inbox"} & set(os.listdir(mount.path))
    trashed = {f["id"] for f in api.get("/trash/list")["files"]} & {readme["id"], inbox["id"]}
    assert trashed == ({readme["id"], inbox["id"]} if trash else set())


@requires_fuse
def test_one_url_call_per_file_across_opens(server, api: V2Api, mount_factory) -> None:
    mount = mount_factory(server)
    video = mount.path / "Movies" / "Demo Clips" / "Test Pattern (10s).mp4"
    os.stat(video)
    server.reset_stats()
    first = video.read_bytes()
    with open(video, "rb") as handle:  # a second open, reading from the middle
        handle.seek(len(first) // 2)
        assert handle.read(4096) == first[len(first) // 2:len(first) // 2 + 4096]
    assert server.stats()["requests"].get("files.url") == 1  # both opens: one /url call
