"""``--thumbnails``: listing a folder of videos writes put.io's screenshots as freedesktop
thumbnails a file manager finds by the MD5 of the file's URI; without Pillow the mount refuses
to start, saying what to install."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.support.mounting import requires_fuse
from tests.support.polling import wait_for

TOKEN = "v2-thumbnails-token-0123456789"
VIDEO = "Movies/Demo Clips/Test Pattern (10s).mp4"

pytestmark = pytest.mark.server(api="v2", token=TOKEN)


@requires_fuse
def test_listing_the_videos_folder_writes_its_thumbnails(server, mount_factory) -> None:
    mount = mount_factory(server, "--thumbnails")
    thumbnails = mount.path.parent / "cache" / "thumbnails"  # the mount's XDG_CACHE_HOME
    video = mount.path / VIDEO
    os.listdir(video.parent)
    shown = os.stat(video)
    uri = "file://" + str(mount.path).replace(" ", "%20") + \
        "/Movies/Demo%20Clips/Test%20Pattern%20(10s).mp4"
    name = hashlib.md5(uri.encode()).hexdigest() + ".png"
    for size, largest in (("normal", 128), ("large", 256)):
        path = wait_for(lambda size=size: (p := thumbnails / size / name).exists() and p,
                        fail=f"no {size} thumbnail named md5({uri})")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE((thumbnails / size).stat().st_mode) == 0o700
        with Image.open(path) as png:
            assert png.format == "PNG" and max(png.size) == min(largest, 320)
            assert png.info["Thumb::URI"] == uri
            assert png.info["Thumb::MTime"] == str(int(shown.st_mtime))
            assert png.info["Thumb::Size"] == str(shown.st_size)
    assert [p.name for p in (thumbnails / "normal").iterdir()] == [name]  # videos only


@requires_fuse
def test_without_pillow_the_mount_refuses_with_what_to_install(server, tmp_path) -> None:
    block = ("import sys\n"
             "class NoPillow:\n"
             "    def find_spec(self, name, path=None, target=None):\n"
             "        if name == 'PIL' or name.startswith('PIL.'):\n"
             "            raise ImportError('blocked')\n"
             "sys.meta_path.insert(0, NoPillow())\n"
             "from putiofs.cli import main\n"
             "sys.exit(main())\n")
    env = {**os.environ, "PUTIO_API": "v2", "PUTIO_API_URL": server.base_url,
           "PUTIO_TOKEN": TOKEN, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    (tmp_path / "mnt").mkdir()
    done = subprocess.run([sys.executable, "-c", block, "mount", str(tmp_path / "mnt"), "-f",
                           "--thumbnails"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "putiofs: error: --thumbnails needs Pillow, which is not installed: "
        "pip install 'putiofs[thumbnails]' (or: pip install pillow)"]
    assert not os.path.ismount(tmp_path / "mnt") and not Path(tmp_path / "cache").exists()
