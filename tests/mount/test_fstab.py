"""``mount`` and fstab as root: mount(8) runs the ``mount.fuse3`` helper, which runs
``putiofs SOURCE MOUNTPOINT -o OPTIONS`` through /bin/sh; the account comes from ``config=``,
the mount goes to the background once mounted, and ``umount`` unmounts it (written files
land first). A bad config file is one ``putiofs: error:`` line and a failed mount.

mount(8) gives its helpers no ``PATH`` (the shell's default then finds
``/usr/local/bin/putiofs``, see docs/home-server.md), so these tests do not install
anything there: one mounts with mount(8) in its ``-t fuse`` form, whose source names the
program (``/path/to/putiofs#putio``), the other runs ``mount.fuse3 -t fuse.putiofs`` as
mount(8) would, with a ``PATH`` where ``putiofs`` is this checkout's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.mounting import requires_fuse
from tests.support.polling import wait_for
from tests.support.versions import V2_TOKEN

MOUNT_FUSE = shutil.which("mount.fuse3", path="/sbin:/usr/sbin")

pytestmark = [
    requires_fuse,
    pytest.mark.skipif(os.geteuid() != 0, reason="mount(8) with allow_other and uid= needs root"),
    pytest.mark.skipif(MOUNT_FUSE is None or shutil.which("mount") is None,
                       reason="no mount(8) or mount.fuse3 (fuse3 package) here"),
]


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """A folder whose ``putiofs`` is this checkout's entry point."""
    folder = tmp_path / "bin"
    folder.mkdir()
    program = folder / "putiofs"
    program.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m putiofs "$@"\n')
    program.chmod(0o755)
    return folder


@pytest.fixture
def account(emulator_factory, tmp_path: Path):
    """A v2 emulator with one file, and a private config file for it."""
    server = emulator_factory(api="v2", token=V2_TOKEN)
    server.account.add_file("0", "movie.mkv", data=b"frames" * 1000)
    config = tmp_path / "putio.conf"
    config.write_text(f"# the home server's account\napi = v2\ntoken = {V2_TOKEN}\n"
                      f"api_url = {server.base_url}\nupload_url = {server.root_url}\n")
    config.chmod(0o600)
    return server, config


def clean_env() -> dict[str, str]:
    """The environment without put.io's variables: the account is the config file's."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PUTIO_", "XDG_"))}


def serving(mountpoint: Path) -> list[int]:
    """PIDs of the processes whose command line names ``mountpoint``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(os.getpid()):
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if os.fsencode(mountpoint) in argv:
                found.append(int(entry.name))
    return found


def mount_options(config: Path, tmp_path: Path, *extra: str) -> str:
    return ",".join([f"config={config}", f"cache_dir={tmp_path / 'cache'}",
                     f"log_file={tmp_path / 'putiofs.log'}", "allow_other", "uid=1000",
                     "gid=1000", "umask=002", *extra])


def unmount_and_wait(mountpoint: Path, pids: list[int]) -> None:
    done = subprocess.run(["umount", str(mountpoint)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids), 30,
             fail=f"the mount's process {pids} did not exit after umount")
    assert not os.path.ismount(mountpoint)


def test_mount_t_fuse_with_fstab_options_mounts_the_config_s_account_and_umount_lands_writes(
        account, bin_dir: Path, tmp_path: Path):
    server, config = account
    mountpoint = tmp_path / "putio"
    mountpoint.mkdir()
    options = mount_options(config, tmp_path, "noauto", "_netdev", "nofail",
                            "x-systemd.automount", "x-systemd.mount-timeout=30")
    done = subprocess.run(["mount", "-t", "fuse", f"{bin_dir / 'putiofs'}#putio",
                           str(mountpoint), "-o", options],
                          env=clean_env(), capture_output=True, text=True, timeout=60)
    try:
        assert done.returncode == 0, done.stderr
        assert "error" not in done.stderr
        assert os.path.ismount(mountpoint)
        pids = serving(mountpoint)
        assert pids, "no process serves the mount once mount(8) returned"
        assert (mountpoint / "movie.mkv").read_bytes() == b"frames" * 1000
        st = os.stat(mountpoint / "movie.mkv")
        # umask=002 for a group that writes: files rw-rw-r--, folders rwxrwxr-x (not the
        # executable files libfuse's own umask would show), and chmod still sets any mode
        assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (1000, 1000, 0o664)
        assert os.stat(mountpoint).st_mode & 0o777 == 0o775
        (mountpoint / "note.txt").write_bytes(b"written through fstab's mount")
        os.chmod(mountpoint / "note.txt", 0o640)
        assert os.stat(mountpoint / "note.txt").st_mode & 0o777 == 0o640
        unmount_and_wait(mountpoint, pids)
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)
    [note] = [item for item in server.account.children("0") if item["name"] == "note.txt"]
    assert server.account.file_bytes(note["id"]) == b"written through fstab's mount"
    log = (tmp_path / "putiofs.log").read_text()
    assert "Traceback" not in log and V2_TOKEN not in log


def test_mount_fuse3_runs_putiofs_from_path_for_type_fuse_putiofs(account, bin_dir: Path,
                                                                   tmp_path: Path):
    """What mount(8) runs for ``mount -t fuse.putiofs putio MOUNTPOINT -o ...`` (it passes
    ``rw``; the helper drops ``noauto``, ``_netdev``, ``nofail`` and adds ``dev,suid``; the
    ``x-`` options of fstab reach putiofs when the helper is called by hand)."""
    _server, config = account
    mountpoint = tmp_path / "putio"
    mountpoint.mkdir()
    env = {**clean_env(), "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    options = "rw," + mount_options(config, tmp_path, "x-systemd.automount", "noauto")
    done = subprocess.run([MOUNT_FUSE, "putio", str(mountpoint), "-t", "fuse.putiofs",
                           "-o", options], env=env, capture_output=True, text=True, timeout=60)
    try:
        assert done.returncode == 0, done.stderr
        assert os.listdir(mountpoint) == ["movie.mkv"]
        fields = next(line.split() for line in Path("/proc/mounts").read_text().splitlines()
                      if line.split()[1] == str(mountpoint))
        assert fields[2] == "fuse.putiofs" and "allow_other" in fields[3]
        unmount_and_wait(mountpoint, serving(mountpoint))
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)


@pytest.mark.parametrize("case", ["missing", "group-readable", "a-folder"])
def test_a_bad_config_file_is_one_error_line_and_a_failed_mount(account, bin_dir: Path,
                                                                tmp_path: Path, case: str):
    _server, config = account
    if case == "missing":
        config = tmp_path / "nowhere.conf"
        said = "cannot read config file"
    elif case == "group-readable":
        config.chmod(0o640)
        said = "chmod 600"
    else:
        config = tmp_path / "folder.conf"
        config.mkdir(mode=0o700)
        said = "not a regular file"
    mountpoint = tmp_path / "putio"
    mountpoint.mkdir()
    done = subprocess.run(["mount", "-t", "fuse", f"{bin_dir / 'putiofs'}#putio",
                           str(mountpoint), "-o", mount_options(config, tmp_path)],
                          env=clean_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("putiofs: error: ") and str(config) in line and said in line
    assert V2_TOKEN not in done.stderr
    assert not os.path.ismount(mountpoint) and not serving(mountpoint)
