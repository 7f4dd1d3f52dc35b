"""The processes a benchmark run drives: the emulator, putiofs mounts, the in-memory mount, curl.

Every one is started as a context manager that stops it (and unmounts) on the way out, whatever
happened inside.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

from putiofs.testing.mount_process import MountProcess, MountProcessError

TOKEN = "bench-token"  # the emulator's account token: a fake account on this machine only
READ_AHEAD_ENV = "PUTIOFS_BENCH_READ_AHEAD_KB"  # set on every mount's bdi when given (root)
TUS_CHUNK = 48 * 1024 * 1024  # rclone's TUS chunk size (putio-api-v2.md §5.1)


class Emulator:
    """``putiofs emulator --api v2 --data DIR`` in its own process (it then has its own GIL).

    ``netns`` runs it inside that network namespace, listening on ``host`` (the far-link
    profile); ``latency`` delays every answer (the fallback where namespaces are missing).
    """

    def __init__(self, data_dir: Path, *, host: str = "127.0.0.1", netns: str | None = None,
                 latency: float = 0.0) -> None:
        env = dict(os.environ, PUTIO_TOKEN=TOKEN)
        argv = [sys.executable, "-m", "putiofs", "emulator", "--api", "v2", "--host", host,
                "--port", "0", "--data", str(data_dir)]
        if latency:
            argv += ["--latency", str(latency)]
        if netns:
            argv = ["ip", "netns", "exec", netns, *argv]
        self.process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        self.host = host
        self.base_url = ""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("PUTIO_API_URL="):
                self.base_url = line.strip().partition("=")[2]
                break
        if not self.base_url:
            self.stop()
            raise RuntimeError(f"the emulator did not start: {self.process.stderr.read()}")
        self.root_url = self.base_url.rsplit("/v2", 1)[0]
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.headers["Authorization"] = f"token {TOKEN}"

    def stats(self) -> dict[str, Any]:
        return self.http.get(f"{self.root_url}/_emulator/stats", timeout=10).json()

    def reset(self) -> None:
        self.http.post(f"{self.root_url}/_emulator/reset", timeout=10).raise_for_status()

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        answer = self.http.get(f"{self.base_url}/{path}", params=params, timeout=60)
        answer.raise_for_status()
        return answer.json()

    def child(self, parent_id: int, name: str) -> dict[str, Any] | None:
        answer = self.http.get(f"{self.base_url}/files/{parent_id}/child", params={"name": name},
                               timeout=60)
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        return answer.json()["file"]

    def item(self, path: str) -> dict[str, Any]:
        item: dict[str, Any] = {"id": 0}
        for part in path.split("/"):
            found = self.child(item["id"], part)
            if found is None:
                raise FileNotFoundError(path)
            item = found
        return item

    def stream_url(self, path: str) -> str:
        """A storage URL of the file (what ``GET /v2/files/{id}/url`` hands out)."""
        return self.get(f"files/{self.item(path)['id']}/url")["url"]

    def api_call(self) -> tuple[str, list[str]]:
        """URL and curl arguments of one API call (``GET /v2/account/info``), the token in a
        header file, not in argv."""
        header = Path(tempfile.gettempdir()) / f"putiofs-bench-auth-{os.getpid()}"
        if not header.exists():
            fd = os.open(header, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as stream:
                stream.write(f"Authorization: token {TOKEN}\n")
        return f"{self.base_url}/account/info", ["-H", f"@{header}"]

    def upload(self, source: Path, name: str, parent_id: int = 0) -> int:
        """A direct TUS upload of ``source`` (POST, then PATCH in 48 MiB chunks, as rclone
        does); the new file's id."""
        size = source.stat().st_size
        meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}"
                        for k, v in (("name", name), ("parent_id", str(parent_id)),
                                     ("no-torrent", "true")))
        created = self.http.post(f"{self.root_url}/files/", timeout=60, headers={
            "Tus-Resumable": "1.0.0", "Upload-Length": str(size), "Upload-Metadata": meta})
        created.raise_for_status()
        location = urljoin(f"{self.root_url}/files/", created.headers["Location"])
        offset, file_id = 0, None
        with source.open("rb") as fh:
            while offset < size or file_id is None:
                chunk = fh.read(TUS_CHUNK)
                sent = self.http.patch(location, data=chunk, timeout=300, headers={
                    "Tus-Resumable": "1.0.0", "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream"})
                sent.raise_for_status()
                offset = int(sent.headers["Upload-Offset"])
                file_id = sent.headers.get("Putio-File-Id")
                if not chunk and file_id is None:
                    raise RuntimeError("TUS upload ended without Putio-File-Id")
        return int(file_id)

    def delete(self, file_id: int) -> None:
        """Delete for good (the bench's uploads live in the emulator's memory)."""
        self.http.post(f"{self.base_url}/files/delete", timeout=60,
                       data={"file_ids": str(file_id), "skip_trash": "true"}).raise_for_status()

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@contextlib.contextmanager
def emulator(data_dir: Path, **options: Any) -> Iterator[Emulator]:
    server = Emulator(data_dir, **options)
    try:
        yield server
    finally:
        server.stop()


class Mount(MountProcess):
    """A FUSE filesystem process serving a fresh mountpoint in a temp dir (``{MP}`` and
    ``{LOG}`` in ``command`` become the mountpoint and the log file)."""

    def __init__(self, command: list[str], env: dict[str, str] | None, label: str,
                 timeout: float = 30.0) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=f"putiofs-bench-{label}-"))
        path = self.dir / "mnt"
        path.mkdir()
        log_file = self.dir / "mount.log"
        self.label = label
        argv = [*command[:1], *[a.replace("{MP}", str(path)).replace("{LOG}", str(log_file))
                                for a in command[1:]]]
        # A putiofs mount's default cache folder (its spool) goes with the mount.
        env = {**(os.environ if env is None else env), "XDG_CACHE_HOME": str(self.dir / "cache")}
        try:
            super().__init__(argv, path, log_file=log_file, env=env, timeout=timeout,
                             stderr=subprocess.STDOUT)
        except MountProcessError as exc:
            raise RuntimeError(f"{label} mount did not come up: {exc}") from None
        read_ahead = os.environ.get(READ_AHEAD_ENV)
        if read_ahead:
            (self.bdi() / "read_ahead_kb").write_text(read_ahead)

    def bdi(self) -> Path:
        dev = os.stat(self.path).st_dev
        return Path(f"/sys/class/bdi/{os.major(dev)}:{os.minor(dev)}")

    def unmount(self, timeout: float = 20.0) -> int:
        """Unmount, stop the process (killed if it lingers) and remove the mountpoint."""
        try:
            return super().unmount(timeout)
        except MountProcessError:
            return -1
        finally:
            with contextlib.suppress(OSError):
                self.path.rmdir()
            shutil.rmtree(self.dir / "cache", ignore_errors=True)


@contextlib.contextmanager
def putiofs_mount(server: Emulator, *extra: str) -> Iterator[Mount]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUTIO_")}
    env.update(PUTIO_API="v2", PUTIO_API_URL=server.base_url, PUTIO_TOKEN=TOKEN,
               PUTIO_UPLOAD_URL=server.root_url)
    env.pop("XDG_CONFIG_HOME", None)
    if not ipaddress.ip_address(server.host).is_loopback:
        extra = ("--insecure", *extra)  # plain http to the far-link veth: a fake account
    mount = Mount([sys.executable, "-m", "putiofs", "mount", "{MP}", "-f", "--log-file", "{LOG}",
                   *extra], env, "putiofs")
    try:
        yield mount
    finally:
        mount.unmount()


@contextlib.contextmanager
def memory_mount(size: int) -> Iterator[Mount]:
    mount = Mount([sys.executable, "-m", "bench.memfs", "{MP}", "--size", str(size)], None,
                  "memfs")
    try:
        yield mount
    finally:
        mount.unmount()


def curl(url: str, *args: str) -> dict[str, float]:
    """One curl transfer to /dev/null: curl's own timings in seconds (process start excluded)."""
    out = subprocess.run(
        ["curl", "-s", "-S", "-f", "-o", "/dev/null", "-w",
         "%{time_starttransfer} %{time_total} %{speed_download} %{size_download}", *args, url],
        capture_output=True, text=True, check=True).stdout.split()
    return {"ttfb": float(out[0]), "total": float(out[1]), "speed": float(out[2]),
            "bytes": float(out[3])}


def rss(pid: int) -> tuple[int, int]:
    """(current, peak) resident set size of a process in bytes."""
    now = peak = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            now = int(line.split()[1]) * 1024
        elif line.startswith("VmHWM:"):
            peak = int(line.split()[1]) * 1024
    return now, peak


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM (Linux ≥ 4.0, own process or root); False if not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def drop_cached(path: Path) -> None:
    """Drop the page cache of one file (clean pages), so the next read goes to the filesystem."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
