"""``putiofs share PATH --with FRIEND|everyone``, ``putiofs shared``, ``putiofs unshare PATH``
(API v2).

PATH is a mount path (names as the mount shows them, see ``putiofs ls``). ``--with`` may be
given more than once or hold comma-joined names; ``everyone`` shares with every friend and
anyone put.io lets see shared items. put.io checks the names: a name that is not a friend is
one error line and nothing is shared. ``shared`` lists what the account shares, with whom.
"""

from __future__ import annotations

import argparse

from putiofs.api.backend import Entry
from putiofs.api.services import Share
from putiofs.commands.base import CommandError, leaf
from putiofs.commands.output import answer, show, table
from putiofs.commands.paths import path_cache, resolve
from putiofs.connect import Connection
from putiofs.tree.cache import split_path

#: The ``--with`` word for every friend and anyone put.io lets see shared items (and how the
#: output names them).
WITH_EVERYONE = "everyone"


def add_parsers(commands: argparse._SubParsersAction) -> None:
    share = leaf(commands, "share", run_share, "share a file or folder with friends (API v2)",
                 "Share an item, by mount path, with friends (--with NAME, repeatable or "
                 "comma-joined) or with everyone (--with everyone).")
    share.add_argument("path", metavar="PATH")
    share.add_argument("--with", dest="friends", action="append", required=True,
                       metavar="FRIEND|everyone", help="a friend's name, or everyone")
    leaf(commands, "shared", run_shared, "what you share, and with whom (API v2)")
    unshare = leaf(commands, "unshare", run_unshare, "stop sharing an item (API v2)")
    unshare.add_argument("path", metavar="PATH")


def friends_of(values: list[str]) -> list[str] | None:
    """The names ``--with`` gave, or None for everyone (which overrides any names)."""
    chosen = [n.strip() for value in values for n in value.split(",") if n.strip()]
    if not chosen:
        raise CommandError("--with needs a friend's name or everyone")
    if any(n.lower() == WITH_EVERYONE for n in chosen):
        return None
    return list(dict.fromkeys(chosen))


def _item(connection: Connection, path: str) -> Entry:
    if not split_path(path):
        raise CommandError("the root folder cannot be shared")
    return resolve(path_cache(connection), path)


def run_share(connection: Connection, args: argparse.Namespace) -> int:
    friends = friends_of(args.friends)
    entry = _item(connection, args.path)
    connection.services.share(entry.id, friends)
    who = WITH_EVERYONE if friends is None else ", ".join(friends)
    return answer({"shared": entry.id, "with": WITH_EVERYONE if friends is None else friends},
                  f"shared {args.path} with {who}\n", as_json=args.json)


def run_unshare(connection: Connection, args: argparse.Namespace) -> int:
    entry = _item(connection, args.path)
    connection.services.unshare(entry.id)
    return answer({"unshared": entry.id}, f"stopped sharing {args.path}\n", as_json=args.json)


def with_whom(share: Share) -> str:
    return ", ".join(([WITH_EVERYONE] if share.everyone else []) + list(share.friends)) or "-"


def render_shared(shares: list[Share]) -> str:
    if not shares:
        return "nothing shared\n"
    return table(("ID", "WITH", "NAME"), [(s.file_id, with_whom(s), s.name) for s in shares])


def run_shared(connection: Connection, args: argparse.Namespace) -> int:
    return show(connection.services.shared(), render_shared, as_json=args.json)
