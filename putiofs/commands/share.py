"""``putiofs share PATH --with FRIEND|everyone``, ``putiofs shared``, ``putiofs unshare PATH``,
and the other direction, ``putiofs shared-with-me [list] | copy ID... [--to FOLDER]`` (API v2).

PATH is a mount path (names as the mount shows them, see ``putiofs ls``). ``--with`` may be
given more than once or hold comma-joined names; ``everyone`` shares with every friend and
anyone put.io lets see shared items. put.io checks the names: a name that is not a friend is
one error line and nothing is shared. ``shared`` lists what the account shares, with whom.

Decisions for what friends share with you:

- The name: ``shared`` already says what *you* share, so the items friends share with you are
  ``shared-with-me``, beside ``share`` / ``shared`` / ``unshare`` (and found by completing
  ``shared``); ``shared-with-me`` alone lists, as ``events`` alone does.
- ``copy`` (put.io's ``sharing/clone``) takes ids, as ``shared-with-me`` lists them: items of
  different friends may have one name, and an id names one item whatever the friend calls it.
  Every id is checked against the list first: one that is not shared with you is one error
  line and exit status 1, the others are copied all the same, in one call, into ``--to``
  (a mount path; default the root). put.io copies on its side: the command waits until
  put.io says the copy is DONE (at most ``--timeout`` seconds), so the files are there when it
  returns.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from putiofs.api.backend import Entry
from putiofs.api.services import AccountServices, Share, SharedItem
from putiofs.commands.base import CommandError, item_id, leaf, report_error
from putiofs.commands.output import answer, emit, emit_json, human_size, show, table
from putiofs.commands.paths import path_cache, resolve
from putiofs.connect import Connection
from putiofs.tree.cache import split_path

#: The ``--with`` word for every friend and anyone put.io lets see shared items (and how the
#: output names them).
WITH_EVERYONE = "everyone"
#: Seconds ``shared-with-me copy`` waits for put.io to finish copying, unless ``--timeout`` says.
DEFAULT_COPY_WAIT = 300.0
#: Seconds between two looks at a copy put.io has not finished yet.
COPY_POLL = 1.0


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
    received = leaf(commands, "shared-with-me", run_shared_with_me,
                    "what friends share with you; copy it into your folders (API v2)",
                    "The items your friends share with you (id, size, who shares it, name); "
                    "`shared-with-me copy ID...` copies them into your own folders.")
    actions = received.add_subparsers(dest="action", metavar="ACTION")
    leaf(actions, "list", run_shared_with_me, "the items friends share with you")
    copy = leaf(actions, "copy", run_copy_shared, "copy shared items into your folders",
                "Copy items friends share with you, by the ids `shared-with-me` lists, into "
                "a folder of yours (a mount path; default /), and wait until put.io has "
                "copied them.")
    copy.add_argument("ids", nargs="+", type=item_id, metavar="ID")
    copy.add_argument("--to", dest="folder", default="/", metavar="FOLDER",
                      help="the folder to copy into, as a mount path (default /)")
    copy.add_argument("--timeout", type=float, default=DEFAULT_COPY_WAIT, metavar="SECONDS",
                      help="how long to wait for put.io to copy them (default 300)")


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


def render_received(items: list[SharedItem]) -> str:
    if not items:
        return "nothing is shared with you\n"
    return table(("ID", "SIZE", "FROM", "NAME"),
                 [(item.id, human_size(item.size), item.sender or "-",
                   item.name + "/" if item.is_dir else item.name) for item in items])


def run_shared_with_me(connection: Connection, args: argparse.Namespace) -> int:
    return show(connection.services.shared_with_me(), render_received, as_json=args.json)


def run_copy_shared(connection: Connection, args: argparse.Namespace) -> int:
    """Check every id against the list (one call), resolve ``--to``, copy the found ones in
    one call and wait for put.io to finish."""
    if args.timeout <= 0:
        raise CommandError("--timeout must be a positive number of seconds")
    services = connection.services
    by_id = {item.id: item for item in services.shared_with_me()}
    folder = resolve(path_cache(connection), args.folder)
    if not folder.is_dir:
        raise CommandError(f"{args.folder}: not a folder")
    found = [by_id[i] for i in dict.fromkeys(args.ids) if i in by_id]
    missing = [i for i in dict.fromkeys(args.ids) if i not in by_id]
    for one in missing:
        report_error(f"{one}: not shared with you")
    if found:
        copy_id = services.copy_shared([item.id for item in found], folder.id)
        wait_for_copy(services, copy_id, timeout=args.timeout)
    if args.json:
        emit_json({"copied": [item.id for item in found], "to": folder.id})
    else:
        for item in found:
            emit(f"copied {item.id} {item.name} to {args.folder}\n")
    return 1 if missing else 0


def wait_for_copy(services: AccountServices, copy_id: str, *, timeout: float,
                  sleep: Callable[[float], None] = time.sleep,
                  clock: Callable[[], float] = time.monotonic) -> None:
    """Until put.io says the copy job is DONE; CommandError if it failed or ``timeout``
    passed (put.io may still finish it then)."""
    started = clock()
    while True:
        status = services.shared_copy_status(copy_id).upper()
        if status in {"DONE", "COMPLETED"}:
            return
        if status in {"ERROR", "FAILED"}:
            raise CommandError(f"copy {copy_id}: put.io could not copy the items ({status})")
        waited = clock() - started
        if waited >= timeout:
            raise CommandError(f"copy {copy_id} is not done after {timeout:g} s; put.io may "
                               "still finish it")
        sleep(min(COPY_POLL, max(timeout - waited, 0.01)))
