"""The big-folder section: what one change costs in a folder of 1,000 items and of 20,000.

``rm -r`` and ``mv`` of a big folder are one unlink or rename per item, each changing the
folder's cached listing: that change must not cost time in proportion to the folder. Unlinks
in the folders are interleaved in small rounds (the machine is shared: a noisy neighbour then
hits both sizes alike), each folder listed once before, as ``rm -r`` lists it first.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from dataclasses import dataclass

from bench import procs
from bench.data import Layout

ROUND = 20  # unlinks in one folder before switching to the other


@dataclass
class UnlinkCost:
    size: int           # items in the folder before the first unlink
    seconds: float      # median wall time of one unlink
    cpu_seconds: float  # mount process CPU per unlink (mean)
    api_calls: float    # API calls per unlink (mean)


def unlink_costs(server: procs.Emulator, mount: procs.Mount, layout: Layout,
                 count: int) -> list[UnlinkCost]:
    """Unlink ``count`` files spread over each folder of ``layout.flat_sizes``."""
    rng = random.Random(16)
    chosen = {size: rng.sample(range(size), count) for size in layout.flat_sizes}
    times: dict[int, list[float]] = {size: [] for size in layout.flat_sizes}
    cpu = dict.fromkeys(layout.flat_sizes, 0.0)
    calls = dict.fromkeys(layout.flat_sizes, 0)
    for size in layout.flat_sizes:
        names = os.listdir(mount.path / layout.flat(size))  # listed and cached, as by rm -r
        assert len(names) == size, f"{layout.flat(size)}: {len(names)} items, not {size}"
    for start in range(0, count, ROUND):
        for size in layout.flat_sizes:
            folder = mount.path / layout.flat(size)
            server.reset()
            before = procs.cpu_seconds(mount.pid)
            for index in chosen[size][start:start + ROUND]:
                path = folder / layout.flat_item(index)
                began = time.perf_counter()
                os.unlink(path)
                times[size].append(time.perf_counter() - began)
            cpu[size] += procs.cpu_seconds(mount.pid) - before
            calls[size] += int(server.stats()["requests_total"])
    for size in layout.flat_sizes:
        left = len(os.listdir(mount.path / layout.flat(size)))
        assert left == size - count, f"{layout.flat(size)}: {left} items left"
    return [UnlinkCost(size, statistics.median(times[size]), cpu[size] / count,
                       calls[size] / count) for size in layout.flat_sizes]
