"""SIGHUP on a real mount: the mount stays, a change made on put.io shows at the next look
(whatever ``--cache-ttl``, with no realtime events), and a rotated log file is reopened.
SIGTERM still unmounts."""

from __future__ import annotations

import errno
import os
import signal

import pytest

from tests.support.mounting import requires_fuse
from tests.support.polling import wait_for
from tests.support.versions import V2_TOKEN

REOPENED = "SIGHUP: log file reopened"


@requires_fuse
def test_sighup_keeps_the_mount_shows_changes_made_elsewhere_and_reopens_the_log(
        emulator_factory, mount_factory):
    server = emulator_factory(api="v2", token=V2_TOKEN)
    server.account.add_file("0", "old.txt", data=b"old")
    folder = server.account.add_folder("0", "shows")
    server.account.add_file(folder, "one.mkv", data=b"1")
    mount = mount_factory(server, "--cache-ttl", "3600", "--no-events")
    assert sorted(os.listdir(mount.path)) == ["old.txt", "shows"]
    assert os.listdir(mount.path / "shows") == ["one.mkv"]
    assert os.stat(mount.path / "old.txt").st_size == 3

    server.account.add_file("0", "new.txt", data=b"new!")
    server.account.add_file(folder, "two.mkv", data=b"22")
    [old] = [item for item in server.account.children("0") if item["name"] == "old.txt"]
    server.account.rename(old["id"], "renamed.txt")
    # the listings are trusted for an hour: nothing shows yet
    assert sorted(os.listdir(mount.path)) == ["old.txt", "shows"]

    rotated = mount.log_file.with_name(mount.log_file.name + ".1")
    os.rename(mount.log_file, rotated)
    os.kill(mount.pid, signal.SIGHUP)
    wait_for(lambda: mount.log_file.exists() and REOPENED in mount.log(), 20,
             fail="no new log file after SIGHUP")

    assert os.path.ismount(mount.path) and mount.process.poll() is None
    assert sorted(os.listdir(mount.path)) == ["new.txt", "renamed.txt", "shows"]
    assert sorted(os.listdir(mount.path / "shows")) == ["one.mkv", "two.mkv"]
    with pytest.raises(OSError) as gone:
        os.stat(mount.path / "old.txt")   # the kernel was told its entry is stale
    assert gone.value.errno == errno.ENOENT
    assert (mount.path / "renamed.txt").read_bytes() == b"old"
    assert os.stat(mount.log_file).st_mode & 0o777 == 0o600
    assert "SIGHUP" in rotated.read_text() and "Traceback" not in rotated.read_text()

    os.kill(mount.pid, signal.SIGHUP)   # a second one works as well
    wait_for(lambda: mount.log().count(REOPENED) == 2, 20, fail="the second SIGHUP was lost")
    assert os.path.ismount(mount.path)


@requires_fuse
def test_sigterm_still_unmounts(emulator_factory, mount_factory):
    server = emulator_factory(api="v2", token=V2_TOKEN)
    mount = mount_factory(server, "--no-events")
    os.kill(mount.pid, signal.SIGTERM)
    assert mount.process.wait(20) == 0
    assert not os.path.ismount(mount.path)
