"""A mount left running on a server: ``putiofs refresh`` shows changes made elsewhere at once
with a long ``--cache-ttl`` and no events, ``--bwlimit`` holds reads back, and a libfuse
start-up failure is one ``putiofs: error:`` line.

No timing claim here beyond a bound that cannot flake (a limited read is not faster than the
limit allows): the achieved rates are ``scripts/bench``'s (docs/benchmarks.md).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.support.mounting import requires_fuse

TOKEN = "server-run-token-0123456789"
MIB = 1024 * 1024

pytestmark = [requires_fuse, pytest.mark.server(api="v2", token=TOKEN)]


def putiofs(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "putiofs", *args], capture_output=True,
                          text=True, timeout=60, env=env)


def test_refresh_shows_changes_made_elsewhere_and_keeps_pending_files(server, mount_factory):
    account = server.account
    sub = account.add_folder("0", "Shelf")
    account.add_file(sub, "old.txt", b"old")
    doomed = account.add_file("0", "doomed.txt", b"gone soon")
    mount = mount_factory(server, "--cache-ttl", "3600", "--no-events")
    root = mount.path
    assert (root / "doomed.txt").stat().st_size == 9
    assert sorted(os.listdir(root / "Shelf")) == ["old.txt"]
    (root / "mine.txt").write_bytes(b"written through the mount")
    account.add_file("0", "made elsewhere.txt", b"new")   # as another device would
    account.add_file(sub, "new on the shelf.txt", b"new")
    account.delete(doomed)
    assert "made elsewhere.txt" not in os.listdir(root)   # trusted for an hour

    scoped = putiofs("refresh", str(root), str(root / "Shelf"))
    assert (scoped.returncode, scoped.stderr) == (0, "")
    assert sorted(os.listdir(root / "Shelf")) == ["new on the shelf.txt", "old.txt"]
    assert "made elsewhere.txt" not in os.listdir(root)   # only below the path asked

    whole = putiofs("refresh", str(root))
    assert (whole.returncode, whole.stderr) == (0, "")
    shown = os.listdir(root)
    assert "made elsewhere.txt" in shown and "doomed.txt" not in shown
    with pytest.raises(FileNotFoundError):   # the kernel let go of what it knew too
        (root / "doomed.txt").stat()
    assert "mine.txt" in shown
    assert (root / "mine.txt").read_bytes() == b"written through the mount"

    outside = putiofs("refresh", str(root), str(root.parent))
    assert outside.returncode == 1
    assert outside.stderr == f"putiofs: error: {root.parent} is not inside the mount at " \
                             f"{root}\n"
    not_a_mount = putiofs("refresh", str(root.parent))
    assert not_a_mount.returncode == 1
    assert "is not a mount point" in not_a_mount.stderr
    assert not_a_mount.stderr.count("\n") == 1


def test_a_limited_read_is_held_back_and_whole(server, mount_factory):
    data = os.urandom(8 * MIB)
    server.account.add_file("0", "big.bin", data)
    mount = mount_factory(server, "--bwlimit", "4M")
    started = time.monotonic()
    assert (mount.path / "big.bin").read_bytes() == data
    # 8 MiB at 4 MiB/s: 2 s (the bucket starts empty); a loose lower bound only
    assert time.monotonic() - started >= 1.2
