"""``putiofs cache clear [--cache-dir DIR]``: empty the persistent read cache.

Every account's read cache in DIR (default ``$XDG_CACHE_HOME/putiofs``) is emptied: the
command needs no credentials, and an account folder is found by its ``read-cache`` folder
(:mod:`putiofs.read.disk_cache`). The write spool beside it is never touched. A cache a running
mount holds is refused, with the mount's lock as the test: that mount's index in memory would
otherwise point at chunks that are gone (unmount first, or mount with ``--read-cache-size 0``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from putiofs.commands.base import CommandError, leaf
from putiofs.commands.output import emit, emit_json, human_size
from putiofs.read.disk_cache import FOLDER, CacheInUse, clear
from putiofs.write.spool import default_cache_dir

CLEAR_HELP = ("Empty the read cache (the file contents kept under --cache-dir for the next "
               "reads and remounts) of every account in the cache folder. Files waiting for "
               "their upload are kept. Refused for a cache a running mount is using.")


def add_parsers(commands: argparse._SubParsersAction) -> None:
    cache = commands.add_parser("cache", help="the read cache on this machine",
                                description="The read cache on this machine.")
    actions = cache.add_subparsers(dest="cache_action", metavar="ACTION", required=True)
    parser = leaf(actions, "clear", run, "empty the read cache", CLEAR_HELP)
    parser.add_argument("--cache-dir", type=Path, metavar="DIR",
                        help="the mount's --cache-dir (default $XDG_CACHE_HOME/putiofs or "
                             "~/.cache/putiofs)")
    parser.set_defaults(without_account=True)


def run(args: argparse.Namespace) -> int:
    root = (args.cache_dir or default_cache_dir()).expanduser().absolute()
    folders = sorted(p for p in root.glob(f"*/{FOLDER}") if p.is_dir()) if root.is_dir() else []
    cleared, busy = [], []
    for folder in folders:
        try:
            cleared.append({"account_folder": str(folder.parent), "freed": clear(folder.parent)})
        except CacheInUse:
            busy.append(str(folder.parent))
        except OSError as exc:
            raise CommandError(f"cannot clear the read cache in {folder}: {exc.strerror}") \
                from None
    if args.json:
        emit_json({"cleared": cleared, "in_use": busy})
    else:
        for item in cleared:
            emit(f"cleared {human_size(item['freed'])} in {item['account_folder']}\n")
        if not folders:
            emit(f"no read cache in {root}\n")
    if busy:
        raise CommandError("the read cache is in use by a running mount, not cleared: "
                           + ", ".join(busy) + " (unmount first)")
    return 0


__all__ = ["add_parsers", "run"]
