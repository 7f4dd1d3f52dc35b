"""The JSON methods of ``/v1/<service>?method=<name>``, one function per method.

A handler receives a :class:`Call` and returns the ``results`` value of the envelope; it raises
:class:`~putiofs.emulator.state.ApiError` for anything the API reports as an error. All
handlers run with the account lock held.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from putiofs.emulator.filetypes import TYPE_CODES, extension, human_size, type_name
from putiofs.emulator.state import (
    BW_QUOTA,
    DISK_QUOTA,
    ROOT_ID,
    ROOT_NAME,
    Account,
    ApiError,
    Node,
    Subscription,
    analyze_link,
    fetched_size,
    invalid,
    missing,
    not_found,
)

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
_URL_RE = re.compile(r"""(?:https?|ftp)://[^\s<>"']+|magnet:\?[^\s<>"']+""", re.IGNORECASE)
_PART_RE = re.compile(r"^(?P<base>.+)\.part(?P<n>\d+)\.rar$", re.IGNORECASE)


@dataclass
class Call:
    """One API call: the account, the decoded ``params`` and how to render the answer."""

    account: Account
    params: dict[str, Any]
    dialect: str
    root_url: str
    token_ttl: float

    @property
    def legacy(self) -> bool:
        return self.dialect == "legacy"

    # ---------------------------------------------------------------- parameter helpers

    def id_param(self, name: str = "id", default: int | None = None) -> int:
        value = self.params.get(name)
        if value is None:
            if default is None:
                raise missing(name)
            return default
        return Account.parse_id(value, name)

    def int_param(self, name: str, default: int, minimum: int) -> int:
        value = self.params.get(name)
        if value is None:
            return default
        if isinstance(value, str) and value.isascii() and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise invalid(name)
        return value

    def str_param(self, name: str, default: str | None = None) -> str:
        value = self.params.get(name)
        if value is None:
            if default is None:
                raise missing(name)
            return default
        if not isinstance(value, str):
            raise invalid(name)
        return value

    def bool_param(self, name: str, default: bool) -> bool:
        value = self.params.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
            return value.lower() in ("true", "1")
        raise invalid(name)

    def links(self, name: str) -> list[str]:
        """A list of strings, or one string holding newline-separated links."""
        value = self.params.get(name)
        if value is None:
            raise missing(name)
        if isinstance(value, str):
            value = value.splitlines()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid(name)
        links = [v.strip() for v in value if v.strip()]
        if not links:
            raise invalid(name)
        return links

    # --------------------------------------------------------------------- rendering

    def item(self, node: Node) -> dict[str, Any]:
        """An Item with the spec's attribute names and JSON types (plus legacy extras)."""
        account = self.account
        nid = str(node.id)
        kind = node.type
        pictured = kind in ("movie", "image")
        data_base = f"{self.root_url}/download-file/{account.user_id}/{nid}"
        item: dict[str, Any] = {
            "id": nid,
            "name": ROOT_NAME if node.id == ROOT_ID else node.name,
            "type": kind,
            "size": str(account.size_of(node)),
            "is_dir": node.is_dir,
            "parent_id": None if node.id == ROOT_ID else str(node.parent_id),
            "screenshot_url": f"{self.root_url}/screenshot/b/{nid}.jpg" if pictured else None,
            "thumb_url": f"{self.root_url}/screenshot/{nid}.jpg" if pictured else None,
            "file_icon_url": f"{self.root_url}/images/file_types/{kind}.png",
            "download_url": data_base,
        }
        if self.legacy:
            stream = f"{self.root_url}/stream/{account.user_id}/{nid}"
            item["stream_url"] = None if node.is_dir else stream
            item["zip_url"] = f"{self.root_url}/download-zip/{account.user_id}/{nid}"
            item["folder_icon_url"] = (
                f"{self.root_url}/images/file_types/folder.png" if node.is_dir else None
            )
        return item


Handler = Callable[[Call], Any]


# ------------------------------------------------------------------------------ files


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


def files_dirmap(call: Call) -> list:
    account = call.account
    if not call.legacy:
        folders = sorted((n for n in account.descendants() if n.is_dir), key=lambda n: n.id)
        return [{"id": str(n.id), "name": n.name, "parent_id": str(n.parent_id)} for n in folders]

    def tree(node: Node) -> dict:
        subdirs = [account.nodes[c] for c in node.children if account.nodes[c].is_dir]
        name = ROOT_NAME if node.id == ROOT_ID else node.name
        return {"id": str(node.id), "name": name, "dirs": [tree(d) for d in subdirs]}

    return [tree(account.nodes[ROOT_ID])]


# --------------------------------------------------------------------------- messages


def messages_list(call: Call) -> list:
    return [
        {
            "id": m.id,
            "user_id": call.account.user_id,
            "title": m.title,
            "description": m.description,
            "importance": m.importance,
            "file_name": m.file_name,
            "file_type": m.file_type,
            "user_file_id": m.user_file_id,
            "from_user_id": m.from_user_id,
            "channel": m.channel,
            "hidden": m.hidden,
        }
        for m in sorted(call.account.messages.values(), key=lambda m: m.id)
    ]


def messages_delete(call: Call) -> list:
    if call.account.messages.pop(call.id_param(), None) is None:
        raise not_found("Message")
    return []


# -------------------------------------------------------------------------- transfers


def _transfers(call: Call) -> list:
    out = []
    for t in sorted(call.account.transfers.values(), key=lambda t: t.id):
        status, percent = call.account.transfer_progress(t)
        tid = None if t.error is not None else str(t.id)
        out.append({"id": tid, "name": t.name, "status": status, "percent_done": percent})
    return out


def transfers_list(call: Call) -> list:
    return _transfers(call)


def transfers_add(call: Call) -> list:
    for link in call.links("links"):
        call.account.add_transfer(link)
    call.account.advance()
    return _transfers(call)


def transfers_cancel(call: Call) -> list:
    transfer_id = call.id_param()
    transfer = call.account.transfers.get(transfer_id)
    if transfer is None or transfer.error is not None:
        raise not_found("Transfer")
    del call.account.transfers[transfer_id]
    return _transfers(call)


# ------------------------------------------------------------------------------- urls


def _url_object(link: str) -> tuple[str, dict]:
    """(bucket, Url object) for one link: bucket is singleurl, torrent or error."""
    name, error = analyze_link(link)
    size = fetched_size(link)
    kind = type_name(name, False)
    if error is not None:
        return "error", {
            "dl_handler": "Single Url", "name": name, "file_type": "file", "error": error,
            "url": link, "paid_bw": 0, "file_size": "0", "type_name": "file", "dltype": 3,
            "human_size": human_size(0),
        }
    if link.lower().startswith("magnet:") or link.lower().split("?")[0].endswith(".torrent"):
        return "torrent", {
            "dl_handler": "Torrent", "name": name, "file_type": kind, "file_size": size,
            "url": link, "paid_bw": 0, "error": None, "type_name": kind, "dltype": 2,
            "human_size": human_size(size),
        }
    return "singleurl", {
        "dl_handler": "Single Url", "name": name, "file_type": kind, "error": None, "url": link,
        "paid_bw": 0, "file_size": str(size), "type_name": kind, "dltype": 3,
        "human_size": human_size(size),
    }


def urls_analyze(call: Call) -> Any:
    links = call.links("links" if call.legacy else "urls")
    buckets: dict[str, list] = {"singleurl": [], "torrent": [], "multiparturl": [], "error": []}
    parts: dict[str, list[tuple[int, str]]] = {}
    for link in links:
        name, error = analyze_link(link)
        match = _PART_RE.match(name)
        if error is None and match:
            parts.setdefault(match["base"], []).append((int(match["n"]), link))
            continue
        bucket, obj = _url_object(link)
        buckets[bucket].append(obj)
    for base, members in parts.items():
        if len(members) == 1:
            bucket, obj = _url_object(members[0][1])
            buckets[bucket].append(obj)
            continue
        urls = [link for _, link in sorted(members)]
        size = sum(fetched_size(u) for u in urls)
        buckets["multiparturl"].append({
            "dltype": 4, "dl_handler": "Multipart", "name": base, "file_size": size,
            "paid_bw": size, "urls": urls, "error": None, "human_size": human_size(size),
        })
    if call.legacy:
        used = call.account.size_of(call.account.nodes[ROOT_ID])
        return {
            "items": buckets,
            "disk_avail": str(max(0, DISK_QUOTA - used)),
            "bw_avail": str(max(0, BW_QUOTA - call.account.bw_used)),
        }
    return buckets["singleurl"] + buckets["torrent"] + buckets["multiparturl"] + buckets["error"]


def urls_extracturls(call: Call) -> list:
    text = call.str_param("txt")
    seen: dict[str, None] = {}
    for match in _URL_RE.finditer(text):
        seen.setdefault(match.group(0).rstrip(".,;)"), None)
    return [{"url": url} for url in seen]


# ------------------------------------------------------------------------------- user


def user_info(call: Call) -> list:
    account = call.account
    info: dict[str, Any] = {"user_id": account.user_id, "user_name": account.user_name}
    if call.legacy:
        used = account.size_of(account.nodes[ROOT_ID])
        shared = [account.nodes[f.dir_id] for f in account.friends if f.dir_id in account.nodes]
        info.update({
            "name": account.user_name,
            "friends_count": len(account.friends),
            "disk_quota": str(DISK_QUOTA),
            "disk_quota_available": str(max(0, DISK_QUOTA - used)),
            "bw_quota": str(BW_QUOTA),
            "bw_quota_available": str(max(0, BW_QUOTA - account.bw_used)),
            "shared_items": len(shared),
            "shared_space": str(sum(account.size_of(n) for n in shared)),
        })
    return [info]


def user_friends(call: Call) -> list:
    friends = call.account.friends
    return [{"id": str(f.id), "name": f.name, "dir_id": str(f.dir_id)} for f in friends]


def user_acctoken(call: Call) -> Any:
    token = {"token": call.account.issue_token(call.token_ttl)}
    return token if call.legacy else [token]


# ---------------------------------------------------------------------- subscriptions


def _stamp(when: float) -> str:
    return dt.datetime.fromtimestamp(when).strftime("%Y-%m-%d %H:%M")


def _subscription_json(sub: Subscription) -> dict:
    return {
        "id": sub.id,
        "url": sub.url,
        "name": sub.name,
        "do_filters": sub.do_filters,
        "dont_filters": sub.dont_filters,
        "parent_folder_id": sub.parent_folder_id,
        "last_update_time": _stamp(sub.last_update),
        "next_update_time": _stamp(sub.last_update + 3600),
        "paused": sub.paused,
    }


def _subscription(call: Call) -> Subscription:
    sub = call.account.subscriptions.get(call.id_param())
    if sub is None:
        raise not_found("Subscription")
    return sub


def _apply_subscription_params(call: Call, sub: Subscription) -> None:
    """Validate every optional field first, then change ``sub`` (all or nothing)."""
    name = call.str_param("title", sub.name)
    url = call.str_param("url", sub.url)
    if not name:
        raise invalid("title")
    if not url:
        raise invalid("url")
    do = call.str_param("do_filters", sub.do_filters)
    dont = call.str_param("dont_filters", sub.dont_filters)
    folder = call.account.folder(call.id_param("parent_folder_id", sub.parent_folder_id)).id
    paused = call.bool_param("paused", sub.paused)
    sub.name, sub.url, sub.do_filters, sub.dont_filters = name, url, do, dont
    sub.parent_folder_id, sub.paused = folder, paused


def subscriptions_list(call: Call) -> list:
    subs = sorted(call.account.subscriptions.values(), key=lambda s: s.id)
    return [_subscription_json(s) for s in subs]


def subscriptions_create(call: Call) -> list:
    sub = Subscription(0, call.str_param("title"), call.str_param("url"))
    _apply_subscription_params(call, sub)
    return [_subscription_json(call.account.add_subscription(sub))]


def subscriptions_edit(call: Call) -> list:
    sub = _subscription(call)
    _apply_subscription_params(call, sub)
    return [_subscription_json(sub)]


def subscriptions_delete(call: Call) -> list:
    del call.account.subscriptions[_subscription(call).id]
    return []


def subscriptions_pause(call: Call) -> list:
    sub = _subscription(call)
    sub.paused = not sub.paused
    return [_subscription_json(sub)]


def subscriptions_info(call: Call) -> list:
    return [_subscription_json(_subscription(call))]


SERVICES: dict[str, dict[str, Handler]] = {
    "files": {
        "list": files_list, "create_dir": files_create_dir, "info": files_info,
        "rename": files_rename, "move": files_move, "delete": files_delete,
        "search": files_search, "dirmap": files_dirmap,
    },
    "messages": {"list": messages_list, "delete": messages_delete},
    "transfers": {"list": transfers_list, "cancel": transfers_cancel, "add": transfers_add},
    "urls": {"analyze": urls_analyze, "extracturls": urls_extracturls},
    "user": {"info": user_info, "friends": user_friends, "acctoken": user_acctoken},
    "subscriptions": {
        "list": subscriptions_list, "create": subscriptions_create, "edit": subscriptions_edit,
        "delete": subscriptions_delete, "pause": subscriptions_pause, "info": subscriptions_info,
    },
}


def find_handler(service: str, method: str) -> Handler:
    methods = SERVICES.get(service)
    if methods is None:
        raise ApiError(f"Unknown service: {service}", "route")
    handler = methods.get(method)
    if handler is None:
        raise ApiError(f"Unknown method: {method}", "route")
    return handler


def check_request(raw: str | None, account: Account) -> dict[str, Any]:
    """Decode the ``request`` JSON, check the credentials and return ``params``."""
    if raw is None:
        raise ApiError("Malformed request", "malformed")
    try:
        request = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError("Malformed request", "malformed") from None
    if not isinstance(request, dict):
        raise ApiError("Malformed request", "malformed")
    params = request.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ApiError("Malformed request", "malformed")
    key, secret = request.get("api_key"), request.get("api_secret")
    if not (isinstance(key, str) and isinstance(secret, str)) or not account.credentials_match(
        key, secret
    ):
        raise ApiError("Invalid api_key or api_secret", "auth")
    return params
