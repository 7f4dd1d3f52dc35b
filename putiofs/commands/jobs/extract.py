"""``putiofs extract PATH|ID... [--password -] [--wait]`` and ``putiofs extract --status``
(API v2): put.io unpacks zip and rar archives on its side, each into a new folder beside it.

Decisions:

- Arguments are resolved as ``info`` resolves them (:func:`~putiofs.commands.paths.resolve_target`):
  all digits is an id, anything else a mount path; every one is resolved, and a folder
  refused, before any job starts, so a typo starts nothing. Whether a file is an archive put.io
  can unpack is put.io's to say: its refusal is the error line.
- The password is one for all the archives of the call, as the API takes it, and it is read
  from standard input only (``--password -``: typed without echo on a terminal, else the first
  line of the input), never from the command line, where every user of the machine sees it.
- Without ``--wait`` the new jobs are printed (the table ``--status`` prints) and the command
  returns: put.io goes on unpacking. ``--wait`` follows the jobs with the progress lines of
  ``transfers watch`` (:class:`~putiofs.commands.watch.ProgressDisplay`: redrawn in place on a
  terminal, a line per change otherwise) until each is DONE or in ERROR, polling every
  ``--interval`` seconds; there is no time limit (Ctrl-C stops following, not the job).
- A followed job that ended in ERROR, or that put.io no longer lists, is one error line naming
  the archive and put.io's message, and makes the exit status 1.
- ``--status`` lists every job put.io keeps; with ``--wait`` it follows the ones not finished
  yet (jobs that failed earlier are listed, not counted against the exit status).
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Callable, Sequence

from putiofs.api.services import AccountServices, Extraction, Service
from putiofs.commands.base import CommandError, leaf, report_error, require, stdin_only
from putiofs.commands.output import emit_json, show, table
from putiofs.commands.paths import path_cache, resolve_target
from putiofs.commands.watch import BAR_WIDTH, GONE, ProgressDisplay, bar
from putiofs.connect import Connection
from putiofs.views import escape


def add_parsers(commands: argparse._SubParsersAction) -> None:
    extract = leaf(commands, "extract", run_extract,
                   "unpack zip/rar archives on put.io, or show the jobs (API v2)",
                   "Ask put.io to unpack archives (mount paths or ids; an all-digit argument "
                   "is an id, write ./123 for a file named 123), each into a new folder beside "
                   "it, and print the jobs; --wait follows them until done. --status lists "
                   "the jobs put.io keeps. Exit status 1 if a followed job ended in error.")
    extract.add_argument("targets", nargs="*", metavar="PATH|ID")
    extract.add_argument("--status", action="store_true",
                         help="list the extraction jobs with their progress and status")
    extract.add_argument("--password", type=stdin_only("--password", "a password"),
                         metavar="-", help="read the archives' password from standard input")
    extract.add_argument("--wait", action="store_true",
                         help="follow the jobs until each is done or in error")
    extract.add_argument("--interval", type=float, default=2.0, metavar="SECONDS",
                         help="seconds between polls with --wait (default 2)")


def run_extract(connection: Connection, args: argparse.Namespace) -> int:
    services = connection.services
    require(services, Service.EXTRACT)
    if args.interval <= 0:
        raise CommandError("--interval must be a positive number of seconds")
    if args.status:
        if args.targets or args.password:
            raise CommandError("--status takes no archives and no --password")
        jobs = services.list_extractions()
        if not args.wait:
            return show(jobs, render, as_json=args.json)
        followed = [job.id for job in jobs if job.id is not None and not job.is_finished]
        if not followed:
            return show(jobs, render, as_json=args.json)
    else:
        if not args.targets:
            raise CommandError("no archive given (or --status to list the jobs)")
        ids = _archive_ids(connection, args.targets)
        password = _read_password() if args.password else None
        jobs = services.start_extractions(ids, password)
        if not args.wait:
            return show(jobs, render, as_json=args.json)
        followed = [job.id for job in jobs if job.id is not None]
    out = sys.stdout
    final = follow(services, followed, interval=args.interval,
                   display=None if args.json else ProgressDisplay(out, out.isatty()))
    if args.json:  # the jobs as they ended; --status: every job, as it lists them
        emit_json(services.list_extractions() if args.status else
                  [job for job in final if job is not None])
    return report_failures(followed, final)


def _archive_ids(connection: Connection, targets: Sequence[str]) -> list[str]:
    cache = path_cache(connection)
    ids: list[str] = []
    for target in targets:
        _, entry = resolve_target(connection, cache, target)
        if entry.is_dir:
            raise CommandError(f"{target}: a folder is not an archive")
        if entry.id not in ids:
            ids.append(entry.id)
    return ids


def _read_password() -> str:
    """Typed without echo on a terminal, else the first line of standard input (spaces kept)."""
    text = getpass.getpass("archive password: ") if sys.stdin.isatty() else \
        sys.stdin.readline()
    password = text.rstrip("\r\n")
    if not password:
        raise CommandError("no password on standard input")
    return password


def follow(services: AccountServices, ids: Sequence[str], *, interval: float = 2.0,
           display: ProgressDisplay | None = None,
           sleep: Callable[[float], None] = time.sleep) -> list[Extraction | None]:
    """Poll the jobs put.io lists until every one of ``ids`` is DONE, in ERROR or no longer
    listed (None), drawing their progress lines on ``display``; the jobs as they ended."""
    while True:
        listed = {job.id: job for job in services.list_extractions() if job.id is not None}
        current = [listed.get(job_id) for job_id in ids]
        if display is not None:
            display.show([(i, progress_line(i, job)) for i, job in zip(ids, current,
                                                                       strict=True)])
        if all(job is None or job.is_finished for job in current):
            return current
        sleep(interval)


def report_failures(ids: Sequence[str], jobs: Sequence[Extraction | None]) -> int:
    """One error line per job that ended in ERROR or vanished: ``<archive>: <put.io's
    message>``; 1 if there was any, else 0."""
    failed = 0
    for job_id, job in zip(ids, jobs, strict=True):
        if job is not None and not job.is_error:
            continue
        failed += 1
        if job is None:
            report_error(f"extraction {job_id}: put.io no longer lists it")
        else:
            report_error(f"{job.name or f'extraction {job_id}'}: "
                         f"{job.message or 'put.io could not unpack it'}")
    return 1 if failed else 0


def status_words(job: Extraction) -> str:
    """``EXTRACTING``, ``DONE``, ``ERROR: <put.io's message>``."""
    status = (job.status or "UNKNOWN").upper()
    return f"{status}: {job.message}" if job.is_error and job.message else status


def progress_line(job_id: str, job: Extraction | None) -> str:
    """``[#####-----]  50%  EXTRACTING  archive.zip``; a finished job says how many files went
    into which folder, one in error put.io's message and no bar."""
    if job is None:
        return f"[{' ' * BAR_WIDTH}]    -  {GONE}  (extraction {job_id})"
    drawn, shown = bar(None if job.is_error else 100 if job.is_done else job.percent_done)
    line = f"[{drawn}] {shown}  {escape(status_words(job))}  {escape(job.name or '-')}"
    if job.is_done and job.folder_id is not None:
        line += f"  ({job.files_count or 0} file(s) in folder {job.folder_id})"
    return line


def render(jobs: list[Extraction]) -> str:
    if not jobs:
        return "no extraction jobs\n"
    rows = [(job.id, status_words(job),
             "-" if job.percent_done is None else f"{job.percent_done}%",
             "-" if job.files_count is None else job.files_count,
             job.folder_id or "-", job.name) for job in jobs]
    return table(("ID", "STATUS", "DONE", "FILES", "FOLDER", "NAME"), rows)

