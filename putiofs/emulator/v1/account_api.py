"""The account's other services: messages, transfers, urls, user and subscriptions."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from putiofs.emulator.account.filetypes import human_size, type_name
from putiofs.emulator.account.links import analyze_link, fetched_size
from putiofs.emulator.account.records import Subscription
from putiofs.emulator.account.state import BW_QUOTA, DISK_QUOTA, ROOT_ID, invalid, not_found

if TYPE_CHECKING:
    from putiofs.emulator.v1.call import Call

_URL_RE = re.compile(r"""(?:https?|ftp)://[^\s<>"']+|magnet:\?[^\s<>"']+""", re.IGNORECASE)
_PART_RE = re.compile(r"^(?P<base>.+)\.part(?P<n>\d+)\.rar$", re.IGNORECASE)


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
        status, percent = call.account.transfers.progress(t)
        tid = None if t.error is not None else str(t.id)
        out.append({"id": tid, "name": t.name, "status": status, "percent_done": percent})
    return out


def transfers_list(call: Call) -> list:
    return _transfers(call)


def transfers_add(call: Call) -> list:
    for link in call.links("links"):
        call.account.transfers.add(link)
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


def _add_sizes(buckets: dict[str, list]) -> None:
    """The live server's ``size`` (an integer) on every fetchable item and multipart part:
    putio.py 0.91/0.92 reads ``paid_bw`` and ``size`` of each, and ``parts`` of a multipart."""
    for bucket in ("singleurl", "torrent", "multiparturl"):
        for item in buckets[bucket]:
            for obj in (item, *item.get("parts", ())):
                obj["size"] = int(obj["file_size"])


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
        multipart = {
            "dltype": 4, "dl_handler": "Multipart", "name": base, "file_size": size,
            "paid_bw": size, "urls": urls, "error": None, "human_size": human_size(size),
        }
        if call.legacy:
            multipart["parts"] = [_url_object(u)[1] for u in urls]
        buckets["multiparturl"].append(multipart)
    if call.legacy:
        _add_sizes(buckets)
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
