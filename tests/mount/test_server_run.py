"""A mount left running on a server: ``putiofs refresh`` shows changes made elsewhere at once
with a long ``--cache-ttl`` and no events, ``--bwlimit`` holds reads back, and a libfuse
start-up failure is one ``putiofs: error:`` line.

No timing claim here beyond a bound that cannot flake (a limited read is not faster than the
limit allows): the achieved rates are ``scripts/bench``'s (docs/benchmarks.md).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from putiofs.mount.checks import unmount_command
from tests.support.mounting import requires_fuse

TOKEN = "server-run-token-0123456789"
MIB = 1024 * 1024

pytestmark = [requires_fuse, pytest.mark.server(api="v2", token=TOKEN)]


def putiofs(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "putiofs", *args], capture_output=True,
                          text=True, timeout=60, env=env)


def test_refresh_shows_changes_made_elsewhere_and_keeps_pending_files(server, mount_factory):
    account = server.account
    sub = account.add_folder("0", "Shelf")
    account.add_file(sub, "old.txt", b"old")
    doomed = account.add_file("0", "doomed.txt", b"gone soon")
    mount = mount_factory(server, "--cache-ttl", "3600", "--no-events")
    root = mount.path
    assert (root / "doomed.txt").stat().st_size == 9
    assert sorted(os.listdir(root / "Shelf")) == ["old.txt"]
    (root / "mine.txt").write_bytes(b"written through the mount")
    account.add_file("0", "made elsewhere.txt", b"new")   # as another device would
    account.add_file(sub, "new on the shelf.txt", b"new")
    account.delete(doomed)
    assert "made elsewhere.txt" not in os.listdir(root)   # trusted for an hour

    scoped = putiofs("refresh", str(root), str(root / "Shelf"))
    assert (scoped.returncode, scoped.stderr) == (0, "")
    assert sorted(os.listdir(root / "Shelf")) == ["new on the shelf.txt", "old.txt"]
    assert "made elsewhere.txt" not in os.listdir(root)   # only below the path asked

    whole = putiofs("refresh", str(root))
    assert (whole.returncode, whole.stderr) == (0, "")
    shown = os.listdir(root)
    assert "made elsewhere.txt" in shown and "doomed.txt" not in shown
    with pytest.raises(FileNotFoundError):   # the kernel let go of what it knew too
        (root / "doomed.txt").stat()
    assert "mine.txt" in shown
    assert (root / "mine.txt").read_bytes() == b"written through the mount"

    outside = putiofs("refresh", str(root), str(root.parent))
    assert outside.returncode == 1
    assert outside.stderr == f"putiofs: error: {root.parent} is not inside the mount at " \
                             f"{root}\n"
    not_a_mount = putiofs("refresh", str(root.parent))
    assert not_a_mount.returncode == 1
    assert "is not a mount point" in not_a_mount.stderr
    assert not_a_mount.stderr.count("\n") == 1


def test_a_limited_read_is_held_back_and_whole(server, mount_factory):
    data = os.urandom(8 * MIB)
    server.account.add_file("0", "big.bin", data)
    mount = mount_factory(server, "--bwlimit", "4M")
    started = time.monotonic()
    assert (mount.path / "big.bin").read_bytes() == data
    # 8 MiB at 4 MiB/s: 2 s (the bucket starts empty); a loose lower bound only
    assert time.monotonic() - started >= 1.2


def account_env(server, cache: os.PathLike) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("PUTIO_") and name not in ("XDG_CONFIG_HOME", "JOURNAL_STREAM")}
    env.update(PUTIO_API="v2", PUTIO_TOKEN=TOKEN, PUTIO_API_URL=server.base_url,
               PUTIO_UPLOAD_URL=server.root_url, XDG_CACHE_HOME=str(cache))
    return env


@pytest.mark.parametrize("foreground", [False, True], ids=["background", "foreground"])
def test_an_option_libfuse_refuses_is_one_error_line(server, tmp_path, foreground):
    (tmp_path / "m").mkdir()
    done = putiofs("mount", str(tmp_path / "m"), "--no-events", "-o", "bogus_option_xyz",
                   "--log-file", str(tmp_path / "log"), *(["-f"] if foreground else []),
                   env=account_env(server, tmp_path / "cache"))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"putiofs: error: libfuse could not mount {tmp_path / 'm'}: ")
    assert "bogus_option_xyz" in done.stderr and "fuse:" not in done.stderr
    assert not os.path.ismount(tmp_path / "m")


def test_a_background_mount_returns_once_it_answers(server, tmp_path):
    mountpoint = tmp_path / "m"
    mountpoint.mkdir()
    done = putiofs("mount", str(mountpoint), "--no-events", "--log-file", str(tmp_path / "log"),
                   env=account_env(server, tmp_path / "cache"))
    try:
        assert (done.returncode, done.stderr) == (
            0, f"putiofs: mounted at {mountpoint} (in the background); log: {tmp_path / 'log'}\n")
        assert os.path.ismount(mountpoint) and os.listdir(mountpoint)
    finally:
        subprocess.run(unmount_command(mountpoint), capture_output=True, timeout=60)
    deadline = time.monotonic() + 30
    while "unmounted" not in (tmp_path / "log").read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "Traceback" not in (tmp_path / "log").read_text()


def test_allow_other_without_user_allow_other_is_one_error_line(server, tmp_path):
    if os.getuid() != 0:
        pytest.skip("needs root, to run the mount as another user (nobody)")
    if "user_allow_other" in _uncommented("/etc/fuse.conf"):
        pytest.skip("/etc/fuse.conf allows allow_other to every user here")
    tmp_path.chmod(0o755)
    as_nobody = ["runuser", "-u", "nobody", "--"]
    if subprocess.run([*as_nobody, sys.executable, "-c", "pass"],
                      capture_output=True, timeout=30).returncode != 0:
        pytest.skip(f"nobody cannot run {sys.executable} here")
    for name in ("m", "cache"):
        (tmp_path / name).mkdir()
        os.chown(tmp_path / name, 65534, 65534)
    env = account_env(server, tmp_path / "cache")
    env["HOME"] = str(tmp_path / "cache")
    done = subprocess.run([*as_nobody, "env", *(f"{k}={v}" for k, v in env.items()),
                           sys.executable, "-m", "putiofs", "mount", str(tmp_path / "m"),
                           "--no-events", "-o", "allow_other",
                           "--log-file", str(tmp_path / "cache" / "log")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("putiofs: error: libfuse could not mount ")
    assert "user_allow_other" in done.stderr


def _uncommented(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as conf:
            return "\n".join(line.split("#")[0] for line in conf)
    except OSError:
        return ""
