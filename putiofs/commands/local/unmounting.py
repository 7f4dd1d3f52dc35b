"""What ``putiofs umount`` says while the mount's uploads land after the unmount.

The kernel lets go of a FUSE mount at once; the mount's process then waits for its pending
uploads (its ``--upload-wait``) before it ends, and the mount point is gone meanwhile. So
``umount`` reads the mount's ``/.putio/status.json`` *before* unmounting (the process id,
its upload wait, and the spool's ``status.json``, which the process keeps rewriting about once
a second while it waits) and follows that file and the process afterwards:

* on a terminal one progress line, rewritten in place (``\\r``) twice a second; otherwise a
  plain line at once and then every :data:`LINE_EVERY` seconds (logs and pipes get no
  carriage returns);
* it returns once the process ended (the uploads landed, or its own ``--upload-wait`` ran out)
  or once ``umount --upload-wait`` ran out, whichever comes first; the process is never
  signalled: an upload cut short by us would only restart from its last chunk later;
* then it says what is left, file by file, that it continues at the next mount of the account,
  and where the data is kept (the account's folder in the cache folder). Never silent while
  anything was pending.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from putiofs.commands.local.mounts import process_running
from putiofs.commands.local.status import PENDING_STATES, rate
from putiofs.commands.output import human_size
from putiofs.write.status import read_status_written

#: Seconds between progress lines when the output is not a terminal.
LINE_EVERY = 5.0
#: Seconds between looks at the spool's status (and terminal updates).
POLL_EVERY = 0.5
#: How much longer than the mount's own upload wait ``umount`` waits by default: the process
#: stops its workers (a request in flight ends within its timeout) and writes its last status.
MARGIN = 20.0
#: With nothing pending, how long ``umount`` waits for the process to end, quietly.
QUIET_WAIT = 10.0


@dataclass(frozen=True)
class Left:
    """Uploads still to land: files, bytes to send, the summed speed, and per file."""

    files: int
    bytes: int
    speed: float
    names: tuple[tuple[str, int], ...]

    @staticmethod
    def of(records: list[dict[str, Any]]) -> Left:
        pending = [r for r in records if r.get("state") in PENDING_STATES]
        names = tuple((str(r.get("path")), max(0, r.get("size", 0) - r.get("bytes_done", 0)))
                      for r in pending)
        return Left(len(pending), sum(left for _, left in names),
                    sum(float(r.get("speed") or 0) for r in pending), names)

    def line(self) -> str:
        speed = f" at {rate(self.speed)}" if self.speed else ""
        return f"waiting for {self.files} upload(s): {human_size(self.bytes)} left{speed}"


def _spool_records(path: str | None, since: float) -> list[dict[str, Any]] | None:
    """The spool's records if the mount wrote them at ``since`` (unix time) or later; None
    for an older file (written before the upload now pending began) or none."""
    found = None if path is None else read_status_written(Path(path))
    if found is None or found[0] < since:
        return None
    return [asdict(record) for record in found[1]]


def follow(status: dict[str, Any], mountpoint: Path, *, read_at: float,
           wait: float | None = None, out: TextIO | None = None,
           clock: Callable[[], float] = time.monotonic,
           sleep: Callable[[float], None] = time.sleep) -> Left:
    """After the unmount of ``mountpoint`` whose status, read at ``read_at`` (unix time) before
    it, was ``status``: report until its process ended or ``wait`` seconds (None: the mount's
    upload wait and :data:`MARGIN`) passed; what is left then (also said to ``out``). Only a
    spool status written since ``read_at`` replaces what ``status`` said."""
    out = out or sys.stdout
    pid = status.get("pid")
    left = Left.of(status.get("uploads") or [])
    if not left.files:
        _wait_quietly(pid, clock, sleep)
        return left
    limit = (float(status.get("upload_wait") or 0) + MARGIN) if wait is None else wait
    end = clock() + limit
    tty = out.isatty()
    next_line = clock()
    ended = False
    while True:
        ended = not (isinstance(pid, int) and process_running(pid))
        records = _spool_records(status.get("uploads_status"), read_at)
        if records is not None:
            left = Left.of(records)
        if ended or not left.files or clock() >= end:
            break
        if tty:
            out.write(f"\r{left.line()}\033[K")
            out.flush()
        elif clock() >= next_line:
            out.write(left.line() + "\n")
            out.flush()
            next_line = clock() + LINE_EVERY
        sleep(POLL_EVERY)
    if tty:
        out.write("\r\033[K")
    _conclude(left, status, mountpoint, ended=ended, waited=limit, out=out)
    return left


def _wait_quietly(pid: Any, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
    end = clock() + QUIET_WAIT
    while isinstance(pid, int) and process_running(pid) and clock() < end:
        sleep(0.1)


def _conclude(left: Left, status: dict[str, Any], mountpoint: Path, *, ended: bool,
              waited: float, out: TextIO) -> None:
    if not left.files:
        out.write(f"unmounted {mountpoint}: every upload landed on put.io\n")
        return
    spool = status.get("spool") or "the cache folder"
    if ended:
        head = (f"unmounted {mountpoint}; {left.files} upload(s) not finished "
                f"({human_size(left.bytes)} left):")
        tail = f"they continue at the next mount of this account; kept in {spool}"
    else:
        head = (f"unmounted {mountpoint}; stopped waiting after {waited:g} s with "
                f"{left.files} upload(s) not finished ({human_size(left.bytes)} left):")
        tail = (f"the mount's process (pid {status.get('pid')}) goes on uploading for up to "
                f"its --upload-wait ({float(status.get('upload_wait') or 0):g} s); what is "
                f"left then continues at the next mount of this account; kept in {spool}")
    rows = "".join(f"  {name}  ({human_size(size)} left)\n" for name, size in left.names)
    out.write(f"{head}\n{rows}{tail}\n")


__all__ = ["Left", "follow"]
