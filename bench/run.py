"""``scripts/bench``: what a putiofs user feels, each figure next to a baseline from the same run.

Starts the emulator on loopback with a generated data set, mounts putiofs (several times: a
fresh mount is the only honest "cold"), measures, prints a table and optionally writes JSON.
Ratios of times are mount / baseline (1.0 is parity, lower is better); the sequential rows give
curl / mount and mount / in-memory ceiling, as the issue states their targets. The machine is
shared, so baselines are interleaved with the mount's samples and medians are reported.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import big_folder, procs
from bench.data import GIB, MIB, Layout, prepare

READ_SIZE = 1024 * 1024


@dataclass
class Row:
    section: str
    what: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None


class Results:
    def __init__(self) -> None:
        self.rows: list[Row] = []

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        mark = "" if row.passed is None else (" PASS" if row.passed else " MISS")
        base = f" (baseline {row.baseline:.4g} {row.baseline_label})" if row.baseline else ""
        ratio = f" ratio {row.ratio:.2f}" if row.ratio is not None else ""
        print(f"  {row.section}: {row.what} = {row.value:.4g} {row.unit}{base}{ratio}{mark}",
              file=sys.stderr, flush=True)
        return row


def _time(func: Callable[..., object], *args: object) -> float:
    start = time.perf_counter()
    func(*args)
    return time.perf_counter() - start


def read_all(path: Path) -> int:
    """Read a file start to end in 1 MiB reads (as cp or cat would); bytes read."""
    buf = bytearray(READ_SIZE)
    view = memoryview(buf)
    total = 0
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(view):
            total += n
    return total


def read_head(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.read(fd, 4096)
    finally:
        os.close(fd)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def api_calls(stats: dict) -> int:
    return int(stats["requests_total"])


# -- 1 and 7: sequential read, API cost ---------------------------------------------------------

def bench_sequential(res: Results, server: procs.Emulator, mount_proc: procs.Mount,
                     layout: Layout, rounds: int) -> None:
    """Mount, curl and the in-memory ceiling in turn, ``rounds`` times; medians (the machine
    is shared: interleaving spreads a noisy neighbour over all three alike)."""
    path = mount_proc.path / layout.seq
    os.stat(path)  # the user saw the file before opening it: its folder is listed
    url = server.stream_url(layout.seq)
    mount, direct, ceiling = [], [], []
    calls = gets = 0
    cpu = {"mount": 0.0, "emulator": 0.0, "memfs": 0.0, "emulator for curl": 0.0}
    emulator_pid = server.process.pid
    with procs.memory_mount(layout.seq_size) as mem:
        for _ in range(rounds):
            server.reset()  # before drop_cached, whose open is the first of the mount
            procs.drop_cached(path)
            before = procs.cpu_seconds(mount_proc.pid), procs.cpu_seconds(emulator_pid)
            mount.append(layout.seq_size / _time(read_all, path) / 1e6)
            cpu["mount"] += procs.cpu_seconds(mount_proc.pid) - before[0]
            cpu["emulator"] += procs.cpu_seconds(emulator_pid) - before[1]
            stats = server.stats()
            calls, gets = calls + api_calls(stats), gets + stats["data_requests"]
            before_curl = procs.cpu_seconds(emulator_pid)
            direct.append(procs.curl(url)["speed"] / 1e6)
            cpu["emulator for curl"] += procs.cpu_seconds(emulator_pid) - before_curl
            procs.drop_cached(mem.path / "zeros.bin")
            before_mem = procs.cpu_seconds(mem.pid)
            ceiling.append(layout.seq_size / _time(read_all, mem.path / "zeros.bin") / 1e6)
            cpu["memfs"] += procs.cpu_seconds(mem.pid) - before_mem
    m, c, f = (statistics.median(x) for x in (mount, direct, ceiling))
    note = f"median of {rounds}"
    res.add(Row("1 sequential", f"1 GiB through the mount vs curl (network limit), {note}", m,
                "MB/s", c, "MB/s curl", c / m, "info: curl/mount", None))
    res.add(Row("1 sequential", f"1 GiB through the mount vs in-memory FUSE (ceiling), {note}",
                m, "MB/s", f, "MB/s memfs", m / f, "mount/ceiling >= 0.85", m / f >= 0.85))
    gib = rounds * layout.seq_size / GIB
    for who, seconds in cpu.items():
        res.add(Row("1 sequential", f"CPU seconds per GiB: {who} process", seconds / gib, "s"))
    res.add(Row("7 API cost", "API calls per GiB streamed (sequential)", calls / gib, "calls",
                target="<= 2", passed=calls / gib <= 2))
    res.add(Row("7 API cost", "HTTP GETs per GiB streamed (sequential)", gets / gib, "GETs"))


# -- 2: time to first byte ------------------------------------------------------------------------

def curl_api_seconds(server: procs.Emulator) -> float:
    url, args = server.api_call()
    return procs.curl(url, *args)["total"]


def bench_ttfb_warm(res: Results, server: procs.Emulator, mp: Path, layout: Layout,
                    cold: list[tuple[float, float, int]]) -> None:
    """Each mount sample is followed at once by its curl sample (the machine is shared)."""
    os.listdir(mp / "ttfb")
    read_head(mp / layout.ttfb(0))  # the token is known from here on
    url = server.stream_url(layout.ttfb(1))
    samples, curls = [], []
    half = layout.ttfb_files // 2
    for i in range(half, layout.ttfb_files):
        samples.append(_time(read_head, mp / layout.ttfb(i)))
        curls.append(procs.curl(url, "-r", "0-4095")["total"])
    warm, one_curl = statistics.median(samples), statistics.median(curls)
    # The same, back to back: no pause for idle CPUs to fall asleep in (see the README).
    hot = statistics.median(_time(read_head, mp / layout.ttfb(i)) for i in range(2, half))
    if cold:
        mount_cold = statistics.median(m for m, _, _ in cold)
        base = statistics.median(b for _, b, _ in cold)
        res.add(Row("2 first byte", f"cold open+read 4 KiB (median of {len(cold)} fresh mounts)",
                    mount_cold * 1e3, "ms", base * 1e3, "ms curl + API call",
                    mount_cold / base, "<= 1.5", mount_cold / base <= 1.5))
        res.add(Row("2 first byte", "cold open+read 4 KiB: API calls", max(c for *_, c in cold),
                    "calls"))
    res.add(Row("2 first byte", f"warm open+read 4 KiB of an unopened file (median of "
                f"{len(samples)})", warm * 1e3, "ms", one_curl * 1e3, "ms curl -r 0-4095",
                warm / one_curl, "<= 1.5", warm / one_curl <= 1.5))
    res.add(Row("2 first byte", f"warm open+read 4 KiB, back to back (median of {half - 2})",
                hot * 1e3, "ms", one_curl * 1e3, "ms curl -r 0-4095", hot / one_curl, "info"))


def ttfb_cold_sample(server: procs.Emulator, mp: Path, layout: Layout,
                     index: int) -> tuple[float, float, int]:
    """Fresh mount, nothing opened yet (no token); the folder is listed, as in a file manager.
    (mount seconds, seconds of one curl -r 0-4095 + one API call measured right after, API
    calls the open and read made)."""
    os.listdir(mp / "ttfb")
    server.reset()
    mount = _time(read_head, mp / layout.ttfb(index))
    calls = api_calls(server.stats())
    url = server.stream_url(layout.ttfb(index))
    return mount, procs.curl(url, "-r", "0-4095")["total"] + curl_api_seconds(server), calls


# -- 3: random reads ------------------------------------------------------------------------------

def bench_random(res: Results, server: procs.Emulator, mp: Path, layout: Layout) -> None:
    rng = random.Random(5)
    size = 64 * 1024
    offsets = [rng.randrange(0, layout.random_size - size) for _ in range(200)]
    path = mp / layout.random
    url = server.stream_url(layout.random)
    samples, curls = [], []
    fd = os.open(path, os.O_RDONLY)
    try:
        for offset in offsets:  # each read through the mount, then the same range by curl
            start = time.perf_counter()
            data = os.pread(fd, size, offset)
            samples.append(time.perf_counter() - start)
            assert len(data) == size
            curls.append(procs.curl(url, "-r", f"{offset}-{offset + size - 1}")["total"])
    finally:
        os.close(fd)
    p50, p99, c50, c99 = pct(samples, .5), pct(samples, .99), pct(curls, .5), pct(curls, .99)
    res.add(Row("3 random", "200 x 64 KiB p50", p50 * 1e3, "ms", c50 * 1e3, "ms curl p50",
                p50 / c50, "<= 1.5", p50 / c50 <= 1.5))
    res.add(Row("3 random", "200 x 64 KiB p99", p99 * 1e3, "ms", c99 * 1e3, "ms curl p99",
                p99 / c99, "info"))


# -- 4: media -------------------------------------------------------------------------------------

def _run(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def bench_media(res: Results, server: procs.Emulator, mp: Path, layout: Layout,
                reps: int) -> None:
    def probe(src: str) -> list[str]:
        return ["ffprobe", "-v", "error", "-show_format", "-show_streams", src]

    def seek(at: float) -> Callable[[str], list[str]]:
        return lambda src: ["ffmpeg", "-v", "error", "-ss", f"{at:.2f}", "-i", src,
                            "-frames:v", "1", "-f", "null", "-"]

    cases = [("ffprobe demo video (10 s)", layout.video, probe),
             ("ffprobe long video", layout.long_video, probe)]
    for share in (0.1, 0.5, 0.9):
        cases.append((f"ffmpeg -ss {share:.0%} + 1 frame", layout.long_video,
                      seek(share * layout.long_video_seconds)))
    for what, rel, command in cases:
        path = mp / rel
        url = server.stream_url(rel)
        mount, direct = [], []
        for _ in range(reps):
            procs.drop_cached(path)  # each run starts cold, as a first play does
            mount.append(_run(command(str(path))))
            direct.append(_run(command(url)))
        m, d = statistics.median(mount), statistics.median(direct)
        res.add(Row("4 media", what, m * 1e3, "ms", d * 1e3, "ms over HTTP", m / d, "<= 1.5",
                    m / d <= 1.5))


# -- 5: listing -----------------------------------------------------------------------------------

def walk_stat(top: Path) -> int:
    count = 0
    for here, dirs, files in os.walk(top):
        for name in dirs + files:
            os.lstat(os.path.join(here, name))
            count += 1
    return count


def ls_lr(top: Path) -> None:
    subprocess.run(["ls", "-lR", str(top)], check=True, stdout=subprocess.DEVNULL)


def bench_listing(res: Results, server: procs.Emulator, layout: Layout, data_dir: Path,
                  cold_ttfb: list[tuple[float, float, int]]) -> None:
    budget = layout.folders + 2
    local = {"ls -lR": _time(lambda: ls_lr(data_dir / layout.tree)),
             "os.walk + lstat": _time(lambda: walk_stat(data_dir / layout.tree))}
    for what, func in (("ls -lR", ls_lr), ("os.walk + lstat", walk_stat)):
        with procs.putiofs_mount(server) as mount:
            top = mount.path / layout.tree
            server.reset()
            cold = _time(func, top)
            cold_calls = api_calls(server.stats())
            server.reset()
            warm = _time(func, top)
            warm_calls = api_calls(server.stats())
            cold_ttfb.append(ttfb_cold_sample(server, mount.path, layout, len(cold_ttfb) + 1))
        res.add(Row("5 listing", f"{what} 10k tree cold: API calls", cold_calls, "calls",
                    target=f"<= {budget}", passed=cold_calls <= budget))
        res.add(Row("5 listing", f"{what} 10k tree cold: time", cold, "s", local[what],
                    "s local disk", cold / local[what], "info"))
        res.add(Row("5 listing", f"{what} 10k tree warm: API calls", warm_calls, "calls",
                    target="0", passed=warm_calls == 0))
        res.add(Row("5 listing", f"{what} 10k tree warm: time", warm, "s", local[what],
                    "s local disk", warm / local[what], "info"))
    with procs.putiofs_mount(server) as mount:
        server.reset()
        missing = [mount.path / layout.folder(i % layout.folders) / f"missing-{i}.txt"
                   for i in range(1000)]
        start = time.perf_counter()
        for path in missing:
            try:
                os.stat(path)
            except FileNotFoundError:
                continue
            raise RuntimeError(f"{path} exists")
        seconds = time.perf_counter() - start
        stats = server.stats()
        lists = stats["requests"].get("files.list", 0)
        cold_ttfb.append(ttfb_cold_sample(server, mount.path, layout, len(cold_ttfb) + 1))
    res.add(Row("5 listing", f"stat 1,000 missing names in {layout.folders} folders: "
                "folder listings", lists, "calls", target=f"<= {budget} (one per folder)",
                passed=lists <= budget))
    res.add(Row("5 listing", "stat 1,000 missing names: all API calls", api_calls(stats),
                "calls", target=f"<= {budget}", passed=api_calls(stats) <= budget))
    res.add(Row("5 listing", "stat 1,000 missing names: time", seconds, "s"))


# -- 6: memory with 4 streams ---------------------------------------------------------------------

def bench_memory(res: Results, server: procs.Emulator, mount: procs.Mount,
                 layout: Layout) -> None:
    paths = [mount.path / layout.stream(i) for i in range(layout.streams)]
    for path in paths:
        os.stat(path)
    reset = procs.reset_peak_rss(mount.pid)
    server.reset()
    peak = 0
    done = threading.Event()
    errors: list[BaseException] = []

    def stream(path: Path) -> None:
        try:
            read_all(path)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=stream, args=(p,)) for p in paths]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    while not done.is_set():
        peak = max(peak, procs.rss(mount.pid)[0])
        done.wait(0.02)
        if not any(t.is_alive() for t in threads):
            done.set()
    seconds = time.perf_counter() - start
    if errors:
        raise errors[0]
    if reset:
        peak = max(peak, procs.rss(mount.pid)[1])
    stats = server.stats()
    total = layout.streams * layout.stream_size
    res.add(Row("6 memory", f"peak RSS, {layout.streams} files streaming at once",
                peak / MIB, "MiB", target="<= 150", passed=peak / MIB <= 150))
    res.add(Row("6 memory", f"{layout.streams} streams: aggregate speed",
                total / seconds / 1e6, "MB/s"))
    gib = total / GIB
    res.add(Row("7 API cost", f"API calls per GiB ({layout.streams} streams)",
                api_calls(stats) / gib, "calls", target="<= 2",
                passed=api_calls(stats) / gib <= 2))
    res.add(Row("7 API cost", f"HTTP GETs per GiB ({layout.streams} streams)",
                stats["data_requests"] / gib, "GETs"))


# -- 8: big folders ------------------------------------------------------------------------------

def bench_big_folder(res: Results, server: procs.Emulator, layout: Layout, count: int) -> None:
    with procs.putiofs_mount(server) as mount:
        costs = big_folder.unlink_costs(server, mount, layout, count)
    for cost in costs:
        what = f"unlink in a {cost.size:,}-item folder"
        res.add(Row("8 big folder", f"{what} (median of {count})", cost.seconds * 1e3, "ms"))
        res.add(Row("8 big folder", f"{what}: mount CPU per unlink", cost.cpu_seconds * 1e3,
                    "ms"))
        res.add(Row("8 big folder", f"{what}: API calls per unlink", cost.api_calls, "calls"))
    small, big = costs[0], costs[-1]
    base = f"ms at {small.size:,}"
    res.add(Row("8 big folder", f"unlink time, {big.size:,} vs {small.size:,} items",
                big.seconds * 1e3, "ms", small.seconds * 1e3, base, big.seconds / small.seconds,
                "<= 1.5", big.seconds / small.seconds <= 1.5))
    cpu_ratio = big.cpu_seconds / small.cpu_seconds if small.cpu_seconds else None
    res.add(Row("8 big folder", f"mount CPU per unlink, {big.size:,} vs {small.size:,} items",
                big.cpu_seconds * 1e3, "ms", small.cpu_seconds * 1e3, base, cpu_ratio, "info"))


# -- the run --------------------------------------------------------------------------------------

def machine() -> dict[str, str]:
    binding = "fusepy ?"
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        binding = f"fusepy {importlib.metadata.version('fusepy')}"
    if os.environ.get("FUSE_LIBRARY_NAME") or os.environ.get("FUSE_LIBRARY_PATH"):
        binding += f" (FUSE_LIBRARY_NAME={os.environ.get('FUSE_LIBRARY_NAME', '')})"
    return {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "nproc": str(os.cpu_count()),
            "kernel": platform.release(), "python": platform.python_version(),
            "binding": binding.strip()}


def table(rows: list[Row]) -> str:
    head = ("section", "measurement", "value", "baseline (same run)", "ratio", "target", "")
    lines = [head]
    for r in rows:
        base = f"{r.baseline:.4g} {r.baseline_label}" if r.baseline is not None else ""
        lines.append((r.section, r.what, f"{r.value:.4g} {r.unit}", base,
                      f"{r.ratio:.2f}" if r.ratio is not None else "", r.target,
                      "" if r.passed is None else ("PASS" if r.passed else "MISS")))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
           for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description="Benchmark putiofs against baselines measured in the same run (curl on the "
                    "same stream URL, ffmpeg over HTTP, a trivial in-memory FUSE filesystem, "
                    "local disk). Needs /dev/fuse; runs in a few minutes on 2 cores.")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    parser.add_argument("--data-dir", type=Path,
                        default=Path(os.environ.get("TMPDIR", "/tmp")) / "putiofs-bench-data",
                        help="where the generated data set is kept between runs "
                             "(default: %(default)s)")
    parser.add_argument("--size-mib", type=int, default=1024,
                        help="size of the sequential and random files (default 1024)")
    parser.add_argument("--reps", type=int, default=3,
                        help="rounds of the sequential and media measurements (median; default 3)")
    parser.add_argument("--read-ahead-kb", type=int, metavar="KB",
                        help="set the kernel readahead of every mount (putiofs and the "
                             "in-memory ceiling alike) to KB; needs root")
    parser.add_argument("--only", action="append", metavar="SECTION",
                        choices=("seq", "ttfb", "random", "media", "listing", "memory",
                                 "bigfolder"),
                        help="run only these sections (repeatable)")
    args = parser.parse_args(argv)
    if args.read_ahead_kb:
        os.environ[procs.READ_AHEAD_ENV] = str(args.read_ahead_kb)
    only = set(args.only or ("seq", "ttfb", "random", "media", "listing", "memory",
                             "bigfolder"))
    layout = Layout(seq_size=args.size_mib * MIB, random_size=args.size_mib * MIB)
    info = machine()
    print(f"bench: {info}", file=sys.stderr)
    prepare(args.data_dir, layout, log=lambda m: print(m, file=sys.stderr, flush=True))
    res = Results()
    started = time.perf_counter()
    with procs.emulator(args.data_dir) as server:
        # The emulator's first file answer pays its own start-up (mime tables and the like):
        # pay it here, so no measurement of the mount is charged for it.
        procs.curl(server.stream_url(layout.video), "-r", "0-0")
        cold_ttfb: list[tuple[float, float, int]] = []
        if "listing" in only:
            bench_listing(res, server, layout, args.data_dir, cold_ttfb)
        if "bigfolder" in only:
            bench_big_folder(res, server, layout, count=200)
        with procs.putiofs_mount(server) as mount:
            ra = mount.bdi() / "read_ahead_kb"
            info["read_ahead_kb"] = ra.read_text().strip() if ra.exists() else "?"
            if not cold_ttfb and "ttfb" in only:
                cold_ttfb.append(ttfb_cold_sample(server, mount.path, layout, 1))
            if "seq" in only:
                bench_sequential(res, server, mount, layout, max(1, args.reps))
            if "ttfb" in only:
                bench_ttfb_warm(res, server, mount.path, layout, cold_ttfb)
            if "random" in only:
                bench_random(res, server, mount.path, layout)
            if "media" in only:
                bench_media(res, server, mount.path, layout, max(1, args.reps))
            if "memory" in only:
                bench_memory(res, server, mount, layout)
            if "Traceback" in mount.log():
                print(f"bench: the mount logged a traceback:\n{mount.log()}", file=sys.stderr)
    info["seconds"] = f"{time.perf_counter() - started:.0f}"
    print(f"\nputiofs benchmark, {info['date']}: nproc {info['nproc']}, kernel "
          f"{info['kernel']}, Python {info['python']}, {info['binding']}, read_ahead_kb "
          f"{info.get('read_ahead_kb', '?')}, {info['seconds']} s\n")
    print(table(res.rows))
    misses = [r for r in res.rows if r.passed is False]
    print(f"\n{sum(r.passed is True for r in res.rows)} targets PASS, {len(misses)} MISS")
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "rows": [asdict(r) for r in res.rows]},
                                        indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
