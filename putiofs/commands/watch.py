"""``putiofs transfers watch``: a progress bar per transfer until every one has finished.

Where the API pushes transfer changes (put.io's realtime events, v2), the bars move when put.io
says a transfer changed, without polling: each event's transfer object replaces the listed one
(no API call per event), a removed transfer goes, and the list is fetched anew only after a
reconnect or when ``LIVE_RELIST`` seconds pass without any event. While the feed is not
connected (and on v1) the list is polled every ``--interval`` seconds, as before.

On a terminal the bars are redrawn in place (cursor up, erase line), each cut to the
terminal's width so that no line wraps and the redraw stays aligned. Anywhere else (a pipe,
a log file) a line is printed only when a transfer's status or percentage changes. Names and
statuses are escaped as in every table (:func:`putiofs.views.escape`). That drawing is
:class:`ProgressDisplay`, and the bar :func:`bar`: ``extract --wait`` draws its jobs with them.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol, TextIO

from putiofs.api.realtime import DELETED, FileChange, TransferChange
from putiofs.api.services import Transfer
from putiofs.commands.base import CommandError
from putiofs.commands.output import emit_json
from putiofs.views import escape

BAR_WIDTH = 30
GONE = "Gone (no longer listed)"
#: With live events, the list is fetched anew after this many seconds without one.
LIVE_RELIST = 30.0


class TransferFeed:
    """A :class:`putiofs.api.realtime.ChangeSink` that collects transfer changes for
    :func:`watch`."""

    def __init__(self) -> None:
        self._changes: list[TransferChange] = []
        self._relist = False
        self._wake = threading.Condition()
        self.live = False

    def file_changed(self, change: FileChange) -> None:
        """Files are not watched."""

    def transfer_changed(self, change: TransferChange) -> None:
        with self._wake:
            self._changes.append(change)
            self._wake.notify_all()

    def live_changed(self, live: bool) -> None:
        with self._wake:
            self.live = live
            self._relist = self._relist or live  # changes made while away were not heard
            self._wake.notify_all()

    def wait(self, timeout: float) -> tuple[list[TransferChange], bool]:
        """The changes heard (waiting up to ``timeout`` for the first), and whether the list
        must be fetched anew."""
        with self._wake:
            if not self._changes and not self._relist:
                self._wake.wait(timeout)
            changes, self._changes = self._changes, []
            relist, self._relist = self._relist or not changes, False
            return changes, relist


class TransferLister(Protocol):
    """What watching needs of :class:`~putiofs.api.services.AccountServices`."""

    def list_transfers(self) -> list[Transfer]: ...


def is_finished(transfer: Transfer | None) -> bool:
    return transfer is None or transfer.is_error or transfer.is_completed


def human_speed(speed: float | None) -> str:
    """``1.5 MB/s`` (decimal units, as put.io shows speeds); ``-`` where the API says nothing."""
    if speed is None or speed < 0:
        return "-"
    for unit in ("B/s", "kB/s", "MB/s", "GB/s"):
        if speed < 1000 or unit == "GB/s":
            return f"{speed:.0f} {unit}" if unit == "B/s" else f"{speed:.1f} {unit}"
        speed /= 1000
    return "-"


def human_eta(seconds: float | None) -> str:
    """``ETA 1h02m``, ``ETA 3m05s``, ``ETA 42s``; ``ETA -`` where the API says nothing."""
    if seconds is None or seconds < 0:
        return "ETA -"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"ETA {hours}h{minutes:02d}m"
    return f"ETA {minutes}m{secs:02d}s" if minutes else f"ETA {secs}s"


def bar(percent: int | None) -> tuple[str, str]:
    """A progress bar and its percentage column (``("######----", " 60%")``); blank and
    ``   -`` where the percentage is not known. Any job's progress line starts with them."""
    if percent is None:
        return " " * BAR_WIDTH, "   -"
    percent = max(0, min(100, percent))
    filled = BAR_WIDTH * percent // 100
    return "#" * filled + "-" * (BAR_WIDTH - filled), f"{percent:3d}%"


def progress_line(transfer_id: str, transfer: Transfer | None) -> str:
    """``[#######---]  45%  1.2 MB/s  ETA 3m05s  Downloading  name``: speed and ETA are
    v2's (``-`` and ``ETA -`` on v1); a finished transfer shows neither, an error or a
    vanished one no bar."""
    if transfer is None:
        return f"[{' ' * BAR_WIDTH}]    -  {GONE}  (transfer {transfer_id})"
    drawn, shown = bar(100 if transfer.is_completed else transfer.percent_done)
    rate = "" if is_finished(transfer) else (
        f"{human_speed(transfer.down_speed)}  {human_eta(transfer.estimated_time)}  ")
    status, name = escape(transfer.status or "-"), escape(transfer.name or "-")
    return f"[{drawn}] {shown}  {rate}{status}  {name}"


class ProgressDisplay:
    """Progress lines of jobs, one per job, given as ``(key, line)`` each time they are drawn.

    On a terminal they are redrawn in place (cursor up, erase line), each cut to the terminal's
    width so that no line wraps and the redraw stays aligned; elsewhere a job's line is written
    only when it changed. Lines come escaped (:func:`putiofs.views.escape`)."""

    def __init__(self, out: TextIO, tty: bool) -> None:
        self.out = out
        self.tty = tty
        self._drawn = 0
        self._last: dict[str, str] = {}

    def show(self, lines: Sequence[tuple[str, str]]) -> None:
        if self.tty:
            width = max(20, shutil.get_terminal_size().columns - 1)
            parts = [f"\x1b[{self._drawn}A"] if self._drawn else []
            parts += [f"\r\x1b[2K{line[:width]}\n" for _, line in lines]
            self.out.write("".join(parts))
            self._drawn = len(lines)
        else:
            for key, line in lines:
                if self._last.get(key) != line:
                    self._last[key] = line
                    self.out.write(line + "\n")
        self.out.flush()


def watch(services: TransferLister, ids: Sequence[str], *, interval: float = 2.0,
          as_json: bool = False, out: TextIO | None = None, tty: bool | None = None,
          sleep: Callable[[float], None] = time.sleep, feed: TransferFeed | None = None) -> int:
    """Follow the watched transfers until they are all Completed or in Error (or gone): by
    ``feed``'s events while it is live, else by polling ``transfers.list`` every ``interval``
    seconds. 0 if all completed, 1 otherwise.

    ``ids`` empty means every transfer active now (those in error have no id and are left out).
    """
    out = out or sys.stdout
    tty = out.isatty() if tty is None else tty
    transfers = services.list_transfers()
    if ids:
        known = {t.id for t in transfers}
        missing = [i for i in ids if i not in known]
        if missing:
            raise CommandError(f"no active transfer with id {', '.join(missing)}")
        watched = list(dict.fromkeys(ids))
    else:
        watched = [t.id for t in transfers if t.id is not None]
        if not watched:
            if as_json:
                emit_json([], out)
            else:
                out.write("no active transfers\n")
            return 0
    display = None if as_json else ProgressDisplay(out, tty)
    while True:
        by_id = {t.id: t for t in transfers if t.id is not None}
        current = [by_id.get(i) for i in watched]
        if display is not None:
            display.show([(i, progress_line(i, t)) for i, t in zip(watched, current,
                                                                   strict=True)])
        if all(is_finished(t) for t in current):
            break
        transfers = _next_transfers(services, transfers, interval, sleep, feed)
    if as_json:
        emit_json(current, out)
    return 0 if all(t is not None and t.is_completed for t in current) else 1


def _next_transfers(services: TransferLister, transfers: list[Transfer], interval: float,
                    sleep: Callable[[float], None],
                    feed: TransferFeed | None) -> list[Transfer]:
    """The list after the next change: from the feed's events while it is live, else
    polled."""
    if feed is None:
        sleep(interval)
        return services.list_transfers()
    if not feed.live:
        feed.wait(interval)  # ends early when the feed connects
        return services.list_transfers()
    changes, relist = feed.wait(LIVE_RELIST)
    if relist:
        return services.list_transfers()
    by_id = {t.id: t for t in transfers if t.id is not None}
    for change in changes:
        if change.transfer is None or change.transfer.id is None:
            continue
        if change.kind == DELETED:
            by_id.pop(change.transfer.id, None)
        else:
            by_id[change.transfer.id] = change.transfer
    return [*by_id.values(), *(t for t in transfers if t.id is None)]
