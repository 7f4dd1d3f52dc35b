"""One request of put.io's v1 API on the wire: the request envelope, the transport, retries and
the server's dialect. :class:`~putiofs.v1.client.V1Client` holds a wire and says what each
endpoint sends.

Every call is a POST to ``<base>/<service>?method=<name>`` with the form field ``request`` =
JSON ``{api_key, api_secret, params}``, so the credentials travel only in the body, never in a
URL or an access log. Redirects are not followed: a 307 would re-send that body to wherever
the redirect points.

Transport: requests go through :func:`putiofs.net.http.new_session`, so each one ends by the
call's deadline as a whole (headers and body, even from a server that trickles bytes). That
deadline is the calling thread's :mod:`putiofs.net.deadline` (a FUSE call's ``--timeout``), never
later than ``max_retry_time`` from the start of the call.

Retries follow :class:`putiofs.net.retry.RetryPolicy`: connection failures, timeouts, 5xx, 429 and
garbled answers are retried with exponential backoff and full jitter (at least what a 429 asks
for), within a bounded number of attempts and the call's deadline -- but only for calls the
caller marks ``repeatable`` (the endpoint methods say which are not, and why).

Dialects: the live v1 server differed from its document. The transport
detects which one it talks to from the first success envelope (``"error": false`` plus a
top-level ``user_name`` means the live, "legacy" dialect).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

import requests

from putiofs.api.errors import TransportError
from putiofs.config import Settings
from putiofs.logs import register_secret
from putiofs.net import deadline as call_deadline
from putiofs.net.http import REQUEST_TIMEOUT, SessionClient, clip_timeout
from putiofs.net.retry import Backoff, RetryPolicy
from putiofs.v1.errors import decode, results_of

log = logging.getLogger(__name__)

Dialect = Literal["doc", "legacy", "auto"]


class V1Wire(SessionClient):
    """Sends requests to the v1 API at ``settings.api_url``: ``call(service, method, params)``.

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
        timeout: tuple[float, float] = REQUEST_TIMEOUT,
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
        super().__init__(session, pool_size)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(api_url={self._base!r}, "
                f"dialect={self._dialect or 'auto'!r})")

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
                timeout=clip_timeout(self._timeout),
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
