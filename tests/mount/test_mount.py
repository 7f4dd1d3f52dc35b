"""Real FUSE mounts of the emulator: browse, stat, read and stream as users do.

Every test runs on both put.io API versions (``[v1]``, ``[v2]``); where the versions differ the
expectation branches, with the reason beside it.
"""

from __future__ import annotations

import errno
import hashlib
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from putiofs.emulator.account.seed import README
from putiofs.front.options import DEFAULT_MTIME
from putiofs.testing.mount_process import MountProcess
from putiofs.tree import names
from tests.support.commands_cli import ACCOUNT_VARIABLES, account_env
from tests.support.mounting import Mount, requires_fuse
from tests.support.stamps import epoch
from tests.support.versions import V2Api, api_of, version_of

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


def expected_times_ns(server, items_v2: dict[str, dict], item: dict) -> tuple[int, int]:
    """(st_mtime_ns, st_ctime_ns) the mount must show for an emulator item."""
    if version_of(server) == "v1":  # v1 has no dates: a fixed second, the inode in the ns
        fixed = int(DEFAULT_MTIME) * 10**9 + (int(item["id"]) + 1) % 10**9
        return fixed, fixed
    # v2: put.io's updated_at and created_at; a whole-second mtime gets the inode in the ns
    file = items_v2[str(item["id"])]
    return (int(epoch(file["updated_at"])) * 10**9 + int(item["id"]) + 1,
            int(epoch(file["created_at"])) * 10**9)


def v2_files(server) -> dict[str, dict]:
    """id → v2 file object of every item (empty on v1, which has no dates to compare)."""
    if version_of(server) == "v1":
        return {}
    return {str(item["id"]): item for _, item in V2Api(server).walk()}


def test_every_demo_item_is_listed_with_its_size_and_type(demo_emulator, mount_factory):
    mount = mount_factory(demo_emulator)
    expected = account_tree(demo_emulator)
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


def test_bytes_read_equal_bytes_served_whole_random_and_concurrent(server_factory,
                                                                   mount_factory):
    server = server_factory()
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


def test_times_and_checksums_are_what_the_api_gives(demo_emulator, mount_factory):
    mount = mount_factory(demo_emulator)
    items_v2 = v2_files(demo_emulator)
    for path, item in account_tree(demo_emulator).items():
        st = os.stat(f"{mount.path}{path}")
        mtime, ctime = expected_times_ns(demo_emulator, items_v2, item)
        assert (st.st_mtime_ns, st.st_atime_ns, st.st_ctime_ns) == (mtime, mtime, ctime), path
        crc32 = items_v2[item["id"]]["crc32"] if items_v2 and not item["is_dir"] else None
        attrs = os.listxattr(f"{mount.path}{path}")
        if crc32 is None:  # v1 gives no checksum
            assert "user.putio.crc32" not in attrs, path
        else:
            assert os.getxattr(f"{mount.path}{path}", "user.putio.crc32") == crc32.encode()


def test_cp_r_and_rsync_a_copy_the_library_exactly(demo_emulator, mount_factory, tmp_path):
    mount = mount_factory(demo_emulator)
    tree = account_tree(demo_emulator)
    items_v2 = v2_files(demo_emulator)
    expected = {p: i for p, i in tree.items() if not i["is_dir"]}
    cp_out = tmp_path / "cp"
    subprocess.run(["cp", "-r", str(mount.path), str(cp_out)], check=True, timeout=60)
    rsync_out = tmp_path / "rsync"
    subprocess.run(["rsync", "-a", f"{mount.path}/", str(rsync_out)], check=True, timeout=60)
    for root in (cp_out, rsync_out):
        for path, item in expected.items():
            copied = (root / path.lstrip("/")).read_bytes()
            assert sha256(copied) == sha256(demo_emulator.account.file_bytes(str(item["id"]))), \
                path
    for path, item in tree.items():  # rsync -a keeps the times the mount shows
        mtime, _ = expected_times_ns(demo_emulator, items_v2, item)
        copied = (rsync_out / path.lstrip("/")).stat().st_mtime_ns
        if item["is_dir"]:  # rsync leaves a folder whose time matches to the second (v2's demo
            copied, mtime = copied // 10**9, mtime // 10**9  # folders may be this second's)
        assert copied == mtime, path
    again = subprocess.run(["rsync", "-ai", f"{mount.path}/", str(rsync_out)], check=True,
                           capture_output=True, text=True, timeout=60)
    assert again.stdout == "", "a second rsync -a finds nothing changed"


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe is not installed")
def test_ffprobe_reads_the_demo_video_duration_through_the_mount(demo_emulator, mount_factory):
    mount = mount_factory(demo_emulator)
    videos = [p for p, i in account_tree(demo_emulator).items() if p.endswith(".mp4")]
    assert videos
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
         str(mount.path / videos[0].lstrip("/"))],
        check=True, capture_output=True, text=True, timeout=60)
    assert 5.0 < float(out.stdout.strip()) < 60.0


def test_a_change_made_through_the_api_appears_after_the_ttl(demo_emulator, mount_factory):
    mount = mount_factory(demo_emulator, "--cache-ttl", "1")
    assert "Arrived" not in os.listdir(mount.path)
    api_of(demo_emulator).create_folder("0", "Arrived")
    deadline = time.monotonic() + 10
    while "Arrived" not in os.listdir(mount.path):
        assert time.monotonic() < deadline, "a new folder never appeared"
        time.sleep(0.2)


def test_errnos_a_user_meets(demo_emulator, mount_factory):
    mount = mount_factory(demo_emulator)
    readme = next(p for p in mount.path.iterdir() if p.is_file())
    folder = next(p for p in mount.path.iterdir() if p.is_dir())
    cases = [
        (lambda: os.stat(mount.path / "no such file"), errno.ENOENT),
        (lambda: os.stat(readme / "child"), errno.ENOTDIR),
        (lambda: os.listdir(readme), errno.ENOTDIR),
        (lambda: os.open(folder, os.O_WRONLY), errno.EISDIR),
    ]
    if version_of(demo_emulator) == "v1":  # v1 cannot upload; v2 writes (test_writes_*.py)
        cases += [
            (lambda: os.open(readme, os.O_RDWR), errno.EROFS),
            (lambda: os.open(mount.path / "new.txt", os.O_WRONLY | os.O_CREAT), errno.EROFS),
            (lambda: os.truncate(readme, 0), errno.EROFS),
            (lambda: os.symlink("x", mount.path / "link"), errno.EROFS),
        ]
    else:  # put.io has no links
        cases.append((lambda: os.symlink("x", mount.path / "link"), errno.EPERM))
    for call, expected in cases:
        with pytest.raises(OSError) as info:
            call()
        assert info.value.errno == expected, (call, info.value)


def test_xattrs_and_statfs(server_factory, api_version, mount_factory):
    # v1: the legacy (live server) dialect, the one whose user info carries the quota.
    server = server_factory(demo=True, **({"dialect": "legacy"} if api_version == "v1" else {}))
    mount = mount_factory(server)
    video = next(mount.path.rglob("*.mp4"))
    attrs = set(os.listxattr(video))
    assert {"user.putio.id", "user.putio.type", "user.putio.download_url"} <= attrs
    url = os.getxattr(video, "user.putio.download_url").decode()
    assert url.startswith("http") and "/atk/" not in url
    # put.io's own type word: v1 says "movie", v2's file_type says "VIDEO"
    kind = b"movie" if api_version == "v1" else b"video"
    assert os.getxattr(video, "user.putio.type") == kind
    # no ACLs and no security labels here: "not supported", which ls -l remembers for the
    # device (one FUSE call for a whole listing); user.putio.* are unaffected
    for name in ("system.posix_acl_access", "security.selinux"):
        with pytest.raises(OSError) as info:
            os.getxattr(video, name)
        assert info.value.errno == errno.EOPNOTSUPP
    with pytest.raises(OSError) as info:
        os.getxattr(video, "user.other")
    assert info.value.errno == errno.ENODATA
    assert os.getxattr(video, "user.putio.type") == kind
    listed = subprocess.run(["ls", "-l", str(video.parent)], capture_output=True, text=True,
                            check=True).stdout.splitlines()[1:]
    assert listed and all(line[:11] in ("-rw-r--r-- ", "drwxr-xr-x ") for line in listed)
    size, available = api_of(server).disk()
    st = os.statvfs(mount.path)
    assert st.f_blocks * st.f_frsize == size // st.f_frsize * st.f_frsize
    assert st.f_bavail * st.f_frsize == available // st.f_frsize * st.f_frsize
    assert st.f_blocks * st.f_bsize == st.f_blocks * st.f_frsize   # GIO uses f_bsize
    assert st.f_bfree * st.f_bsize == st.f_bavail * st.f_frsize
    assert 0 < st.f_bavail < st.f_blocks
    assert_tools_show_the_size(mount.path, size // st.f_frsize * st.f_frsize,
                               available // st.f_frsize * st.f_frsize)


def assert_tools_show_the_size(path, size: int, available: int) -> None:
    """df, stat -f and (where installed) GIO, the file managers' library, agree on the
    account's size and free space."""
    df = subprocess.run(["df", "-B1", "--output=size,avail", str(path)], capture_output=True,
                        text=True, check=True).stdout.split()
    assert [int(df[-2]), int(df[-1])] == [size, available]
    blocks, block, free = subprocess.run(["stat", "-f", "-c", "%b %S %a", str(path)],
                                         capture_output=True, text=True,
                                         check=True).stdout.split()
    assert int(blocks) * int(block) == size and int(free) * int(block) == available
    if shutil.which("gio"):
        info = subprocess.run(["gio", "info", "-f", str(path)], capture_output=True,
                              text=True, check=True).stdout
        assert f"filesystem::size: {size}" in info
        assert f"filesystem::free: {available}" in info


def test_files_are_owned_by_the_uid_and_gid_asked_for(demo_emulator, mount_factory):
    mount = mount_factory(demo_emulator, "-o", "uid=4321,gid=8765")
    st = next(mount.path.iterdir()).stat()
    assert (st.st_uid, st.st_gid) == (4321, 8765)


def test_read_only_mount_refuses_changes(demo_emulator, mount_factory):
    mount = mount_factory(demo_emulator, "-o", "ro")
    with pytest.raises(OSError) as info:
        os.mkdir(mount.path / "x")
    assert info.value.errno == errno.EROFS


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "umount"])
def test_the_mount_goes_away_cleanly(demo_emulator, mount_factory, how):
    mount = mount_factory(demo_emulator)
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


def cli_env(server, **override: str) -> dict[str, str]:
    """The environment of a ``putiofs`` run against ``server``'s account (either version)."""
    env = {name: value for name, value in os.environ.items()
           if name not in ACCOUNT_VARIABLES and name != "XDG_CONFIG_HOME"}
    env.update(account_env(server))
    env.update(override)
    return env


def assert_one_clear_line(result: subprocess.CompletedProcess, words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("putiofs: error:")]
    assert len(lines) == 1, result.stderr
    assert words in lines[0], lines[0]


def test_start_up_failures_say_one_clear_line(demo_emulator, api_version, tmp_path,
                                              mount_factory):
    mountpoint = tmp_path / "mp"
    mountpoint.mkdir()
    # v1 signs in with a key and secret, v2 with an OAuth token
    wrong, refused = (({"PUTIO_API_SECRET": "wrong-secret"}, "refused the credentials")
                      if api_version == "v1" else
                      ({"PUTIO_TOKEN": "wrong-token"}, "refused the token"))
    assert_one_clear_line(run_cli("mount", str(mountpoint), "-f",
                                  env=cli_env(demo_emulator, **wrong)), refused)
    unreachable = cli_env(demo_emulator, PUTIO_API_URL=f"http://127.0.0.1:9/{api_version}")
    assert_one_clear_line(run_cli("mount", str(mountpoint), "-f", env=unreachable),
                          "cannot reach")
    assert_one_clear_line(run_cli("mount", str(tmp_path / "missing"), "-f",
                                  env=cli_env(demo_emulator)), "does not exist")
    busy = mount_factory(demo_emulator)
    assert_one_clear_line(run_cli("mount", str(busy.path), "-f",
                                  env=cli_env(demo_emulator)), "already a mount point")
    assert "wrong-" not in run_cli("mount", str(mountpoint), "-f",
                                   env=cli_env(demo_emulator, **wrong)).stderr


def test_umount_with_open_files_explains_and_lazy_detaches(demo_emulator, mount_factory):
    mount = mount_factory(demo_emulator)
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
        server_factory, mount_factory):
    """Same size, and (v2) the same second: libfuse keeps a file's cached pages when size and
    mtime are unchanged, so the mtimes must differ in the nanoseconds (the id's)."""
    server = server_factory()
    old, new = b"o" * 100_000, b"n" * 100_000
    second = float(int(time.time()))
    old_id = server.account.add_file("0", "a.bin", data=old, created=second + 0.1)
    mount = mount_factory(server, "--cache-ttl", "0.5")
    assert (mount.path / "a.bin").read_bytes() == old
    server.account.delete(old_id)
    server.account.add_file("0", "a.bin", data=new, created=second + 0.6)
    deadline = time.monotonic() + 10
    while (mount.path / "a.bin").stat().st_ino == int(old_id) + 1:
        assert time.monotonic() < deadline, "the replacement never showed"
        time.sleep(0.2)
    assert (mount.path / "a.bin").read_bytes() == new


def test_a_mount_whose_process_died_is_reported_and_cleaned_up(demo_emulator, mount_factory):
    mount = mount_factory(demo_emulator)
    mount.process.kill()
    mount.process.wait(10)
    env = cli_env(demo_emulator)
    assert_one_clear_line(run_cli("mount", str(mount.path), "-f", env=env), "putiofs umount")
    cleaned = run_cli("umount", str(mount.path))
    assert cleaned.returncode == 0, cleaned.stderr
    assert os.listdir(mount.path) == []  # an ordinary, empty folder again
    v2 = version_of(demo_emulator) == "v2"
    again = Mount(demo_emulator.base_url, mount.path, mount.log_file,
                  token=demo_emulator.options.token if v2 else None)
    assert "Documents" in os.listdir(mount.path)
    mount.process = again.process  # the fixture unmounts the new one and checks its exit


def test_a_deep_path_costs_one_listing_per_level_cold(server_factory, mount_factory):
    """The kernel looks a path up one component at a time, so even v1, which has a folder map
    (dirmap), lists each uncached level once: the root, a, b, c and d; then e when listed."""
    parent = "0"
    server = server_factory()
    api = api_of(server)
    for name in ("a", "b", "c", "d", "e"):
        parent = api.create_folder(parent, name)
    mount = mount_factory(server)
    server.reset_stats()
    assert stat.S_ISDIR(os.stat(mount.path / "a" / "b" / "c" / "d" / "e").st_mode)
    assert server.stats()["requests"] == {"files.list": 5}
    os.listdir(mount.path / "a" / "b" / "c" / "d" / "e")
    assert server.stats()["requests"] == {"files.list": 6}


def test_putiofs_demo_mounts_the_emulator(tmp_path: Path, api_version: str) -> None:
    mountpoint = tmp_path / "putio"
    argv = [sys.executable, "-m", "putiofs", "demo", str(mountpoint)]
    if api_version == "v1":
        argv += ["--api", "v1"]
    cache = tmp_path / "cache"  # where a mount keeps written files by default
    demo = MountProcess(argv, mountpoint, stderr=subprocess.STDOUT,
                        env={**os.environ, "XDG_CACHE_HOME": str(cache)})
    try:
        readme = mountpoint / "README.txt"
        assert readme.read_bytes() == README.encode()
        dated = os.stat(readme).st_mtime > epoch("2020-01-01T00:00:00")
        assert dated is (api_version == "v2")  # v1 items carry no dates (2010-01-01)
        crc = "user.putio.crc32" in os.listxattr(readme)
        assert crc is (api_version == "v2")  # only v2 gives a CRC-32
    finally:
        demo.process.send_signal(signal.SIGINT)
        demo.process.wait(20)
        if os.path.ismount(mountpoint):
            demo.unmount()
    output = demo.process.stdout.read() if demo.process.stdout else ""
    assert f"put.io {api_version} emulator" in output
    assert "Traceback" not in output
    assert not list(cache.glob("putiofs/*")), "the demo left its account's folder behind"
