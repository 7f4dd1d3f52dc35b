"""The v2 request and answer conventions: parameters, errors, timestamps, envelopes (the
request an endpoint sees and its routing rule are in :mod:`~putiofs.emulator.v2.request`).

Parameters come from the query string and the body (form-encoded or JSON; the body wins when
both name one); an empty string counts as absent. Booleans take every spelling clients send,
id lists a comma-joined string or a JSON list.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

ERROR_URI = "http://api.put.io/v2/docs"
#: ``per_page`` of a listing that names none (files, search, trash; events have their own).
DEFAULT_PER_PAGE = 100
#: The largest ``per_page`` of every listing (the reference: "treat 1000 as the maximum").
MAX_PER_PAGE = 1000
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class V2Error(Exception):
    """An error answered with the v2 error envelope."""

    def __init__(self, status: int, error_type: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.headers = headers or {}


def error_payload(status: int, error_type: str, message: str) -> dict[str, Any]:
    return {"error_id": None, "error_message": message, "error_type": error_type,
            "error_uri": ERROR_URI, "extra": {}, "status": "ERROR", "status_code": status}


def bad_request(message: str, error_type: str = "BadRequest") -> V2Error:
    return V2Error(400, error_type, message)


def not_found(message: str = "Not found", error_type: str = "NotFound") -> V2Error:
    return V2Error(404, error_type, message)


def stamp(when: float | None) -> str | None:
    """put.io's timestamp: ``YYYY-MM-DDTHH:MM:SS`` in UTC, no zone, whole seconds."""
    if when is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when))


def parse_stamp(text: str, name: str) -> float:
    """An ISO 8601 / RFC 3339 time (``Z``, an offset or none = UTC) as epoch seconds, cut to
    whole seconds (put.io keeps second precision)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise bad_request(f"Invalid {name}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return float(int(value.timestamp()))


class Params:
    """The parameters of one request."""

    def __init__(self, query: str, body: bytes, content_type: str) -> None:
        self.values: dict[str, Any] = {}
        for name, values in parse_qs(query, keep_blank_values=True).items():
            self.values[name] = values[-1]
        if not body:
            return
        if content_type.split(";")[0].strip().lower() == "application/json":
            try:
                decoded = json.loads(body)
            except (ValueError, RecursionError):
                raise bad_request("Malformed JSON body") from None
            if not isinstance(decoded, dict):
                raise bad_request("Malformed JSON body")
            self.values.update(decoded)
        elif content_type.split(";")[0].strip().lower() != "multipart/form-data":
            form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            self.values.update({name: values[-1] for name, values in form.items()})

    def raw(self, name: str) -> Any:
        value = self.values.get(name)
        return None if value == "" else value

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, (dict, list)):
            raise bad_request(f"Invalid {name}")
        return value if isinstance(value, str) else json.dumps(value)

    def required_text(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise bad_request(f"Missing {name}")
        return value

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, bool):
            raise bad_request(f"Invalid {name}")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            return int(value)
        raise bad_request(f"Invalid {name}")

    def required_integer(self, name: str) -> int:
        value = self.integer(name)
        if value is None:
            raise bad_request(f"Missing {name}")
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean in any spelling: 1/0, true/false, True/False (and JSON booleans)."""
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise bad_request(f"Invalid {name}")

    def ids(self, name: str) -> list[int] | None:
        """A comma-joined id list (or a JSON list, or one number); None when absent."""
        value = self.raw(name)
        if value is None:
            return None
        items = value if isinstance(value, list) else str(value).split(",")
        ids = []
        for item in items:
            text = str(item).strip()
            if not text:
                continue
            if isinstance(item, bool) or not re.fullmatch(r"\d+", text):
                raise bad_request(f"Invalid {name}")
            ids.append(int(text))
        return ids


def per_page(params: Params, default: int, *, clamp: bool) -> int:
    """``per_page``: positive; above :data:`MAX_PER_PAGE` it is clamped or refused with 400."""
    value = params.integer("per_page", default)
    assert value is not None
    if value < 1:
        raise bad_request("per_page must be positive", "INVALID_PER_PAGE")
    if value > MAX_PER_PAGE:
        if not clamp:
            raise bad_request(f"per_page must be at most {MAX_PER_PAGE}", "INVALID_PER_PAGE")
        value = MAX_PER_PAGE
    return value


@dataclass(frozen=True)
class Redirect:
    """An endpoint's answer that is a 302 to ``location``."""

    location: str


@dataclass(frozen=True)
class Document:
    """An endpoint's answer that is not JSON: ``body`` of ``content_type`` at HTTP 200."""

    body: bytes
    content_type: str


def ok(**payload: Any) -> dict[str, Any]:
    """A success envelope: the payload keys plus ``"status": "OK"``."""
    return {**payload, "status": "OK"}
