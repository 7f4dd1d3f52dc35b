"""Typed results of the put.io v1 API, read from its JSON: leniently where the meaning is
certain, strictly where a wrong reading would be shown to the user as fact.

Lenient (the form varies, the meaning does not): ids and numbers as strings or numbers,
booleans as true/false, 1/0 or "1"/"0" (anything else is unknown: None), nulls where put.io
has nothing to say, unknown fields ignored, missing ones None or an empty default, so a new or
missing attribute never breaks a listing. Item ids are normalised to ``str`` (the spec's
sample sends them as strings); attributes the spec calls Integer become ``int``.

Sizes are byte counts and are never guessed (:func:`putiofs.net.lenient.to_size`). Accepted: whole
numbers from 0 to 2**63-1 (``off_t``) sent as JSON integers, as whole floats up to 2**53
(beyond that a float is no longer the exact number), or as ASCII decimal text with a fraction
or exponent only where the value stays whole ("123", " 123 ", "123.0", "1.5e3"). Refused:
negative numbers, anything above 2**63-1 ("1e30", 2**64+5, which a 64-bit field would show as
5), fractions (12.5, "1e-3"), whole floats above 2**53, true/false, NaN, infinities, any other
text ("lots", "0x10", "+5", "1_000") and lists or objects. A null, absent or empty size
states nothing and reads as 0, like every other absent field (put.io's items always carry
one; a refused size states something false).

What a refused value does depends on what it would have been shown as:

- A file whose size is refused, and any item without an id (missing, null, "", true/false,
  negative, fractional, list or object: :func:`putiofs.net.lenient.to_id`), cannot be read:
  :meth:`Item.from_json` raises :class:`UnreadableItem`. The client leaves such items out of
  a listing or search (one warning per listing, see ``V1Client.iter_folder``), so their
  siblings stay usable; a single-item answer (info, rename, move, create_dir) holding one is a
  ServerError, EIO on the mount. A file is never shown with a size other than the one
  put.io stated, and an item without an id could not be opened, listed, renamed or deleted
  anyway: every v1 call names items by id, and a missing one may be taken for the root
  (``files?method=list`` without a ``parent_id`` lists the root).
- A folder's size is only informational (its ``user.putio.size`` attribute): a refused one
  reads as 0 rather than hiding the folder and everything in it.
- Sizes shown by the commands (a link's size from ``urls?method=analyze``, quotas, free
  space) read as None, "unknown", never as a wrong number.

A v1 object that is one of the version-neutral models of :mod:`putiofs.api.services` (and
perhaps a little more) is read into a subclass of it: a transfer, a subscription, a friend, a
message, a link analysis; the folder map is read into :class:`putiofs.api.backend.FolderRef`.

Each field says how it is read (:func:`putiofs.net.lenient.json_field`); a subclass declares
again, with the same default, each neutral field it reads. ``from_json`` reads only what a
declaration cannot say: the fields that decide together whether an item can be read, and
those that depend on the answer around them (a link's bucket, the analysed links).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from putiofs.api import services
from putiofs.api.backend import ROOT_ID, FolderRef
from putiofs.net.lenient import (
    BadValue,
    from_answer,
    json_field,
    mapping,
    shown,
    size_or_none,
    to_bool,
    to_flag,
    to_id,
    to_int,
    to_size,
    to_str,
    to_text,
)

log = logging.getLogger(__name__)

# put.io's filetypes table: the doc sends the name, the live server wanted the integer code.
FILETYPES: dict[str, int] = {
    "folder": 0, "file": 1, "audio": 2, "movie": 3, "image": 4, "compressed": 5, "pdf": 6,
    "ms_doc": 7, "text": 8, "swf": 9,
}
FILETYPE_NAMES: dict[int, str] = {code: name for name, code in FILETYPES.items()}


def _type_name(value: Any) -> str | None:
    """An item type as its name, accepting the filetypes table's integer code too."""
    if value is None:
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        code = to_int(value)
        return FILETYPE_NAMES.get(code, str(code)) if code is not None else None
    return str(value)


def _part_links(parts: Any) -> tuple[str, ...]:
    """A multipart download's links: a list of links or of objects with a ``url`` (or one)."""
    if isinstance(parts, str | Mapping):
        parts = [parts]
    if not isinstance(parts, list | tuple):
        return ()
    links = (part.get("url") if isinstance(part, Mapping) else part for part in parts)
    return tuple(str(link) for link in links if link is not None and link != "")


class UnreadableItem(ValueError):
    """An item that cannot be shown without inventing something (see the module docstring):
    ``reason`` says why, ``item_id`` is its id where it had a usable one."""

    def __init__(self, reason: str, item_id: str | None = None) -> None:
        super().__init__(f"item {item_id}: {reason}" if item_id is not None else reason)
        self.reason = reason
        self.item_id = item_id


@dataclass(frozen=True)
class Item:
    """A file or folder (``files`` service). :meth:`from_json` reads ``id``, ``type``,
    ``is_dir`` and ``size`` itself: they decide together whether the item can be read."""

    id: str
    name: str = json_field(to_text)
    type: str | None = None
    size: int = 0
    is_dir: bool = False
    parent_id: str | None = json_field(to_id, default=None)
    screenshot_url: str | None = json_field(to_str, default=None)
    thumb_url: str | None = json_field(to_str, default=None)
    file_icon_url: str | None = json_field(to_str, default=None)
    download_url: str | None = json_field(to_str, default=None)
    stream_url: str | None = json_field(to_str, default=None)
    zip_url: str | None = json_field(to_str, default=None)
    folder_icon_url: str | None = json_field(to_str, default=None)

    @classmethod
    def from_json(cls, data: Any) -> Item:
        """The item an answer describes; UnreadableItem if it has no id, or is a file whose
        size is not a byte count."""
        if not isinstance(data, Mapping):
            raise UnreadableItem(f"{shown(data)} is not an item")
        item_id = to_id(data.get("id"))
        if item_id is None:
            raise UnreadableItem(f"no id (id {shown(data.get('id'))})")
        type_name = _type_name(data.get("type"))
        is_dir = to_bool(data.get("is_dir"))
        if is_dir is None:
            is_dir = type_name == "folder"
        try:
            size = to_size(data.get("size"))
        except BadValue as exc:
            if not is_dir:
                raise UnreadableItem(f"size {exc}", item_id) from None
            size = None
        return from_answer(cls, data, id=item_id, type=type_name, size=size or 0, is_dir=is_dir)


@dataclass(frozen=True)
class Message(services.Message):
    """A dashboard message (``messages`` service): the version-neutral model and the fields
    only v1's answer has."""

    id: int | None = json_field(to_int)
    title: str | None = json_field(to_str, default=None)
    description: str | None = json_field(to_str, default=None)
    file_name: str | None = json_field(to_str, default=None)
    file_type: str | None = json_field(to_str, default=None)
    importance: int | None = json_field(to_int, default=None)
    user_id: int | None = json_field(to_int, default=None)
    user_file_id: int | None = json_field(to_int, default=None)
    from_user_id: int | None = json_field(to_int, default=None)
    channel: int | None = json_field(to_int, default=None)
    hidden: bool = json_field(to_flag, default=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Message:
        return from_answer(cls, data)


@dataclass(frozen=True)
class Subscription(services.Subscription):
    """An RSS subscription (``subscriptions`` service): the version-neutral model, read from a
    v1 answer (filters are comma-separated strings; the live server said ``title``)."""

    id: int | None = json_field(to_int)
    url: str | None = json_field(to_str, default=None)
    name: str | None = json_field(to_str, fallback="title", default=None)
    do_filters: str | None = json_field(to_str, default=None)
    dont_filters: str | None = json_field(to_str, default=None)
    parent_folder_id: int | None = json_field(to_int, default=None)
    last_update_time: str | None = json_field(to_str, default=None)
    next_update_time: str | None = json_field(to_str, default=None)
    paused: bool = json_field(to_flag, default=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Subscription:
        return from_answer(cls, data)


@dataclass(frozen=True)
class Transfer(services.Transfer):
    """An active transfer: the version-neutral model, read from a v1 answer (its status is
    put.io's own words). ``id`` and ``percent_done`` are None for a transfer in error; the
    neutral fields not declared here are not read from a v1 answer (None)."""

    id: str | None = json_field(to_id)
    name: str | None = json_field(to_str, default=None)
    status: str | None = json_field(to_str, default=None)
    percent_done: int | None = json_field(to_int, default=None)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Transfer:
        return from_answer(cls, data)


@dataclass(frozen=True)
class Url(services.LinkInfo):
    """One answer of ``urls?method=analyze``: the version-neutral link and the fields only v1's
    answer has. ``urls`` lists a multipart download's parts.

    The doc names the size ``file_size`` and a multipart download's links ``urls``; the live
    server (as put.io's own v1 library read it) ``size`` and ``parts``, each part a link or an
    object with its ``url``. Both are read, the doc's name first. ``bucket`` is the live
    server's group for it (singleurl, torrent, multiparturl, error), None where the answer was
    a flat list; one in the error bucket is an error even when it carries no message.
    """

    url: str | None = json_field(to_str, default=None)
    name: str | None = json_field(to_str, default=None)
    dl_handler: str | None = json_field(to_str, default=None)
    type_name: str | None = json_field(to_str, default=None)
    file_size: int | None = json_field(size_or_none, fallback="size", default=None)
    human_size: str | None = json_field(to_str, default=None)
    error: str | None = None
    urls: tuple[str, ...] = json_field(_part_links, fallback="parts", default=())
    dltype: int | None = json_field(to_int, default=None)
    file_type: str | None = json_field(to_str, default=None)
    paid_bw: int | None = json_field(size_or_none, default=None)
    bucket: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, bucket: str | None = None) -> Url:
        data = mapping(data)
        error = data.get("error")
        error_text = None if error in (None, False, "") else to_str(error)
        if error_text is None and bucket == "error":
            error_text = "put.io cannot fetch this link"
        return from_answer(cls, data, error=error_text, bucket=bucket)


@dataclass(frozen=True)
class AnalyzeResult(services.LinkAnalysis):
    """``urls?method=analyze``: the analysed urls (:class:`Url`), plus the free disk/bandwidth
    the live server reported alongside its bucketed answer (None from the documented flat
    list)."""

    urls: tuple[Url, ...]
    disk_avail: int | None = json_field(size_or_none, default=None)
    bw_avail: int | None = json_field(size_or_none, default=None)

    @classmethod
    def from_json(cls, results: Any) -> AnalyzeResult:
        data = mapping(results)
        items = results if isinstance(results, list) else data.get("items", data)
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
        return from_answer(cls, data, urls=tuple(urls))


@dataclass(frozen=True)
class User:
    """``user?method=info``. The quota fields come from the live server (bytes), None otherwise.

    The spec lists access_token, api_key and api_secret as user attributes; they are kept out
    of the repr.
    """

    user_id: int | None = json_field(to_int, fallback="id")
    user_name: str | None = json_field(to_str, default=None)
    name: str | None = json_field(to_str, default=None)
    friends_count: int | None = json_field(to_int, default=None)
    disk_quota: int | None = json_field(size_or_none, default=None)
    disk_quota_available: int | None = json_field(size_or_none, default=None)
    bw_quota: int | None = json_field(size_or_none, default=None)
    bw_quota_available: int | None = json_field(size_or_none, default=None)
    shared_items: int | None = json_field(to_int, default=None)
    shared_space: int | None = json_field(size_or_none, default=None)
    access_token: str | None = json_field(to_str, default=None, repr=False)
    api_key: str | None = json_field(to_str, default=None, repr=False)
    api_secret: str | None = json_field(to_str, default=None, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> User:
        return from_answer(cls, data)


@dataclass(frozen=True)
class Friend(services.Friend):
    """``user?method=friends``: the version-neutral model, read from a v1 answer; ``dir_id`` is
    the friend's shared folder (list it by parent_id)."""

    id: str | None = json_field(to_id)
    name: str | None = json_field(to_str, default=None)
    dir_id: str | None = json_field(to_id, default=None)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Friend:
        return from_answer(cls, data)


def flatten_dirmap(results: Any) -> list[FolderRef]:
    """Flatten either dirmap dialect into FolderRefs, excluding the root folder "0".

    The doc's answer is a flat list with parent_id; the live server's a nested tree
    ``{"id", "name", "dirs": [...], ...}``: the root folder object itself, a list holding it,
    or the root's ``dirs`` alone. Nodes without a parent_id belong to the folder whose ``dirs``
    they were found in (the root for the top level; a top-level node without an id is the
    root). A folder without a usable id is left out, like in a listing, and so are the
    folders below it that name no parent_id of their own: they cannot be placed, and a map
    that put them one level up would show them at a path where they are not.
    """
    nodes: list[FolderRef] = []
    seen: set[str] = set()
    left_out = 0
    # An explicit stack (not recursion): a deep folder tree must not hit the recursion limit.
    # Each entry: (node, the folder it was found in or None if that is unknown, top level?).
    stack: list[tuple[Any, str | None, bool]] = [(results, ROOT_ID, True)]
    while stack:
        node, parent, top = stack.pop()
        if isinstance(node, list):
            stack.extend((child, parent, top) for child in reversed(node))
            continue
        if not isinstance(node, Mapping):
            continue
        node_id = to_id(node.get("id"))
        explicit_parent = to_id(node.get("parent_id"))
        own_parent = explicit_parent if explicit_parent is not None else parent
        if node_id is None and top:
            node_id = ROOT_ID
        placed = not (node_id is None or own_parent is None or own_parent == node_id)
        if not placed:
            left_out += node_id != ROOT_ID
        elif node_id != ROOT_ID and node_id not in seen:
            seen.add(node_id)
            nodes.append(FolderRef(id=node_id, name=to_text(node.get("name")),
                                   parent_id=own_parent))
        children = node.get("dirs")
        if children is not None:
            stack.append((children, node_id if placed or node_id == ROOT_ID else None, False))
    if left_out:
        log.warning("folder map: %d folder(s) left out (no usable id, or under one)", left_out)
    return nodes
