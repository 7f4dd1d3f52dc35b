"""``putiofs ls | search | info``: the account's files, named exactly as the mount names them."""

from __future__ import annotations

import argparse
from typing import Any

from putiofs import names
from putiofs.cache import MetadataCache, PathNotADirectory, PathNotFound, split_path
from putiofs.client import PutioClient
from putiofs.commands.base import CommandError, leaf
from putiofs.commands.output import emit, emit_json, fields, human_size, table, to_json
from putiofs.models import Item
from putiofs.v1backend import V1Backend


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


def _resolve(client: PutioClient, path: str) -> Item:
    """The item at a mount-style path, resolved the way the mount resolves it."""
    cache = MetadataCache(V1Backend(client), ttl=60.0)
    try:
        entry = cache.resolve(path)
    except PathNotFound:
        raise CommandError(f"{path}: no such file or folder") from None
    except PathNotADirectory:
        raise CommandError(f"{path}: a component of the path is not a folder") from None
    if not split_path(path):
        return Item(id=entry.id, name="/", type="folder", is_dir=True)
    return client.info(entry.id)


def _named(items: list[Item]) -> list[tuple[str, Item]]:
    """(shown name, item) sorted by shown name, duplicates named as the mount names them."""
    return sorted(names.assign(items).items())  # type: ignore[arg-type]


def _rows(named: list[tuple[str, Item]], *, folder_column: bool = False) -> str:
    headers = ("ID", "SIZE", "TYPE", "NAME") if not folder_column else \
        ("ID", "SIZE", "TYPE", "FOLDER", "NAME")
    rows = []
    for shown, item in named:
        name = shown + "/" if item.is_dir else shown
        row: list[Any] = [item.id, human_size(item.size), item.type]
        if folder_column:
            row.append(item.parent_id)
        rows.append((*row, name))
    return table(headers, rows)


def _json_named(named: list[tuple[str, Item]]) -> list[dict[str, Any]]:
    return [{**to_json(item), "shown_name": shown} for shown, item in named]


def run_ls(client: PutioClient, args: argparse.Namespace) -> int:
    item = _resolve(client, args.path)
    if item.is_dir:
        named = _named(list(client.iter_folder(item.id)))
    else:
        named = [(split_path(args.path)[-1], item)]
    if args.json:
        emit_json(_json_named(named))
    elif named:
        emit(_rows(named))
    return 0


def run_search(client: PutioClient, args: argparse.Namespace) -> int:
    if not args.query.strip():
        raise CommandError("the query is empty")
    named = _named(client.search(args.query))
    if args.json:
        emit_json(_json_named(named))
    elif named:
        emit(_rows(named, folder_column=True))
    else:
        emit(f"nothing found for {args.query!r}\n")
    return 0


def run_info(client: PutioClient, args: argparse.Namespace) -> int:
    target = args.target
    item = client.info(target) if target.isdigit() else _resolve(client, target)
    if args.json:
        emit_json(item)
        return 0
    emit(fields([
        ("name", item.name), ("id", item.id), ("type", item.type),
        ("size", f"{human_size(item.size)} ({item.size} bytes)"),
        ("folder", item.parent_id), ("download url", item.download_url),
        ("stream url", item.stream_url), ("screenshot", item.screenshot_url),
        ("thumbnail", item.thumb_url),
    ]))
    return 0
