"""The ``user.putio.mp4`` attribute on a real v2 mount: listed without an API call, read
lazily (one call, then cached for cache-ttl), the file's own listing unchanged."""

from __future__ import annotations

import errno
import os
import subprocess
import time

import pytest

from tests.support.mounting import requires_fuse
from tests.support.versions import V2_TOKEN, V2Api

pytestmark = [requires_fuse, pytest.mark.server(api="v2", token=V2_TOKEN, transfer_seconds=0.3)]

VIDEO = "Movies/Demo Clips/Test Pattern (10s).mp4"


def video_id(api: V2Api) -> int:
    return dict(api.walk())["/" + VIDEO]["id"]


def mp4_calls(server) -> int:
    return server.stats()["requests"].get("files.mp4", 0)


def test_the_mp4_status_is_an_xattr_read_lazily_and_cached(server, mount_factory) -> None:
    api = V2Api(server)
    mount = mount_factory(server, "--cache-ttl", "300")
    video = mount.path / VIDEO
    folder = video.parent
    before = sorted(os.listdir(folder))
    server.reset_stats()
    subprocess.run(["ls", "-l", str(folder)], capture_output=True, check=True)
    assert "user.putio.mp4" in os.listxattr(video)
    assert "user.putio.mp4" not in os.listxattr(folder / "Extras")
    assert "user.putio.mp4" not in os.listxattr(mount.path / "README.txt")
    assert mp4_calls(server) == 0          # listing names costs nothing
    assert os.getxattr(video, "user.putio.mp4") == b"NOT_AVAILABLE"
    assert mp4_calls(server) == 1
    api.post(f"/files/{video_id(api)}/mp4")
    assert os.getxattr(video, "user.putio.mp4") == b"NOT_AVAILABLE"   # cached for cache-ttl
    assert mp4_calls(server) == 2          # only the POST above
    assert sorted(os.listdir(folder)) == before
    with pytest.raises(OSError) as missing:
        os.getxattr(mount.path / "README.txt", "user.putio.mp4")
    assert missing.value.errno == errno.ENODATA


def test_a_finished_conversion_shows_its_size(server, mount_factory) -> None:
    api = V2Api(server)
    file_id = video_id(api)
    api.post(f"/files/{file_id}/mp4")
    size = None
    for _ in range(400):
        answer = api.get(f"/files/{file_id}/mp4")["mp4"]
        if answer["status"] == "COMPLETED":
            size = answer["size"]
            break
        time.sleep(0.05)
    assert size is not None
    mount = mount_factory(server, "--cache-ttl", "0")
    assert os.getxattr(mount.path / VIDEO, "user.putio.mp4") == f"COMPLETED {size}".encode()
    assert os.stat(mount.path / VIDEO).st_size == size   # the file itself is as it was
