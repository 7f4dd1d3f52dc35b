"""``/.putio/trash/`` on a real v2 mount: what was deleted shows under its own name, reads with
its own bytes, and ``mv`` out of it restores it; every other change there is refused."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from putiofs.emulator import EmulatorServer
from tests.support.mounting import requires_fuse
from tests.support.versions import V2_TOKEN

pytestmark = [requires_fuse, pytest.mark.server(api="v2", token=V2_TOKEN),
              pytest.mark.mount_args("--cache-ttl", "1")]


def _a_root_file(root: Path) -> Path:
    return next(p for p in sorted(root.iterdir()) if p.is_file() and p.stat().st_size > 0)


def _bytes_of(server: EmulatorServer, path: Path) -> bytes:
    """The file's bytes from put.io's side. Reading them through the mount just before the
    ``unlink`` would race libfuse: the kernel releases a closed file asynchronously, and a file
    still open when it is unlinked is hidden as ``.fuse_hidden…`` until its last close (only in
    the mount: put.io, and so the trash, keep its own name; see
    test_unlink_of_an_open_file_lands_in_the_trash_under_its_name)."""
    item = next(c for c in server.account.children("0") if c["name"] == path.name)
    return server.account.file_bytes(item["id"])


def test_delete_then_mv_out_of_the_trash_restores_the_same_bytes(server, mount) -> None:
    root = mount.path
    original = _a_root_file(root)
    data = _bytes_of(server, original)
    original.unlink()
    assert not original.exists()
    trashed = root / ".putio" / "trash" / original.name
    assert original.name in os.listdir(root / ".putio" / "trash")
    assert trashed.stat().st_size == len(data)
    if shutil.which("getfattr"):
        dumped = subprocess.run(["getfattr", "-d", str(trashed)], capture_output=True,
                                text=True, check=True).stdout
        assert 'user.putio.original_folder_id="0"' in dumped
        assert "user.putio.deleted_at=" in dumped
    (root / "Restored").mkdir()
    target = root / "Restored" / "back again.bin"
    subprocess.run(["mv", str(trashed), str(target)], check=True)
    assert target.read_bytes() == data  # at once, under the new name, in the new folder
    assert os.listdir(root / "Restored") == ["back again.bin"]
    assert not original.exists()
    assert original.name not in os.listdir(root / ".putio" / "trash")


def test_mv_out_to_the_original_path_restores_in_place(server, mount) -> None:
    root = mount.path
    original = _a_root_file(root)
    data = _bytes_of(server, original)
    original.unlink()
    os.rename(root / ".putio" / "trash" / original.name, original)
    assert original.read_bytes() == data
    assert original.name in os.listdir(root)


def test_other_changes_in_the_trash_are_refused(mount) -> None:
    root = mount.path
    victim = _a_root_file(root)
    victim.unlink()
    trash = root / ".putio" / "trash"
    trashed = trash / victim.name
    assert trashed.stat().st_mode & 0o222 == 0
    attempts = [
        (lambda: os.close(os.open(trashed, os.O_RDWR)), errno.EACCES),
        (lambda: trashed.unlink(), errno.EPERM),
        (lambda: (trash / "new").mkdir(), errno.EPERM),
        (lambda: os.rename(trashed, trash / "renamed"), errno.EPERM),
        (lambda: os.rename(trashed, root / ".putio" / "elsewhere"), errno.EPERM),
        (lambda: os.rename(root / "Documents", trash / "Documents"), errno.EPERM),
        (lambda: os.rename(trash / "no such item", root / "x"), errno.ENOENT),
    ]
    for attempt, expected in attempts:
        with pytest.raises(OSError) as raised:
            attempt()
        assert raised.value.errno == expected
    assert os.listdir(trash) == [victim.name]  # still there, untouched


def test_unlink_of_an_open_file_lands_in_the_trash_under_its_name(server, mount) -> None:
    root = mount.path
    original = _a_root_file(root)
    with open(original, "rb") as handle:
        first = handle.read(3)
        original.unlink()
        assert original.name not in os.listdir(root)
        assert first + handle.read() == _trashed_or_live_bytes(server, original.name)
    deadline = time.monotonic() + 10
    while original.name not in os.listdir(root / ".putio" / "trash"):
        assert time.monotonic() < deadline, os.listdir(root / ".putio" / "trash")
        time.sleep(0.05)
    assert not [n for n in os.listdir(root / ".putio" / "trash") if n.startswith(".fuse_hidden")]


def _trashed_or_live_bytes(server: EmulatorServer, name: str) -> bytes:
    item = next(c for c in server.account.children("0") if c["name"] == name)
    return server.account.file_bytes(item["id"])
