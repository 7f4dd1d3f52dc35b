"""``putiofs zip PATH...`` and ``putiofs mp4 PATH [--convert]`` (put.io API v2).

Paths are mount-style and resolved as the mount resolves them (:mod:`putiofs.commands.paths`).

Decisions:

- ``zip`` prints the zip's download URL on stdout (it needs no credentials: it is the output
  the user asked for) and its progress on stderr, so ``url=$(putiofs zip Movies)`` works. The
  progress line is redrawn in place on a terminal (with the seconds waited); elsewhere a line
  is written only when put.io's status changes. Waiting is bounded by ``--timeout`` (default
  30 minutes): past it the command fails naming the zip's id. Names put.io left out of the
  zip (``missing_files``) get one warning line each on stderr.
- The root folder cannot be zipped (put.io zips items, not the account): name its items.
- ``mp4`` prints ``<name>: <status>`` with the percentage while converting and the size once
  completed; ``--convert`` starts a conversion (asking again while one runs changes nothing)
  and prints the status after.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import TextIO

from putiofs.api.backend import ROOT_ID
from putiofs.api.services import AccountServices, Mp4Conversion, ZipArchive
from putiofs.commands.base import CommandError, leaf, report_error
from putiofs.commands.output import answer, human_size
from putiofs.commands.paths import path_cache, resolve, resolve_shown
from putiofs.connect import Connection
from putiofs.views import escape

#: Seconds ``putiofs zip`` waits for put.io to build the zip, unless ``--timeout`` says.
DEFAULT_ZIP_WAIT = 1800.0


def add_parsers(commands: argparse._SubParsersAction) -> None:
    zipper = leaf(commands, "zip", run_zip, "zip files and folders, print the zip's URL (API v2)",
                  "Ask put.io to zip the items (mount-style paths), wait with a progress line "
                  "until it is done, and print its download URL (one that needs no "
                  "credentials); --json prints the zip object. Progress goes to stderr.")
    zipper.add_argument("paths", nargs="+", metavar="PATH")
    zipper.add_argument("--no-wait", action="store_true",
                        help="print the zip's id at once instead of waiting")
    zipper.add_argument("--interval", type=float, default=2.0, metavar="SECONDS",
                        help="seconds between polls (default 2)")
    zipper.add_argument("--timeout", type=float, default=DEFAULT_ZIP_WAIT, metavar="SECONDS",
                        help="give up waiting after this long (default 1800)")
    mp4 = leaf(commands, "mp4", run_mp4, "a video's MP4 conversion status (API v2)",
               "The MP4 conversion status of a video: NOT_AVAILABLE, IN_QUEUE, CONVERTING n%, "
               "COMPLETED size, ERROR. --convert starts a conversion.")
    mp4.add_argument("path", metavar="PATH")
    mp4.add_argument("--convert", action="store_true", help="start converting it to MP4")


def mp4_words(conversion: Mp4Conversion) -> str:
    """The status as the mount's xattr words it, the size also human-readable."""
    status = (conversion.status or "").upper()
    if status == "COMPLETED" and conversion.size is not None:
        return f"{status} {human_size(conversion.size)} ({conversion.size} bytes)"
    return conversion.summary


def run_mp4(connection: Connection, args: argparse.Namespace) -> int:
    shown, entry = resolve_shown(path_cache(connection), args.path)
    if entry.is_dir:
        raise CommandError(f"{args.path}: a folder has no MP4 version")
    services = connection.services
    conversion = services.start_mp4(entry.id) if args.convert else services.mp4_status(entry.id)
    return answer(conversion, f"{escape(shown)}: {mp4_words(conversion)}\n", as_json=args.json)


def run_zip(connection: Connection, args: argparse.Namespace) -> int:
    if args.interval <= 0 or args.timeout <= 0:
        raise CommandError("--interval and --timeout must be positive numbers of seconds")
    cache = path_cache(connection)
    ids: list[str] = []
    for path in args.paths:
        entry = resolve(cache, path)
        if entry.id == ROOT_ID:
            raise CommandError(f"{path}: the root folder cannot be zipped; name its items")
        if entry.id not in ids:
            ids.append(entry.id)
    zip_id = connection.services.create_zip(ids)
    if args.no_wait:
        return answer({"zip_id": zip_id}, f"{zip_id}\n", as_json=args.json)
    done = wait_for_zip(connection.services, zip_id, interval=args.interval,
                        timeout=args.timeout)
    for name in done.missing_files:
        report_error(f"zip {zip_id}: put.io left out {name}")
    return answer(done, f"{done.url}\n", as_json=args.json)


def wait_for_zip(services: AccountServices, zip_id: str, *, interval: float = 2.0,
                 timeout: float = DEFAULT_ZIP_WAIT, out: TextIO | None = None,
                 tty: bool | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> ZipArchive:
    """Poll the zip until it is done (returned) or failed, or ``timeout`` passes
    (CommandError), drawing a progress line on ``out`` (stderr)."""
    out = out if out is not None else sys.stderr
    tty = out.isatty() if tty is None else tty
    started = clock()
    last = ""
    try:
        while True:
            found = services.get_zip(zip_id)
            waited = clock() - started
            line = f"zip {zip_id}: {escape(found.status or 'waiting')}"
            if found.size is not None:
                line += f"  {human_size(found.size)}"
            if tty:
                out.write(f"\r\x1b[2K{line}  ({waited:.0f}s)")
            elif line != last:
                out.write(line + "\n")
            last = line
            out.flush()
            if found.is_done and found.url:
                return found
            if found.is_error:
                raise CommandError(f"zip {zip_id}: put.io could not build it ({found.status})")
            if waited >= timeout:
                raise CommandError(f"zip {zip_id} is not ready after {timeout:g} s")
            sleep(min(interval, max(timeout - waited, 0.01)))
    finally:
        if tty:
            out.write("\n")
            out.flush()
