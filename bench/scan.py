"""What a media server does every night: a scan of its library (:mod:`bench.library`), on
putiofs and on ``rclone mount --vfs-cache-mode full`` side by side, on the far link.

A scan is what Jellyfin does to find new and changed media: ``find`` of the whole tree, then
``ffprobe -v error -show_format -show_streams -of json`` of every media file ``find`` printed,
one after the other; each probe's JSON must name the file's streams. Each client scans three
times: cold on a fresh mount with an empty cache folder, again on the same mount, and after an
unmount and a mount with the same cache folder (putiofs ``--cache-dir`` and, where this putiofs
has it, ``--read-cache-size``; rclone its own ``--cache-dir``, kept from its first mount), what
a server's reboot costs. The two clients take turns in each phase, both mounted at once. API
calls and storage requests (GETs of file bytes) are the emulator's counters, reset before each
scan; the mounting itself is not counted or timed.

Before the first mount the emulator lists the whole library once through its API: it computes
each file's CRC-32 on the first listing that shows it (about 10 GB here), which would otherwise
be charged to whichever client scanned first.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import peers, procs
from bench.library import Library, is_media
from bench.report import Results, Row
from bench.versus import Profile, _versus

#: The persistent read cache's bound for the scan: room for everything the scans read (a
#: server's cache would be sized for its library's heads and tails).
READ_CACHE_SIZE = "2G"
#: The target: a scan after a remount makes at most this share of the cold scan's storage GETs.
REMOUNT_GETS_SHARE = 0.10
#: The target: a scan after a remount takes at most this share of rclone full's.
REMOUNT_TIME_RATIO = 0.5
PROBE_TIMEOUT = 120.0
PHASES = ("cold", "again", "after a remount")
RCLONE_FULL = ("--vfs-cache-mode", "full")


@dataclass(frozen=True)
class Scan:
    seconds: float
    api_calls: int
    storage_gets: int
    storage_bytes: int
    probed: int


def probe(path: str) -> None:
    """``ffprobe`` of one file as Jellyfin asks it; fails unless it names the file's streams."""
    done = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of",
                           "json", path], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=PROBE_TIMEOUT, check=False)
    streams = json.loads(done.stdout or "{}").get("streams") if done.returncode == 0 else None
    if not streams:
        raise RuntimeError(f"ffprobe {path}: exit {done.returncode}: {done.stderr.strip()}")


def scan(top: Path) -> int:
    """``find`` of ``top``, then ``ffprobe`` of every media file it printed; how many."""
    found = subprocess.run(["find", str(top), "-print0"], capture_output=True, check=True,
                           stdin=subprocess.DEVNULL).stdout.decode().split("\0")
    media = [path for path in found if is_media(path)]
    for path in media:
        probe(path)
    return len(media)


def measured(server: procs.Emulator, top: Path) -> Scan:
    server.reset()
    start = time.perf_counter()
    probed = scan(top)
    seconds = time.perf_counter() - start
    stats = server.stats()
    return Scan(seconds, int(stats["requests_total"]), int(stats["data_requests"]),
                int(stats["bytes_served"]), probed)


def read_cache_known() -> bool:
    """Whether this putiofs's ``mount`` takes ``--read-cache-size`` (the persistent read
    cache); without it the section runs with ``--cache-dir`` alone."""
    done = subprocess.run([sys.executable, "-m", "putiofs", "mount", "--help"],
                          capture_output=True, text=True, check=False)
    return "--read-cache-size" in done.stdout


def warm_up(server: procs.Emulator, library: Library) -> int:
    """List every folder of the library through the API (the emulator's CRC-32s are then
    computed) and read one byte of one video (its first storage answer); folders listed."""
    folders = [server.item(library.top)["id"]]
    listed, video = 0, None
    while folders:
        answer = server.get("files/list", parent_id=folders.pop(), per_page=1000)
        listed += 1
        for item in answer["files"]:
            if item["file_type"] == "FOLDER":
                folders.append(item["id"])
            elif video is None and is_media(item["name"]):
                video = item["id"]
    if video is not None:
        procs.curl(server.get(f"files/{video}/url")["url"], "-r", "0-0")
    return listed


def local_seconds(top: Path) -> float:
    """The same scan of the library on local disk, where the emulator reads it from: the cost
    of ``find`` and of starting and running ``ffprobe`` 220 times, with no mount at all."""
    start = time.perf_counter()
    scan(top)
    return time.perf_counter() - start


def measure(res: Results, server: procs.Emulator, library: Library, profile: Profile,
            with_rclone: bool, local_top: Path | None = None) -> None:
    """The three scans on both clients; with ``local_top`` (the library on local disk) the same
    scan there too, as the floor no mount can go below."""
    section = profile.section("12 scan")
    listed = warm_up(server, library)
    read_cache = read_cache_known()
    cache_dir = Path(tempfile.mkdtemp(prefix="putiofs-bench-scan-cache-"))
    putiofs_args = ("--cache-dir", str(cache_dir))
    if read_cache:
        putiofs_args += ("--read-cache-size", READ_CACHE_SIZE)
    scans: dict[str, dict[str, Scan]] = {phase: {} for phase in PHASES}
    try:
        with contextlib.ExitStack() as stack:
            # rclone's own setup: a cache folder of its own, empty at the first mount and
            # kept across its remount.
            setup = stack.enter_context(peers.rclone_setup(server)) if with_rclone else None
            with peers.both(server, setup, *RCLONE_FULL, putiofs_extra=putiofs_args) as sides:
                for phase in PHASES[:2]:
                    for side in sides:
                        scans[phase][side.name] = measured(server, side.path / library.top)
            with peers.both(server, setup, *RCLONE_FULL, putiofs_extra=putiofs_args) as sides:
                for side in sides:
                    scans[PHASES[2]][side.name] = measured(server, side.path / library.top)
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    _rows(res, section, scans, listed, read_cache)
    if local_top is not None:
        local = local_seconds(local_top)
        after = scans[PHASES[2]]["putiofs"].seconds
        res.add(Row(section, "after a remount: putiofs vs the same scan on local disk (the "
                    "floor: ffprobe's own start-up and work)", after, "s", local,
                    "s local disk", after / local, "info"))


def _rows(res: Results, section: str, scans: dict[str, dict[str, Scan]], listed: int,
          read_cache: bool) -> None:
    count = scans["cold"]["putiofs"].probed
    cache = (f"--read-cache-size {READ_CACHE_SIZE}" if read_cache
             else "no --read-cache-size in this putiofs")
    where = {"cold": f"find + ffprobe of {count} media files ({listed} folders), cold (fresh "
                     "mount, empty cache)",
             "again": "again (same mount)",
             "after a remount": f"after a remount (same --cache-dir, {cache})"}
    for phase in PHASES:
        got = scans[phase]
        remount = phase == "after a remount"
        _versus(res, section, f"{where[phase]}: time", {n: s.seconds for n, s in got.items()},
                "s", higher_better=False, target=REMOUNT_TIME_RATIO if remount else None)
        _versus(res, section, f"{phase}: API calls", {n: s.api_calls for n, s in got.items()},
                "calls", higher_better=False, target=None)
        _versus(res, section, f"{phase}: storage GETs",
                {n: s.storage_gets for n, s in got.items()}, "GETs", higher_better=False,
                target=None)
        _versus(res, section, f"{phase}: MB served by storage",
                {n: s.storage_bytes / 1e6 for n, s in got.items()}, "MB", higher_better=False,
                target=None)
    cold, after = scans["cold"]["putiofs"], scans["after a remount"]["putiofs"]
    share = after.storage_gets / cold.storage_gets if cold.storage_gets else None
    res.add(Row(section, "putiofs storage GETs after a remount vs its cold scan",
                after.storage_gets, "GETs", cold.storage_gets, "GETs cold", share,
                f"<= {REMOUNT_GETS_SHARE:g}", share is not None and share <= REMOUNT_GETS_SHARE))
