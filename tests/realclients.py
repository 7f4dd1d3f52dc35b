"""Real put.io v2 clients nobody here wrote, pointed at a local server: putio.py and rclone.

- :func:`putio_sdk` points put.io's Python SDK (``putiopy``) at a plain-HTTP emulator by
  reassigning its URL globals (it reads them at call time).
- :func:`rclone_env` prepares rclone, whose put.io hosts are built in, to go through a
  :class:`~putiofs.emulator.tls_front.TlsFront`; :func:`rclone_mount` mounts with it.

rclone always runs with a private config file and cache directory, with every proxy variable of
the calling environment and every ``RCLONE_*`` variable removed (so nothing outside the test can
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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from putiofs.emulator.tls_certs import openssl_path

RCLONE_TIMEOUT = 60.0
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
_QUIET_FLAGS = ("--ask-password=false", "--stats", "0",
                "--contimeout", "5s", "--timeout", "30s", "--low-level-retries", "1",
                "--retries", "1", "--disable-http2")


def rclone_path() -> str | None:
    """The rclone executable, or None where it is not installed."""
    return shutil.which("rclone")


def real_clients_unavailable_reason() -> str | None:
    """Why rclone cannot be run through a TLS front here, or None if it can."""
    if rclone_path() is None:
        return "rclone is not installed (apt-get install rclone)"
    if openssl_path() is None:
        return "openssl is not installed (apt-get install openssl): the TLS front needs it"
    return None


requires_openssl = pytest.mark.skipif(
    openssl_path() is None,
    reason="openssl is not installed (apt-get install openssl): the TLS front needs it")
requires_rclone = pytest.mark.skipif(real_clients_unavailable_reason() is not None,
                                     reason=real_clients_unavailable_reason() or "")


@contextmanager
def putio_sdk(base_url: str, token: str) -> Iterator[Any]:
    """``putiopy.Client(token)`` talking to the emulator at ``base_url`` (``http://host:port``).

    The SDK's module globals ``BASE_URL``, ``UPLOAD_URL`` and ``TUS_UPLOAD_URL`` are pointed at
    the emulator for the duration and restored afterwards (so this is not thread-safe across
    concurrent uses). The client's session ignores proxy variables: it talks to loopback only.
    """
    import putiopy

    root = base_url.rstrip("/").removesuffix("/v2")
    saved = {name: getattr(putiopy, name) for name in ("BASE_URL", "UPLOAD_URL", "TUS_UPLOAD_URL")}
    putiopy.BASE_URL = f"{root}/v2"
    putiopy.UPLOAD_URL = f"{root}/v2/files/upload"
    putiopy.TUS_UPLOAD_URL = f"{root}/files/"
    client = putiopy.Client(token)
    client.session.trust_env = False
    try:
        yield client
    finally:
        client.close()
        for name, value in saved.items():
            setattr(putiopy, name, value)


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


def rclone_env(front: Any, token: str, tmpdir: Path, *, log_level: str = "ERROR") -> Rclone:
    """rclone set up in ``tmpdir``: its remote ``putio:`` goes through ``front`` (a TlsFront).

    ``log_level`` is rclone's (DEBUG, INFO, NOTICE, ERROR); rclone refuses ``-v`` on top of it.
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
    env.update(HTTPS_PROXY=front.proxy_url, NO_PROXY="127.0.0.1,localhost,::1")
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
