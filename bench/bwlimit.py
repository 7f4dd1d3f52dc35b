"""``--bwlimit``: the rate asked against the rate a mount achieves, down (a read of a file) and
up (a file written into the mount, until put.io has it), on loopback where the link is far
faster than the limit. Both buckets start empty, so the figure is the whole transfer's."""

from __future__ import annotations

import time
from pathlib import Path

from bench import procs
from bench.data import MIB, Layout
from bench.report import Results, Row

#: The rate asked (MiB/s) and how much moves each way: 24 MiB at 4 MiB/s, about 6 s.
RATE_MIB = 4
AMOUNT = 24 * MIB
CHUNK = 1024 * 1024


def _read(path: Path, amount: int) -> float:
    started = time.perf_counter()
    with path.open("rb", buffering=0) as source:
        left = amount
        while left > 0:
            data = source.read(min(CHUNK, left))
            if not data:
                raise RuntimeError(f"{path} ended {left} bytes early")
            left -= len(data)
    return time.perf_counter() - started


def _write_until_uploaded(server: procs.Emulator, mount: Path, amount: int) -> float:
    name = f"bwlimit-{time.time_ns()}.bin"
    block = bytes(CHUNK)
    started = time.perf_counter()
    with (mount / name).open("wb") as target:
        for _ in range(amount // CHUNK):
            target.write(block)
    while True:
        found = server.child(0, name)
        if found is not None and int(found.get("size", 0)) == amount:
            break
        if time.perf_counter() - started > 600:
            raise RuntimeError(f"{name} did not reach put.io within 10 minutes")
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    server.delete(int(found["id"]))
    return seconds


def measure(res: Results, server: procs.Emulator, layout: Layout) -> None:
    asked = f"{RATE_MIB}M"
    with procs.putiofs_mount(server, "--bwlimit", f"off:{asked}") as mount:
        down = AMOUNT / MIB / _read(mount.path / layout.seq, AMOUNT)
    with procs.putiofs_mount(server, "--bwlimit", f"{asked}:off") as mount:
        up = AMOUNT / MIB / _write_until_uploaded(server, mount.path, AMOUNT)
    for direction, achieved in (("down: read", down), ("up: write until on put.io", up)):
        ratio = achieved / RATE_MIB
        res.add(Row("11 bwlimit", f"--bwlimit {asked} {direction} of {AMOUNT // MIB} MiB",
                    achieved, "MiB/s", RATE_MIB, "MiB/s asked", ratio, "0.85-1.05",
                    0.85 <= ratio <= 1.05))
