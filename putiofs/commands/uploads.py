"""``putiofs uploads [--cache-dir DIR]``: files written through a mount of this account that
are not on put.io yet, with or without a running mount (API v2).

It reads what the mount writes to the account's spool folder: ``status.json`` (rewritten about
once a second by a running mount, see :mod:`putiofs.write.status`) and the ``recovered/``
folder (files handed back). One API call finds the account's folder (it is keyed by the API
URL and the user, not by the token). When no mount has reported for a while, the listing says
so first: what it shows then waits in the spool for the account's next mount.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from putiofs.commands.base import leaf
from putiofs.commands.output import show
from putiofs.config import load_settings
from putiofs.connect import Connection
from putiofs.views import render_uploads
from putiofs.write.spool import account_dir, default_cache_dir, user_key
from putiofs.write.status import STATUS_FILE, UploadStatus, read_status, status_age

UPLOADS_DESCRIPTION = ("Files written through a mount of this account and not yet on put.io: "
                       "being written, queued, uploading (bytes done, speed), retrying (with "
                       "the last error), or handed back in the cache's recovered/ folder.")
#: A status.json older than this means no running mount is reporting.
STALE_AFTER = 5.0


def add_parsers(commands: argparse._SubParsersAction) -> None:
    parser = leaf(commands, "uploads", run, "pending uploads of files written through the mount",
                  UPLOADS_DESCRIPTION)
    parser.add_argument("--cache-dir", type=Path, metavar="DIR",
                        help="the mount's --cache-dir (default: ~/.cache/putiofs)")


def run(connection: Connection, args: argparse.Namespace) -> int:
    account = connection.services.account()
    cache_dir = (args.cache_dir or default_cache_dir()).expanduser().absolute()
    folder = account_dir(cache_dir, load_settings().api_url,
                         user_key(account.user_name, account.user_id))
    records = read_status(folder / STATUS_FILE)
    age = status_age(folder / STATUS_FILE)
    running = age is not None and age < STALE_AFTER
    records = [r for r in records if r.state != "recovered"] + _recovered(folder)
    note = "" if running or not records else (
        "no mount of this account is running: these wait for its next mount")
    return show(records, lambda rows: render_uploads(rows, note=note), as_json=args.json)


def _recovered(folder: Path) -> list[UploadStatus]:
    """Handed-back files, read from the folder itself (a mount may never have reported them)."""
    try:
        paths = sorted((folder / "recovered").iterdir())
    except OSError:
        return []
    found = []
    for path in paths:
        try:
            size = os.stat(path).st_size
        except OSError:
            continue
        found.append(UploadStatus(path=str(path), size=size, state="recovered",
                                  error="handed back: see the mount's log"))
    return found


__all__ = ["add_parsers", "run"]
