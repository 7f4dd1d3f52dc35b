"""POSIX modes and owners through real mounts of the v2 emulator: what chmod, chown, create and
mkdir keep is shown, survives a remount, an edit and its upload landing, and the kernel enforces
it for other users (``-o allow_other``; pytest runs as root, another user is a forked child with
uid and gid 65534)."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from putiofs.emulator.account.state import ApiError
from tests.support.mounting import requires_fuse
from tests.support.polling import wait_for
from tests.support.versions import V2_TOKEN, V2Api

pytestmark = requires_fuse

NOBODY = 65534


def as_user(where: Path, action: Callable[[], object], uid: int = NOBODY,
            gid: int = NOBODY) -> int:
    """Run ``action`` in a forked child as ``uid``/``gid`` (no supplementary groups), in the
    folder ``where`` (entered as root: pytest's temporary folders are root's only, so
    ``action`` names paths relative to it): the errno it failed with, 0 if it succeeded."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: only system calls, then _exit
        code = 255
        try:
            os.close(read_end)
            os.chdir(where)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            action()
            code = 0
        except OSError as exc:
            code = exc.errno or 254
        finally:
            os.write(write_end, bytes([code]))
            os._exit(0)
    os.close(write_end)
    try:
        answer = os.read(read_end, 1)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    assert answer, "the child died without an answer"
    return answer[0]


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def owner_of(path: Path) -> tuple[int, int]:
    found = path.stat()
    return found.st_uid, found.st_gid


def on_putio(server: Any, name: str, data: bytes, folder_id: int = 0) -> None:
    """One item of that name with those bytes on put.io (the version it replaced gone)."""
    def arrived() -> bool:
        items = [f for f in V2Api(server).children(folder_id) if f["name"] == name]
        try:
            return len(items) == 1 and server.account.file_bytes(str(items[0]["id"])) == data
        except ApiError:  # listed, then deleted as the version replaced
            return False
    wait_for(arrived, 30, fail=f"{name} with its bytes on put.io")


@pytest.fixture
def v2(emulator_factory):
    return lambda: emulator_factory(api="v2", token=V2_TOKEN, demo=False)


@pytest.fixture
def writable(mount_factory, tmp_path):
    """A writable mount with its spool (and store of modes) in one cache folder, so that a
    second mount of the same server is a remount of the same account."""
    def start(server: Any, *extra: str) -> Any:
        return mount_factory(server, "--cache-dir", str(tmp_path / "cache"), "-o",
                             "allow_other", *extra)
    return start


def test_chmod_is_shown_and_survives_a_remount(v2, writable):
    server = v2()
    mount = writable(server)
    mnt = mount.path
    (mnt / "script.sh").write_bytes(b"#!/bin/sh\n")
    (mnt / "private").mkdir()
    (mnt / "shared").mkdir()
    on_putio(server, "script.sh", b"#!/bin/sh\n")
    os.chmod(mnt / "script.sh", 0o4751)
    os.chmod(mnt / "private", 0o700)
    os.chmod(mnt / "shared", 0o1777)
    shown = {"script.sh": 0o4751, "private": 0o700, "shared": 0o1777}
    assert {name: mode_of(mnt / name) for name in shown} == shown
    mount.unmount()
    mnt = writable(server).path
    assert {name: mode_of(mnt / name) for name in shown} == shown
    assert stat.S_ISDIR((mnt / "private").stat().st_mode)


def test_chown_is_shown_and_survives_a_remount(v2, writable):
    server = v2()
    mount = writable(server)
    mnt = mount.path
    (mnt / "theirs.txt").write_bytes(b"x")
    (mnt / "their folder").mkdir()
    os.chown(mnt / "theirs.txt", NOBODY, 1234)
    os.chown(mnt / "their folder", 4321, -1)
    assert owner_of(mnt / "theirs.txt") == (NOBODY, 1234)
    assert owner_of(mnt / "their folder") == (4321, os.getgid())
    on_putio(server, "theirs.txt", b"x")
    assert owner_of(mnt / "theirs.txt") == (NOBODY, 1234)
    mount.unmount()
    mnt = writable(server).path
    assert owner_of(mnt / "theirs.txt") == (NOBODY, 1234)
    assert owner_of(mnt / "their folder") == (4321, os.getgid())


def test_another_user_cannot_read_a_0600_file(v2, writable):
    server = v2()
    mnt = writable(server).path
    for name in ("secret.txt", "public.txt"):
        (mnt / name).write_bytes(b"data")
    os.chmod(mnt / "secret.txt", 0o600)
    assert as_user(mnt, Path("public.txt").read_bytes) == 0
    assert as_user(mnt, Path("secret.txt").read_bytes) == errno.EACCES
    on_putio(server, "secret.txt", b"data")
    assert as_user(mnt, Path("secret.txt").read_bytes) == errno.EACCES


def test_sticky_folder_keeps_other_users_files(v2, writable):
    server = v2()
    mnt = writable(server).path
    tmp = mnt / "tmp"
    tmp.mkdir()
    os.chmod(tmp, 0o1777)
    (tmp / "roots.txt").write_bytes(b"root's")
    assert as_user(tmp, lambda: os.unlink("roots.txt")) == errno.EPERM
    assert as_user(tmp, lambda: os.rename("roots.txt", "mine.txt")) == errno.EPERM
    assert as_user(tmp, lambda: Path("own.txt").write_bytes(b"own")) == 0
    assert as_user(tmp, lambda: os.rename("own.txt", "own2.txt")) == 0
    assert as_user(tmp, lambda: os.unlink("own2.txt")) == 0
    assert sorted(os.listdir(tmp)) == ["roots.txt"]
    assert (tmp / "roots.txt").read_bytes() == b"root's"


def test_new_files_and_folders_belong_to_their_creator(v2, writable):
    server = v2()
    mnt = writable(server).path
    (mnt / "open").mkdir()
    os.chmod(mnt / "open", 0o777)

    def make() -> None:
        os.umask(0o022)
        os.close(os.open("made.txt", os.O_WRONLY | os.O_CREAT, 0o640))
        os.mkdir("made", 0o750)

    assert as_user(mnt / "open", make) == 0
    assert owner_of(mnt / "open" / "made.txt") == (NOBODY, NOBODY)
    assert owner_of(mnt / "open" / "made") == (NOBODY, NOBODY)
    assert mode_of(mnt / "open" / "made.txt") == 0o640
    assert mode_of(mnt / "open" / "made") == 0o750
    # a setgid folder gives its group to what is made in it, and its setgid bit to folders
    group = mnt / "group"
    group.mkdir()
    os.chown(group, os.getuid(), 4242)
    os.chmod(group, 0o2777)

    def make_in_group() -> None:
        os.umask(0o022)
        Path("f.txt").write_bytes(b"f")
        os.mkdir("sub", 0o755)

    assert as_user(group, make_in_group) == 0
    assert owner_of(group / "f.txt") == (NOBODY, 4242)
    assert owner_of(group / "sub") == (NOBODY, 4242)
    assert mode_of(group / "sub") == 0o2755
    on_putio(server, "f.txt", b"f", V2Api(server).find(0, "group")["id"])
    assert owner_of(group / "f.txt") == (NOBODY, 4242)


def test_chmod_survives_a_rewrite_and_its_upload_landing(v2, writable):
    server = v2()
    mount = writable(server)
    mnt = mount.path
    path = mnt / "notes.txt"
    path.write_bytes(b"first\n")
    os.chmod(path, 0o600)
    os.chown(path, NOBODY, NOBODY)
    on_putio(server, "notes.txt", b"first\n")
    with open(path, "ab") as handle:  # a new version of the landed item
        handle.write(b"second\n")
        assert stat.S_IMODE(os.fstat(handle.fileno()).st_mode) == 0o600
    assert (mode_of(path), owner_of(path)) == (0o600, (NOBODY, NOBODY))
    on_putio(server, "notes.txt", b"first\nsecond\n")
    assert (mode_of(path), owner_of(path)) == (0o600, (NOBODY, NOBODY))
    path.write_bytes(b"third\n")  # O_TRUNC: the file keeps its mode
    on_putio(server, "notes.txt", b"third\n")
    assert (mode_of(path), owner_of(path)) == (0o600, (NOBODY, NOBODY))
    mount.unmount()
    path = writable(server).path / "notes.txt"
    assert (mode_of(path), owner_of(path)) == (0o600, (NOBODY, NOBODY))
    assert as_user(path.parent, Path(path.name).read_bytes, uid=1000, gid=1000) == errno.EACCES
