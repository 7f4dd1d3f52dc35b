"""The processes a benchmark run drives: the emulator, putiofs mounts, the in-memory mount, curl.

Every one is started as a context manager that stops it (and unmounts) on the way out, whatever
happened inside.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from putiofs.mount_process import MountProcess, MountProcessError

API_KEY = API_SECRET = "demo"
READ_AHEAD_ENV = "PUTIOFS_BENCH_READ_AHEAD_KB"  # set on every mount's bdi when given (root)


class Emulator:
    """``putiofs emulator --data DIR`` in its own process (it then has its own GIL)."""

    def __init__(self, data_dir: Path) -> None:
        env = dict(os.environ, PUTIO_API_KEY=API_KEY, PUTIO_API_SECRET=API_SECRET)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "putiofs", "emulator", "--port", "0", "--data", str(data_dir)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.base_url = ""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("PUTIO_API_URL="):
                self.base_url = line.strip().partition("=")[2]
                break
        if not self.base_url:
            self.stop()
            raise RuntimeError(f"the emulator did not start: {self.process.stderr.read()}")
        self.root_url = self.base_url.rsplit("/v1", 1)[0]
        self.http = requests.Session()

    def stats(self) -> dict[str, Any]:
        return self.http.get(f"{self.root_url}/_emulator/stats", timeout=10).json()

    def reset(self) -> None:
        self.http.post(f"{self.root_url}/_emulator/reset", timeout=10).raise_for_status()

    def call(self, service: str, method: str, **params: Any) -> Any:
        request = json.dumps({"api_key": API_KEY, "api_secret": API_SECRET, "params": params})
        answer = self.http.post(f"{self.base_url}/{service}", params={"method": method},
                                data={"request": request}, timeout=30).json()
        if answer.get("error"):
            raise RuntimeError(f"{service}.{method}: {answer.get('error_message')}")
        return answer["response"]["results"]

    def api_url(self, service: str, method: str) -> tuple[str, str]:
        """URL and form body of an API call, for curl."""
        request = json.dumps({"api_key": API_KEY, "api_secret": API_SECRET, "params": {}})
        return f"{self.base_url}/{service}?method={method}", f"request={request}"

    def item(self, path: str) -> dict[str, Any]:
        folder, item = "0", None
        for part in path.split("/"):
            children = self.call("files", "list", parent_id=folder, limit=2000)
            item = next(c for c in children if c["name"] == part)
            folder = item["id"]
        assert item is not None
        return item

    def stream_url(self, path: str) -> str:
        item = self.item(path)
        token = self.call("user", "acctoken")[0]["token"]
        return f"{(item.get('stream_url') or item['download_url']).rstrip('/')}/atk/{token}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@contextlib.contextmanager
def emulator(data_dir: Path) -> Iterator[Emulator]:
    server = Emulator(data_dir)
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


@contextlib.contextmanager
def putiofs_mount(server: Emulator, *extra: str) -> Iterator[Mount]:
    env = dict(os.environ, PUTIO_API_URL=server.base_url, PUTIO_API_KEY=API_KEY,
               PUTIO_API_SECRET=API_SECRET)
    env.pop("XDG_CONFIG_HOME", None)
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
