"""Writing through real mounts of the v2 emulator: cp, rsync, editors, appends, truncation,
TUS faults, a killed mount, quota. The bytes are checked on put.io's side (the emulator's API,
and once put.io's own SDK download with its CRC-32 check)."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from putiofs.emulator.account.state import ApiError
from putiofs.emulator.http.faults import Fault
from tests.support.mounting import Mount, requires_fuse
from tests.support.realclients import putio_sdk
from tests.support.scripted_faults import Queued
from tests.support.versions import V2_TOKEN, V2Api

pytestmark = requires_fuse

CHUNK = "64K"


def until(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll ``check`` until it returns something true (uploads run in the background)."""
    end = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


def server_bytes(server: Any, folder_id: int, name: str) -> bytes | None:
    """The bytes of the item of that name; None while there is none (or while the one just
    listed is the replaced version, deleted between the listing and the read)."""
    item = V2Api(server).find(folder_id, name)
    if item is None:
        return None
    try:
        return server.account.file_bytes(str(item["id"]))
    except ApiError:
        return None


def arrived(server: Any, name: str, data: bytes, folder_id: int = 0) -> None:
    """One item of that name, with exactly those bytes (the replaced ones are gone)."""
    until(lambda: [f["name"] for f in V2Api(server).children(folder_id)].count(name) == 1
          and server_bytes(server, folder_id, name) == data, f"{name} on put.io")


@pytest.fixture
def v2(emulator_factory):
    def start(**options: Any) -> Any:
        options.setdefault("demo", False)
        return emulator_factory(api="v2", token=V2_TOKEN, **options)
    return start


@pytest.fixture
def writable(mount_factory, tmp_path):
    def start(server: Any, *extra: str, cache: Path | None = None) -> Any:
        return mount_factory(server, "--upload-chunk-size", CHUNK,
                             "--cache-dir", str(cache or tmp_path / "cache"), *extra)
    return start


def test_cp_small_empty_and_multi_chunk_files(v2, writable, tmp_path):
    server = v2()
    mnt = writable(server).path
    files = {"small.txt": b"hello\n", "empty": b"",
             "multi.bin": os.urandom(300 * 1024 + 17)}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        subprocess.run(["cp", str(tmp_path / name), str(mnt / name)], check=True)
        assert (mnt / name).stat().st_size == len(data)  # at once, before the upload
        assert (mnt / name).read_bytes() == data
    for name, data in files.items():
        arrived(server, name, data)
    (tmp_path / "sdk").mkdir()
    with putio_sdk(server.base_url, V2_TOKEN) as sdk:
        item = V2Api(server).find(0, "multi.bin")
        sdk.File.get(item["id"]).download(str(tmp_path / "sdk"), save_as="multi.bin")
    assert (tmp_path / "sdk" / "multi.bin").read_bytes() == files["multi.bin"]


def test_rsync_twice_transfers_nothing_the_second_time(v2, writable, tmp_path):
    server = v2()
    mnt = writable(server).path
    tree = tmp_path / "tree"
    (tree / "sub" / "deeper").mkdir(parents=True)
    for index, rel in enumerate(["a.txt", "sub/b.bin", "sub/deeper/c.txt"]):
        (tree / rel).write_bytes(os.urandom(1000 * (index + 1)))
        os.utime(tree / rel, (1_600_000_000 + index, 1_600_000_000 + index))
    subprocess.run(["rsync", "-a", f"{tree}/", f"{mnt}/tree/"], check=True)
    arrived(server, "c.txt", (tree / "sub/deeper/c.txt").read_bytes(),
            until(lambda: _folder_id(server, "tree/sub/deeper"), "the folders"))
    again = subprocess.run(["rsync", "-a", "--itemize-changes", f"{tree}/", f"{mnt}/tree/"],
                           check=True, capture_output=True, text=True).stdout
    assert [line for line in again.splitlines() if line[1:2] == "f"] == []
    item = V2Api(server).find(_folder_id(server, "tree"), "a.txt")
    assert item["updated_at"].startswith("2020-09-13T12:26:40")


def _folder_id(server: Any, path: str) -> int | None:
    folder = 0
    for part in path.split("/"):
        item = V2Api(server).find(folder, part)
        if item is None:
            return None
        folder = item["id"]
    return folder


def test_editor_save_in_place_rewrite_append_and_truncate(v2, writable):
    server = v2()
    mnt = writable(server).path
    (mnt / "doc.txt").write_bytes(b"first version\n")
    arrived(server, "doc.txt", b"first version\n")
    # an editor's save: a temporary file, fsync, rename over the original
    fd = os.open(mnt / ".doc.txt.swp", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, b"second version\n")
    os.fsync(fd)
    os.close(fd)
    os.rename(mnt / ".doc.txt.swp", mnt / "doc.txt")
    assert (mnt / "doc.txt").read_bytes() == b"second version\n"
    arrived(server, "doc.txt", b"second version\n")
    assert V2Api(server).find(0, ".doc.txt.swp") is None
    # in place: open without O_TRUNC, write in the middle
    with open(mnt / "doc.txt", "r+b") as handle:
        handle.seek(7)
        handle.write(b"VERSION")
    arrived(server, "doc.txt", b"second VERSION\n")
    with open(mnt / "doc.txt", "ab") as handle:
        handle.write(b"appended\n")
    arrived(server, "doc.txt", b"second VERSION\nappended\n")
    subprocess.run(["truncate", "-s", "6", str(mnt / "doc.txt")], check=True)
    assert (mnt / "doc.txt").stat().st_size == 6
    arrived(server, "doc.txt", b"second")


def test_posix_subset_create_flags_unlink_open_rename_over(v2, writable):
    server = v2()
    mnt = writable(server).path
    path = mnt / "p.txt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, b"abc")
    with pytest.raises(FileExistsError):
        os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.close(fd)
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b"xy")
    os.close(fd)
    assert path.read_bytes() == b"xy"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    os.write(fd, b"z")
    os.close(fd)
    assert path.read_bytes() == b"xyz"
    # unlink of an open file: still readable through its descriptor, gone by name
    fd = os.open(mnt / "tmp.bin", os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd, b"scratch")
    os.unlink(mnt / "tmp.bin")
    assert not (mnt / "tmp.bin").exists()
    assert os.pread(fd, 7, 0) == b"scratch"
    os.close(fd)
    (mnt / "other.txt").write_bytes(b"other")
    os.rename(mnt / "other.txt", path)
    assert path.read_bytes() == b"other" and not (mnt / "other.txt").exists()
    arrived(server, "p.txt", b"other")
    assert V2Api(server).find(0, "tmp.bin") is None and V2Api(server).find(0, "other.txt") is None
    os.chmod(path, 0o600)  # accepted (kept by the mount)
    os.utime(path, (1_500_000_000, 1_500_000_000))
    assert int(path.stat().st_mtime) == 1_500_000_000
    with pytest.raises(OSError) as info:
        os.symlink("p.txt", mnt / "link")
    assert info.value.errno == errno.EPERM


def test_tus_faults_are_resumed_at_the_servers_offset(v2, writable, tmp_path):
    faults = Queued()
    server = v2(faults=faults)
    mnt = writable(server).path
    faults.queue("upload.tus_patch", Fault(drop_after=10_000), Fault(status=409),
                 Fault(status=503), Fault())
    data = os.urandom(200 * 1024)
    (tmp_path / "f.bin").write_bytes(data)
    shutil.copyfile(tmp_path / "f.bin", mnt / "f.bin")
    arrived(server, "f.bin", data)
    assert server.stats()["requests"].get("upload.tus_post") == 1  # one upload, resumed
    assert server.stats()["requests"].get("upload.tus_head", 0) >= 1


def test_a_killed_mount_uploads_after_the_remount(v2, writable, tmp_path):
    faults = Queued()
    server = v2(faults=faults)
    cache = tmp_path / "cache"
    (tmp_path / "killed").mkdir()
    first = Mount(server.base_url, tmp_path / "killed", tmp_path / "killed.log",
                  "--upload-chunk-size", CHUNK, "--cache-dir", str(cache), "--upload-wait", "0",
                  token=V2_TOKEN, upload_url=server.root_url)
    faults.queue("upload.tus_patch", Fault(delay=30))
    data = os.urandom(100 * 1024)
    (first.path / "kill.bin").write_bytes(data)
    until(lambda: server.stats()["requests"].get("upload.tus_patch"), "the upload started")
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(10)
    subprocess.run(["fusermount", "-uz", str(first.path)], check=False, capture_output=True)
    assert list((next(cache.iterdir()) / "pending").glob("*.json"))
    second = writable(server, cache=cache)
    arrived(server, "kill.bin", data)
    assert (second.path / "kill.bin").read_bytes() == data


def test_quota_exceeded_is_enospc_and_the_refused_file_is_not_published(v2, writable, tmp_path):
    server = v2(disk_size=50_000)
    mount = writable(server, "--upload-wait", "0")
    data = os.urandom(80_000)
    with pytest.raises(OSError) as info, open(mount.path / "big.bin", "wb") as handle:
        handle.write(data[:30_000])
        handle.flush()
        handle.write(data[30_000:])
        handle.flush()
    assert info.value.errno == errno.ENOSPC
    [account] = (tmp_path / "cache").iterdir()
    assert list((account / "pending").glob("*.data")) == []  # refused: its space freed
    mount.unmount()
    assert V2Api(server).find(0, "big.bin") is None  # the prefix is not published


def test_vim_save_and_times_from_cp_p_and_touch_d(v2, writable, tmp_path):
    """vim's save (backup file, write, rename dance), then ``cp -p`` and ``touch -d``: the
    bytes and the times show in stat and on put.io."""
    server = v2()
    mnt = writable(server).path
    (mnt / "notes.txt").write_bytes(b"line\n")
    arrived(server, "notes.txt", b"line\n")
    vim = shutil.which("vim")
    if vim:
        subprocess.run([vim, "-u", "NONE", "-i", "NONE", "-n", "-es", "-c", "normal Ahello",
                        "-c", "wq", str(mnt / "notes.txt")], check=True, timeout=60,
                       stdin=subprocess.DEVNULL, capture_output=True)
    else:
        subprocess.run(["sed", "-i", "s/line/linehello/", str(mnt / "notes.txt")], check=True)
    assert (mnt / "notes.txt").read_bytes() == b"linehello\n"
    arrived(server, "notes.txt", b"linehello\n")
    leftovers = [f["name"] for f in V2Api(server).children(0) if f["name"] != "notes.txt"]
    assert leftovers == []
    source = tmp_path / "dated.txt"
    source.write_bytes(b"dated")
    os.utime(source, (1_400_000_000, 1_400_000_000))
    subprocess.run(["cp", "-p", str(source), str(mnt / "dated.txt")], check=True)
    assert int((mnt / "dated.txt").stat().st_mtime) == 1_400_000_000
    arrived(server, "dated.txt", b"dated")
    until(lambda: V2Api(server).find(0, "dated.txt")["updated_at"]
          .startswith("2014-05-13T16:53:20"), "the time of cp -p on put.io")
    subprocess.run(["touch", "-d", "2001-02-03 04:05:06 UTC", str(mnt / "notes.txt")],
                   check=True)
    assert int((mnt / "notes.txt").stat().st_mtime) == 981173106
    until(lambda: V2Api(server).find(0, "notes.txt")["updated_at"]
          .startswith("2001-02-03T04:05:06"), "the time of touch -d on put.io")


def test_uploads_under_way_are_listed_in_the_control_folder_and_by_the_command(
        v2, writable, tmp_path, monkeypatch, capsys):
    faults = Queued()
    server = v2(faults=faults)
    cache = tmp_path / "cache"
    mount = writable(server, "-o", "show_control", cache=cache)
    faults.queue("upload.tus_patch", Fault(delay=3), Fault())
    (mount.path / "slow.bin").write_bytes(os.urandom(100 * 1024))

    def listed() -> list[str]:
        text = (mount.path / ".putio" / "uploads").read_text()
        return [line for line in text.splitlines() if line.endswith("/slow.bin  -")]

    row = until(listed, "/.putio/uploads lists the upload")[0].split()
    assert row[0] in ("queued", "uploading") and row[1].endswith("/100.00K")
    for name, value in {"PUTIO_API": "v2", "PUTIO_API_URL": server.base_url,
                        "PUTIO_TOKEN": V2_TOKEN, "PUTIO_UPLOAD_URL": server.root_url}.items():
        monkeypatch.setenv(name, value)
    from putiofs.cli import main
    until(lambda: main(["uploads", "--cache-dir", str(cache)]) == 0
          and "/slow.bin" in capsys.readouterr().out, "putiofs uploads lists it")
    arrived(server, "slow.bin", (mount.path / "slow.bin").read_bytes())
    until(lambda: not listed(), "the finished upload leaves the list")


def test_a_file_keeps_its_time_when_its_upload_lands(v2, writable):
    """vim refuses to save a file whose time changed since it read it: the time a pending
    file shows stays the same, to the nanosecond, once its upload lands."""
    server = v2()
    mnt = writable(server).path
    (mnt / "kept.txt").write_bytes(b"abc\n")
    pending = (mnt / "kept.txt").stat()
    arrived(server, "kept.txt", b"abc\n")
    until(lambda: os.listxattr(mnt / "kept.txt"), "the landed item shows")  # none while pending
    time.sleep(2)  # past the kernel's attribute cache: the mount's own answer
    landed = (mnt / "kept.txt").stat()
    assert (landed.st_mtime_ns, landed.st_ino) == (pending.st_mtime_ns, pending.st_ino)


def test_empty_files_removed_at_once_leave_nothing_on_put_io(v2, writable):
    """An empty upload is complete as soon as it is created (an editor's probe file): a file
    removed while its upload starts must not stay on put.io."""
    server = v2()
    mnt = writable(server).path
    for index in range(20):
        (mnt / f".probe{index}").write_bytes(b"")
        os.unlink(mnt / f".probe{index}")
    (mnt / "last.txt").write_bytes(b"x")
    arrived(server, "last.txt", b"x")
    until(lambda: not [f for f in V2Api(server).children(0) if f["name"].startswith(".probe")],
          "no probe file on put.io")
    assert not [name for name in os.listdir(mnt) if name.startswith(".probe")]


def test_a_mount_in_the_background_serves_and_hears_events(v2, tmp_path):
    """``putiofs mount`` without -f: libfuse forks to the background, and only the forking
    thread lives on; the mount's threads (events, uploads, the deadline watchdog) start after
    it, so the mount answers, uploads and hears changes made elsewhere."""
    import sys

    from tests.support.commands_cli import account_env
    server = v2()
    mnt = tmp_path / "bg"
    mnt.mkdir()
    env = {**os.environ, **account_env(server), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "PUTIO_SOCKET_URL": server.socket_url or ""}
    started = subprocess.run([sys.executable, "-m", "putiofs", "mount", str(mnt), "--log-file",
                              str(tmp_path / "bg.log"), "--cache-ttl", "600"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert started.returncode == 0, started.stderr
    try:
        until(lambda: os.path.ismount(mnt), "mounted")
        assert os.listdir(mnt) == []
        until(lambda: "realtime events connected" in (tmp_path / "bg.log").read_text(),
              "the events connected")
        V2Api(server).create_folder(0, "made elsewhere")
        until(lambda: "made elsewhere" in os.listdir(mnt), "the change heard", timeout=10)
        (mnt / "bg.txt").write_bytes(b"from the background")
        arrived(server, "bg.txt", b"from the background")
        assert sorted(os.listdir(mnt)) == ["bg.txt", "made elsewhere"]
    finally:
        subprocess.run(["fusermount3", "-u", str(mnt)], check=False, capture_output=True)
        until(lambda: not os.path.ismount(mnt), "unmounted")
    assert "Traceback" not in (tmp_path / "bg.log").read_text()
