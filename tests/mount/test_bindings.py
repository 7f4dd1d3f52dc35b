"""Both FUSE bindings, and what only libfuse 3 can do: the suite mounts with the default
binding (libfuse 3); here one mount runs on libfuse 2, the rename flags reach putiofs on
libfuse 3, and the kernel's cache of a path is invalidated on request. (Choosing a binding
without mounting: tests/unit/test_bindings.py.)"""

from __future__ import annotations

import ctypes
import errno
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from putiofs.mount.binding import load_binding
from putiofs.mount.checks import MountError, unmount_command
from putiofs.testing.mount_process import MountProcess
from tests.support.mounting import requires_fuse

RENAME_EXCHANGE = 2


def _renameat2(old: Path, new: Path, flags: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    at_fdcwd = -100
    result = libc.renameat2(at_fdcwd, os.fsencode(old), at_fdcwd, os.fsencode(new), flags)
    return 0 if result == 0 else ctypes.get_errno()


@requires_fuse
def test_a_libfuse2_mount_reads_the_stored_bytes_and_renames(server_factory, mount_factory):
    server = server_factory()
    data = random.Random(5).randbytes(3 * 1024 * 1024 + 11)
    server.account.add_file("0", "big.bin", data=data)
    server.account.add_file("0", "other.txt", data=b"other")
    mount = mount_factory(server, "-o", "fuse=libfuse2")
    assert (mount.path / "big.bin").read_bytes() == data
    with open(mount.path / "big.bin", "rb") as f:
        f.seek(1_000_000)
        assert f.read(300_000) == data[1_000_000:1_300_000]
    os.rename(mount.path / "other.txt", mount.path / "renamed.txt")
    assert sorted(os.listdir(mount.path)) == ["big.bin", "renamed.txt"]
    assert "on libfuse2" in mount.log()


def _read_ahead_kb(mountpoint: Path) -> int:
    device = os.stat(mountpoint).st_dev
    bdi = Path(f"/sys/class/bdi/{os.major(device)}:{os.minor(device)}/read_ahead_kb")
    return int(bdi.read_text())


@requires_fuse
@pytest.mark.parametrize(("options", "expected"), [((), 1024),
                                                   (("-o", "fuse=libfuse2,read_ahead_kb=512"),
                                                    512)])
def test_the_readahead_is_set_at_the_first_call_and_a_new_mount_unmounts_at_once(
        server_factory, mount_factory, options, expected):
    """A mount that nobody has looked at yet unmounts at once (nothing of the mount's own
    holds it busy), and the kernel's readahead for the mount is set by its first call."""
    if os.geteuid() != 0:
        pytest.skip("only root may set a mount's read_ahead_kb")
    server = server_factory()
    server.account.add_file("0", "a.txt", data=b"aaa")
    for _ in range(3):
        untouched = mount_factory(server, *options)
        done = subprocess.run(unmount_command(untouched.path), capture_output=True, text=True,
                              check=False)
        assert done.returncode == 0, done.stderr
        assert untouched.process.wait(10) == 0
    mount = mount_factory(server, *options)
    assert (mount.path / "a.txt").read_bytes() == b"aaa"
    assert _read_ahead_kb(mount.path) == expected


@requires_fuse
def test_rename_exchange_is_refused_on_libfuse3_and_loses_nothing(server_factory,
                                                                  mount_factory):
    """mfusepy drops libfuse 3's rename flags: without putiofs passing them on, a
    renameat2(RENAME_EXCHANGE), which put.io cannot do, would become a plain rename that
    replaces (deletes) the other file."""
    pytest.importorskip("mfusepy")
    server = server_factory()
    server.account.add_file("0", "a.txt", data=b"aaa")
    server.account.add_file("0", "b.txt", data=b"bbb")
    mount = mount_factory(server, "-o", "fuse=libfuse3")
    assert _renameat2(mount.path / "a.txt", mount.path / "b.txt", RENAME_EXCHANGE) == \
        errno.EINVAL
    assert (mount.path / "b.txt").read_bytes() == b"bbb"
    assert (mount.path / "a.txt").read_bytes() == b"aaa"
    assert "on libfuse3" in mount.log()


@requires_fuse
def test_an_invalidated_path_shows_its_change_at_once(tmp_path):
    """The kernel trusts the test filesystem's attributes for an hour: a file changed behind
    its back keeps its old size until invalidate_path, then shows the new one at once; a file
    removed behind it is gone at once."""
    pytest.importorskip("mfusepy")
    try:
        load_binding("libfuse3")
    except MountError as exc:
        pytest.skip(str(exc))
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    mount = MountProcess([sys.executable, "-m", "tests.support.kernel_cache_fs", str(mountpoint)],
                         mountpoint, stderr=subprocess.STDOUT)
    try:
        a, b, ctl = mountpoint / "a.txt", mountpoint / "b.txt", mountpoint / "ctl"
        assert sorted(os.listdir(mountpoint)) == ["a.txt", "b.txt", "ctl"]
        assert a.read_bytes() == b"hello"
        assert a.stat().st_size == 5 and b.stat().st_size == 3   # after the read: it drops atime
        os.setxattr(ctl, "user.change", b"a.txt=changed behind")
        os.setxattr(ctl, "user.change", b"b.txt=")
        assert a.stat().st_size == 5 and b.stat().st_size == 3   # the kernel's cached view
        os.setxattr(ctl, "user.invalidate", b"/a.txt")
        assert os.getxattr(ctl, "user.invalidated") == b"1"
        assert a.stat().st_size == len(b"changed behind")
        assert a.read_bytes() == b"changed behind"
        os.setxattr(ctl, "user.invalidate", b"/b.txt")
        assert os.getxattr(ctl, "user.invalidated") == b"1"
        with pytest.raises(FileNotFoundError):
            b.stat()
    finally:
        code = mount.unmount()
    assert code == 0, mount.process.stdout.read() if mount.process.stdout else code


@requires_fuse
def test_invalidating_while_the_mount_unmounts_prints_nothing(tmp_path):
    """A thread invalidates a path without pause while the mount is unmounted: libfuse closes
    its device before it calls ``destroy``, and nothing may be written to it in between (libfuse
    would print "fuse: writing device: ..." on the terminal)."""
    pytest.importorskip("mfusepy")
    try:
        load_binding("libfuse3")
    except MountError as exc:
        pytest.skip(str(exc))
    for round_number in range(8):
        mountpoint = tmp_path / f"mnt{round_number}"
        mountpoint.mkdir()
        mount = MountProcess([sys.executable, "-m", "tests.support.kernel_cache_fs",
                              str(mountpoint)], mountpoint, stderr=subprocess.STDOUT)
        try:
            assert (mountpoint / "a.txt").read_bytes() == b"hello"
            os.setxattr(mountpoint / "ctl", "user.keep_invalidating", b"/a.txt")
        finally:
            code = mount.unmount()
        printed = mount.process.stdout.read() if mount.process.stdout else ""
        assert code == 0 and printed == "", printed
