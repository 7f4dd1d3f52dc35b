"""``putiofs transfers list | add | cancel | watch``."""

from __future__ import annotations

import argparse

from putiofs.client import PutioClient
from putiofs.commands import watch
from putiofs.commands.base import CommandError, area, for_each_id, item_id, leaf
from putiofs.commands.output import emit, emit_json
from putiofs.views import render_transfers as render


def add_parsers(commands: argparse._SubParsersAction) -> None:
    actions = area(commands, "transfers", "list, add, cancel and watch transfers")
    leaf(actions, "list", run_list, "the active transfers")
    add = leaf(actions, "add", run_add, "start downloading links (http, ftp, magnet, torrent)",
               "Start transfers of the given links; prints the active transfers.")
    add.add_argument("links", nargs="+", metavar="LINK")
    cancel = leaf(actions, "cancel", run_cancel, "cancel transfers by id")
    cancel.add_argument("ids", nargs="+", type=item_id, metavar="ID")
    watcher = leaf(actions, "watch", run_watch, "show live progress until transfers finish",
                   "A progress bar per transfer, redrawn in place on a terminal (one line per "
                   "change otherwise), until every watched transfer is Completed or in Error. "
                   "Exit status 0 if all completed, 1 if any failed or disappeared.")
    watcher.add_argument("ids", nargs="*", type=item_id, metavar="ID",
                         help="the transfers to watch (default: every active one)")
    watcher.add_argument("--interval", type=float, default=2.0, metavar="SECONDS",
                         help="seconds between polls (default 2)")


def run_list(client: PutioClient, args: argparse.Namespace) -> int:
    transfers = client.list_transfers()
    if args.json:
        emit_json(transfers)
    else:
        emit(render(transfers))
    return 0


def run_add(client: PutioClient, args: argparse.Namespace) -> int:
    links = [link.strip() for link in args.links if link.strip()]
    if not links:
        raise CommandError("no link given")
    transfers = client.add_transfers(links)
    if args.json:
        emit_json(transfers)
    else:
        emit(render(transfers))
    return 0


def run_cancel(client: PutioClient, args: argparse.Namespace) -> int:
    """Cancel each id in turn; one failure does not stop the others, but sets exit status 1."""
    return for_each_id(args.ids, client.cancel_transfer, noun="transfer", done="cancelled",
                       as_json=args.json)


def run_watch(client: PutioClient, args: argparse.Namespace) -> int:
    if args.interval <= 0:
        raise CommandError("--interval must be a positive number of seconds")
    return watch.watch(client, args.ids, interval=args.interval, as_json=args.json)
