"""``putiofs ls | search | info``: the account's files, named exactly as the mount names them;
and ``putiofs refresh``, which makes a running mount list them anew.

Paths are resolved as the mount resolves them (:mod:`putiofs.commands.paths`). Tables
escape control characters and backslashes (:func:`putiofs.views.escape`); ``--json`` gives
``name`` (put.io's) and ``shown_name`` (the mount's) exactly.

``putiofs refresh MOUNTPOINT [PATH]``: a running mount drops its cached listings at and below
PATH (default: all of them), so a change made elsewhere shows at the next look; SIGHUP does the
same for the whole mount. PATH is a local path, as a shell gives it (absolute, or from the
current folder), and must lie in the mount; it need not exist yet (a folder made elsewhere: its
nearest cached folder is refreshed). The command writes the path, as the mount shows it, to the
mount's ``/.putio/refresh`` (:mod:`putiofs.front.control.refresh`) and returns once the mount
has done it: it needs no credentials and never asks put.io, and the kernel checks who may (the
owner of the mount's files, and root).
"""

from __future__ import annotations

import argparse
import errno
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from putiofs.api.backend import Entry
from putiofs.commands.base import CommandError, leaf
from putiofs.commands.output import emit, emit_json, fields, human_size, table, to_json
from putiofs.commands.paths import path_cache, resolve_shown, resolve_target
from putiofs.connect import Connection
from putiofs.front.control.folder import CONTROL_NAME
from putiofs.front.control.refresh import REFRESH
from putiofs.tree import names


def add_parsers(commands: argparse._SubParsersAction) -> None:
    ls = leaf(commands, "ls", run_ls, "list a put.io folder",
              "List a folder of the account by its path (as the mount shows it; default /).")
    ls.add_argument("path", nargs="?", default="/", metavar="PATH")
    search = leaf(commands, "search", run_search, "search the account's files by name")
    search.add_argument("query", metavar="QUERY")
    info = leaf(commands, "info", run_info, "one file or folder in detail",
                "Details of one item, by mount path or by id (an argument of digits only is an "
                "id; write ./123 or /123 for an item named 123).")
    info.add_argument("target", metavar="PATH|ID")
    _add_refresh_parser(commands)


def _named(entries: Iterable[Entry]) -> list[tuple[str, Entry]]:
    """(shown name, entry) sorted by shown name, duplicates named as the mount names them."""
    return sorted(names.assign(entries).items())  # type: ignore[arg-type]


def _rows(named: list[tuple[str, Entry]], *, folder_column: bool = False) -> str:
    headers = ("ID", "SIZE", "TYPE", "NAME") if not folder_column else \
        ("ID", "SIZE", "TYPE", "FOLDER", "NAME")
    rows = []
    for shown, entry in named:
        name = shown + "/" if entry.is_dir else shown
        row: list[Any] = [entry.id, human_size(entry.size), entry.type]
        if folder_column:
            row.append(entry.parent_id)
        rows.append((*row, name))
    return table(headers, rows)


def _json_named(named: list[tuple[str, Entry]]) -> list[dict[str, Any]]:
    return [{**to_json(entry), "shown_name": shown} for shown, entry in named]


def _when(epoch: float | None) -> str | None:
    """``YYYY-MM-DD HH:MM:SS UTC``; None where the API has no dates (v1)."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def run_ls(connection: Connection, args: argparse.Namespace) -> int:
    cache = path_cache(connection)
    shown, entry = resolve_shown(cache, args.path)
    named = sorted(cache.listing(entry.id).by_name.items()) if entry.is_dir else \
        [(shown, entry)]
    if args.json:
        emit_json(_json_named(named))
    elif named:
        emit(_rows(named))
    return 0


def run_search(connection: Connection, args: argparse.Namespace) -> int:
    if not args.query.strip():
        raise CommandError("the query is empty")
    named = _named(connection.services.search(args.query))
    if args.json:
        emit_json(_json_named(named))
    elif named:
        emit(_rows(named, folder_column=True))
    else:
        emit(f"nothing found for {args.query!r}\n")
    return 0


def run_info(connection: Connection, args: argparse.Namespace) -> int:
    shown, entry = resolve_target(connection, path_cache(connection), args.target)
    if args.json:
        emit_json({**to_json(entry), "shown_name": shown})
        return 0
    emit(fields([
        ("name", shown), ("id", entry.id), ("type", entry.type),
        ("size", f"{human_size(entry.size)} ({entry.size} bytes)"),
        ("folder", entry.parent_id or None), ("modified", _when(entry.mtime)),
        ("created", _when(entry.ctime)), ("crc32", entry.crc32),
        ("download url", entry.download_url),
        ("stream url", entry.stream_url), ("screenshot", entry.screenshot_url),
        ("thumbnail", entry.thumb_url),
    ]))
    return 0


# -- refresh: a running mount's cached listings ---------------------------------------------

REFRESH_DESCRIPTION = ("Drop a running mount's cached listings at and below PATH (default: "
                       "the whole mount), so that changes made elsewhere show at the next "
                       "look, whatever --cache-ttl says. Asks put.io nothing; needs no "
                       "credentials.")


def _add_refresh_parser(commands: argparse._SubParsersAction) -> None:
    parser = leaf(commands, "refresh", run_refresh,
                  "drop a mount's cached listings (below a path)", REFRESH_DESCRIPTION)
    parser.add_argument("mountpoint", type=Path, help="where the account is mounted")
    parser.add_argument("path", type=Path, nargs="?",
                        help="a folder or file in the mount (default: the whole mount)")
    parser.set_defaults(without_account=True)


def run_refresh(args: argparse.Namespace) -> int:
    mountpoint = Path(os.path.abspath(args.mountpoint.expanduser()))
    shown = mount_path(mountpoint, args.path)
    control = mountpoint / CONTROL_NAME / REFRESH
    check_mount(mountpoint, control)
    try:
        fd = os.open(control, os.O_WRONLY)
    except OSError as exc:
        raise CommandError(_refused(mountpoint, exc)) from None
    try:
        os.write(fd, shown.encode("utf-8", "surrogateescape") + b"\n")
    except OSError as exc:
        raise CommandError(f"the mount at {mountpoint} did not refresh {shown}: "
                           f"{exc.strerror}") from None
    finally:
        os.close(fd)
    if args.json:
        emit_json({"refreshed": shown, "mountpoint": str(mountpoint)})
    return 0


def mount_path(mountpoint: Path, path: Path | None) -> str:
    """The mount's own path ("/Movies") of the local ``path`` (None: the whole mount); a
    CommandError if it lies outside ``mountpoint``."""
    if path is None:
        return "/"
    local = os.path.abspath(path.expanduser())
    relative = os.path.relpath(local, mountpoint)
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        raise CommandError(f"{path} is not inside the mount at {mountpoint}")
    return "/" if relative == os.curdir else "/" + relative.replace(os.sep, "/")


def check_mount(mountpoint: Path, control: Path) -> None:
    """A CommandError with the reason unless ``mountpoint`` is a running putiofs mount."""
    try:
        os.stat(mountpoint)
    except OSError as exc:
        if exc.errno == errno.ENOTCONN:
            raise CommandError(f"{mountpoint} is a mount whose putiofs process has gone; "
                               f"clean it up with: putiofs umount {mountpoint}") from None
        raise CommandError(f"cannot use {mountpoint}: {exc.strerror}") from None
    if not os.path.ismount(mountpoint):
        raise CommandError(f"{mountpoint} is not a mount point (give the folder the account "
                           "is mounted at)")
    try:
        os.stat(control)
    except OSError:
        raise CommandError(f"{mountpoint} is not a putiofs mount (or its putiofs is too old "
                           "to refresh)") from None


def _refused(mountpoint: Path, exc: OSError) -> str:
    if exc.errno == errno.EROFS:
        return (f"the mount at {mountpoint} is read-only, which takes no refresh request; "
                "send its putiofs process SIGHUP to refresh it whole")
    if exc.errno in (errno.EACCES, errno.EPERM):
        owner = os.stat(mountpoint).st_uid
        return (f"only the owner of the mount's files (uid {owner}) or root may refresh "
                f"the mount at {mountpoint}")
    return f"cannot ask the mount at {mountpoint} to refresh: {exc.strerror}"
