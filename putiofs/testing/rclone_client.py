"""rclone, put.io's most used third-party client, pointed at the emulator through a
:class:`~putiofs.emulator.tls.front.TlsFront`: :func:`rclone_env` prepares it (its put.io hosts
are built in), :func:`rclone_mount` mounts with it. Used by the tests
(``tests/support/realclients.py``) and by ``scripts/bench``, which runs ``rclone mount`` as
putiofs's peer.

rclone always runs with a private config file and cache directory, with every proxy variable of
the calling environment and every ``RCLONE_*`` variable removed (so nothing outside the caller can
redirect it), short connect and I/O timeouts, one low-level retry, HTTP/1.1 only, and errors-only
logging. rclone makes no update checks or other calls home, so that is all it takes to keep it on
loopback. The token is written to the config file (mode 0600), never into argv or the
environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RCLONE_TIMEOUT = 60.0
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
_QUIET_FLAGS = ("--ask-password=false", "--stats", "0",
                "--contimeout", "5s", "--timeout", "30s", "--low-level-retries", "1",
                "--retries", "1", "--disable-http2")
LOCAL_NO_PROXY = "127.0.0.1,localhost,::1"


def rclone_path() -> str | None:
    """The rclone executable, or None where it is not installed."""
    return shutil.which("rclone")


@dataclass(frozen=True)
class Rclone:
    """How to run rclone against the front: ``run("lsjson", "putio:")``.

    ``args`` go after the subcommand's own arguments; ``env`` replaces the environment.
    """

    env: dict[str, str]
    args: tuple[str, ...]
    workdir: Path
    executable: str = field(default="rclone")

    def command(self, *argv: str) -> list[str]:
        return [self.executable, *argv, *self.args]

    def run(self, *argv: str, timeout: float = RCLONE_TIMEOUT,
            input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        """Run to completion (killed after ``timeout`` seconds); output captured, not checked."""
        return subprocess.run(self.command(*argv), env=self.env, input=input,
                              capture_output=True, timeout=timeout, check=False)


def rclone_env(front: Any, token: str, tmpdir: Path, *, log_level: str = "ERROR",
               direct_hosts: Sequence[str] = ()) -> Rclone:
    """rclone set up in ``tmpdir``: its remote ``putio:`` goes through ``front`` (a TlsFront).

    ``log_level`` is rclone's (DEBUG, INFO, NOTICE, ERROR); rclone refuses ``-v`` on top of it.
    ``direct_hosts`` are reached without the front besides loopback (the storage URLs of an
    emulator listening on another local address, e.g. a veth in a network namespace).
    """
    executable = rclone_path()
    if executable is None:
        raise RuntimeError("rclone is not installed")
    tmpdir = Path(tmpdir)
    tmpdir.mkdir(parents=True, exist_ok=True)
    config = tmpdir / "rclone.conf"
    token_json = json.dumps({"access_token": token, "token_type": "Bearer",
                             "expiry": "0001-01-01T00:00:00Z"})
    descriptor = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        stream.write(f"[putio]\ntype = putio\ntoken = {token_json}\n")
    env = {name: value for name, value in os.environ.items()
           if name.lower() not in _PROXY_VARIABLES and not name.startswith("RCLONE_")}
    env.update(HTTPS_PROXY=front.proxy_url,
               NO_PROXY=",".join((LOCAL_NO_PROXY, *direct_hosts)))
    (tmpdir / "tmp").mkdir(exist_ok=True)
    args = ("--config", str(config), "--ca-cert", str(front.ca_file),
            "--cache-dir", str(tmpdir / "cache"), "--temp-dir", str(tmpdir / "tmp"),
            "--log-level", log_level, *_QUIET_FLAGS)
    return Rclone(env=env, args=args, workdir=tmpdir, executable=executable)


class RcloneMount:
    """A running ``rclone mount putio: MOUNTPOINT`` (foreground); ``path`` is the mountpoint."""

    def __init__(self, rclone: Rclone, path: Path, extra: Sequence[str], timeout: float) -> None:
        self.path = Path(path)
        self.log_file = rclone.workdir / f"rclone-mount-{self.path.name}.log"
        argv = ["mount", "putio:", str(self.path), "--log-file", str(self.log_file), *extra]
        self.process = subprocess.Popen(rclone.command(*argv), env=rclone.env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while not os.path.ismount(self.path):
            if self.process.poll() is not None:
                _, err = self.process.communicate()
                raise RuntimeError(f"rclone mount exited {self.process.returncode}: "
                                   f"{err.decode(errors='replace').strip()}\n{self.log()}")
            if time.monotonic() > deadline:
                self.process.kill()
                self.process.wait(5)
                raise RuntimeError(f"no rclone mount at {self.path} after {timeout}s\n{self.log()}")
            time.sleep(0.05)

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return "(no rclone log)"

    def unmount(self, timeout: float = 20.0) -> int:
        """Unmount and wait for rclone to exit; its exit code (lazy unmount and kill on timeout)."""
        if os.path.ismount(self.path):
            _fusermount("-u", self.path)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            _fusermount("-uz", self.path)
            self.process.kill()
            self.process.wait(5)
            raise RuntimeError(f"rclone mount did not exit after unmount\n{self.log()}") from None
        finally:
            if self.process.stderr is not None:
                self.process.stderr.close()

    def __enter__(self) -> RcloneMount:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.unmount()


def rclone_mount(rclone: Rclone, mountpoint: Path, *extra: str, vfs_cache_mode: str | None = None,
                 timeout: float = 20.0) -> RcloneMount:
    """Start ``rclone mount putio: mountpoint`` and wait until it is mounted.

    ``vfs_cache_mode`` (off, minimal, writes, full) becomes ``--vfs-cache-mode``; ``extra`` are
    further rclone flags. Unmount with ``.unmount()`` or use the result as a context manager.

    With ``writes`` or ``full``, rclone uploads a closed file in the background after
    ``--vfs-write-back`` (5 s by default) and drops uploads still queued when it is unmounted
    (seen with 1.60.1): pass ``"--vfs-write-back", "0s"`` and wait for the upload before
    unmounting when the bytes must reach the server, e.g. to time writes against putiofs.
    """
    flags = [*extra] + (["--vfs-cache-mode", vfs_cache_mode] if vfs_cache_mode else [])
    return RcloneMount(rclone, mountpoint, flags, timeout)


def _fusermount(option: str, path: Path) -> None:
    tool = shutil.which("fusermount3") or shutil.which("fusermount") or "fusermount"
    subprocess.run([tool, option, str(path)], check=False, capture_output=True, timeout=30)
