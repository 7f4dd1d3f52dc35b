"""The control folder /.putio on a real mount, checked against the emulator's account and API.

Every test runs on both API versions. The views differ where the versions do: ``messages``
and ``subscriptions`` exist on v1 only, ``events`` on v2 only; the rest (transfers, user, add,
search) on both, transfer states in the same words.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import subprocess
from pathlib import Path

import pytest

from putiofs.emulator import EmulatorServer
from tests.support.mounting import requires_fuse
from tests.support.polling import wait_for
from tests.support.servers import on_each_version
from tests.support.versions import api_of, version_of

pytestmark = [requires_fuse, on_each_version, pytest.mark.server(transfer_seconds=3600),
              pytest.mark.mount_args("--cache-ttl", "1")]

#: The generated views of each version: v1 has dashboard messages and RSS subscriptions, v2 a
#: history of events instead.
VIEWS = {"v1": ["messages", "subscriptions", "transfers", "user"],
         "v2": ["events", "transfers", "user"]}
#: What else /.putio holds: the add and refresh files, the search folder and the mount's
#: status.json, and on v2 the trash folder and the uploads table.
OTHERS = {"v1": ["add", "refresh", "search", "status.json"],
          "v2": ["add", "refresh", "search", "status.json", "trash", "uploads"]}


def transfer_rows(server: EmulatorServer) -> list[list[str]]:
    """[id, done, *status words, name] of each transfer as the emulator has it, oldest first."""
    account = server.account
    with account.lock:
        account.advance()
        rows = []
        for transfer in sorted(account.transfers.values(), key=lambda t: t.id):
            status, percent = account.transfer_progress(transfer)
            if version_of(server) == "v2" and status == "Waiting":
                status = "In queue"  # v1 says Waiting; v2's IN_QUEUE is worded "In queue"
            rows.append([str(transfer.id), "-" if percent is None else f"{percent}%",
                         *status.split(), transfer.name])
    return rows


def transfer_names(server: EmulatorServer) -> list[str]:
    return [row[-1] for row in transfer_rows(server)]


def test_control_files_match_the_account(mount, server: EmulatorServer) -> None:
    for link in ("http://example.com/a.iso", "magnet:?xt=urn:btih:1&dn=Album"):
        server.account.add_transfer(link)
    control = mount.path / ".putio"
    account = server.account

    lines = (control / "transfers").read_text().splitlines()
    assert lines[0].split() == ["ID", "DONE", "STATUS", "NAME"]
    assert sorted(line.split() for line in lines[1:]) == sorted(transfer_rows(server))

    assert sorted(os.listdir(control)) == sorted([*VIEWS[version_of(server)],
                                                  *OTHERS[version_of(server)]])
    if version_of(server) == "v1":  # dashboard messages and RSS subscriptions: v1 only
        messages = (control / "messages").read_text()
        assert account.messages
        for message in account.messages.values():
            assert f"{message.id}  " in messages and message.file_name in messages
        subscriptions = (control / "subscriptions").read_text()
        assert account.subscriptions
        for sub in account.subscriptions.values():
            assert sub.name in subscriptions and sub.url in subscriptions
    else:  # the history of events: v2 only
        assert not (control / "messages").exists()
        assert not (control / "subscriptions").exists()
        events = (control / "events").read_text()
        for event in account.events:
            assert str(event.id) in events

    user = (control / "user").read_text()
    assert re.match(rf"user: +{account.user_name}\n", user), user  # aligned to the longest
    assert account.friends
    for friend in account.friends:
        assert friend.name in user and str(friend.dir_id) in user


def test_stat_size_matches_what_cat_reads(mount, server: EmulatorServer) -> None:
    for name in VIEWS[version_of(server)]:
        path = mount.path / ".putio" / name
        data = subprocess.run(["cat", str(path)], capture_output=True, check=True).stdout
        assert len(data) == path.stat().st_size > 0


def test_echo_link_into_add_creates_a_transfer(mount, server: EmulatorServer) -> None:
    add = mount.path / ".putio" / "add"
    done = subprocess.run(["sh", "-c", f"echo http://example.com/fresh.iso > '{add}'"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert transfer_names(server) == ["fresh.iso"]
    assert add.read_bytes() == b""
    # the transfers file shows it once the kernel asks again (attributes trusted 1 s here)
    assert wait_for(lambda: "fresh.iso" in (mount.path / ".putio/transfers").read_text(), 5.0)


def test_add_refuses_what_put_io_refuses(mount, server: EmulatorServer) -> None:
    add = mount.path / ".putio" / "add"
    fd = os.open(add, os.O_WRONLY | os.O_TRUNC)
    try:
        with pytest.raises(OSError) as exc:
            os.write(fd, b"this is not a link\n")
        assert exc.value.errno == errno.EINVAL
        unreachable = b"http://unreachable.invalid/file.bin\n"
        if version_of(server) == "v1":  # v1 answers the add with the transfer failed at once
            with pytest.raises(OSError) as exc:
                os.write(fd, unreachable)
            assert exc.value.errno == errno.EINVAL
        else:  # v2 queues it and reports the error later, in the transfer's status
            assert os.write(fd, unreachable) == len(unreachable)
        assert os.write(fd, b"ftp://example.org/good.tar\n") == 27
    finally:
        os.close(fd)
    assert sorted(transfer_names(server)) == ["file.bin", "good.tar"]


def test_search_folder_lists_and_reads_the_results(mount, server: EmulatorServer) -> None:
    folder = mount.path / ".putio" / "search" / "notes"
    found = api_of(server).search_ids("notes")
    listed = sorted(os.listdir(folder))
    assert len(listed) == len(found) == 3
    by_id = {}
    for name in listed:
        item_id = os.getxattr(folder / name, "user.putio.id").decode()
        by_id[item_id] = name
    assert sorted(by_id) == found
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


def test_writes_elsewhere_in_the_control_folder_are_refused(mount, server) -> None:
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
    assert sorted(os.listdir(control)) == sorted([*VIEWS[version_of(server)],
                                                  *OTHERS[version_of(server)]])
    assert (mount.path / "README.txt").exists()


# Terminal control sequences, as a magnet link's dn= can carry them: retitle, clear screen.
HOSTILE = "\x1b]2;pwned\x07\x1b[2Jevil"
HOSTILE_LINK = "magnet:?xt=urn:btih:1&dn=%1B%5D2%3Bpwned%07%1B%5B2Jevil"


def test_transfers_shows_an_add_at_once(server: EmulatorServer, mount_factory) -> None:
    """With the default kernel cache (5 s), the text read right after an
    add used to be the one from before it (kernel's cached size and pages)."""
    mount = mount_factory(server)
    transfers = mount.path / ".putio" / "transfers"
    assert transfers.read_text() == "no active transfers\n"  # the kernel caches this now
    (mount.path / ".putio" / "add").write_text("http://example.com/fresh.iso\n")
    text = transfers.read_text()
    [listed] = transfer_rows(server)
    assert text.splitlines()[1].split() == listed
    assert listed[1:] == ["0%", "Waiting" if version_of(server) == "v1" else "In", *(
        [] if version_of(server) == "v1" else ["queue"]), "fresh.iso"]
    assert subprocess.run(["cat", str(transfers)], capture_output=True,
                          check=True).stdout.decode() == text


def test_an_over_long_line_is_efbig_and_dropped(mount, server: EmulatorServer) -> None:
    """16 MiB of one line used to be buffered whole (and rescanned at every
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
    assert transfer_names(server) == ["after.iso", "next.iso"]
    assert _rss_kib(pid) - rss_before < 16 * 1024, "the mount kept the dropped line"


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_control_files_escape_terminal_sequences(mount, server: EmulatorServer) -> None:
    """A transfer's name reached the terminal raw through `cat`."""
    server.account.add_transfer(HOSTILE_LINK)
    text = (mount.path / ".putio" / "transfers").read_text()
    assert "\x1b" not in text and "\x07" not in text
    assert text.splitlines()[1].endswith("  \\x1b]2;pwned\\x07\\x1b[2Jevil")


def test_search_folder_names_follow_the_name_rules(mount) -> None:
    """A query over 255 bytes was searched and then listed."""
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
