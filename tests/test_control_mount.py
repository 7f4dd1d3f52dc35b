"""The control folder /.putio on a real mount, checked against the emulator's API."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import time
from pathlib import Path

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


# Terminal control sequences, as a magnet link's dn= can carry them: retitle, clear screen.
HOSTILE = "\x1b]2;pwned\x07\x1b[2Jevil"
HOSTILE_LINK = "magnet:?xt=urn:btih:1&dn=%1B%5D2%3Bpwned%07%1B%5B2Jevil"


def test_transfers_shows_an_add_at_once(server: EmulatorServer, mount_factory, api) -> None:
    """Issue 16, defect 12a: with the default kernel cache (5 s), the text read right after an
    add used to be the one from before it (kernel's cached size and pages)."""
    mount = mount_factory(server)
    transfers = mount.path / ".putio" / "transfers"
    assert transfers.read_text() == "no active transfers\n"  # the kernel caches this now
    (mount.path / ".putio" / "add").write_text("http://example.com/fresh.iso\n")
    text = transfers.read_text()
    [listed] = results(api, server, "transfers", "list")
    assert text.splitlines()[1].split() == [listed["id"], "0%", "Waiting", "fresh.iso"]
    assert subprocess.run(["cat", str(transfers)], capture_output=True,
                          check=True).stdout.decode() == text


def test_an_over_long_line_is_efbig_and_dropped(mount, api, server: EmulatorServer) -> None:
    """Issue 16, defect 3: 16 MiB of one line used to be buffered whole (and rescanned at every
    write). Now the write that passes 64 KiB fails, the rest of the line is dropped as it comes,
    and the next line is a link like any other."""
    pid = mount.process.pid
    rss_before = _rss_kib(pid)
    fd = os.open(mount.path / ".putio" / "add", os.O_WRONLY)
    try:
        chunk = b"x" * (1 << 20)
        accepted = 0
        with pytest.raises(OSError) as exc:
            for _ in range(16):
                accepted += os.write(fd, chunk)
        assert exc.value.errno == errno.EFBIG
        assert accepted <= 64 * 1024
        with pytest.raises(OSError) as exc:
            os.write(fd, chunk)  # still the same line: still refused, not buffered
        assert exc.value.errno == errno.EFBIG
        with pytest.raises(OSError) as exc:
            os.write(fd, b"yyy\nhttp://example.com/after.iso\n")  # ends it, then a link
        assert exc.value.errno == errno.EFBIG
        assert os.write(fd, b"http://example.com/next.iso\n") == 28
    finally:
        os.close(fd)
    assert [t["name"] for t in results(api, server, "transfers", "list")] == [
        "after.iso", "next.iso"]
    assert _rss_kib(pid) - rss_before < 16 * 1024, "the mount kept the dropped line"


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_control_files_escape_terminal_sequences(mount, api, server: EmulatorServer) -> None:
    """Issue 16, defect 6: a transfer's name reached the terminal raw through `cat`."""
    results(api, server, "transfers", "add", {"links": [HOSTILE_LINK]})
    text = (mount.path / ".putio" / "transfers").read_text()
    assert "\x1b" not in text and "\x07" not in text
    assert text.splitlines()[1].endswith("  \\x1b]2;pwned\\x07\\x1b[2Jevil")


def test_search_folder_names_follow_the_name_rules(mount) -> None:
    """Issue 16, defect 12c: a query over 255 bytes was searched and then listed."""
    search = mount.path / ".putio" / "search"
    for length in (256, 300):
        with pytest.raises(OSError) as exc:
            os.stat(search / ("q" * length))
        assert exc.value.errno == errno.ENAMETOOLONG
    longest = "é" * 127  # 254 bytes
    assert (search / longest).is_dir()
    assert (search / "a∕b").is_dir()  # '∕' stands for '/', as everywhere in the mount
    listed = os.listdir(search)
    assert sorted(listed) == sorted([longest, "a∕b"])
    assert all(len(name.encode()) <= 255 for name in listed)
    for name in listed:
        assert (search / name).is_dir()
