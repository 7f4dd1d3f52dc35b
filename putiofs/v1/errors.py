"""The envelope around every put.io v1 answer, and which error an answer means.

A v1 answer is JSON ``{"error": ..., "error_message": ..., "response": {"results": ...}}``;
the live server said ``"error": false`` where the document says ``null``. HTTP statuses
outrank the envelope (401/403, 429, 5xx, 404, redirects); an error envelope is classified by
its message, since v1 has no error codes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from putiofs.api.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    PutioError,
    RateLimitedError,
    ServerError,
)
from putiofs.net.retry import rate_limit_wait

_AUTH_WORDS = re.compile(r"api[_ ]?key|api[_ ]?secret|auth|credential|login|unauthori[sz]ed")
_NOT_FOUND_WORDS = re.compile(r"not found|no such|does not exist|doesn't exist")
_CONFLICT_WORDS = re.compile(r"own subtree|into itself|not a folder")
_PERMISSION_WORDS = re.compile(r"permission|forbidden|not allowed")
_UNKNOWN_CALL_WORDS = re.compile(r"method|service|param")


def results_of(where: str, status: int, headers: Mapping[str, str],
               envelope: Mapping[str, Any] | None, redact: Callable[[str], str]) -> Any:
    """``response.results`` of a successful answer to the call ``where``, else the error it
    means (messages passed through ``redact``)."""
    message = error_message(envelope, redact)
    if status in (401, 403):
        raise AuthenticationError(message or f"{where}: HTTP {status}", status=status)
    if status == 429:
        raise RateLimitedError(message or f"{where}: rate limited (HTTP 429)", status=status,
                               retry_after=rate_limit_wait(headers))
    if status >= 500:
        raise ServerError(message or f"{where}: HTTP {status}", status=status)
    if status == 404:
        if message and _UNKNOWN_CALL_WORDS.search(message.lower()):
            raise BadRequestError(message, status=status)
        raise NotFoundError(message or f"{where}: not found (HTTP 404)", status=status)
    if 300 <= status < 400:
        raise ServerError(f"{where}: unexpected redirect (HTTP {status}), not followed",
                          status=status)
    if envelope is None or not is_envelope(envelope):
        cls = BadRequestError if 400 <= status < 500 else ServerError
        raise cls(f"{where}: the answer (HTTP {status}) was not a valid put.io envelope",
                  status=status)
    if not is_success(envelope.get("error")):
        raise classify_error(message or f"{where}: put.io reported an error", status=status)
    if status >= 400:
        raise BadRequestError(message or f"{where}: HTTP {status}", status=status)
    response_part = envelope.get("response")
    if response_part is None:
        return None
    return response_part.get("results")


def error_message(envelope: Mapping[str, Any] | None,
                  redact: Callable[[str], str]) -> str | None:
    """The envelope's error message (``error_message``, else a string ``error``), redacted."""
    if envelope is None:
        return None
    message = envelope.get("error_message")
    if not message:
        error = envelope.get("error")
        message = error if isinstance(error, str) else None
    if not message:
        return None
    return redact(str(message))


def decode(content: bytes) -> Mapping[str, Any] | None:
    """The JSON envelope, or None. Bytes that are not UTF-8 (a name stored by some old client)
    become U+FFFD instead of failing the whole answer."""
    try:
        data = json.loads(content.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, Mapping) else None


def is_success(error: Any) -> bool:
    return error is None or error is False or (isinstance(error, int) and error == 0)


def is_envelope(envelope: Mapping[str, Any]) -> bool:
    if "error" not in envelope and "response" not in envelope:
        return False
    response = envelope.get("response")
    if is_success(envelope.get("error")):
        return response is None or isinstance(response, Mapping)
    return True


def classify_error(message: str, *, status: int | None = None) -> PutioError:
    """Map put.io's ``error_message`` to the exception a caller can act on."""
    text = message.lower()
    if _AUTH_WORDS.search(text):
        return AuthenticationError(message, status=status)
    if _NOT_FOUND_WORDS.search(text):
        return NotFoundError(message, status=status)
    if _CONFLICT_WORDS.search(text):
        return ConflictError(message, status=status)
    if _PERMISSION_WORDS.search(text):
        return PermissionDeniedError(message, status=status)
    return BadRequestError(message, status=status)
