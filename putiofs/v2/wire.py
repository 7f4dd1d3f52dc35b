"""One put.io v2 request on the wire: auth, body, answer checking, errors, retries, paging.

- **Auth**: ``Authorization: Bearer <token>`` (what rclone and put.io's Go library send), set on
  each API request and never on the session, so the stream reads that share the session never
  carry it to a storage host. The token is registered with :func:`putiofs.logs.register_secret`.
- **Bodies**: form-encoded (what put.io's own TypeScript and Python SDKs send), id lists
  comma-joined, booleans ``1``/``0``. Redirects are not followed (a 3xx is a ServerError).
- **Answers**: a success is a 2xx whose body is a JSON object with ``"status": "OK"``; the
  Content-Type must be ``application/json`` (parameters such as a charset are tolerated), since
  anything else is not put.io speaking (a proxy's or captive portal's page). Errors are mapped
  by :func:`putiofs.v2.errors.error_for`.
- **Retries**: :class:`putiofs.net.retry.RetryPolicy` (5xx, no answer, garbled answers, 429 and
  ``TRASH_LOCK_TIMEOUT``), and only for calls that are safe to repeat. The default policy
  accepts a server-requested wait of up to 65 s, so a 429 that names no reset time is waited
  out as rclone does (60 s) where the caller's deadline allows; a FUSE call's deadline is
  always shorter and then wins.
- **Deadline**: a call, retries and every page's request included, ends within the retry
  policy's ``max_time`` or the calling thread's :mod:`putiofs.net.deadline`, whichever is sooner:
  requests go through :func:`putiofs.net.http.new_session`, whose watchdog ends a request (body
  included) when the deadline passes, and each request's timeouts are clipped to it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests

from putiofs import __version__
from putiofs.api.errors import PutioError, ServerError, TransportError
from putiofs.config import DEFAULT_API_URLS
from putiofs.logs import register_secret, register_url_secret
from putiofs.net import deadline as call_deadline
from putiofs.net.http import REQUEST_TIMEOUT, SessionClient, clip_timeout, direct_get
from putiofs.net.retry import Backoff, RetryPolicy
from putiofs.v2.errors import error_for

log = logging.getLogger(__name__)

#: What every put.io client asks for, and the most ``per_page`` put.io allows (listings, events).
PAGE_SIZE = 1000

Query = Mapping[str, Any]
Files = Mapping[str, tuple[str, bytes]]
Answer = TypeVar("Answer")


def default_retry_policy(max_time: float = 120.0) -> RetryPolicy:
    """5 attempts within ``max_time`` (default 120 s), and a 429 waited out for up to 65 s while
    that fits (see the module doc)."""
    return RetryPolicy(attempts=5, backoff=Backoff(first=0.5, maximum=20.0), max_time=max_time,
                       max_retry_after=min(65.0, max_time))


def register_url(url: str) -> None:
    """Mask a self-authorizing URL in logs, including where only its path and query show
    (urllib3 logs ``GET /download/1?u=... HTTP/1.1`` without the host).

    Every open of a file not opened before brings one (``/files/{id}/url``), so these go to
    the looked-up set of :func:`putiofs.logs.register_url_secret`, not to the pattern of
    :func:`putiofs.logs.register_secret`: that one is recompiled with every secret at each
    addition, so the 2,000th file opened cost 0.24 s of CPU for its URL alone (0.005 ms
    here)."""
    register_url_secret(url)


def form_value(value: Any) -> str:
    """A query or form value as put.io reads it: booleans ``1``/``0``, the rest as text."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _params(values: Query | None) -> dict[str, str] | None:
    if not values:
        return None
    return {key: form_value(value) for key, value in values.items() if value is not None}


class V2Wire(SessionClient):
    """Sends requests to the v2 API at ``base_url`` and returns checked answers.

    ``token`` may be None (the device flow runs before there is one; calls that need it then
    fail with AuthenticationError from the server). ``timeout`` is (connect, read) seconds per
    request. ``retry`` is the policy (:func:`default_retry_policy`); ``wall_clock`` gives Unix
    seconds for ``x-ratelimit-reset``. Tests inject the policy's sleep and clock.
    """

    def __init__(self, token: str | None, *, base_url: str = DEFAULT_API_URLS["v2"],
                 session: requests.Session | None = None,
                 timeout: tuple[float, float] = REQUEST_TIMEOUT,
                 retry: RetryPolicy | None = None, pool_size: int = 16,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self._base = base_url.rstrip("/")
        self._token: str | None = None
        self.set_token(token)
        self._timeout = timeout
        self._retry = retry or default_retry_policy()
        self.wall_clock = wall_clock
        super().__init__(session, pool_size)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._base!r})"

    @property
    def base_url(self) -> str:
        return self._base

    def set_token(self, token: str | None) -> None:
        """Use ``token`` from now on (after the device flow, or None to forget it)."""
        token = token.strip() if token else None
        register_secret(token)
        self._token = token or None

    def request_headers(self, *, auth: bool = True) -> dict[str, str]:
        """The headers of every API request (and of uploads): Accept, User-Agent and, with
        ``auth``, the token. For one request only: never set them on the session."""
        headers = {"Accept": "application/json", "User-Agent": f"putiofs/{__version__}"}
        if auth and self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    # -- one request ----------------------------------------------------------------------

    def request(self, method: str, path: str, *, query: Query | None = None,
                form: Query | None = None, auth: bool = True, repeatable: bool = True,
                gone_is_done: bool = False, files: Files | None = None,
                base: str | None = None,
                check: Callable[[Mapping[str, Any]], None] | None = None,
                done_if: Callable[[PutioError], bool] | None = None,
                label: str | None = None) -> Mapping[str, Any] | None:
        """The checked answer (a JSON object) of ``method path``, retried if ``repeatable``.

        ``gone_is_done``: a NotFoundError on a repeated attempt means the first attempt did
        reach the server (a delete), so the call succeeded and None is returned.
        ``check(answer)`` runs inside each attempt and may raise (per-item errors of a batch).
        ``done_if(error)``: asked when a *repeated* attempt fails; True means the lost first
        attempt did the work (a rename whose repeat finds the name taken by the item itself).
        ``label`` names the call in errors and logs instead of ``method path`` (for a path
        that holds a secret). ``files`` makes the body multipart (name -> (filename, bytes)),
        ``base`` replaces the API's base URL (the upload host).
        """
        return self.request_counted(method, path, query=query, form=form, auth=auth,
                                    repeatable=repeatable, gone_is_done=gone_is_done,
                                    check=check, done_if=done_if, label=label,
                                    files=files, base=base)[0]

    def request_counted(self, method: str, path: str, *, query: Query | None = None,
                        form: Query | None = None, auth: bool = True,
                        repeatable: bool = True, gone_is_done: bool = False,
                        check: Callable[[Mapping[str, Any]], None] | None = None,
                        done_if: Callable[[PutioError], bool] | None = None,
                        label: str | None = None, files: Files | None = None,
                        base: str | None = None) -> tuple[Mapping[str, Any] | None, int]:
        """:meth:`request`, and how many attempts it took."""
        what = label or f"{method} {path}"
        attempts = 0

        def attempt() -> Mapping[str, Any]:
            nonlocal attempts
            attempts += 1
            try:
                answer = self._once(method, path, query, form, auth, what,
                                    files=files, base=base)
                if check is not None:
                    check(answer)
                return answer
            except PutioError as exc:
                if attempts > 1 and done_if is not None and done_if(exc):
                    log.info("%s: the repeated attempt found the work done", what)
                    return {"status": "OK"}
                raise

        answer = self.retried(attempt, what, repeatable=repeatable, gone_is_done=gone_is_done)
        return answer, attempts

    def retried(self, attempt: Callable[[], Answer], what: str, *, repeatable: bool = True,
                gone_is_done: bool = False) -> Answer | None:
        """``attempt()`` under the retry policy, within its ``max_time`` (see
        :meth:`putiofs.net.retry.RetryPolicy.run` for ``repeatable`` and ``gone_is_done``)."""
        with call_deadline.within(self._retry.max_time):
            return self._retry.run(attempt, what=what, repeatable=repeatable,
                                   gone_is_done=gone_is_done)

    def exchange(self, method: str, url: str, what: str, *, headers: Mapping[str, str],
                 **options: Any) -> requests.Response:
        """One HTTP request and its whole answer, whatever the status: redirects not
        followed, timeouts clipped to the call's deadline, no answer a TransportError.
        ``options`` are the request's (params, data, files). A GET without a body goes
        straight through the connection pool where requests would send it the same way
        (:func:`putiofs.net.http.direct_get`)."""
        started = time.monotonic()
        try:
            response = None
            if method == "GET" and not options.get("data") and not options.get("files"):
                response = direct_get(self.session, url, params=options.get("params"),
                                      headers=dict(headers), timeout=self._timeout)
            if response is None:
                response = self.session.request(method, url, headers=headers,
                                                allow_redirects=False,
                                                timeout=clip_timeout(self._timeout), **options)
            response.content  # noqa: B018 - read the body, freeing the connection
        except requests.RequestException as exc:
            log.debug("%s failed: %s", what, type(exc).__name__)
            raise TransportError(f"{what}: no answer from {urlsplit(url).netloc} "
                                 f"({type(exc).__name__})") from None
        log.debug("%s -> %d in %.3fs", what, response.status_code, time.monotonic() - started)
        return response

    def _once(self, method: str, path: str, query: Query | None, form: Query | None,
              auth: bool, what: str, *, files: Files | None = None,
              base: str | None = None) -> Mapping[str, Any]:
        response = self.exchange(method, (base or self._base).rstrip("/") + path, what,
                                 headers=self.request_headers(auth=auth),
                                 params=_params(query), data=_params(form), files=files)
        status = response.status_code
        envelope = decode_envelope(response.headers.get("Content-Type"), response.content)
        if 200 <= status < 300:
            if envelope is not None and str(envelope.get("status", "")).upper() == "OK":
                return envelope
            if envelope is not None and str(envelope.get("status", "")).upper() == "ERROR":
                code = envelope.get("status_code")
                status = code if isinstance(code, int) and 400 <= code < 600 else 400
            else:
                raise ServerError(f"{what}: the answer (HTTP {status}) was not a put.io "
                                  "JSON envelope", status=status)
        raise error_for(status, envelope, response.headers, what, now=self.wall_clock())

    # -- cursor paging --------------------------------------------------------------------

    def paged(self, path: str, key: str, query: Query | None = None, *,
              page_size: int = PAGE_SIZE) -> Iterator[Mapping[str, Any]]:
        """Every object under ``key`` of ``GET path`` and of its ``POST path/continue`` pages.

        A page ends the listing when its ``cursor`` is null, empty or missing. A cursor the
        server hands out twice would loop forever: that is a ServerError.
        """
        page = self.request("GET", path, query={**(query or {}), "per_page": page_size})
        seen: set[str] = set()
        while True:
            page = page or {}
            items = page.get(key)
            for item in items if isinstance(items, list) else ():
                if isinstance(item, Mapping):
                    yield item
            cursor = page.get("cursor")
            if not isinstance(cursor, str) or not cursor:
                return
            if cursor in seen:
                raise ServerError(f"POST {path}/continue: the server repeated a cursor")
            seen.add(cursor)
            page = self.request("POST", f"{path}/continue", query={"per_page": page_size},
                                form={"cursor": cursor})


def decode_envelope(content_type: str | None, content: bytes) -> Mapping[str, Any] | None:
    """The JSON object of an answer whose media type is application/json, else None. Bytes
    that are not UTF-8 become U+FFFD rather than failing a whole listing."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        return None
    try:
        data = json.loads(content.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, Mapping) else None
