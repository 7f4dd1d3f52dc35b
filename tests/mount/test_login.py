"""``putiofs login`` and the mount: the next mount uses the stored token, and a mount with a
wrong token fails in one line. (Login and logout themselves: tests/emulator/test_login.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from putiofs.testing.mount_process import MountProcess
from tests.support.login_user import TOKEN, device_login, user_env
from tests.support.mounting import requires_fuse

pytest_plugins = ("tests.support.login_user",)

pytestmark = pytest.mark.server(api="v2", token=TOKEN)


@requires_fuse
def test_the_next_mount_uses_the_stored_token(server, home: Path, tmp_path: Path) -> None:
    device_login(server, home)
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    log = tmp_path / "mount.log"
    mount = MountProcess([sys.executable, "-m", "putiofs", "mount", str(mountpoint), "-f",
                          "--log-file", str(log)], mountpoint, log_file=log,
                         env=user_env(server, home))
    try:
        assert "Movies" in os.listdir(mountpoint)
    finally:
        assert mount.unmount() == 0
    assert server.stats()["requests"]["files.list"] >= 1


@requires_fuse
def test_a_mount_with_a_wrong_token_is_one_line(server, home: Path, tmp_path: Path) -> None:
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    result = subprocess.run([sys.executable, "-m", "putiofs", "mount", str(mountpoint), "-f"],
                            env=user_env(server, home, PUTIO_TOKEN="revoked-or-wrong"),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr == ("putiofs: error: put.io refused the token (run putiofs login, "
                             "or check PUTIO_TOKEN)\n")
    assert not os.path.ismount(mountpoint)
