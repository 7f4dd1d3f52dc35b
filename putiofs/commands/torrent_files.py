"""What ``putiofs transfers add`` needs besides links: local .torrent files and ``--to``.

An argument is a local file when a file of that name exists (a link is never a local path:
``http://x`` is no file name a shell user types by accident); it must then be a .torrent
(bencoded, with an ``info`` dictionary: :mod:`putiofs.torrent`) of at most
:data:`putiofs.torrent.MAX_TORRENT` bytes, else the command stops before adding anything.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from putiofs import torrent
from putiofs.commands.base import CommandError
from putiofs.commands.paths import path_cache, path_errors
from putiofs.connect import Connection


def split_arguments(arguments: Sequence[str]) -> tuple[list[str], list[tuple[str, bytes]]]:
    """(links, [(upload name, bytes) of each local .torrent file])."""
    links: list[str] = []
    torrents: list[tuple[str, bytes]] = []
    for argument in arguments:
        if os.path.isfile(argument):
            torrents.append(_read_torrent(argument))
        elif argument.strip():
            links.append(argument.strip())
    return links, torrents


def _read_torrent(path: str) -> tuple[str, bytes]:
    try:
        if os.path.getsize(path) > torrent.MAX_TORRENT:
            raise CommandError(f"{path}: larger than {torrent.MAX_TORRENT // (1024 * 1024)} MiB, "
                               "not a .torrent file")
        with open(path, "rb") as file:
            data = file.read(torrent.MAX_TORRENT + 1)
    except OSError as exc:
        raise CommandError(f"{path}: cannot read it ({exc.strerror})") from None
    if not torrent.is_torrent(data):
        raise CommandError(f"{path}: not a .torrent file (no bencoded info dictionary)")
    base = os.path.basename(path)
    name = base if base.lower().endswith(".torrent") else torrent.file_name(data)
    return name, data


def folder_id(connection: Connection, path: str) -> str:
    """The id of the folder at a mount-style path (``/`` is the account's root)."""
    with path_errors(f"--to {path}", missing="no such folder", not_a_folder="no such folder"):
        entry = path_cache(connection).resolve(path)
    if not entry.is_dir:
        raise CommandError(f"--to {path}: not a folder")
    return str(entry.id)
