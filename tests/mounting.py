"""Real FUSE mounts for tests: ``putiofs mount -f`` in a subprocess against an emulator."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest


def fuse_unavailable_reason() -> str | None:
    """Why a real mount cannot run here, or None if it can."""
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse on this machine: real mounts are impossible here"
    try:
        os.close(os.open("/dev/fuse", os.O_RDWR))
    except OSError as exc:
        return f"/dev/fuse cannot be opened ({exc.strerror})"
    if os.getuid() != 0 and not any(
        Path(d, "fusermount").exists() or Path(d, "fusermount3").exists()
        for d in os.environ.get("PATH", "").split(os.pathsep)
    ):
        return "no fusermount for an unprivileged mount"
    return None


requires_fuse = pytest.mark.skipif(fuse_unavailable_reason() is not None,
                                   reason=fuse_unavailable_reason() or "")


class Mount:
    """A running ``putiofs mount -f``; ``path`` is the mountpoint."""

    def __init__(self, base_url: str, path: Path, log_file: Path, *extra: str,
                 api_key: str = "demo", api_secret: str = "demo", timeout: float = 20.0) -> None:
        self.path = path
        self.log_file = log_file
        env = dict(os.environ, PUTIO_API_URL=base_url, PUTIO_API_KEY=api_key,
                   PUTIO_API_SECRET=api_secret)
        env.pop("XDG_CONFIG_HOME", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "putiofs", "mount", str(path), "-f",
             "--log-file", str(log_file), *extra],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + timeout
        while not os.path.ismount(path):
            if self.process.poll() is not None:
                out, err = self.process.communicate()
                raise RuntimeError(f"putiofs mount exited {self.process.returncode}: "
                                   f"{err.strip()} {out.strip()}\n{self.log()}")
            if time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError(f"no mount at {path} after {timeout}s\n{self.describe()}")
            time.sleep(0.05)

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return "(no log)"

    def describe(self) -> str:
        mounts = Path("/proc/mounts").read_text()
        return f"mount table:\n{mounts}\nmount log:\n{self.log()}"

    def unmount(self, timeout: float = 20.0) -> int:
        if os.path.ismount(self.path):
            subprocess.run(["fusermount", "-u", str(self.path)], check=False,
                           capture_output=True)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            subprocess.run(["fusermount", "-uz", str(self.path)], check=False,
                           capture_output=True)
            self.process.kill()
            self.process.wait(5)
            raise RuntimeError(f"putiofs did not exit after unmount\n{self.describe()}") from None


@pytest.fixture
def mount_factory(tmp_path_factory: pytest.TempPathFactory):
    """Mount an emulator: ``mount_factory(server, "--cache-ttl", "1")`` → :class:`Mount`.

    Every mount is unmounted at teardown; a test fails if the mount process did not exit
    cleanly or wrote a traceback to its log.
    """
    mounts: list[Mount] = []

    def start(server, *extra: str, **kwargs) -> Mount:
        base = tmp_path_factory.mktemp("mnt")
        path = base / "putio"
        path.mkdir()
        mount = Mount(server.base_url, path, base / "putiofs.log", *extra, **kwargs)
        mounts.append(mount)
        return mount

    yield start
    problems = []
    for mount in mounts:
        code = mount.unmount()
        if code != 0:
            problems.append(f"{mount.path}: exit code {code}\n{mount.log()}")
        if "Traceback" in mount.log():
            problems.append(f"{mount.path}: traceback in the mount log\n{mount.log()}")
    if problems:
        pytest.fail("\n".join(problems))
