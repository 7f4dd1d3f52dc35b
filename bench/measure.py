"""Small timing helpers the sections share."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

READ_SIZE = 1024 * 1024


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


def _run(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start
