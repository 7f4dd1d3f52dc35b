"""How a put.io v2 answer becomes one of the exceptions of :mod:`putiofs.api.errors`.

v2 errors carry an ``error_type`` and a ``status_code``; the HTTP status decides the class
first (so a proxy's or load balancer's page is classified too), then the ``error_type``:

====================================  =====================================================
401, 403 (e.g. ``invalid_scope``)     AuthenticationError
402 (payment required)                PermissionDeniedError, "the put.io account is inactive"
404 with put.io's error envelope      NotFoundError
404 without it                        BadRequestError: not a put.io API answer (wrong URL?)
429                                   RateLimitedError, ``retry_after`` = x-ratelimit-reset + 1 s,
                                      else Retry-After, else 60 s (what rclone waits)
``TRASH_LOCK_TIMEOUT``                BusyError (temporary: retried)
``NAME_ALREADY_EXIST``                NameExistsError
``NAME_TOO_LONG``                     NameTooLongError (ENAMETOOLONG in the mount)
``EMPTY_NAME``, ``SLASH_IN_NAME``     InvalidNameError (EINVAL in the mount)
``INVALID_NAME``                      InvalidNameError
other 4xx                             BadRequestError
5xx, redirects, garbled answers       ServerError
====================================  =====================================================

Messages name the request (method and path, never the query or a URL) and put.io's
``error_message`` with every registered secret masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from putiofs.api.errors import (
    AuthenticationError,
    BadRequestError,
    BusyError,
    InvalidNameError,
    NameExistsError,
    NameTooLongError,
    NotFoundError,
    PermissionDeniedError,
    PutioError,
    RateLimitedError,
    ServerError,
)
from putiofs.logs import redact
from putiofs.net.retry import rate_limit_wait

#: The ``error_type`` values of a name put.io will not store.
_NAME_REFUSALS = frozenset({"EMPTY_NAME", "SLASH_IN_NAME", "INVALID_NAME"})
#: How long to wait after a 429 that says nothing about when to come back (rclone's choice).
DEFAULT_RATE_LIMIT_WAIT = 60.0


def error_for(status: int, envelope: Mapping[str, Any] | None, headers: Mapping[str, str],
              where: str, *, now: float | None = None) -> PutioError:
    """The exception for an HTTP answer that is not a success. ``envelope`` is the decoded
    JSON object when the answer had one; ``now`` (Unix seconds) is for the 429 wait."""
    message = error_message(envelope)
    error_type = error_type_of(envelope)
    text = f"{where}: {message}" if message else f"{where}: HTTP {status}"
    if status in (401, 403):
        return _typed(AuthenticationError, text, status, error_type)
    if status == 402:
        return _typed(PermissionDeniedError,
                      f"{where}: the put.io account is inactive (payment required)"
                      + (f": {message}" if message else ""), status, error_type)
    if status == 429:
        wait = rate_limit_wait(headers, now=now)
        return RateLimitedError(f"{where}: rate limited by put.io (HTTP 429)", status=status,
                                retry_after=DEFAULT_RATE_LIMIT_WAIT if wait is None else wait)
    if status >= 500 or 300 <= status < 400:
        if 300 <= status < 400:
            text = f"{where}: unexpected redirect (HTTP {status}), not followed"
        return _typed(ServerError, text, status, error_type)
    if status == 404 and not is_error_envelope(envelope):
        return _typed(BadRequestError,
                      f"{where}: HTTP 404 without a put.io error (is the API URL right?)",
                      status, error_type)
    return item_error(error_type, status, text)


def item_error(error_type: str | None, status: int | None, text: str) -> PutioError:
    """The exception for an ``error_type`` and ``status_code`` pair: an error answer's, or
    one item's of a batch (``/files/move`` reports those with HTTP 200)."""
    kind = (error_type or "").upper()
    if kind == "TRASH_LOCK_TIMEOUT":
        return _typed(BusyError, text, status, error_type)
    if kind == "NAME_ALREADY_EXIST":
        return _typed(NameExistsError, text, status, error_type)
    if kind == "NAME_TOO_LONG":
        return _typed(NameTooLongError, text, status, error_type)
    if kind in _NAME_REFUSALS:
        return _typed(InvalidNameError, text, status, error_type)
    if status in (401, 403):
        return _typed(AuthenticationError, text, status, error_type)
    if status == 402:
        return _typed(PermissionDeniedError, text, status, error_type)
    if status == 404 or kind.endswith("NOT_FOUND"):
        return _typed(NotFoundError, text, status, error_type)
    if status is not None and status >= 500:
        return _typed(ServerError, text, status, error_type)
    return _typed(BadRequestError, text, status, error_type)


def is_error_envelope(envelope: Mapping[str, Any] | None) -> bool:
    """put.io's error object: ``status`` "ERROR" with an ``error_type`` or ``error_message``."""
    if envelope is None or str(envelope.get("status", "")).upper() != "ERROR":
        return False
    return "error_type" in envelope or "error_message" in envelope


def error_message(envelope: Mapping[str, Any] | None) -> str | None:
    """put.io's ``error_message`` (or ``error``), secrets masked; None if there is none."""
    if envelope is None:
        return None
    message = envelope.get("error_message") or envelope.get("error")
    if not isinstance(message, str) or not message.strip():
        return None
    return redact(message.strip())[:500]


def error_type_of(envelope: Mapping[str, Any] | None) -> str | None:
    """put.io's ``error_type`` of an error answer, or None."""
    value = envelope.get("error_type") if envelope is not None else None
    return value if isinstance(value, str) and value else None


def _typed(cls: type[PutioError], text: str, status: int | None,
           error_type: str | None) -> PutioError:
    return cls(f"{text} [{error_type}]" if error_type and error_type not in text else text,
               status=status)
