"""What ``close(2)`` accepted survives a SIGKILL of the mount: many rounds of write, close and
an immediate kill on one ``--cache-dir``, then a mount that uploads every closed file with its
exact bytes and hands nothing back in ``recovered/``."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.mount.test_writes import CHUNK, arrived
from tests.support.mounting import Mount, requires_fuse
from tests.support.versions import V2_TOKEN

pytestmark = requires_fuse

ROUNDS = 25
MIB = 1024 * 1024


def killed_after(server: Any, cache: Path, where: Path, write: Callable[[Path], None]) -> None:
    """Mount on ``cache``, ``write(mountpoint)``, then SIGKILL the mount at once (no pause)."""
    where.mkdir()
    mount = Mount(server.base_url, where, where.with_suffix(".log"), "--upload-chunk-size",
                  CHUNK, "--cache-dir", str(cache), "--upload-wait", "0", token=V2_TOKEN,
                  upload_url=server.root_url)
    try:
        write(mount.path)
    finally:
        mount.process.send_signal(signal.SIGKILL)
        mount.process.wait(10)
        subprocess.run(["fusermount", "-uz", str(where)], check=False, capture_output=True)
    assert "Traceback" not in mount.log()


def write_and_close(path: Path, data: bytes, flags: int) -> None:
    fd = os.open(path, os.O_WRONLY | flags, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def recovered(cache: Path) -> list[str]:
    return [p.name for account in cache.iterdir() for p in (account / "recovered").iterdir()]


@pytest.mark.parametrize("existing", [False, True], ids=["new", "replacing"])
def test_a_closed_file_survives_a_kill_right_after_close(emulator_factory, mount_factory, tmp_path,
                                                         existing):
    server = emulator_factory(api="v2", token=V2_TOKEN, demo=False)
    cache = tmp_path / "cache"
    written: dict[str, bytes] = {}
    for index in range(ROUNDS):
        name = f"f{index}.bin"
        if existing:
            server.account.add_file("0", name, b"the old version " * 1000)
        data = os.urandom(MIB)
        written[name] = data
        killed_after(server, cache, tmp_path / f"round{index}",
                     lambda mnt, name=name, data=data: write_and_close(
                         mnt / name, data, os.O_TRUNC | (0 if existing else os.O_CREAT)))
    last = mount_factory(server, "--upload-chunk-size", CHUNK, "--cache-dir", str(cache))
    for name, data in written.items():
        arrived(server, name, data)
        assert (last.path / name).read_bytes() == data
    assert recovered(cache) == []
    assert "ERROR" not in last.log()
