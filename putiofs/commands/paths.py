"""Mount-style paths in the API commands, resolved as the mount resolves them.

A command resolves paths with the mount's own cache over the account's Backend
(:func:`path_cache`), so a name it shows (duplicates suffixed, ``/`` as ``∕``, …) is the name to
type in the mount and back. A path that does not resolve is a :class:`CommandError` of one line
(:func:`path_errors`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from putiofs.api.backend import Entry
from putiofs.commands.base import CommandError
from putiofs.connect import Connection
from putiofs.tree import names
from putiofs.tree.cache import MetadataCache, PathNotADirectory, PathNotFound, split_path


def path_cache(connection: Connection) -> MetadataCache:
    """The cache one command resolves its paths with: a listing is trusted for 60 s, so a
    command that names several paths in one folder lists it once."""
    return MetadataCache(connection.backend, ttl=60.0)


@contextmanager
def path_errors(label: str, *, missing: str = "no such file or folder",
                not_a_folder: str = "a component of the path is not a folder") -> Iterator[None]:
    """Turn a path that does not resolve into ``CommandError("<label>: <why>")``."""
    try:
        yield
    except PathNotFound:
        raise CommandError(f"{label}: {missing}") from None
    except PathNotADirectory:
        raise CommandError(f"{label}: {not_a_folder}") from None
    except names.NameTooLong:
        raise CommandError(f"{label}: a name in the path is longer than "
                           f"{names.NAME_MAX} bytes") from None


def resolve(cache: MetadataCache, path: str) -> Entry:
    """The item at a mount-style path."""
    with path_errors(path):
        return cache.resolve(path)


def resolve_shown(cache: MetadataCache, path: str) -> tuple[str, Entry]:
    """(shown name, entry) of the item at a mount-style path: the name the mount lists it by
    in its folder (``/`` for the root)."""
    with path_errors(path):
        entry = cache.resolve(path)
        parts = split_path(path)
        if not parts:
            return "/", entry
        parent = cache.resolve("/".join(parts[:-1]))
        return shown_name(cache, parent.id, entry, parts[-1]), entry


def shown_name(cache: MetadataCache, folder_id: str, entry: Entry, fallback: str) -> str:
    """The name the mount lists ``entry`` by in folder ``folder_id``; ``fallback`` if it is not
    listed there."""
    return next((name for name, child in cache.listing(folder_id).by_name.items()
                 if child.id == entry.id), fallback)


def resolve_target(connection: Connection, cache: MetadataCache, target: str) -> tuple[str, Entry]:
    """(shown name, entry) of a PATH|ID argument: all digits is an id (looked up; write
    ``./123`` or ``/123`` for an item named 123), anything else a mount-style path."""
    if not target.isdigit():
        return resolve_shown(cache, target)
    entry = connection.backend.lookup(target)
    shown = names.clean(entry.name)
    if entry.parent_id:
        shown = shown_name(cache, entry.parent_id, entry, shown)
    return shown, entry
