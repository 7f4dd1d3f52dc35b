"""``putiofs urls analyze | extract``."""

from __future__ import annotations

import argparse
import sys

from putiofs.commands.base import CommandError, area, leaf
from putiofs.commands.output import answer, emit, emit_json, escape, human_size, table
from putiofs.connect import Connection


def add_parsers(commands: argparse._SubParsersAction) -> None:
    actions = area(commands, "urls", "what put.io can fetch from links and texts")
    analyze = leaf(actions, "analyze", run_analyze, "what put.io would fetch from each link",
                   "Ask put.io what it can fetch from each link. Exit status 1 if any link "
                   "cannot be fetched.")
    analyze.add_argument("urls", nargs="+", metavar="URL")
    extract = leaf(actions, "extract", run_extract, "the links found in a text",
                   "Print the links put.io finds in a text (a file, or standard input).")
    extract.add_argument("file", nargs="?", default="-", metavar="FILE",
                         help="the text to search (default: standard input, '-')")


def run_analyze(connection: Connection, args: argparse.Namespace) -> int:
    result = connection.services.analyze_links(args.urls)
    if args.json:
        emit_json(result)
    else:
        rows = []
        for url in result.urls:
            size = url.human_size or human_size(url.file_size)
            what = url.error or url.url or " ".join(url.urls)
            rows.append((url.dl_handler, "-" if url.error else size, url.name, what))
        emit(table(("HANDLER", "SIZE", "NAME", "URL / ERROR"), rows))
        if result.disk_avail is not None:
            emit(f"disk available: {human_size(result.disk_avail)}; "
                 f"bandwidth available: {human_size(result.bw_avail)}\n")
    return 1 if any(url.error for url in result.urls) else 0


def _read_text(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    try:
        with open(name, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError as exc:
        raise CommandError(f"cannot read {name}: {exc.strerror}") from None


def run_extract(connection: Connection, args: argparse.Namespace) -> int:
    text = _read_text(args.file)
    if not text.strip():
        raise CommandError("the text is empty")
    urls = connection.services.extract_links(text)
    return answer(urls, "".join(f"{escape(url)}\n" for url in urls), as_json=args.json)
