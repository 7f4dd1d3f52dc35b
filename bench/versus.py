"""The sections run for putiofs and rclone mount side by side, on either link.

Every sample of one client is followed at once by the other's (and by the baseline's), so a
noisy neighbour on this shared machine hits both alike; medians are reported. Ratios of speeds
are putiofs / other (higher is better), ratios of times putiofs / other (lower is better); the
target column says which. ``far`` is True on the far-link profile, where the issue's latency
targets apply; on loopback the same rows are information, except the sequential read, whose
targets are loopback ones.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import procs
from bench.data import GIB, Layout
from bench.measure import _run, _time, read_all, read_head
from bench.peers import Side
from bench.report import Results, Row


@dataclass(frozen=True)
class Profile:
    name: str     # "loopback" or "far"
    far: bool
    note: str     # how the link was made, printed with the table

    def section(self, title: str) -> str:
        return f"{title} [{self.name}]"


def _pair(sides: list[Side]) -> tuple[Side, Side | None]:
    return sides[0], sides[1] if len(sides) > 1 else None


def _versus(res: Results, section: str, what: str, values: dict[str, float], unit: str,
            *, higher_better: bool, target: float | None, scale: float = 1.0) -> None:
    """putiofs's figure with rclone's as its baseline (ratio putiofs / rclone)."""
    mine, theirs = values["putiofs"], values.get("rclone")
    if theirs is None:
        res.add(Row(section, what, mine * scale, unit, target="rclone not run"))
        return
    ratio = mine / theirs if theirs else None
    sign = ">=" if higher_better else "<="
    passed = None
    if target is not None and ratio is not None:
        passed = ratio >= target if higher_better else ratio <= target
    res.add(Row(section, what, mine * scale, unit, theirs * scale, f"{unit} rclone", ratio,
                f"putiofs/rclone {sign} {target:g}" if target is not None else "info", passed))


# -- sequential read and CPU ---------------------------------------------------------------------

def sequential(res: Results, server: procs.Emulator, sides: list[Side], rel: str, size: int,
               rounds: int, profile: Profile) -> None:
    section = profile.section("1 sequential")
    for side in sides:
        os.stat(side.path / rel)
    url = server.stream_url(rel)
    speed: dict[str, list[float]] = {s.name: [] for s in sides}
    cpu = dict.fromkeys(speed, 0.0)
    calls = dict.fromkeys(speed, 0)
    gets = dict.fromkeys(speed, 0)
    direct, ceiling, memfs_cpu = [], [], 0.0
    with procs.memory_mount(size) as mem:
        for _ in range(rounds):
            for side in sides:
                path = side.path / rel
                procs.drop_cached(path)
                server.reset()
                before = procs.cpu_seconds(side.pid)
                got = _time(read_all, path)
                cpu[side.name] += procs.cpu_seconds(side.pid) - before
                stats = server.stats()
                calls[side.name] += int(stats["requests_total"])
                gets[side.name] += int(stats["data_requests"])
                speed[side.name].append(size / got / 1e6)
            direct.append(procs.curl(url)["speed"] / 1e6)
            if not profile.far:
                procs.drop_cached(mem.path / "zeros.bin")
                before = procs.cpu_seconds(mem.pid)
                ceiling.append(size / _time(read_all, mem.path / "zeros.bin") / 1e6)
                memfs_cpu += procs.cpu_seconds(mem.pid) - before
    mib = f"{size / 2**20:g} MiB"
    med = {name: statistics.median(v) for name, v in speed.items()}
    _versus(res, section, f"read {mib}, median of {rounds}", med, "MB/s", higher_better=True,
            target=None if profile.far else 2.0)
    c = statistics.median(direct)
    res.add(Row(section, f"read {mib}: putiofs vs curl (network limit)", med["putiofs"], "MB/s",
                c, "MB/s curl", med["putiofs"] / c, "info"))
    if ceiling:
        f = statistics.median(ceiling)
        res.add(Row(section, f"read {mib}: putiofs vs in-memory FUSE (ceiling)", med["putiofs"],
                    "MB/s", f, "MB/s memfs", med["putiofs"] / f, "putiofs/ceiling >= 0.85",
                    med["putiofs"] / f >= 0.85))
    if ceiling:
        cached_sequential(res, server, section, rel, size, statistics.median(ceiling))
    gib = rounds * size / GIB
    per_gib = {name: seconds / gib for name, seconds in cpu.items()}
    _versus(res, section, "mount CPU seconds per GiB", per_gib, "s", higher_better=False,
            target=None if profile.far else 1.0)
    if ceiling:
        res.add(Row(section, "CPU seconds per GiB: in-memory FUSE process", memfs_cpu / gib, "s"))
    per_gib = {name: n / gib for name, n in calls.items()}
    res.add(Row(profile.section("7 API cost"), "API calls per GiB streamed", per_gib["putiofs"],
                "calls", per_gib.get("rclone"), "calls rclone", None, "<= 2",
                per_gib["putiofs"] <= 2))
    _versus(res, profile.section("7 API cost"), "storage GETs per GiB streamed",
            {name: n / gib for name, n in gets.items()}, "GETs", higher_better=False, target=None)


def cached_sequential(res: Results, server: procs.Emulator, section: str, rel: str, size: int,
                      ceiling: float) -> None:
    """The second read of a file on a putiofs mount with its read cache on (its own mount:
    the side-by-side mounts run without one, like rclone's): the first read fills the cache;
    once its writer is done (the mount's status says so) and the kernel's pages of the file
    are dropped, a timed read is served from the cache files, against the in-memory ceiling."""
    with procs.putiofs_mount(server) as mount:
        path = mount.path / rel
        status = mount.path / ".putio" / "status.json"
        # what the cache's writer skipped while it was behind the network is kept by the
        # next read of those bytes: read until all is kept (a few reads at most)
        for _ in range(4):
            procs.drop_cached(path)
            read_all(path)
            held = _read_cache_settled(status)
            if held >= size:
                break
        procs.drop_cached(path)
        server.reset()
        got = size / _time(read_all, path) / 1e6
        requests = int(server.stats()["data_requests"])
    ratio = got / ceiling
    res.add(Row(section, "cached sequential read (second read of the same file, from the read "
                f"cache; {requests} storage requests)", got, "MB/s", ceiling, "MB/s memfs",
                ratio, "putiofs/ceiling >= 0.8", ratio >= 0.8))


def _read_cache_settled(status: Path) -> int:
    """The read cache's size once its writer has stopped growing it (within a minute)."""
    last, deadline = -1, time.monotonic() + 60
    while time.monotonic() < deadline:
        size = (json.loads(status.read_text())["cache"]["read_cache"] or {}).get("size", 0)
        if size == last:
            return size
        last = size
        time.sleep(0.5)
    return last


# -- first byte of a file not opened before ------------------------------------------------------

def first_byte(res: Results, server: procs.Emulator, sides: list[Side], layout: Layout,
               profile: Profile, samples: int = 12) -> None:
    """open + read 4 KiB of files each mount has listed but never opened (one file per sample,
    the same file for both clients), then ``curl -r 0-4095`` of its storage URL."""
    section = profile.section("2 first byte")
    for side in sides:
        os.listdir(side.path / "ttfb")
    times: dict[str, list[float]] = {s.name: [] for s in sides}
    curls = []
    count = min(samples, layout.ttfb_files)
    url = server.stream_url(layout.ttfb(0))
    for index in range(count):
        for side in sides:
            times[side.name].append(_time(read_head, side.path / layout.ttfb(index)))
        curls.append(procs.curl(url, "-r", "0-4095")["total"])
    med = {name: statistics.median(v) for name, v in times.items()}
    _versus(res, section, f"open+read 4 KiB of an unopened file (median of {count})", med, "ms",
            higher_better=False, target=1.0 if profile.far else None, scale=1e3)
    c = statistics.median(curls)
    res.add(Row(section, "open+read 4 KiB: putiofs vs one curl -r 0-4095", med["putiofs"] * 1e3,
                "ms", c * 1e3, "ms curl", med["putiofs"] / c, "info"))


# -- media ---------------------------------------------------------------------------------------

def media(res: Results, server: procs.Emulator, sides: list[Side], layout: Layout, reps: int,
          profile: Profile) -> None:
    section = profile.section("4 media")

    def probe(src: str) -> list[str]:
        return ["ffprobe", "-v", "error", "-show_format", "-show_streams", src]

    def seek(at: float) -> Callable[[str], list[str]]:
        return lambda src: ["ffmpeg", "-v", "error", "-ss", f"{at:.2f}", "-i", src,
                            "-frames:v", "1", "-f", "null", "-"]

    cases: list[tuple[str, Callable[[str], list[str]]]] = [("ffprobe long video", probe)]
    for share in (0.1, 0.5, 0.9):
        cases.append((f"ffmpeg -ss {share:.0%} + 1 frame", seek(share * layout.long_video_seconds)))
    url = server.stream_url(layout.long_video)
    http_target = 1.1 if profile.far else 1.5
    for what, command in cases:
        times: dict[str, list[float]] = {s.name: [] for s in sides}
        direct = []
        for _ in range(reps):
            for side in sides:
                path = side.path / layout.long_video
                procs.drop_cached(path)  # each run starts cold, as a first play does
                times[side.name].append(_run(command(str(path))))
            direct.append(_run(command(url)))
        med = {name: statistics.median(v) for name, v in times.items()}
        d = statistics.median(direct)
        res.add(Row(section, f"{what}: putiofs vs ffmpeg over HTTP", med["putiofs"] * 1e3, "ms",
                    d * 1e3, "ms over HTTP", med["putiofs"] / d, f"<= {http_target:g}",
                    med["putiofs"] / d <= http_target))
        _versus(res, section, f"{what}: putiofs vs rclone", med, "ms", higher_better=False,
                target=1.0 if profile.far else None, scale=1e3)


# -- listing -------------------------------------------------------------------------------------

def _find(top: Path) -> None:
    subprocess.run(["find", str(top)], check=True, stdout=subprocess.DEVNULL)


def _ls_lr(top: Path) -> None:
    subprocess.run(["ls", "-lR", str(top)], check=True, stdout=subprocess.DEVNULL)


def _every_path(top: Path) -> list[str]:
    paths = []
    for here, dirs, files in os.walk(top):
        paths += [os.path.join(here, name) for name in dirs + files]
    return paths


def _stat_all(paths: list[str]) -> None:
    for path in paths:
        os.lstat(path)


#: How long after a listing the second ``stat`` of every file runs: past both kernels'
#: attribute and entry timeouts (putiofs at most 5 s, rclone's 1 s), so every ``stat`` is a
#: FUSE lookup answered from the mount's own cache.
KERNEL_CACHE_EXPIRED = 6.0


def listing(res: Results, server: procs.Emulator, mounts: Callable[[], object],
            layout: Layout, profile: Profile) -> None:
    """``find`` and ``ls -lR`` of the 10,000-item tree, each on fresh mounts (cold), then again
    (warm); API calls from the emulator's counters. ``mounts()`` gives a context manager of
    fresh sides. Then :func:`stat_every_file`."""
    section = profile.section("5 listing")
    budget = layout.folders + 2
    for what, func in (("find", _find), ("ls -lR", _ls_lr)):
        cold: dict[str, float] = {}
        warm: dict[str, float] = {}
        calls: dict[str, tuple[int, int]] = {}
        with mounts() as sides:  # type: ignore[attr-defined]
            for side in sides:
                top = side.path / layout.tree
                server.reset()
                cold[side.name] = _time(func, top)
                cold_calls = int(server.stats()["requests_total"])
                server.reset()
                warm[side.name] = _time(func, top)
                calls[side.name] = cold_calls, int(server.stats()["requests_total"])
        _versus(res, section, f"{what} 10k tree cold: time", cold, "s", higher_better=False,
                target=0.5 if profile.far else None)
        mine = calls["putiofs"]
        theirs = f"{calls['rclone'][0]} rclone" if "rclone" in calls else ""
        res.add(Row(section, f"{what} 10k tree cold: API calls", mine[0], "calls",
                    calls["rclone"][0] if "rclone" in calls else None, "calls rclone",
                    mine[0] / calls["rclone"][0] if theirs and calls["rclone"][0] else None,
                    f"<= {budget}", mine[0] <= budget))
        _versus(res, section, f"{what} 10k tree warm: time", warm, "s", higher_better=False,
                target=1.0 if what == "ls -lR" else None)
        res.add(Row(section, f"{what} 10k tree warm: API calls", mine[1], "calls",
                    calls["rclone"][1] if "rclone" in calls else None, "calls rclone", None,
                    "0", mine[1] == 0))
    stat_every_file(res, mounts, layout, profile)


def stat_every_file(res: Results, mounts: Callable[[], object], layout: Layout,
                    profile: Profile, rounds: int = 3) -> None:
    """A warm ``stat`` (``lstat``) of every item of the 10k tree, on fresh mounts that have
    just walked it (``os.walk``): at once, and again :data:`KERNEL_CACHE_EXPIRED` s later,
    when the kernel asks the mount for each item (what a file manager coming back to a folder
    costs): ``rounds`` times, the two clients one after the other, median."""
    section = profile.section("5 listing")
    just: dict[str, float] = {}
    later: dict[str, list[float]] = {}
    with mounts() as sides:  # type: ignore[attr-defined]
        paths = {}
        for side in sides:
            paths[side.name] = _every_path(side.path / layout.tree)
            just[side.name] = _time(_stat_all, paths[side.name])
        for _ in range(rounds):
            time.sleep(KERNEL_CACHE_EXPIRED)
            for side in sides:
                later.setdefault(side.name, []).append(_time(_stat_all, paths[side.name]))
    count = len(paths["putiofs"])
    _versus(res, section, f"stat every item of the 10k tree ({count:,}), warm: time", just,
            "s", higher_better=False, target=1.0)
    _versus(res, section, f"stat every item, warm, {KERNEL_CACHE_EXPIRED:g} s later (the "
            f"kernel's caches expired; median of {rounds}): time",
            {name: statistics.median(times) for name, times in later.items()}, "s",
            higher_better=False, target=1.0)
