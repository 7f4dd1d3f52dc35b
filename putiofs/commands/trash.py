"""``putiofs trash list | restore | delete | empty``: put.io's trash (API v2; v1 deletes for
good and says so).

Items are named as ``/.putio/trash/`` names them in the mount (:func:`putiofs.tree.names.assign`
over the whole trash: duplicates get `` [#id]``, ``/`` shows as ``∕``). ``restore`` takes ids
or those names (``/.putio/trash/NAME`` is accepted too; an argument of digits only is an id,
write ``./123`` for an item named 123); put.io puts an item back into the folder it was deleted
from, or the root if that folder is gone. ``delete`` deletes for good and takes ids only, so a
typo never destroys the wrong thing. An id or name that is not in the trash is one error line
and exit status 1; the other arguments are handled all the same.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from putiofs.api.services import AccountServices, TrashItem
from putiofs.commands.base import area, item_id, leaf, report_error
from putiofs.commands.output import answer, emit, emit_json, show, to_json
from putiofs.connect import Connection
from putiofs.tree import names
from putiofs.views import human_size, table

TRASH_FOLDER = "/.putio/trash/"


def add_parsers(commands: argparse._SubParsersAction) -> None:
    actions = area(commands, "trash", "list, restore and delete what is in the trash (API v2)")
    leaf(actions, "list", run_list, "what the trash holds, named as /.putio/trash/ names it")
    restore = leaf(actions, "restore", run_restore, "put trash items back where they were",
                   "Restore items by id or by the name `trash list` shows; put.io puts each "
                   "back into the folder it was deleted from (the root if that is gone).")
    restore.add_argument("targets", nargs="+", metavar="NAME|ID")
    delete = leaf(actions, "delete", run_delete, "delete trash items for good, by id")
    delete.add_argument("ids", nargs="+", type=item_id, metavar="ID")
    leaf(actions, "empty", run_empty, "delete everything in the trash for good")


def named_trash(services: AccountServices) -> dict[str, TrashItem]:
    """Shown name -> item, every item of the trash named as the mount names it."""
    found = services.list_trash()
    by_id = {item.id: item for item, _ in found}
    return {shown: by_id[entry.id] for shown, entry in names.assign(e for _, e in found).items()}


def render(named: dict[str, TrashItem]) -> str:
    if not named:
        return "the trash is empty\n"
    rows = [(item.id, "folder" if item.is_dir else human_size(item.size), item.deleted_at,
             item.original_folder_id, shown) for shown, item in sorted(named.items())]
    return table(("ID", "SIZE", "DELETED", "FROM", "NAME"), rows)


def run_list(connection: Connection, args: argparse.Namespace) -> int:
    named = named_trash(connection.services)
    if args.json:
        emit_json([{"shown_name": shown, **to_json(item)} for shown, item in
                   sorted(named.items())])
        return 0
    return show(named, render, as_json=False)


def _find(named: dict[str, TrashItem], target: str) -> TrashItem | None:
    text = target[len(TRASH_FOLDER):] if target.startswith(TRASH_FOLDER) else target
    if text.isdigit():
        return next((item for item in named.values() if item.id == text), None)
    if text.startswith("./"):
        text = text[2:]
    return named.get(text)


def run_restore(connection: Connection, args: argparse.Namespace) -> int:
    return _each(connection.services, args.targets, connection.services.restore_from_trash,
                 done="restored", as_json=args.json)


def run_delete(connection: Connection, args: argparse.Namespace) -> int:
    return _each(connection.services, args.ids, connection.services.delete_from_trash,
                 done="deleted", as_json=args.json)


def _each(services: AccountServices, targets: Sequence[str],
          action: Callable[[Sequence[str]], None], *, done: str, as_json: bool) -> int:
    """Resolve every target against the trash as it is now, then act on the found ones in one
    call; each target not in the trash is one error line and makes the exit status 1."""
    named = named_trash(services)
    found: list[TrashItem] = []
    missing = 0
    for target in targets:
        item = _find(named, target)
        if item is None:
            missing += 1
            report_error(f"{target}: not in the trash")
        elif item not in found:
            found.append(item)
    if found:
        action([item.id for item in found])
    if as_json:
        emit_json({done: [item.id for item in found]})
    else:
        for item in found:
            emit(f"{done} {item.id} {item.name}\n")
    return 1 if missing else 0


def run_empty(connection: Connection, args: argparse.Namespace) -> int:
    count = len(connection.services.list_trash())
    connection.services.empty_trash()
    return answer({"emptied": count}, f"emptied the trash ({count} item(s) deleted for good)\n",
                  as_json=args.json)
