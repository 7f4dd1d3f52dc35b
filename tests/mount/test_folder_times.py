"""A folder's times follow the changes made in it through a real mount (POSIX: creating,
removing or renaming an entry makes the folder's mtime and ctime now, a rename the item's
ctime), and stay so when its listing is fetched again from put.io, which keeps no such time."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.mounting import requires_fuse
from tests.support.polling import wait_for

#: The mount's --cache-ttl: listings are fetched from put.io again this often, and the kernel
#: keeps attributes this long (a stat after it asks the mount).
TTL = 0.2
pytestmark = [requires_fuse, pytest.mark.server(api="v2", demo=False),
              pytest.mark.mount_args("--cache-ttl", str(TTL))]

#: An old time, set on a folder first: any change made afterwards is later than it.
LONG_AGO = 1_000_000_000


def aged_folder(path: Path) -> Path:
    path.mkdir()
    os.utime(path, (LONG_AGO, LONG_AGO))
    assert int(path.stat().st_mtime) == LONG_AGO
    return path


def changes_times(folder: Path, change: Callable[[], object]) -> os.stat_result:
    """Do ``change``: the folder's mtime is no longer the old one, and its ctime is later than
    before; what it shows then."""
    before = folder.stat()
    change()
    after = folder.stat()
    assert after.st_mtime > LONG_AGO, f"{folder.name}'s mtime did not change"
    assert after.st_ctime_ns > before.st_ctime_ns, f"{folder.name}'s ctime did not change"
    return after


def test_creating_removing_and_renaming_entries_changes_the_folder(mount):
    folder = aged_folder(mount.path / "f")
    changes_times(folder, lambda: (folder / "new.txt").write_bytes(b"x"))
    os.utime(folder, (LONG_AGO, LONG_AGO))
    changes_times(folder, lambda: (folder / "sub").mkdir())
    os.utime(folder, (LONG_AGO, LONG_AGO))
    changes_times(folder, lambda: (folder / "new.txt").rename(folder / "renamed.txt"))
    os.utime(folder, (LONG_AGO, LONG_AGO))
    changes_times(folder, lambda: (folder / "renamed.txt").unlink())
    os.utime(folder, (LONG_AGO, LONG_AGO))
    changes_times(folder, lambda: (folder / "sub").rmdir())


def test_a_move_changes_both_folders_and_the_item(mount):
    source, target = aged_folder(mount.path / "from"), aged_folder(mount.path / "to")
    (source / "moved.txt").write_bytes(b"x")
    (source / "folder").mkdir()
    for name in ("moved.txt", "folder"):
        os.utime(source, (LONG_AGO, LONG_AGO))
        os.utime(target, (LONG_AGO, LONG_AGO))
        item = (source / name).stat()
        before = target.stat()
        changes_times(source, lambda name=name: (source / name).rename(target / name))
        after = target.stat()
        assert after.st_mtime > LONG_AGO and after.st_ctime_ns > before.st_ctime_ns
        assert (target / name).stat().st_ctime_ns > item.st_ctime_ns, f"{name}'s ctime"


def test_a_renamed_file_on_put_io_gets_a_new_ctime(server, mount):
    server.account.add_file("0", "there.txt", data=b"on put.io")
    before = (mount.path / "there.txt").stat()
    (mount.path / "there.txt").rename(mount.path / "moved.txt")
    assert (mount.path / "moved.txt").stat().st_ctime_ns > before.st_ctime_ns


def test_the_root_shows_the_mount_start_and_changes_too(mount):
    root = mount.path.stat()
    assert root.st_mtime > time.time() - 3600, "the root shows a time long gone"
    changes_times(mount.path, lambda: (mount.path / "top.txt").write_bytes(b"x"))


def test_times_never_go_back_when_put_io_is_asked_again(server, mount):
    """After changes, the listings are fetched from put.io again (TTL) and the upload lands:
    the folder's times stay where they were, and a time set on it stays as set."""
    folder = aged_folder(mount.path / "f")
    seen = changes_times(folder, lambda: (folder / "a.txt").write_bytes(b"a"))
    wait_for(lambda: [c["name"] for c in server.account.children(str(
        os.getxattr(folder, "user.putio.id").decode()))] == ["a.txt"], 30,
        fail="the upload never landed")
    deadline = time.monotonic() + 5 * TTL
    while time.monotonic() < deadline:  # several listings of put.io's
        now = folder.stat()
        assert now.st_mtime_ns >= seen.st_mtime_ns and now.st_ctime_ns >= seen.st_ctime_ns
        time.sleep(TTL / 2)
    os.utime(folder, (LONG_AGO, LONG_AGO))
    time.sleep(2 * TTL)
    assert folder.stat().st_mtime_ns // 10**9 == LONG_AGO


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_utimens_sets_each_time_it_is_given_and_leaves_the_other(mount, kind):
    """``touch -a`` changes the access time only (utimensat's UTIME_OMIT for the mtime), ``touch
    -m`` the mtime only; both given, both show (put.io keeps no access time: the mount does)."""
    item = mount.path / f"a {kind}"
    if kind == "file":
        item.write_bytes(b"x")
    else:
        item.mkdir()
    os.utime(item, ns=(1_900_000_000 * 10**9, 1_950_000_000 * 10**9))
    seen = item.stat()
    assert (int(seen.st_atime), int(seen.st_mtime)) == (1_900_000_000, 1_950_000_000)
    os.utime(item, ns=(1_800_000_000 * 10**9, int(seen.st_mtime_ns)))
    assert int(item.stat().st_atime) == 1_800_000_000
    for _ in range(5):  # libfuse's seconds beside UTIME_OMIT are not always the same
        subprocess.run(["touch", "-a", "-d", "@1700000000", str(item)], check=True)
        after = item.stat()
        assert (int(after.st_atime), int(after.st_mtime)) == (1_700_000_000, 1_950_000_000)
    subprocess.run(["touch", "-m", "-d", "@1600000000", str(item)], check=True)
    after = item.stat()
    assert (int(after.st_atime), int(after.st_mtime)) == (1_700_000_000, 1_600_000_000)
