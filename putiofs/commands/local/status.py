"""``putiofs status [MOUNTPOINT] [--json]``: what a running mount is doing.

Without MOUNTPOINT: every putiofs mount of this user (:func:`.mounts.putiofs_mounts`). Each is
asked through its own ``/.putio/status.json`` (see :mod:`putiofs.front.control.status` for the
keys), so the command needs no credentials and sees a mount exactly as the mount's permissions
let this user see it. ``--json`` prints that object, plus ``mountpoint``, per mount (a list
without MOUNTPOINT); a mount that does not answer is ``{"mountpoint", "problem"}`` (exit
status 1 when it was the MOUNTPOINT given). The text is one block per mount: a summary, then
the open files and the uploads as tables (sizes 1024-based, as ``putiofs uploads`` writes
them). An open file's bytes read are those the mount served, the kernel's read-ahead
included.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from putiofs.commands.base import leaf
from putiofs.commands.local.mounts import MountStatusReading, putiofs_mounts, read_mount_status
from putiofs.commands.output import emit, emit_json, human_size, table

DESCRIPTION = ("What a running mount is doing: files open for reading (bytes read, speed), "
               "uploads pending (bytes done and left, speed, last error), realtime events, "
               "the listing cache, put.io requests and errors since it started, its uptime. "
               "Without MOUNTPOINT, every putiofs mount of this user. Needs no credentials: "
               "it reads the mount's /.putio/status.json.")
#: The upload states still to land (the others: failed, refused, recovered, are done trying).
PENDING_STATES = frozenset({"open", "queued", "uploading", "retrying"})


def add_parsers(commands: argparse._SubParsersAction) -> None:
    parser = leaf(commands, "status", run, "what a running mount is doing", DESCRIPTION)
    parser.add_argument("mountpoint", type=Path, nargs="?",
                        help="a putiofs mount point (default: all of this user's)")
    parser.set_defaults(without_account=True)


def run(args: argparse.Namespace) -> int:
    if args.mountpoint is not None:
        readings = [read_mount_status(args.mountpoint.expanduser().absolute())]
    else:
        readings = [read_mount_status(path) for path in putiofs_mounts()]
    if args.json:
        shown = [as_json(reading) for reading in readings]
        emit_json(shown[0] if args.mountpoint is not None else shown)
    elif not readings:
        emit("no putiofs mount of this user is running\n")
    else:
        emit("\n".join(render(reading) for reading in readings))
    # Without MOUNTPOINT a mount that does not answer is shown, not an error: another
    # putiofs's, or a dead one, says nothing of the mounts that do answer.
    return 0 if args.mountpoint is None or readings[0].status is not None else 1


def as_json(reading: MountStatusReading) -> dict[str, Any]:
    if reading.status is None:
        return {"mountpoint": str(reading.mountpoint), "problem": reading.problem}
    return {"mountpoint": str(reading.mountpoint), **reading.status}


def render(reading: MountStatusReading, now: float | None = None) -> str:
    """One mount's block of text."""
    if reading.status is None:
        return f"{reading.mountpoint}: {reading.problem}\n"
    status, now = reading.status, time.time() if now is None else now
    api, cache = status.get("api") or {}, status.get("cache") or {}
    lines = [f"{reading.mountpoint}  (pid {status.get('pid')}, up "
             f"{duration(status.get('uptime') or 0)})",
             f"  events:   {events_line(status.get('events') or {}, now)}",
             f"  cache:    {cache.get('folders', 0)} folders, {cache.get('items', 0)} items, "
             f"about {human_size(cache.get('memory_estimate', 0))} in memory",
             f"  read cache: {read_cache_line(cache.get('read_cache'))}",
             f"  put.io:   {api.get('requests', 0)} requests, {api.get('failed', 0)} without "
             f"an answer, {api.get('error_answers', 0)} error answers"
             + (f" (last: {api['last_error']})" if api.get("last_error") else "")]
    opened = status.get("open_files") or []
    lines.append(f"  open files: {len(opened)}" if opened else "  open files: none")
    text = "\n".join(lines) + "\n"
    if opened:
        text += _indent(table(("PATH", "READ", "SIZE", "SPEED"), [
            (f["path"], human_size(f.get("bytes_read", 0)), human_size(f.get("size")),
             rate(f.get("speed", 0))) for f in opened]))
    uploads = status.get("uploads") or []
    pending = [u for u in uploads if u.get("state") in PENDING_STATES]
    text += (f"  uploads: {len(pending)} pending, {human_size(bytes_left(uploads))} left\n"
             if uploads else "  uploads: none pending\n")
    if uploads:
        text += _indent(table(("STATE", "DONE", "LEFT", "SPEED", "PATH", "ERROR"), [
            (u.get("state"), human_size(u.get("bytes_done", 0)),
             human_size(u.get("bytes_left", 0)), rate(u.get("speed", 0)), u.get("path"),
             u.get("error")) for u in uploads]))
    return text


def read_cache_line(read_cache: dict[str, Any] | None) -> str:
    """``1.2 GiB of 10.0 GiB, 412 chunks, hit rate 87%`` (or ``off``)."""
    if read_cache is None:
        return "off"
    rate_ = read_cache.get("hit_rate")
    return (f"{human_size(read_cache.get('size', 0))} of {human_size(read_cache.get('limit'))}, "
            f"{read_cache.get('chunks', 0)} chunks, hit rate "
            + ("-" if rate_ is None else f"{rate_ * 100:.0f}%")
            + f" (in {read_cache.get('folder')})")


def bytes_left(uploads: list[dict[str, Any]]) -> int:
    """Bytes still to send of the uploads that are still to land."""
    return sum(max(0, u.get("size", 0) - u.get("bytes_done", 0)) for u in uploads
               if u.get("state") in PENDING_STATES)


def events_line(events: dict[str, Any], now: float) -> str:
    if events.get("connected"):
        since = events.get("since")
        return "connected" + (f" since {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(since))}"
                              f" ({duration(now - since)})" if since else "")
    return f"not connected: {events.get('why_not') or 'unknown'}"


def rate(speed: float | None) -> str:
    return f"{human_size(int(speed))}/s" if speed else "-"


def duration(seconds: float) -> str:
    """``45s``, ``12m 3s``, ``5h 2m``, ``3d 4h``."""
    whole = int(max(0, seconds))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def _indent(text: str) -> str:
    return "".join(f"    {line}\n" for line in text.splitlines())


__all__ = ["PENDING_STATES", "add_parsers", "bytes_left", "duration", "rate", "read_cache_line",
           "render", "run"]
