"""Typed results of the put.io v1 API, parsed leniently from its JSON.

put.io sends ids and sizes as strings or numbers, booleans as true/false, 1/0 or "1"/"0",
and nulls where it has nothing to say. Every ``from_json`` accepts all of these, ignores
fields it does not know and fills missing ones with None (or an empty default), so a new or
missing attribute on the server never breaks a listing. Item ids are normalised to ``str``
(the spec's sample sends them as strings); attributes the spec calls Integer become ``int``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ROOT_ID = "0"

# put.io's filetypes table: the doc sends the name, the live server wanted the integer code.
FILETYPES: dict[str, int] = {
    "folder": 0,
    "file": 1,
    "audio": 2,
    "movie": 3,
    "image": 4,
    "compressed": 5,
    "pdf": 6,
    "ms_doc": 7,
    "text": 8,
    "swf": 9,
}
FILETYPE_NAMES: dict[int, str] = {code: name for name, code in FILETYPES.items()}

_TRUE_STRINGS = frozenset({"1", "true", "yes", "on", "t", "y"})
_FALSE_STRINGS = frozenset({"0", "false", "no", "off", "f", "n", ""})


def to_str(value: Any) -> str | None:
    """A string, or None for null. Numbers become their decimal text (12.0 -> "12")."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def to_id(value: Any) -> str | None:
    """An item id as put.io's samples send it: a string of digits (or whatever text it sent)."""
    text = to_str(value)
    if text is None:
        return None
    text = text.strip()
    return text or None


def to_int(value: Any) -> int | None:
    """An integer from int, float or numeric string; None for null, empty or unparseable
    (including NaN and infinities)."""
    if value is None:
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                return None
    if isinstance(value, float):
        try:
            return int(value)
        except (ValueError, OverflowError):
            return None
    return None


def to_bool(value: Any) -> bool | None:
    """A boolean from true/false, 1/0 or their string forms; None for null or unrecognised."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE_STRINGS:
            return True
        if text in _FALSE_STRINGS:
            return False
    return None


def _type_name(value: Any) -> str | None:
    """An item type as its name, accepting the filetypes table's integer code too."""
    if value is None:
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        code = to_int(value)
        return FILETYPE_NAMES.get(code, str(code)) if code is not None else None
    return str(value)


def _mapping(data: Any) -> Mapping[str, Any]:
    return data if isinstance(data, Mapping) else {}


@dataclass(frozen=True)
class Item:
    """A file or folder (``files`` service)."""

    id: str
    name: str
    type: str | None = None
    size: int = 0
    is_dir: bool = False
    parent_id: str | None = None
    screenshot_url: str | None = None
    thumb_url: str | None = None
    file_icon_url: str | None = None
    download_url: str | None = None
    stream_url: str | None = None
    zip_url: str | None = None
    folder_icon_url: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Item:
        data = _mapping(data)
        type_name = _type_name(data.get("type"))
        is_dir = to_bool(data.get("is_dir"))
        if is_dir is None:
            is_dir = type_name == "folder"
        return cls(
            id=to_id(data.get("id")) or "",
            name=to_str(data.get("name")) or "",
            type=type_name,
            size=max(to_int(data.get("size")) or 0, 0),
            is_dir=is_dir,
            parent_id=to_id(data.get("parent_id")),
            screenshot_url=to_str(data.get("screenshot_url")),
            thumb_url=to_str(data.get("thumb_url")),
            file_icon_url=to_str(data.get("file_icon_url")),
            download_url=to_str(data.get("download_url")),
            stream_url=to_str(data.get("stream_url")),
            zip_url=to_str(data.get("zip_url")),
            folder_icon_url=to_str(data.get("folder_icon_url")),
        )


@dataclass(frozen=True)
class DirNode:
    """One folder of ``files?method=dirmap``, flattened: id, name and the folder it is in."""

    id: str
    name: str
    parent_id: str


@dataclass(frozen=True)
class Message:
    """A dashboard message (``messages`` service)."""

    id: int | None
    user_id: int | None = None
    title: str | None = None
    description: str | None = None
    importance: int | None = None
    file_name: str | None = None
    file_type: str | None = None
    user_file_id: int | None = None
    from_user_id: int | None = None
    channel: int | None = None
    hidden: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Message:
        data = _mapping(data)
        return cls(
            id=to_int(data.get("id")),
            user_id=to_int(data.get("user_id")),
            title=to_str(data.get("title")),
            description=to_str(data.get("description")),
            importance=to_int(data.get("importance")),
            file_name=to_str(data.get("file_name")),
            file_type=to_str(data.get("file_type")),
            user_file_id=to_int(data.get("user_file_id")),
            from_user_id=to_int(data.get("from_user_id")),
            channel=to_int(data.get("channel")),
            hidden=bool(to_bool(data.get("hidden"))),
        )


@dataclass(frozen=True)
class Subscription:
    """An RSS subscription (``subscriptions`` service). Filters are comma-separated strings."""

    id: int | None
    url: str | None = None
    name: str | None = None
    do_filters: str | None = None
    dont_filters: str | None = None
    parent_folder_id: int | None = None
    last_update_time: str | None = None
    next_update_time: str | None = None
    paused: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Subscription:
        data = _mapping(data)
        name = data.get("name")
        if name is None:
            name = data.get("title")
        return cls(
            id=to_int(data.get("id")),
            url=to_str(data.get("url")),
            name=to_str(name),
            do_filters=to_str(data.get("do_filters")),
            dont_filters=to_str(data.get("dont_filters")),
            parent_folder_id=to_int(data.get("parent_folder_id")),
            last_update_time=to_str(data.get("last_update_time")),
            next_update_time=to_str(data.get("next_update_time")),
            paused=bool(to_bool(data.get("paused"))),
        )


@dataclass(frozen=True)
class Transfer:
    """An active transfer. ``id`` and ``percent_done`` are None for a transfer in error."""

    id: str | None
    name: str | None = None
    status: str | None = None
    percent_done: int | None = None

    @property
    def is_error(self) -> bool:
        return (self.status or "").lower().startswith("error")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Transfer:
        data = _mapping(data)
        return cls(
            id=to_id(data.get("id")),
            name=to_str(data.get("name")),
            status=to_str(data.get("status")),
            percent_done=to_int(data.get("percent_done")),
        )


@dataclass(frozen=True)
class Url:
    """One answer of ``urls?method=analyze``. ``urls`` lists a multipart download's parts.

    ``bucket`` is the live server's group for it (singleurl, torrent, multiparturl, error),
    None where the answer was a flat list.
    """

    url: str | None = None
    name: str | None = None
    dl_handler: str | None = None
    dltype: int | None = None
    file_type: str | None = None
    type_name: str | None = None
    file_size: int | None = None
    human_size: str | None = None
    paid_bw: int | None = None
    error: str | None = None
    urls: tuple[str, ...] = ()
    bucket: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, bucket: str | None = None) -> Url:
        data = _mapping(data)
        parts = data.get("urls")
        if isinstance(parts, str):
            parts = [parts]
        if not isinstance(parts, list | tuple):
            parts = []
        error = data.get("error")
        return cls(
            url=to_str(data.get("url")),
            name=to_str(data.get("name")),
            dl_handler=to_str(data.get("dl_handler")),
            dltype=to_int(data.get("dltype")),
            file_type=to_str(data.get("file_type")),
            type_name=to_str(data.get("type_name")),
            file_size=to_int(data.get("file_size")),
            human_size=to_str(data.get("human_size")),
            paid_bw=to_int(data.get("paid_bw")),
            error=None if error in (None, False, "") else to_str(error),
            urls=tuple(str(p) for p in parts if p is not None),
            bucket=bucket,
        )


@dataclass(frozen=True)
class AnalyzeResult:
    """``urls?method=analyze``: the analysed urls, plus the free disk/bandwidth the live server
    reported alongside its bucketed answer (None from the documented flat list)."""

    urls: tuple[Url, ...]
    disk_avail: int | None = None
    bw_avail: int | None = None

    @classmethod
    def from_json(cls, results: Any) -> AnalyzeResult:
        if isinstance(results, list):
            return cls(urls=tuple(Url.from_json(u) for u in results if isinstance(u, Mapping)))
        data = _mapping(results)
        items = data.get("items", data)
        urls: list[Url] = []
        if isinstance(items, list):
            urls = [Url.from_json(u) for u in items if isinstance(u, Mapping)]
        elif isinstance(items, Mapping):
            for bucket, entries in items.items():
                if isinstance(entries, Mapping):
                    entries = [entries]
                if isinstance(entries, list):
                    urls.extend(
                        Url.from_json(u, bucket=str(bucket))
                        for u in entries if isinstance(u, Mapping)
                    )
        return cls(
            urls=tuple(urls),
            disk_avail=to_int(data.get("disk_avail")),
            bw_avail=to_int(data.get("bw_avail")),
        )


@dataclass(frozen=True)
class User:
    """``user?method=info``. The quota fields come from the live server (bytes), None otherwise.

    The spec lists access_token, api_key and api_secret as user attributes; they are kept out
    of the repr.
    """

    user_id: int | None
    user_name: str | None = None
    name: str | None = None
    friends_count: int | None = None
    disk_quota: int | None = None
    disk_quota_available: int | None = None
    bw_quota: int | None = None
    bw_quota_available: int | None = None
    shared_items: int | None = None
    shared_space: int | None = None
    access_token: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    api_secret: str | None = field(default=None, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> User:
        data = _mapping(data)
        user_id = data.get("user_id")
        if user_id is None:
            user_id = data.get("id")
        return cls(
            user_id=to_int(user_id),
            user_name=to_str(data.get("user_name")),
            name=to_str(data.get("name")),
            friends_count=to_int(data.get("friends_count")),
            disk_quota=to_int(data.get("disk_quota")),
            disk_quota_available=to_int(data.get("disk_quota_available")),
            bw_quota=to_int(data.get("bw_quota")),
            bw_quota_available=to_int(data.get("bw_quota_available")),
            shared_items=to_int(data.get("shared_items")),
            shared_space=to_int(data.get("shared_space")),
            access_token=to_str(data.get("access_token")),
            api_key=to_str(data.get("api_key")),
            api_secret=to_str(data.get("api_secret")),
        )


@dataclass(frozen=True)
class Friend:
    """``user?method=friends``: ``dir_id`` is the friend's shared folder (list it by parent_id)."""

    id: str | None
    name: str | None = None
    dir_id: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Friend:
        data = _mapping(data)
        return cls(
            id=to_id(data.get("id")),
            name=to_str(data.get("name")),
            dir_id=to_id(data.get("dir_id")),
        )


def flatten_dirmap(results: Any) -> list[DirNode]:
    """Flatten either dirmap dialect into DirNodes, excluding the root folder "0".

    The doc's answer is a flat list with parent_id; the live server's a nested tree
    ``{"id", "name", "dirs": [...]}`` with or without the root node itself. Nodes without a
    parent_id inherit the folder whose ``dirs`` they were found in (the root for the top).
    """
    nodes: list[DirNode] = []
    seen: set[str] = set()
    # An explicit stack (not recursion): a deep folder tree must not hit the recursion limit.
    stack: list[tuple[Any, str]] = [(results, ROOT_ID)]
    while stack:
        node, parent = stack.pop()
        if isinstance(node, list):
            stack.extend((child, parent) for child in reversed(node))
            continue
        if not isinstance(node, Mapping):
            continue
        node_id = to_id(node.get("id"))
        explicit_parent = to_id(node.get("parent_id"))
        own_parent = explicit_parent if explicit_parent is not None else parent
        if node_id is not None and node_id != ROOT_ID and node_id not in seen:
            seen.add(node_id)
            nodes.append(DirNode(id=node_id, name=to_str(node.get("name")) or "",
                                 parent_id=own_parent))
        children = node.get("dirs")
        if children is not None:
            stack.append((children, node_id if node_id is not None else own_parent))
    return nodes
