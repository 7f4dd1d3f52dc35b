"""``putiofs ls | search | info``: the account's files, named exactly as the mount names them.

Paths are resolved as the mount resolves them (:mod:`putiofs.commands.paths`). Tables
escape control characters and backslashes (:func:`putiofs.views.escape`); ``--json`` gives
``name`` (put.io's) and ``shown_name`` (the mount's) exactly.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from putiofs.api.backend import Entry
from putiofs.commands.base import CommandError, leaf
from putiofs.commands.output import emit, emit_json, fields, human_size, table, to_json
from putiofs.commands.paths import path_cache, resolve_shown, resolve_target
from putiofs.connect import Connection
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
