"""The put.io v1 API client: one method per endpoint, typed results, typed errors.

Every call is a POST to ``<base>/<service>?method=<name>`` with the form field ``request`` =
JSON ``{api_key, api_secret, params}``, so the credentials travel only in the body, never in a
URL or an access log. Redirects are not followed: a 307 would re-send that body to wherever
the redirect points.

Transport: requests go through :func:`putiofs.http.new_session`, so each one ends by the
call's deadline as a whole (headers and body, even from a server that trickles bytes). That
deadline is the calling thread's :mod:`putiofs.deadline` (a FUSE call's ``--timeout``), never
later than ``max_retry_time`` from the start of the call.

Retries follow :class:`putiofs.retry.RetryPolicy`: connection failures, timeouts, 5xx, 429 and
garbled answers are retried with exponential backoff and full jitter (at least what a 429 asks
for), within a bounded number of attempts and the call's deadline -- but only for calls that
are safe to repeat. A call that
creates something (``files.create_dir``, ``transfers.add``, ``subscriptions.create``) gets
exactly one attempt: when a request times out we cannot know whether put.io already acted on
it, and a blind repeat would create a second folder, a second download or a second
subscription. Likewise the ``subscriptions.pause`` toggle is not repeated (twice would undo
it). A repeated delete that finds the thing already gone counts as done.

Dialects: the live v1 server differed from its document (issue 2, section 5). The client
detects which one it talks to from the first success envelope (``"error": false`` plus a
top-level ``user_name`` means the live, "legacy" dialect), adapts the two requests that differ
(the ``files.list`` type filter as integer code, ``urls.analyze`` taking ``links``) and parses
every answer leniently in either shape.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Literal

import requests

from putiofs import deadline as call_deadline
from putiofs.config import Settings
from putiofs.errors import (
    NotFoundError,
    ServerError,
    TransportError,
)
from putiofs.http import new_session
from putiofs.logs import register_secret
from putiofs.retry import Backoff, RetryPolicy
from putiofs.v1.envelope import classify_error as classify_error  # re-exported
from putiofs.v1.envelope import decode, results_of
from putiofs.v1.models import (
    FILETYPE_NAMES,
    FILETYPES,
    ROOT_ID,
    AnalyzeResult,
    DirNode,
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

log = logging.getLogger(__name__)

Dialect = Literal["doc", "legacy", "auto"]

DEFAULT_TIMEOUT = (5.0, 30.0)
DEFAULT_PAGE_SIZE = 2000  # what put.io's own v1 client library asked for

class PutioClient:
    """A client for put.io's v1 API.

    ``timeout`` is (connect, read) seconds for every call. ``retries`` is how many times a
    repeatable call is tried again; ``backoff`` the first backoff ceiling in seconds (doubled
    per attempt, capped at ``max_backoff``); ``max_retry_time`` bounds the whole call including
    waits. A 429 is retried after at least its Retry-After, unless that exceeds
    ``max_retry_after`` or the time left: then the RateLimitedError (with ``retry_after``) is
    raised at once rather than retrying early. ``pool_size`` is the connection pool per host
    (API calls and concurrent file streams share it). ``sleep``, ``clock`` and ``rng`` are
    injectable for tests.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 20.0,
        max_retry_time: float = 60.0,
        max_retry_after: float = 30.0,
        pool_size: int = 16,
        dialect: Dialect = "auto",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if dialect not in ("doc", "legacy", "auto"):
            raise ValueError(f"dialect must be 'doc', 'legacy' or 'auto', not {dialect!r}")
        self._settings = settings
        register_secret(settings.api_key)
        register_secret(settings.api_secret)
        self._base = settings.api_url.rstrip("/")
        self._timeout = timeout
        self._policy = RetryPolicy(attempts=max(0, retries) + 1,
                                   backoff=Backoff(backoff, max_backoff, rng),
                                   max_time=max_retry_time, max_retry_after=max_retry_after,
                                   sleep=sleep, clock=clock)
        self._dialect: str | None = None if dialect == "auto" else dialect
        self._dialect_lock = threading.Lock()
        self._owns_session = session is None
        if session is None:
            session = new_session(pool_size)
        self.session: requests.Session = session

    def __repr__(self) -> str:
        return f"PutioClient(api_url={self._base!r}, dialect={self._dialect or 'auto'!r})"

    def __enter__(self) -> PutioClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled session (only if this client created it)."""
        if self._owns_session:
            self.session.close()

    @property
    def api_url(self) -> str:
        return self._base

    @property
    def dialect(self) -> str | None:
        """"doc" or "legacy" once known, None before the first successful call (auto mode)."""
        return self._dialect

    def detect_dialect(self) -> str:
        """The server's dialect, asking it (one ``user.info`` call) if not yet known."""
        if self._dialect is None:
            self.call("user", "info")
        return self._dialect or "doc"

    # -- transport ------------------------------------------------------------------------

    def call(self, service: str, method: str, params: Mapping[str, Any] | None = None, *,
             repeatable: bool = True, gone_is_done: bool = False) -> Any:
        """Call one endpoint and return ``response.results``.

        ``repeatable`` allows retries; ``gone_is_done`` turns a NotFoundError on a repeated
        attempt into success (a delete whose first attempt did reach the server).
        """
        with call_deadline.within(self._policy.max_time):
            return self._policy.run(lambda: self._call_once(service, method, params or {}),
                                    what=f"{service}.{method}", repeatable=repeatable,
                                    gone_is_done=gone_is_done)

    def _call_once(self, service: str, method: str, params: Mapping[str, Any]) -> Any:
        body = json.dumps({
            "api_key": self._settings.api_key,
            "api_secret": self._settings.api_secret,
            "params": dict(params),
        })
        url = f"{self._base}/{service}"
        started = time.monotonic()
        try:
            response = self.session.post(
                url,
                params={"method": method},
                data={"request": body},
                headers={"Accept": "application/json"},
                timeout=(call_deadline.clip(self._timeout[0]),
                         call_deadline.clip(self._timeout[1])),
                allow_redirects=False,
            )
            content = response.content
        except requests.RequestException as exc:
            log.debug("%s.%s params=%s failed: %s", service, method, dict(params),
                      type(exc).__name__)
            raise TransportError(
                f"{service}.{method}: no answer from {self._base} ({type(exc).__name__})"
            ) from None
        elapsed = time.monotonic() - started
        log.debug("%s.%s params=%s status=%d elapsed=%.3fs", service, method, dict(params),
                  response.status_code, elapsed)
        envelope = decode(content)
        results = results_of(f"{service}.{method}", response.status_code, response.headers,
                             envelope, self._redact)
        self._note_dialect(envelope)  # type: ignore[arg-type]  # a success had an envelope
        return results

    def _redact(self, text: str) -> str:
        for secret in (self._settings.api_secret, self._settings.api_key):
            if secret and len(secret) >= 4:
                text = text.replace(secret, "***")
        return text

    def _note_dialect(self, envelope: Mapping[str, Any]) -> None:
        if self._dialect is not None:
            return
        legacy = envelope.get("error") is False and "user_name" in envelope
        with self._dialect_lock:
            if self._dialect is None:
                self._dialect = "legacy" if legacy else "doc"
                log.debug("server speaks the %s dialect", self._dialect)

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
        return self.call("files", "list", params)

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
        results = self.call("files", "create_dir",
                            {"name": name, "parent_id": str(parent_id)}, repeatable=False)
        return _one_item(results, "files.create_dir")

    def info(self, id: str | int) -> Item:
        return _one_item(self.call("files", "info", {"id": str(id)}), "files.info")

    def rename(self, id: str | int, name: str) -> Item:
        return _one_item(self.call("files", "rename", {"id": str(id), "name": name}),
                         "files.rename")

    def move(self, id: str | int, parent_id: str | int) -> Item:
        results = self.call("files", "move", {"id": str(id), "parent_id": str(parent_id)})
        return _one_item(results, "files.move")

    def delete(self, id: str | int) -> None:
        self.call("files", "delete", {"id": str(id)}, gone_is_done=True)

    def search(self, query: str) -> list[Item]:
        """Search by name; the live server also understood operators such as ``ext:mp3``.
        Items that cannot be read are left out with a warning."""
        return _items(self.call("files", "search", {"query": query}), "files.search")

    def dirmap(self) -> list[DirNode]:
        """Every folder with its parent, root excluded, from either dialect: the doc's flat
        list, or the live server's tree (the root folder object itself, or a list holding
        it); see :func:`putiofs.v1.models.flatten_dirmap`."""
        return flatten_dirmap(self.call("files", "dirmap"))

    # -- messages -------------------------------------------------------------------------

    def list_messages(self) -> list[Message]:
        return [Message.from_json(m) for m in _dicts(self.call("messages", "list"))]

    def delete_message(self, id: str | int) -> None:
        self.call("messages", "delete", {"id": str(id)}, gone_is_done=True)

    # -- transfers ------------------------------------------------------------------------

    def list_transfers(self) -> list[Transfer]:
        return [Transfer.from_json(t) for t in _dicts(self.call("transfers", "list"))]

    def cancel_transfer(self, id: str | int) -> None:
        self.call("transfers", "cancel", {"id": str(id)}, gone_is_done=True)

    def add_transfers(self, links: Iterable[str]) -> list[Transfer]:
        """Start downloads; returns the active transfers. Never retried (would add twice)."""
        results = self.call("transfers", "add", {"links": list(links)}, repeatable=False)
        return [Transfer.from_json(t) for t in _dicts(results)]

    # -- urls -----------------------------------------------------------------------------

    def analyze_urls(self, urls: Iterable[str]) -> AnalyzeResult:
        """What put.io can fetch. The doc names the parameter ``urls``, the live server
        ``links``; the answer is a flat list (doc) or buckets (live), whose items name the
        size ``size`` and a multipart download's links ``parts`` (see models.Url)."""
        key = "links" if self.detect_dialect() == "legacy" else "urls"
        return AnalyzeResult.from_json(self.call("urls", "analyze", {key: list(urls)}))

    def extract_urls(self, txt: str) -> list[str]:
        results = self.call("urls", "extracturls", {"txt": txt})
        urls: list[str] = []
        for entry in results if isinstance(results, list) else []:
            url = entry.get("url") if isinstance(entry, Mapping) else entry
            if url:
                urls.append(str(url))
        return urls

    # -- user -----------------------------------------------------------------------------

    def user_info(self) -> User:
        results = self.call("user", "info")
        users = _dicts(results)
        if not users:
            raise ServerError("user.info: the answer held no user")
        return User.from_json(users[0])

    def friends(self) -> list[Friend]:
        return [Friend.from_json(f) for f in _dicts(self.call("user", "friends"))]

    def acctoken(self) -> str:
        """A fresh token for stream URLs (``stream_url + "/atk/" + token``)."""
        results = self.call("user", "acctoken")
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
        return [Subscription.from_json(s) for s in _dicts(self.call("subscriptions", "list"))]

    def create_subscription(self, title: str, url: str,
                            do_filters: str | Iterable[str] | None = None,
                            dont_filters: str | Iterable[str] | None = None,
                            parent_folder_id: str | int | None = None,
                            paused: bool | None = None) -> Subscription:
        """Subscribe to an RSS feed. Never retried: a repeat could subscribe twice."""
        params = _subscription_params(title=title, url=url, do_filters=do_filters,
                                      dont_filters=dont_filters,
                                      parent_folder_id=parent_folder_id, paused=paused)
        results = self.call("subscriptions", "create", params, repeatable=False)
        return _one_subscription(results, "subscriptions.create")

    def edit_subscription(self, id: str | int, *, title: str | None = None,
                          url: str | None = None,
                          do_filters: str | Iterable[str] | None = None,
                          dont_filters: str | Iterable[str] | None = None,
                          parent_folder_id: str | int | None = None,
                          paused: bool | None = None) -> Subscription:
        """Change the given fields of a subscription (the others are not sent)."""
        params = _subscription_params(title=title, url=url, do_filters=do_filters,
                                      dont_filters=dont_filters,
                                      parent_folder_id=parent_folder_id, paused=paused)
        params["id"] = _int_or_str(id)
        results = self.call("subscriptions", "edit", params)
        return _one_subscription(results, "subscriptions.edit")

    def delete_subscription(self, id: str | int) -> None:
        self.call("subscriptions", "delete", {"id": _int_or_str(id)}, gone_is_done=True)

    def pause_subscription(self, id: str | int) -> Subscription | None:
        """Toggle a subscription between paused and active. Never retried (twice = undone)."""
        results = self.call("subscriptions", "pause", {"id": _int_or_str(id)},
                            repeatable=False)
        found = _dicts(results)
        return Subscription.from_json(found[0]) if found else None

    def subscription_info(self, id: str | int) -> Subscription:
        results = self.call("subscriptions", "info", {"id": _int_or_str(id)})
        return _one_subscription(results, "subscriptions.info")

    # -- helpers --------------------------------------------------------------------------

    def _type_param(self, type: str | int) -> str | int:
        """The type filter as this server wants it: the name (doc) or the code (legacy)."""
        text = str(type).strip().lower()
        code = int(text) if text.isdigit() else FILETYPES.get(text)
        if code not in FILETYPE_NAMES:
            raise ValueError(f"unknown item type {type!r}; one of {', '.join(FILETYPES)}")
        return code if self.detect_dialect() == "legacy" else FILETYPE_NAMES[code]


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


def _subscription_params(*, title: str | None, url: str | None,
                         do_filters: str | Iterable[str] | None,
                         dont_filters: str | Iterable[str] | None,
                         parent_folder_id: str | int | None,
                         paused: bool | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if title is not None:
        params["title"] = title
    if url is not None:
        params["url"] = url
    if do_filters is not None:
        params["do_filters"] = _filters(do_filters)
    if dont_filters is not None:
        params["dont_filters"] = _filters(dont_filters)
    if parent_folder_id is not None:
        params["parent_folder_id"] = _int_or_str(parent_folder_id)
    if paused is not None:
        params["paused"] = bool(paused)
    return params
