"""The put.io v1 API client: one method per endpoint, typed results, typed errors.

The envelope, the transport, retries and dialect detection are
:class:`~putiofs.v1.wire.V1Wire`'s (see there); this module says what each endpoint
sends and how its answer is read.

Only calls that are safe to repeat are retried. A call that creates something
(``files.create_dir``, ``transfers.add``, ``subscriptions.create``) gets exactly one attempt:
when a request times out we cannot know whether put.io already acted on it, and a blind repeat
would create a second folder, a second download or a second subscription. Likewise the
``subscriptions.pause`` toggle is not repeated (twice would undo it). A repeated delete that
finds the thing already gone counts as done.

Dialects: the client adapts the two requests where the live v1 server differed from its
document (the ``files.list`` type filter as integer code, ``urls.analyze`` taking ``links``)
and parses every answer leniently in either shape.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from putiofs.api.backend import FolderRef
from putiofs.api.errors import NotFoundError, ServerError
from putiofs.api.services import SubscriptionFields
from putiofs.logs import register_secret
from putiofs.v1.models import (
    FILETYPE_NAMES,
    FILETYPES,
    ROOT_ID,
    AnalyzeResult,
    Friend,
    Item,
    Message,
    Subscription,
    Transfer,
    UnreadableItem,
    User,
    flatten_dirmap,
    to_str,
)
from putiofs.v1.wire import V1Wire

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 2000  # what put.io's own v1 client library asked for


class V1Client:
    """A client for put.io's v1 API: one method per endpoint, each a ``call`` of ``wire``
    (:class:`~putiofs.v1.wire.V1Wire`, whose docstring explains its options).

    ``V1Client(V1Wire(settings, retries=...))``; the wire's ``close()`` (or ``with``) ends the
    pooled session it created.
    """

    def __init__(self, wire: V1Wire) -> None:
        self.wire = wire

    def __repr__(self) -> str:
        return f"V1Client({self.wire!r})"

    # -- files ----------------------------------------------------------------------------

    def list_files(self, parent_id: str | int = ROOT_ID, offset: int = 0,
                   limit: int | None = None, type: str | int | None = None,
                   orderby: str | None = None, id: str | int | None = None) -> list[Item]:
        """One page of a folder (``files.list``). ``type`` is a filetypes name or code.

        Items that cannot be read are left out with a warning (see :meth:`iter_folder`).
        """
        results = self._list_page(parent_id, offset=offset, limit=limit, type=type,
                                  orderby=orderby, id=id)
        return _items(results, f"files.list of folder {parent_id}")

    def _list_page(self, parent_id: str | int, *, offset: int = 0, limit: int | None = None,
                   type: str | int | None = None, orderby: str | None = None,
                   id: str | int | None = None) -> Any:
        params: dict[str, Any] = {"parent_id": str(parent_id)}
        if offset:
            params["offset"] = int(offset)
        if limit is not None:
            params["limit"] = int(limit)
        if type is not None:
            params["type"] = self._type_param(type)
        if orderby is not None:
            params["orderby"] = orderby
        if id is not None:
            params["id"] = str(id)
        return self.wire.call("files", "list", params)

    def iter_folder(self, parent_id: str | int, page_size: int = DEFAULT_PAGE_SIZE,
                    orderby: str = "id_asc") -> Iterator[Item]:
        """Every item of a folder, page after page until a page shorter than ``page_size``.

        Ordered by id so that pages stay stable while the folder changes; an item seen on an
        earlier page is not yielded twice. Pages are counted in entries as sent, readable or
        not, so an unreadable entry never ends the paging early.

        Items that cannot be read (:class:`putiofs.v1.models.UnreadableItem`: no id, or a file
        whose size is not a byte count) are left out, with one warning for the whole listing:
        their siblings stay usable. A folder whose every entry is left out is a ServerError
        (EIO on the mount), never an empty folder: put.io deletes folders recursively, so
        ``rmdir`` must not take a folder that only looks empty for an empty one. An answer
        whose results are not a list of items is a ServerError too.
        """
        folder = str(parent_id)
        where = f"files.list of folder {folder}"
        seen: set[str] = set()
        left_out: list[str] = []
        offset = 0
        while True:
            results = self._list_page(folder, offset=offset, limit=page_size, orderby=orderby)
            entries = _entries(results, where)
            for raw in entries:
                try:
                    item = Item.from_json(raw)
                except UnreadableItem as exc:
                    left_out.append(str(exc))
                    continue
                if item.id not in seen:
                    seen.add(item.id)
                    yield item
            if len(entries) < page_size:
                break
            offset += len(entries)
        _warn_left_out(where, left_out)
        if left_out and not seen:
            raise ServerError(f"{where}: no entry of the answer can be read "
                              f"({len(left_out)} left out)")

    def create_dir(self, name: str, parent_id: str | int = ROOT_ID) -> Item:
        """Create a folder. Never retried: a repeat could create a second one."""
        results = self.wire.call("files", "create_dir",
                                 {"name": name, "parent_id": str(parent_id)}, repeatable=False)
        return _one_item(results, "files.create_dir")

    def info(self, id: str | int) -> Item:
        return _one_item(self.wire.call("files", "info", {"id": str(id)}), "files.info")

    def rename(self, id: str | int, name: str) -> Item:
        return _one_item(self.wire.call("files", "rename", {"id": str(id), "name": name}),
                         "files.rename")

    def move(self, id: str | int, parent_id: str | int) -> Item:
        results = self.wire.call("files", "move", {"id": str(id), "parent_id": str(parent_id)})
        return _one_item(results, "files.move")

    def delete(self, id: str | int) -> None:
        self.wire.call("files", "delete", {"id": str(id)}, gone_is_done=True)

    def search(self, query: str) -> list[Item]:
        """Search by name; the live server also understood operators such as ``ext:mp3``.
        Items that cannot be read are left out with a warning."""
        return _items(self.wire.call("files", "search", {"query": query}), "files.search")

    def dirmap(self) -> list[FolderRef]:
        """Every folder with its parent, root excluded, from either dialect: the doc's flat
        list, or the live server's tree (the root folder object itself, or a list holding
        it); see :func:`putiofs.v1.models.flatten_dirmap`."""
        return flatten_dirmap(self.wire.call("files", "dirmap"))

    # -- messages -------------------------------------------------------------------------

    def list_messages(self) -> list[Message]:
        return [Message.from_json(m) for m in _dicts(self.wire.call("messages", "list"))]

    def delete_message(self, id: str | int) -> None:
        self.wire.call("messages", "delete", {"id": str(id)}, gone_is_done=True)

    # -- transfers ------------------------------------------------------------------------

    def list_transfers(self) -> list[Transfer]:
        return [Transfer.from_json(t) for t in _dicts(self.wire.call("transfers", "list"))]

    def cancel_transfer(self, id: str | int) -> None:
        self.wire.call("transfers", "cancel", {"id": str(id)}, gone_is_done=True)

    def add_transfers(self, links: Iterable[str]) -> list[Transfer]:
        """Start downloads; returns the active transfers. Never retried (would add twice)."""
        results = self.wire.call("transfers", "add", {"links": list(links)}, repeatable=False)
        return [Transfer.from_json(t) for t in _dicts(results)]

    # -- urls -----------------------------------------------------------------------------

    def analyze_urls(self, urls: Iterable[str]) -> AnalyzeResult:
        """What put.io can fetch. The doc names the parameter ``urls``, the live server
        ``links``; the answer is a flat list (doc) or buckets (live), whose items name the
        size ``size`` and a multipart download's links ``parts`` (see models.Url)."""
        key = "links" if self.wire.detect_dialect() == "legacy" else "urls"
        return AnalyzeResult.from_json(self.wire.call("urls", "analyze", {key: list(urls)}))

    def extract_urls(self, txt: str) -> list[str]:
        results = self.wire.call("urls", "extracturls", {"txt": txt})
        urls: list[str] = []
        for entry in results if isinstance(results, list) else []:
            url = entry.get("url") if isinstance(entry, Mapping) else entry
            if url:
                urls.append(str(url))
        return urls

    # -- user -----------------------------------------------------------------------------

    def user_info(self) -> User:
        results = self.wire.call("user", "info")
        users = _dicts(results)
        if not users:
            raise ServerError("user.info: the answer held no user")
        return User.from_json(users[0])

    def friends(self) -> list[Friend]:
        return [Friend.from_json(f) for f in _dicts(self.wire.call("user", "friends"))]

    def acctoken(self) -> str:
        """A fresh token for stream URLs (``stream_url + "/atk/" + token``)."""
        results = self.wire.call("user", "acctoken")
        candidates = results if isinstance(results, list) else [results]
        for entry in candidates:
            token = entry
            if isinstance(entry, Mapping):
                token = entry.get("token") or entry.get("access_token")
            if isinstance(token, str | int) and not isinstance(token, bool) and str(token):
                register_secret(str(token))
                return str(token)
        raise ServerError("user.acctoken: the answer held no token")

    # -- subscriptions --------------------------------------------------------------------

    def list_subscriptions(self) -> list[Subscription]:
        return [Subscription.from_json(s) for s in _dicts(self.wire.call("subscriptions", "list"))]

    def create_subscription(self, fields: SubscriptionFields) -> Subscription:
        """Subscribe to an RSS feed (the fields that are not None are sent). Never retried: a
        repeat could subscribe twice."""
        results = self.wire.call("subscriptions", "create", _subscription_params(fields),
                                 repeatable=False)
        return _one_subscription(results, "subscriptions.create")

    def edit_subscription(self, id: str | int, fields: SubscriptionFields) -> Subscription:
        """Change the fields of a subscription that are not None (the others are not sent)."""
        params = _subscription_params(fields)
        params["id"] = _int_or_str(id)
        results = self.wire.call("subscriptions", "edit", params)
        return _one_subscription(results, "subscriptions.edit")

    def delete_subscription(self, id: str | int) -> None:
        self.wire.call("subscriptions", "delete", {"id": _int_or_str(id)}, gone_is_done=True)

    def pause_subscription(self, id: str | int) -> Subscription | None:
        """Toggle a subscription between paused and active. Never retried (twice = undone)."""
        results = self.wire.call("subscriptions", "pause", {"id": _int_or_str(id)},
                                 repeatable=False)
        found = _dicts(results)
        return Subscription.from_json(found[0]) if found else None

    def subscription_info(self, id: str | int) -> Subscription:
        results = self.wire.call("subscriptions", "info", {"id": _int_or_str(id)})
        return _one_subscription(results, "subscriptions.info")

    # -- helpers --------------------------------------------------------------------------

    def _type_param(self, type: str | int) -> str | int:
        """The type filter as this server wants it: the name (doc) or the code (legacy)."""
        text = str(type).strip().lower()
        code = int(text) if text.isdigit() else FILETYPES.get(text)
        if code not in FILETYPE_NAMES:
            raise ValueError(f"unknown item type {type!r}; one of {', '.join(FILETYPES)}")
        return code if self.wire.detect_dialect() == "legacy" else FILETYPE_NAMES[code]


def _dicts(results: Any) -> list[Mapping[str, Any]]:
    if isinstance(results, Mapping):
        return [results]
    if isinstance(results, list):
        return [r for r in results if isinstance(r, Mapping)]
    return []


def _entries(results: Any, where: str) -> list[Any]:
    """The entries of a list answer as sent: a list, one object, or nothing (null)."""
    if results is None:
        return []
    if isinstance(results, list):
        return results
    if isinstance(results, Mapping):
        return [results]
    raise ServerError(f"{where}: the answer's results are not a list of items")


def _items(results: Any, where: str) -> list[Item]:
    """The readable items of a list answer; the others are left out with one warning."""
    items: list[Item] = []
    left_out: list[str] = []
    for raw in _entries(results, where):
        try:
            items.append(Item.from_json(raw))
        except UnreadableItem as exc:
            left_out.append(str(exc))
    _warn_left_out(where, left_out)
    return items


def _warn_left_out(where: str, left_out: list[str]) -> None:
    if left_out:
        shown = "; ".join(left_out[:5]) + ("; ..." if len(left_out) > 5 else "")
        log.warning("%s: %d entr%s of put.io's answer left out, unreadable: %s", where,
                    len(left_out), "y" if len(left_out) == 1 else "ies", shown)


def _one_item(results: Any, where: str) -> Item:
    """The item a single-item answer describes: NotFoundError if it holds none, ServerError
    (EIO on the mount) if the item cannot be read."""
    found = _dicts(results)
    if not found:
        raise NotFoundError(f"{where}: the answer held no item")
    try:
        return Item.from_json(found[0])
    except UnreadableItem as exc:
        raise ServerError(f"{where}: put.io's answer cannot be read: {exc}") from None


def _one_subscription(results: Any, where: str) -> Subscription:
    found = _dicts(results)
    if not found:
        raise NotFoundError(f"{where}: the answer held no subscription")
    return Subscription.from_json(found[0])


def _int_or_str(value: str | int) -> int | str:
    text = to_str(value) or ""
    return int(text) if text.isdigit() else text


def _filters(value: str | Iterable[str]) -> str:
    if isinstance(value, str):
        return value
    return ", ".join(value)


def _subscription_params(fields: SubscriptionFields) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if fields.title is not None:
        params["title"] = fields.title
    if fields.url is not None:
        params["url"] = fields.url
    if fields.do_filters is not None:
        params["do_filters"] = _filters(fields.do_filters)
    if fields.dont_filters is not None:
        params["dont_filters"] = _filters(fields.dont_filters)
    if fields.parent_folder_id is not None:
        params["parent_folder_id"] = _int_or_str(fields.parent_folder_id)
    if fields.paused is not None:
        params["paused"] = bool(fields.paused)
    return params
