"""The side-by-side sections that write or weigh: ``cp`` into the mount against a direct TUS
upload and rclone ``--vfs-cache-mode writes``; peak RSS with 4 streams (and 2 uploads); the
100,000-item folder.

A write counts as done when the emulator holds the whole file (the upload finished), not when
``cp`` returns: rclone uploads after the close (``--vfs-write-back 0s``), putiofs may upload
during the writes or at the close; both are timed to the same point. A putiofs mount that
refuses writes (EROFS, ENOTSUP, EPERM, EACCES: the write path has not landed) makes the write
rows "not available" instead of failing the run.
"""

from __future__ import annotations

import errno
import os
import statistics
import subprocess
import threading
import time
from pathlib import Path

from bench import procs
from bench.data import GIB, MIB, Layout
from bench.measure import read_all
from bench.peers import Side
from bench.report import Results, Row
from bench.versus import Profile, _versus

REFUSED = {errno.EROFS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM, errno.EACCES, errno.ENOSYS}
UPLOAD_WAIT = 600.0


def writable(side: Side) -> str | None:
    """None if the mount takes a new file, else why not (the errno's name)."""
    probe = side.path / f".bench-write-probe-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as exc:
        if exc.errno in REFUSED:
            return errno.errorcode.get(exc.errno or 0, str(exc))
        raise
    os.close(fd)
    os.unlink(probe)
    return None


def _wait_uploaded(server: procs.Emulator, name: str, size: int) -> int:
    """Poll the emulator until ``name`` in the root holds ``size`` bytes; its id."""
    deadline = time.monotonic() + UPLOAD_WAIT
    while time.monotonic() < deadline:
        item = server.child(0, name)
        if item is not None and item.get("size") == size:
            return int(item["id"])
        time.sleep(0.02)
    raise RuntimeError(f"{name}: not uploaded after {UPLOAD_WAIT:.0f} s")


def cp_upload(server: procs.Emulator, side: Side, source: Path, name: str) -> float:
    """Seconds from ``cp`` start until the emulator holds the file; the file is then deleted."""
    size = source.stat().st_size
    start = time.perf_counter()
    # --sparse=never: every zero is written through the mount, as with a real file
    subprocess.run(["cp", "--sparse=never", str(source), str(side.path / name)], check=True)
    file_id = _wait_uploaded(server, name, size)
    seconds = time.perf_counter() - start
    server.delete(file_id)
    return seconds


def writes(res: Results, server: procs.Emulator, putiofs: Side, rclone: Side | None,
           source: Path, profile: Profile) -> bool:
    """The write rows; False when the putiofs mount refuses writes."""
    section = profile.section("9 writes")
    size = source.stat().st_size
    mib = f"{size / MIB:g} MiB"
    start = time.perf_counter()
    server.delete(server.upload(source, "bench-direct.bin"))
    direct = time.perf_counter() - start
    refused = writable(putiofs)
    speeds: dict[str, float] = {}
    if rclone is not None:
        speeds["rclone"] = size / cp_upload(server, rclone, source, "bench-rclone.bin") / 1e6
    if refused:
        res.add(Row(section, f"cp {mib} into the mount: not available (the mount answers "
                    f"{refused})", size / direct / 1e6, "MB/s direct TUS", target="not available"))
        if "rclone" in speeds:
            res.add(Row(section, f"cp {mib} into rclone --vfs-cache-mode writes",
                        speeds["rclone"], "MB/s"))
        return False
    speeds["putiofs"] = size / cp_upload(server, putiofs, source, "bench-putiofs.bin") / 1e6
    tus = size / direct / 1e6
    res.add(Row(section, f"cp {mib} into the mount vs a direct TUS upload", speeds["putiofs"],
                "MB/s", tus, "MB/s TUS", speeds["putiofs"] / tus, ">= 0.8",
                speeds["putiofs"] / tus >= 0.8))
    _versus(res, section, f"cp {mib} vs rclone --vfs-cache-mode writes", speeds, "MB/s",
            higher_better=True, target=1.0)
    return True


def memory(res: Results, server: procs.Emulator, sides: list[Side], layout: Layout,
           upload_source: Path | None, profile: Profile) -> None:
    """Four files streamed at once on each mount and nothing else (like for like): aggregate
    speed, the mount's CPU seconds per GiB and its peak RSS, median of ``rounds`` (the clients
    one after the other); then, on putiofs when it takes writes, the same four streams with two
    uploads beside them: peak RSS (the memory target) and speed, rows of their own."""
    section = profile.section("6 memory")
    rounds = 3
    samples: dict[str, list[tuple[float, float, float]]] = {s.name: [] for s in sides}
    for _ in range(rounds):
        for side in sides:
            samples[side.name].append(_peak(server, side, layout, None))
    gib = layout.streams * layout.stream_size / GIB
    speed = {name: statistics.median(s for _, s, _ in got) for name, got in samples.items()}
    cpu = {name: statistics.median(c for _, _, c in got) / gib for name, got in samples.items()}
    peaks = {name: max(p for p, _, _ in got) for name, got in samples.items()}
    streams = f"{layout.streams} streams at once, nothing else"
    _versus(res, section, f"{streams}: aggregate speed (median of {rounds})", speed, "MB/s",
            higher_better=True, target=1.0)
    _versus(res, section, f"{streams}: mount CPU seconds per GiB", cpu, "s",
            higher_better=False, target=0.5)
    _versus(res, section, f"{streams}: peak RSS", peaks, "MiB", higher_better=False,
            target=None)
    mine = sides[0]
    what = f"{layout.streams} streams + 2 uploads"
    if upload_source is None:
        res.add(Row(section, f"putiofs peak RSS, {what}", 0, "MiB",
                    target="uploads not available"))
        return
    peak, got, _ = _peak(server, mine, layout, upload_source)
    res.add(Row(section, f"putiofs peak RSS, {what}", peak, "MiB", peaks["putiofs"],
                "MiB streams only", peak / peaks["putiofs"], "<= 150", peak <= 150))
    res.add(Row(section, f"putiofs {what}: aggregate speed of the streams", got, "MB/s",
                speed["putiofs"], "MB/s streams only", got / speed["putiofs"], "info"))


def _peak(server: procs.Emulator, side: Side, layout: Layout,
          upload_source: Path | None) -> tuple[float, float, float]:
    """(peak RSS MiB, aggregate MB/s of the streams, mount CPU seconds) of one round."""
    paths = [side.path / layout.stream(i) for i in range(layout.streams)]
    for path in paths:
        os.stat(path)
        procs.drop_cached(path)
    reset = procs.reset_peak_rss(side.pid)
    errors: list[BaseException] = []

    def guarded(func, *args) -> None:
        try:
            func(*args)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    readers = [threading.Thread(target=guarded, args=(read_all, p)) for p in paths]
    uploads = [] if upload_source is None else [threading.Thread(target=guarded, args=(
        cp_upload, server, side, upload_source, f"bench-upload-{i}.bin")) for i in range(2)]
    peak = 0
    cpu_before = procs.cpu_seconds(side.pid)
    start = time.perf_counter()
    for thread in readers + uploads:
        thread.start()
    seconds = 0.0
    while any(t.is_alive() for t in readers + uploads):
        peak = max(peak, procs.rss(side.pid)[0])
        if not seconds and not any(t.is_alive() for t in readers):
            seconds = time.perf_counter() - start
        time.sleep(0.02)
    seconds = seconds or time.perf_counter() - start
    cpu = procs.cpu_seconds(side.pid) - cpu_before
    if errors:
        raise errors[0]
    if reset:
        peak = max(peak, procs.rss(side.pid)[1])
    return peak / MIB, layout.streams * layout.stream_size / seconds / 1e6, cpu


def huge_folder(res: Results, server: procs.Emulator, sides: list[Side], rel: str, size: int,
                profile: Profile) -> None:
    """List the folder of ``size`` items once (readdir, as ``ls -f``) on fresh mounts: time,
    API calls, and the mount's RSS after it."""
    section = profile.section("10 huge folder")
    times, rss = {}, {}
    for side in sides:
        server.reset()
        start = time.perf_counter()
        count = len(os.listdir(side.path / rel))
        times[side.name] = time.perf_counter() - start
        calls = int(server.stats()["requests_total"])
        rss[side.name] = procs.rss(side.pid)[1] / MIB
        assert count == size, f"{side.name}: {count} items listed, not {size}"
        res.add(Row(section, f"{side.name}: list {size:,} items: API calls", calls, "calls"))
    _versus(res, section, f"list {size:,} items: time", times, "s", higher_better=False,
            target=None)
    _versus(res, section, f"list {size:,} items: mount peak RSS", rss, "MiB",
            higher_better=False, target=None)
