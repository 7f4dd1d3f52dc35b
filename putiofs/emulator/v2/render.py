"""v2 JSON objects: File, TrashFile, Transfer, Event."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from putiofs.emulator.account.filetypes import content_type, extension
from putiofs.emulator.account.links import fetched_size
from putiofs.emulator.account.state import ROOT_ID, ROOT_NAME
from putiofs.emulator.account.trash import KEEP_SECONDS
from putiofs.emulator.v2.wire import stamp

if TYPE_CHECKING:
    from putiofs.emulator.account.records import Event, Transfer
    from putiofs.emulator.account.state import Account, Node
    from putiofs.emulator.account.trash import TrashRecord
    from putiofs.emulator.v2.request import V2Site
    from putiofs.emulator.v2.wire import Params

FOLDER_TYPE = "application/x-directory"

#: The account model's type names -> v2 ``file_type``.
FILE_TYPES = {
    "folder": "FOLDER", "movie": "VIDEO", "audio": "AUDIO", "image": "IMAGE",
    "compressed": "ARCHIVE", "pdf": "PDF", "text": "TEXT", "swf": "SWF",
}


def file_type(node: Node) -> str:
    return FILE_TYPES.get(node.type, "FILE")


def mime_type(node: Node) -> str:
    """``content_type``: exactly ``application/x-directory`` for a folder, else a MIME type
    without parameters."""
    return FOLDER_TYPE if node.is_dir else content_type(node.name).split(";")[0]


def file_object(api: V2Site, node: Node, params: Params | None = None,
                suffix: str = "") -> dict[str, Any]:
    """A File with every base field; requested-only fields when ``params`` asks for them
    (``stream_url=1``, ``mp4_status=1``, ...; ``suffix`` "_parent" for a listing's parent)."""
    account = api.emulator.account
    is_root = node.id == ROOT_ID
    kind = file_type(node)
    mp4 = api.mp4.status(node)
    item: dict[str, Any] = {
        "id": node.id,
        "name": ROOT_NAME if is_root else node.name,
        "parent_id": None if is_root else node.parent_id,
        "size": account.size_of(node),
        "content_type": mime_type(node),
        "file_type": kind,
        "extension": None if node.is_dir else (extension(node.name) or None),
        "crc32": account.crc32_of(node),
        "created_at": stamp(node.created),
        "updated_at": stamp(node.updated),
        "first_accessed_at": None,
        "folder_type": "SHARED_ROOT" if _shared(account, node) else "REGULAR",
        "icon": None,
        "screenshot": api.screenshots.url_for(api.emulator.root_url, node),
        "is_hidden": False,
        "is_shared": _shared(account, node) or api.shares.is_shared(node.id),
        "is_mp4_available": mp4.get("status") == "COMPLETED",
        "opensubtitles_hash": None,
    }
    if params is None:
        return item
    if params.flag("stream_url" + suffix):
        item["stream_url"] = None if node.is_dir else api.storage.url_for(node)
    if params.flag("mp4_status" + suffix) or params.flag("mp4_stream_url" + suffix):
        item["mp4_size"] = mp4.get("size")
        item["need_convert"] = kind == "VIDEO" and mp4.get("status") != "COMPLETED"
    if params.flag("mp4_stream_url" + suffix) and item["is_mp4_available"]:
        item["mp4_stream_url"] = api.storage.url_for(node)
    for flag in ("video_metadata", "media_metadata"):
        if params.flag(flag + suffix):
            item[flag] = None
    if params.flag("start_from" + suffix) and not node.is_dir:
        item["start_from"] = api.web.playback.start_from.get(node.id, 0)
    if params.flag("codecs" + suffix):
        item["content_type_and_codecs"] = None
    return item


def _shared(account: Account, node: Node) -> bool:
    return any(friend.dir_id == node.id for friend in account.friends)


def trash_object(api: V2Site, record: TrashRecord) -> dict[str, Any]:
    node = record.node
    kind = file_type(node)
    return {
        "id": node.id,
        "name": node.name,
        "parent_id": record.parent_id,
        "size": record.size,
        "content_type": mime_type(node),
        "file_type": kind,
        "extension": None if node.is_dir else (extension(node.name) or None),
        "crc32": None if node.is_dir else node.crc,
        "created_at": stamp(node.created),
        "updated_at": stamp(node.updated),
        "folder_type": "REGULAR",
        "icon": None,
        "screenshot": None,
        "is_shared": False,
        "deleted_at": stamp(record.deleted),
        "expiration_date": stamp(record.deleted + KEEP_SECONDS),
    }


_TRANSFER_STATUS = {"queued": "IN_QUEUE", "downloading": "DOWNLOADING",
                    "completed": "COMPLETED", "error": "ERROR"}


def transfer_object(api: V2Site, transfer: Transfer) -> dict[str, Any]:
    account = api.emulator.account
    phase, percent = account.transfers.phase(transfer)
    torrent = transfer.link.lower().startswith("magnet:") or \
        transfer.link.lower().split("?")[0].endswith(".torrent")
    size = fetched_size(transfer.link)
    downloaded = size * percent // 100
    seconds = max(account.transfer_seconds, 1e-9)
    speed = int(size / seconds) if phase == "downloading" else 0
    return {
        "id": transfer.id,
        "name": transfer.name,
        "status": _TRANSFER_STATUS[phase],
        "type": "TORRENT" if torrent else "URL",
        "source": transfer.link,
        "save_parent_id": transfer.save_parent_id,
        "file_id": transfer.file_id,
        "download_id": transfer.id,
        "size": size if phase != "error" else 0,
        "downloaded": downloaded,
        "uploaded": 0,
        "percent_done": percent,
        "completion_percent": percent,
        "down_speed": speed,
        "up_speed": 0,
        "estimated_time": (int((100 - percent) * seconds / 100) + 1
                           if phase in ("queued", "downloading") else None),
        "availability": 100 if phase != "error" else None,
        "current_ratio": 0.0,
        "seconds_seeding": 0,
        "peers_connected": 0,
        "peers_getting_from_us": 0,
        "peers_sending_to_us": 0,
        "created_at": stamp(transfer.started),
        "started_at": stamp(transfer.started) if phase != "queued" else None,
        "finished_at": stamp(transfer.finished) if phase in ("completed", "error") else None,
        "error_message": transfer.error if phase == "error" else None,
        "status_message": _status_message(phase, percent),
        "callback_url": transfer.callback_url,
        "client_ip": None,
        "hash": None,
        "is_private": False,
        "created_torrent": False,
        "simulated": False,
        "subscription_id": None,
        "torrent_link": f"/v2/transfers/{transfer.id}/torrent" if torrent else None,
        "tracker": None,
        "tracker_message": None,
        "links": [],
        "userfile_exists": transfer.file_id is not None
        and transfer.file_id in account.nodes,
    }


def _status_message(phase: str, percent: int) -> str:
    if phase == "queued":
        return "In queue..."
    if phase == "downloading":
        return f"Downloading, {percent}% done"
    if phase == "error":
        return "Error"
    return "Completed"


def event_object(account: Account, event: Event) -> dict[str, Any]:
    return {"id": event.id, "type": event.kind, "user_id": account.user_id,
            "created_at": stamp(event.created), **event.fields}
