"""The control folder /.putio on a real mount, checked against the emulator's API."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import time

import pytest

from putiofs.emulator import EmulatorServer
from tests.mounting import requires_fuse

pytestmark = requires_fuse


@pytest.fixture
def server(emulator_factory) -> EmulatorServer:
    return emulator_factory(demo=True, transfer_seconds=3600)


@pytest.fixture
def mount(server: EmulatorServer, mount_factory):
    return mount_factory(server, "--cache-ttl", "1")


def results(api, server, service, method, params=None):
    return api(server, service, method, params or {}).json()["response"]["results"]


def wait_for(predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_control_files_match_the_api(mount, api, server: EmulatorServer) -> None:
    results(api, server, "transfers", "add",
            {"links": ["http://example.com/a.iso", "magnet:?xt=urn:btih:1&dn=Album"]})
    control = mount.path / ".putio"

    lines = (control / "transfers").read_text().splitlines()
    assert lines[0].split() == ["ID", "DONE", "STATUS", "NAME"]
    expected = results(api, server, "transfers", "list")
    assert [line.split() for line in lines[1:]] == [
        [t["id"], f"{t['percent_done']}%", t["status"], t["name"]] for t in expected]

    messages = (control / "messages").read_text()
    for message in results(api, server, "messages", "list"):
        assert f"{message['id']}  " in messages and message["file_name"] in messages

    subscriptions = (control / "subscriptions").read_text()
    for sub in results(api, server, "subscriptions", "list"):
        assert sub["name"] in subscriptions and sub["url"] in subscriptions

    user = (control / "user").read_text()
    info = results(api, server, "user", "info")[0]
    assert user.startswith(f"user:    {info['user_name']}\n")
    for friend in results(api, server, "user", "friends"):
        assert friend["name"] in user and friend["dir_id"] in user


def test_stat_size_matches_what_cat_reads(mount) -> None:
    for name in ("transfers", "messages", "subscriptions", "user"):
        path = mount.path / ".putio" / name
        data = subprocess.run(["cat", str(path)], capture_output=True, check=True).stdout
        assert len(data) == path.stat().st_size > 0


def test_echo_link_into_add_creates_a_transfer(mount, api, server: EmulatorServer) -> None:
    add = mount.path / ".putio" / "add"
    done = subprocess.run(["sh", "-c", f"echo http://example.com/fresh.iso > '{add}'"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert [t["name"] for t in results(api, server, "transfers", "list")] == ["fresh.iso"]
    assert add.read_bytes() == b""
    # the transfers file shows it once the kernel asks again (attributes trusted 1 s here)
    assert wait_for(lambda: "fresh.iso" in (mount.path / ".putio/transfers").read_text())


def test_add_refuses_what_put_io_refuses(mount, api, server: EmulatorServer) -> None:
    add = mount.path / ".putio" / "add"
    fd = os.open(add, os.O_WRONLY | os.O_TRUNC)
    try:
        with pytest.raises(OSError) as exc:
            os.write(fd, b"this is not a link\n")
        assert exc.value.errno == errno.EINVAL
        with pytest.raises(OSError) as exc:
            os.write(fd, b"http://unreachable.invalid/file.bin\n")
        assert exc.value.errno == errno.EINVAL
        assert os.write(fd, b"ftp://example.org/good.tar\n") == 27
    finally:
        os.close(fd)
    names = sorted(t["name"] for t in results(api, server, "transfers", "list"))
    assert names == ["file.bin", "good.tar"]


def test_search_folder_lists_and_reads_the_results(mount, api, server: EmulatorServer) -> None:
    folder = mount.path / ".putio" / "search" / "notes"
    found = results(api, server, "files", "search", {"query": "notes"})
    listed = sorted(os.listdir(folder))
    assert len(listed) == len(found) == 3
    by_id = {}
    for name in listed:
        item_id = os.getxattr(folder / name, "user.putio.id").decode()
        by_id[item_id] = name
    assert sorted(by_id) == sorted(item["id"] for item in found)
    for item_id, name in by_id.items():
        data = (folder / name).read_bytes()
        expected = server.account.file_bytes(item_id)
        assert hashlib.sha256(data).hexdigest() == hashlib.sha256(expected).hexdigest()
        assert (folder / name).stat().st_size == len(expected)
    # a folder among the results can be walked and streamed from like any folder
    video = mount.path / ".putio/search/Demo Clips/Demo Clips/Test Pattern (10s).mp4"
    video_id = os.getxattr(video, "user.putio.id").decode()
    with open(video, "rb") as handle:
        handle.seek(1000)
        assert handle.read(4096) == server.account.file_bytes(video_id)[1000:5096]
    assert "notes" in os.listdir(mount.path / ".putio" / "search")


def test_control_folder_hidden_unless_show_control(mount, server: EmulatorServer,
                                                   mount_factory) -> None:
    listed = subprocess.run(["ls", "-a", str(mount.path)], capture_output=True, text=True,
                            check=True).stdout.split()
    assert ".putio" not in listed and "README.txt" in listed
    assert (mount.path / ".putio").is_dir()
    assert "transfers" in os.listdir(mount.path / ".putio")
    shown = mount_factory(server, "-o", "show_control")
    assert ".putio" in subprocess.run(["ls", "-a", str(shown.path)], capture_output=True,
                                      text=True, check=True).stdout.split()


def test_writes_elsewhere_in_the_control_folder_are_refused(mount) -> None:
    control = mount.path / ".putio"
    with pytest.raises(PermissionError):
        (control / "transfers").write_text("x\n")
    with pytest.raises(OSError) as exc:
        (control / "new-file").write_text("x\n")
    assert exc.value.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
    for action in (lambda: (control / "dir").mkdir(),
                   lambda: (control / "user").unlink(),
                   lambda: (control / "search").rmdir(),
                   lambda: (control / "user").rename(control / "me"),
                   lambda: (mount.path / "README.txt").rename(control / "README.txt")):
        with pytest.raises(PermissionError):
            action()
    assert sorted(os.listdir(control)) == ["add", "messages", "search", "subscriptions",
                                           "transfers", "user"]
    assert (mount.path / "README.txt").exists()
