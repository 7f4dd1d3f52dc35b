"""The files service: list, info, create_dir, rename, move, delete, search, dirmap."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from putiofs.emulator.account.filetypes import TYPE_CODES, extension
from putiofs.emulator.account.state import ROOT_ID, ROOT_NAME, Account, Node, invalid, missing
from putiofs.emulator.v1.jsontext import JsonText

if TYPE_CHECKING:
    from putiofs.emulator.v1.call import Call

DEFAULT_LIMIT = 20
MAX_LIMIT = 2000
ORDERBY = tuple(f"{key}_{way}" for key in ("id", "type", "name", "extension", "createdat")
                for way in ("asc", "desc"))
_SEARCH_TYPES = {
    "video": "movie", "movie": "movie", "audio": "audio", "music": "audio", "image": "image",
    "picture": "image", "text": "text", "pdf": "pdf", "document": "ms_doc", "ms_doc": "ms_doc",
    "archive": "compressed", "compressed": "compressed", "swf": "swf", "folder": "folder",
    "file": "file",
}


def _sort_key(orderby: str) -> Callable[[Node], tuple]:
    key = orderby.rpartition("_")[0]
    if key == "id":
        return lambda n: (n.id,)
    if key == "type":
        return lambda n: (TYPE_CODES[n.type], n.id)
    if key == "name":
        return lambda n: (n.name.casefold(), n.name, n.id)
    if key == "extension":
        return lambda n: ("" if n.is_dir else extension(n.name), n.id)
    return lambda n: (n.created, n.id)


def _type_filter(call: Call) -> str | None:
    value = call.params.get("type")
    if value is None or value == "":
        return None
    if call.legacy:
        if isinstance(value, str) and value.isascii() and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid("type")
        names = [name for name, code in TYPE_CODES.items() if code == value]
        if not names:
            raise invalid("type")
        return names[0]
    if not isinstance(value, str) or value not in TYPE_CODES:
        raise invalid("type")
    return value


def files_list(call: Call) -> list:
    account = call.account
    offset = call.int_param("offset", 0, 0)
    limit = min(call.int_param("limit", DEFAULT_LIMIT, 1), MAX_LIMIT)
    orderby = call.str_param("orderby", "createdat_desc")
    if orderby not in ORDERBY:
        raise invalid("orderby")
    wanted = _type_filter(call)
    if call.params.get("id") is not None:
        nodes = [account.node(call.id_param("id"))]
    else:
        folder = account.folder(call.id_param("parent_id", ROOT_ID))
        nodes = [account.nodes[c] for c in folder.children]
    if wanted is not None:
        nodes = [n for n in nodes if n.type == wanted]
    nodes.sort(key=_sort_key(orderby), reverse=orderby.endswith("_desc"))
    return [call.item(n) for n in nodes[offset : offset + limit]]


def files_info(call: Call) -> list:
    return [call.item(call.account.node(call.id_param()))]


def files_create_dir(call: Call) -> list:
    name = call.params.get("name")
    if name is None:
        raise missing("name")
    parent = call.id_param("parent_id", ROOT_ID)
    return [call.item(call.account.create(parent, name, True))]


def files_rename(call: Call) -> list:
    item_id = call.id_param()
    name = call.params.get("name")
    if name is None:
        raise missing("name")
    return [call.item(call.account.set_name(item_id, name))]


def files_move(call: Call) -> list:
    item_id = call.id_param()
    return [call.item(call.account.relocate(item_id, call.id_param("parent_id")))]


def files_delete(call: Call) -> list:
    call.account.remove(call.id_param())
    return []


def _in_shares(account: Account, node: Node) -> bool:
    return any(
        node.id != f.dir_id and f.dir_id in account.nodes and account.is_within(node.id, f.dir_id)
        for f in account.friends
    )


def _time_window(word: str, now: float) -> tuple[float, float]:
    today = dt.datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    day = dt.timedelta(days=1)
    if word == "today":
        start, end = today, today + day
    elif word == "yesterday":
        start, end = today - day, today
    elif word == "thisweek":
        start, end = today - dt.timedelta(days=today.weekday()), today + day
    elif word == "thismonth":
        start, end = today.replace(day=1), today + day
    else:
        raise invalid("query")
    return start.timestamp(), end.timestamp()


def files_search(call: Call) -> list:
    account = call.account
    query = call.str_param("query")
    words: list[str] = []
    tests: list[Callable[[Node], bool]] = []
    for word in query.split() if call.legacy else []:
        op, colon, arg = word.partition(":")
        op, arg = op.lower(), arg.lower()
        if not colon or op not in ("from", "type", "ext", "time"):
            words.append(word)
        elif op == "from" and arg in ("me", "shares", "all"):
            if arg != "all":
                shares = arg == "shares"
                tests.append(lambda n, s=shares: _in_shares(account, n) == s)
        elif op == "type" and arg in _SEARCH_TYPES:
            tests.append(lambda n, t=_SEARCH_TYPES[arg]: n.type == t)
        elif op == "ext" and arg:
            ext = arg.lstrip(".")
            tests.append(lambda n, e=ext: not n.is_dir and extension(n.name) == e)
        elif op == "time":
            lo, hi = _time_window(arg, account.clock())
            tests.append(lambda n, lo=lo, hi=hi: lo <= n.created < hi)
        else:
            raise invalid("query")
    needle = " ".join(words) if call.legacy else query
    if not needle.strip() and not tests:
        raise invalid("query")
    needle = needle.casefold()
    found = [
        n for n in account.descendants()
        if needle in n.name.casefold() and all(test(n) for test in tests)
    ]
    found.sort(key=lambda n: n.id)
    return [call.item(n) for n in found]


def files_dirmap(call: Call) -> list | JsonText:
    account = call.account
    if not call.legacy:
        folders = sorted((n for n in account.descendants() if n.is_dir), key=lambda n: n.id)
        return [{"id": str(n.id), "name": n.name, "parent_id": str(n.parent_id)} for n in folders]
    return _nested_dirmap(account)


def _nested_dirmap(account: Account) -> JsonText:
    """The legacy answer: the root folder object itself (putio.py 0.91/0.92 reads
    ``results['dirs']``), each folder ``{id, name, shared, default_shared, dirs}``; ``shared``
    marks a folder a friend shares. Encoded without recursion: a chain of nested folders may be
    deeper than ``json.dumps`` recurses."""
    shared = {f.dir_id for f in account.friends}
    out: list[str] = []
    stack: list[Node | str] = [account.nodes[ROOT_ID]]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            out.append(node)
            continue
        name = ROOT_NAME if node.id == ROOT_ID else node.name
        out.append(f'{{"id": "{node.id}", "name": {json.dumps(name, ensure_ascii=False)}, '
                   f'"shared": {json.dumps(node.id in shared)}, "default_shared": false, '
                   f'"dirs": [')
        stack.append("]}")
        subdirs = [account.nodes[c] for c in node.children if account.nodes[c].is_dir]
        for index in range(len(subdirs) - 1, -1, -1):
            stack.append(subdirs[index])
            if index:
                stack.append(", ")
    return JsonText("".join(out))
