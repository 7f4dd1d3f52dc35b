"""``putiofs events [list] [--before ID] [--limit N]``: the account's history (API v2):
uploads, finished and failed transfers, ..., newest first.

``events`` alone lists, like ``events list`` (kept for scripts). Paging goes back in time:
``--before ID`` shows events older than that id (the last id of a listing is where the next
page starts), ``--limit N`` at most N of them, fetched over as many of put.io's pages as
needed; without ``--limit``, put.io's first page.
"""

from __future__ import annotations

import argparse

from putiofs.commands.base import item_id, leaf
from putiofs.commands.output import show
from putiofs.connect import Connection
from putiofs.views import render_events as render

EVENTS_DESCRIPTION = ("The account's history, newest first. --before ID pages back (events older "
               "than ID), --limit N shows at most N.")


def positive(text: str) -> int:
    """A ``--limit``: a whole number of at least 1."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _paging(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--before", type=item_id, metavar="ID",
                        help="only events older than this event id")
    parser.add_argument("--limit", type=positive, metavar="N",
                        help="at most N events (default: put.io's first page)")


def add_parsers(commands: argparse._SubParsersAction) -> None:
    parser = leaf(commands, "events", run_list, "the account's history (API v2)",
                  EVENTS_DESCRIPTION)
    _paging(parser)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    _paging(leaf(actions, "list", run_list, "the newest events of the account's history",
                 EVENTS_DESCRIPTION))


def run_list(connection: Connection, args: argparse.Namespace) -> int:
    before = None if args.before is None else int(args.before)
    events = connection.services.list_events(before=before, limit=args.limit)
    return show(events, render, as_json=args.json)
