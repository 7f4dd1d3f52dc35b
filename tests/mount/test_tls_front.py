"""rclone mounts put.io through the loopback TLS front: the stand-in's listing and file show
in the mount (:mod:`tests.support.tls_stand_in`; the front itself:
tests/emulator/test_tls_front.py)."""

from __future__ import annotations

import os
from pathlib import Path

from putiofs.emulator.tls.front import TlsFront
from tests.support.mounting import requires_fuse
from tests.support.realclients import rclone_env, rclone_mount, requires_rclone
from tests.support.tls_stand_in import HELLO, TOKEN

pytest_plugins = ("tests.support.tls_stand_in",)


@requires_fuse
@requires_rclone
def test_rclone_mount_shows_and_reads_the_stand_in(front: TlsFront, tmp_path: Path) -> None:
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    rclone = rclone_env(front, TOKEN, tmp_path / "rclone")
    with rclone_mount(rclone, mountpoint, vfs_cache_mode="off") as mount:
        assert sorted(os.listdir(mountpoint)) == ["Movies", "hello.txt"]
        assert (mountpoint / "hello.txt").read_bytes() == HELLO
    assert not os.path.ismount(mountpoint)
    assert mount.process.returncode == 0, mount.log()
