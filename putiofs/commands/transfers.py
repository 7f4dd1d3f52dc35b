"""``putiofs transfers list | add | cancel | watch | retry | clean``."""

from __future__ import annotations

import argparse
import re
from typing import cast

from putiofs.api.realtime import ChangeSource
from putiofs.api.services import Transfer
from putiofs.commands import watch
from putiofs.commands.base import CommandError, area, for_each_id, item_id, leaf, report_error
from putiofs.commands.output import answer, show
from putiofs.commands.torrent_files import folder_id, split_arguments
from putiofs.connect import Connection
from putiofs.views import render_transfers as render


def add_parsers(commands: argparse._SubParsersAction) -> None:
    actions = area(commands, "transfers", "list, add, cancel and watch transfers")
    leaf(actions, "list", run_list, "the active transfers")
    add = leaf(actions, "add", run_add, "start downloading links or .torrent files",
               "Start transfers of the given links (http, https, ftp, magnet) or local "
               ".torrent files (uploaded to put.io; API v2); prints the new transfers (v1: "
               "every active one). A link put.io refuses, or puts straight into an error "
               "state, gets one error line and exit status 1; the others are added all the "
               "same. An argument naming an existing local file is that file.")
    add.add_argument("links", nargs="+", metavar="LINK|FILE.torrent")
    add.add_argument("--to", metavar="FOLDER", dest="folder",
                     help="the folder to download into, as a mount path (e.g. /Movies; "
                          "default: put.io's download folder; API v2)")
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
    retry = leaf(actions, "retry", run_retry, "retry failed transfers by id (API v2)")
    retry.add_argument("ids", nargs="+", type=item_id, metavar="ID")
    leaf(actions, "clean", run_clean, "clear finished transfers from the list (API v2)")


def run_list(connection: Connection, args: argparse.Namespace) -> int:
    transfers = connection.services.list_transfers()
    return show(transfers, render, as_json=args.json)


def run_add(connection: Connection, args: argparse.Namespace) -> int:
    """Every torrent file is read (and checked) and ``--to`` resolved before anything is
    sent, so a typo adds nothing; the torrent files go first (a version without them fails
    before any link is added), then the links in one call."""
    services = connection.services
    links, torrents = split_arguments(args.links)
    if not links and not torrents:
        raise CommandError("no link given")
    parent_id = folder_id(connection, args.folder) if args.folder is not None else None
    results = [services.add_torrent(name, data, parent_id) for name, data in torrents]
    if links:
        results.append(services.add_transfers(links, parent_id))
    transfers = [t for r in results for t in r.transfers]
    failed = [t for r in results for t in r.failed]
    show(transfers, render, as_json=args.json)
    for transfer in failed:
        report_error(_failure_text(transfer))
    return 1 if failed else 0


_ERROR_PREFIX = re.compile(r"^(?:error\s*:\s*)+", re.IGNORECASE)   # the "Error: " of a status


def _failure_text(transfer: Transfer) -> str:
    """``<link or name>: <put.io's reason>`` for a link that was refused or failed at once."""
    reason = _ERROR_PREFIX.sub("", (transfer.status or "").strip())
    return f"{transfer.source or transfer.name or 'a link'}: {reason or 'put.io could not add it'}"


def run_cancel(connection: Connection, args: argparse.Namespace) -> int:
    """Cancel each id in turn; one failure does not stop the others, but sets exit status 1."""
    return for_each_id(args.ids, connection.services.cancel_transfer, noun="transfer",
                       done="cancelled", as_json=args.json)


def run_retry(connection: Connection, args: argparse.Namespace) -> int:
    return for_each_id(args.ids, connection.services.retry_transfer, noun="transfer",
                       done="retried", as_json=args.json)


def run_clean(connection: Connection, args: argparse.Namespace) -> int:
    cleaned = connection.services.clean_transfers()
    return answer({"cleaned": cleaned}, f"cleared {len(cleaned)} finished transfer(s)\n",
                  as_json=args.json)


def run_watch(connection: Connection, args: argparse.Namespace) -> int:
    if args.interval <= 0:
        raise CommandError("--interval must be a positive number of seconds")
    feed = None
    listener = None
    if connection.backend.capabilities.live_events:
        feed = watch.TransferFeed()
        listener = cast(ChangeSource, connection.backend).change_listener(feed)
        listener.start()
    try:
        return watch.watch(connection.services, args.ids, interval=args.interval,
                           as_json=args.json, feed=feed)
    finally:
        if listener is not None:
            listener.stop()
