"""``putiofs uploads [--cache-dir DIR]``: files written through a mount that are not on put.io
yet, with or without a running mount (API v2).

It reads what mounts write to the cache folder, and nothing else: no credentials are needed and
put.io is not asked. Each account has its own folder there (``<user>-<hash>``, see
:func:`putiofs.write.spool.account_dir`); every one is read: its ``status.json`` (rewritten by a
running mount after each chunk an upload sends and about once a second besides, see
:mod:`putiofs.write.status`) and its ``recovered/`` folder (files handed back). With more than
one account's folder holding something, each account's rows come under its folder's name (in
``--json``, each record's ``account``). When no mount of an account has reported for a while,
its rows say so first: they wait in the spool for the account's next mount.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from putiofs.commands.base import leaf
from putiofs.commands.output import emit, emit_json, to_json
from putiofs.views import render_uploads
from putiofs.write.spool import default_cache_dir
from putiofs.write.status import STATUS_FILE, UploadStatus, read_status, status_age

UPLOADS_DESCRIPTION = ("Files written through a mount and not yet on put.io: being written, "
                       "queued, uploading (bytes done, speed), retrying (with the last error), "
                       "failed (with the reason), or handed back in the cache's recovered/ "
                       "folder. Reads the cache folder only: needs no credentials.")
#: A status.json older than this means no running mount is reporting.
STALE_AFTER = 5.0
NOT_RUNNING = "no mount of this account is running: these wait for its next mount"


def add_parsers(commands: argparse._SubParsersAction) -> None:
    parser = leaf(commands, "uploads", run, "pending uploads of files written through the mount",
                  UPLOADS_DESCRIPTION)
    parser.add_argument("--cache-dir", type=Path, metavar="DIR",
                        help="the mount's --cache-dir (default: ~/.cache/putiofs)")
    parser.set_defaults(without_account=True)


def run(args: argparse.Namespace) -> int:
    cache_dir = (args.cache_dir or default_cache_dir()).expanduser().absolute()
    found = [(folder, _records(folder)) for folder in account_folders(cache_dir)]
    held = [(folder, records) for folder, records in found if records]
    if args.json:
        emit_json([{"account": folder.name, **to_json(record)}
                   for folder, records in held for record in records])
        return 0
    if not held:
        emit(render_uploads([]))
        return 0
    parts = []
    for folder, records in held:
        notes = [f"account {folder.name}:"] if len(held) > 1 else []
        if not _reporting(folder):
            notes.append(NOT_RUNNING)
        parts.append(render_uploads(records, note="\n".join(notes)))
    emit("\n".join(parts))
    return 0


def account_folders(cache_dir: Path) -> list[Path]:
    """The accounts' spool folders in a cache folder (those a mount made: with ``pending/``,
    ``recovered/`` or ``status.json``), by name."""
    try:
        folders = sorted(p for p in cache_dir.iterdir() if p.is_dir())
    except OSError:
        return []
    return [p for p in folders
            if any((p / part).exists() for part in ("pending", "recovered", STATUS_FILE))]


def _records(folder: Path) -> list[UploadStatus]:
    records = [r for r in read_status(folder / STATUS_FILE) if r.state != "recovered"]
    return records + _recovered(folder)


def _reporting(folder: Path) -> bool:
    age = status_age(folder / STATUS_FILE)
    return age is not None and age < STALE_AFTER


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


__all__ = ["account_folders", "add_parsers", "run"]
