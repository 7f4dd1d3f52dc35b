"""Real FUSE mounts of the emulator: browse, stat, read and stream as users do."""

from __future__ import annotations

import errno
import hashlib
import os
import random
import shutil
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from putiofs import names
from tests.mounting import Mount, requires_fuse

pytestmark = requires_fuse


def account_tree(server, folder_id: str = "0", prefix: str = "") -> dict[str, dict]:
    """Mount-relative path → emulator item, for the whole account, by the mount's name rules."""
    result: dict[str, dict] = {}
    children = server.account.children(folder_id)

    class Named:
        def __init__(self, item: dict) -> None:
            self.id, self.name, self.is_dir, self.item = (
                str(item["id"]), item["name"], item["is_dir"], item)

    for shown, named in names.assign([Named(c) for c in children]).items():
        path = f"{prefix}/{shown}"
        result[path] = named.item
        if named.is_dir:
            result.update(account_tree(server, named.id, path))
    return result


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_every_demo_item_is_listed_with_its_size_and_type(emulator, mount_factory):
    mount = mount_factory(emulator)
    expected = account_tree(emulator)
    seen = {}
    for dirpath, dirnames, filenames in os.walk(mount.path):
        for name in dirnames + filenames:
            full = Path(dirpath, name)
            seen["/" + str(full.relative_to(mount.path))] = full.stat()
    assert set(seen) == set(expected)
    for path, item in expected.items():
        st = seen[path]
        if item["is_dir"]:
            assert stat.S_ISDIR(st.st_mode), path
        else:
            assert stat.S_ISREG(st.st_mode), path
            assert st.st_size == int(item["size"]), path
            assert st.st_ino == int(item["id"]) + 1
    assert any("\u2215" in p for p in expected), "the demo has a name with '/'"


def test_bytes_read_equal_bytes_served_whole_random_and_concurrent(emulator_factory,
                                                                   mount_factory):
    server = emulator_factory()
    rng = random.Random(7)
    blobs = {f"blob{i}.bin": rng.randbytes(size)
             for i, size in enumerate((0, 1, 4095, 131072, 3 * 1024 * 1024 + 17))}
    for name, data in blobs.items():
        server.account.add_file("0", name, data=data)
    mount = mount_factory(server)
    for name, data in blobs.items():
        assert sha256((mount.path / name).read_bytes()) == sha256(data), name
    big = blobs["blob4.bin"]
    with open(mount.path / "blob4.bin", "rb") as f:
        for _ in range(60):
            offset = rng.randrange(0, len(big) + 10)
            length = rng.randrange(1, 300_000)
            f.seek(offset)
            assert f.read(length) == big[offset:offset + length], (offset, length)

    def read_slices(seed: int) -> bool:
        local = random.Random(seed)
        with open(mount.path / "blob4.bin", "rb") as f:
            for _ in range(20):
                offset = local.randrange(0, len(big))
                f.seek(offset)
                if f.read(65536) != big[offset:offset + 65536]:
                    return False
        return True

    with ThreadPoolExecutor(6) as pool:
        assert all(pool.map(read_slices, range(12)))
        digests = list(pool.map(lambda _: sha256((mount.path / "blob4.bin").read_bytes()),
                                range(4)))
    assert digests == [sha256(big)] * 4


def test_cp_r_and_rsync_a_copy_the_library_exactly(emulator, mount_factory, tmp_path):
    mount = mount_factory(emulator)
    expected = {p: i for p, i in account_tree(emulator).items() if not i["is_dir"]}
    cp_out = tmp_path / "cp"
    subprocess.run(["cp", "-r", str(mount.path), str(cp_out)], check=True, timeout=60)
    rsync_out = tmp_path / "rsync"
    subprocess.run(["rsync", "-a", f"{mount.path}/", str(rsync_out)], check=True, timeout=60)
    for root in (cp_out, rsync_out):
        for path, item in expected.items():
            copied = (root / path.lstrip("/")).read_bytes()
            assert sha256(copied) == sha256(emulator.account.file_bytes(str(item["id"]))), path
    assert (rsync_out / "Movies").stat().st_mtime == (mount.path / "Movies").stat().st_mtime


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe is not installed")
def test_ffprobe_reads_the_demo_video_duration_through_the_mount(emulator, mount_factory):
    mount = mount_factory(emulator)
    videos = [p for p, i in account_tree(emulator).items() if p.endswith(".mp4")]
    assert videos
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
         str(mount.path / videos[0].lstrip("/"))],
        check=True, capture_output=True, text=True, timeout=60)
    assert 5.0 < float(out.stdout.strip()) < 60.0


def test_a_change_made_through_the_api_appears_after_the_ttl(emulator, mount_factory, api):
    mount = mount_factory(emulator, "--cache-ttl", "1")
    assert "Arrived" not in os.listdir(mount.path)
    api(emulator, "files", "create_dir", {"name": "Arrived", "parent_id": "0"})
    deadline = time.monotonic() + 10
    while "Arrived" not in os.listdir(mount.path):
        assert time.monotonic() < deadline, "a new folder never appeared"
        time.sleep(0.2)


def test_errnos_a_user_meets(emulator, mount_factory):
    mount = mount_factory(emulator)
    readme = next(p for p in mount.path.iterdir() if p.is_file())
    folder = next(p for p in mount.path.iterdir() if p.is_dir())
    cases = [
        (lambda: os.stat(mount.path / "no such file"), errno.ENOENT),
        (lambda: os.stat(readme / "child"), errno.ENOTDIR),
        (lambda: os.listdir(readme), errno.ENOTDIR),
        (lambda: os.open(folder, os.O_WRONLY), errno.EISDIR),
        (lambda: os.open(readme, os.O_RDWR), errno.EROFS),
        (lambda: os.open(mount.path / "new.txt", os.O_WRONLY | os.O_CREAT), errno.EROFS),
        (lambda: os.truncate(readme, 0), errno.EROFS),
        (lambda: os.symlink("x", mount.path / "link"), errno.EROFS),
    ]
    for call, expected in cases:
        with pytest.raises(OSError) as info:
            call()
        assert info.value.errno == expected, (call, info.value)


def test_xattrs_and_statfs(legacy_emulator, mount_factory):
    mount = mount_factory(legacy_emulator)
    video = next(mount.path.rglob("*.mp4"))
    attrs = set(os.listxattr(video))
    assert {"user.putio.id", "user.putio.type", "user.putio.download_url"} <= attrs
    url = os.getxattr(video, "user.putio.download_url").decode()
    assert url.startswith("http") and "/atk/" not in url
    assert os.getxattr(video, "user.putio.type") == b"movie"
    st = os.statvfs(mount.path)
    assert st.f_blocks > 0 and 0 < st.f_bavail <= st.f_blocks


def test_files_are_owned_by_the_uid_and_gid_asked_for(emulator, mount_factory):
    mount = mount_factory(emulator, "-o", "uid=4321,gid=8765")
    st = next(mount.path.iterdir()).stat()
    assert (st.st_uid, st.st_gid) == (4321, 8765)


def test_read_only_mount_refuses_changes(emulator, mount_factory):
    mount = mount_factory(emulator, "-o", "ro")
    with pytest.raises(OSError) as info:
        os.mkdir(mount.path / "x")
    assert info.value.errno == errno.EROFS


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "umount"])
def test_the_mount_goes_away_cleanly(emulator, mount_factory, how):
    mount = mount_factory(emulator)
    os.listdir(mount.path)
    if how == "umount":
        result = subprocess.run([sys.executable, "-m", "putiofs", "umount", str(mount.path)],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
    else:
        mount.process.send_signal(getattr(__import__("signal"), how))
    assert mount.process.wait(20) == 0
    assert not os.path.ismount(mount.path)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "putiofs", *args], capture_output=True,
                          text=True, timeout=60, env=env)


def cli_env(base_url: str, key: str = "demo", secret: str = "demo") -> dict[str, str]:
    return dict(os.environ, PUTIO_API_URL=base_url, PUTIO_API_KEY=key, PUTIO_API_SECRET=secret)


def assert_one_clear_line(result: subprocess.CompletedProcess, words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("putiofs: error:")]
    assert len(lines) == 1, result.stderr
    assert words in lines[0], lines[0]


def test_start_up_failures_say_one_clear_line(emulator, tmp_path, mount_factory):
    mountpoint = tmp_path / "mp"
    mountpoint.mkdir()
    assert_one_clear_line(run_cli("mount", str(mountpoint), "-f",
                                  env=cli_env(emulator.base_url, secret="wrong")),
                          "refused the credentials")
    assert_one_clear_line(run_cli("mount", str(mountpoint), "-f",
                                  env=cli_env("http://127.0.0.1:9/v1")), "cannot reach")
    assert_one_clear_line(run_cli("mount", str(tmp_path / "missing"), "-f",
                                  env=cli_env(emulator.base_url)), "does not exist")
    busy = mount_factory(emulator)
    assert_one_clear_line(run_cli("mount", str(busy.path), "-f",
                                  env=cli_env(emulator.base_url)), "already a mount point")
    assert "wrong" not in run_cli("mount", str(mountpoint), "-f",
                                  env=cli_env(emulator.base_url, secret="wrong")).stderr


def test_umount_with_open_files_explains_and_lazy_detaches(emulator, mount_factory):
    mount = mount_factory(emulator)
    readme = next(p for p in mount.path.iterdir() if p.is_file())
    with open(readme, "rb") as held:
        held.read(10)
        busy = run_cli("umount", str(mount.path))
        assert_one_clear_line(busy, "--lazy")
        assert os.path.ismount(mount.path)
        lazy = run_cli("umount", "--lazy", str(mount.path))
        assert lazy.returncode == 0, lazy.stderr
        assert not os.path.ismount(mount.path)
    assert mount.process.wait(20) == 0


def test_a_file_replaced_elsewhere_by_one_of_the_same_size_reads_the_new_bytes(
        emulator_factory, mount_factory):
    server = emulator_factory()
    old, new = b"o" * 100_000, b"n" * 100_000
    old_id = server.account.add_file("0", "a.bin", data=old)
    mount = mount_factory(server, "--cache-ttl", "0.5")
    assert (mount.path / "a.bin").read_bytes() == old
    server.account.delete(old_id)
    server.account.add_file("0", "a.bin", data=new)
    deadline = time.monotonic() + 10
    while (mount.path / "a.bin").stat().st_ino == int(old_id) + 1:
        assert time.monotonic() < deadline, "the replacement never showed"
        time.sleep(0.2)
    assert (mount.path / "a.bin").read_bytes() == new


def test_a_mount_whose_process_died_is_reported_and_cleaned_up(emulator, mount_factory):
    mount = mount_factory(emulator)
    mount.process.kill()
    mount.process.wait(10)
    env = cli_env(emulator.base_url)
    assert_one_clear_line(run_cli("mount", str(mount.path), "-f", env=env), "putiofs umount")
    cleaned = run_cli("umount", str(mount.path))
    assert cleaned.returncode == 0, cleaned.stderr
    assert os.listdir(mount.path) == []  # an ordinary, empty folder again
    again = Mount(emulator.base_url, mount.path, mount.log_file)
    assert "Documents" in os.listdir(mount.path)
    mount.process = again.process  # the fixture unmounts the new one and checks its exit
