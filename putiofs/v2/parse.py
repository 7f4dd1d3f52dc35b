"""Lenient scalar parsing for put.io v2 answers: ids, counts, sizes, flags and timestamps.

The v2 API sends ints as JSON numbers, but older answers and other clients show strings, floats
and nulls in the same places, so every helper accepts all of them and returns None for what it
cannot read; a missing or new field never breaks a listing. Two things are refused instead of
guessed: a byte size outside ``0 .. 2**63 - 1`` (no file can have it, and ``st_size`` could not
hold it), and a file object without an id.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from putiofs.api.errors import ServerError
from putiofs.net.lenient import MAX_SIZE, BadValue, to_str
from putiofs.net.lenient import mapping as mapping  # these re-exported: one rule for both
from putiofs.net.lenient import to_bool as to_bool
from putiofs.net.lenient import to_flag as to_flag
from putiofs.net.lenient import to_int as to_int
from putiofs.net.lenient import to_text as to_text

Model = TypeVar("Model")


def parsed(parse: Callable[[Any], Model], data: Any, where: str) -> Model:
    """``parse(data)``; an impossible value becomes a ServerError that names the call."""
    try:
        return parse(data)
    except BadValue as exc:
        raise ServerError(f"{where}: put.io sent {exc}") from None


def parsed_object(parse: Callable[[Any], Model], data: Any, where: str) -> Model:
    """:func:`parsed` of what must be a JSON object; anything else is a ServerError too."""
    if not isinstance(data, Mapping):
        raise ServerError(f"{where}: the answer held no object")
    return parsed(parse, data, where)


def to_id(value: Any) -> str | None:
    """An id as the filesystem keeps it: decimal text; None for null or empty."""
    text = to_str(value)
    if text is None:
        return None
    text = text.strip()
    return text or None


def to_float(value: Any) -> float | None:
    """A finite float from a number or numeric text; None otherwise."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def to_size(value: Any, what: str = "size") -> int | None:
    """A byte count: None for null or missing; BadValue when it is negative, too large for a
    file (``MAX_SIZE``), fractional, or not a number at all."""
    if value is None:
        return None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or not 0 <= number <= MAX_SIZE:
        raise BadValue(f"{what} out of range: {str(value)[:40]!r}")
    return number


def size_of(what: str) -> Callable[[Any], int | None]:
    """:func:`to_size` as a field's parser, whose BadValue names ``what``."""
    return functools.partial(to_size, what=what)


def to_time(value: Any) -> float | None:
    """Seconds since the epoch from put.io's UTC timestamps.

    put.io sends ``YYYY-MM-DDTHH:MM:SS`` without a zone, and meaning UTC; events have used a
    space for the ``T``, and other sources show a trailing ``Z``, an explicit offset or
    fractional seconds. All of these are read; anything else is None.
    """
    text = to_str(value)
    if text is None:
        return None
    text = text.strip()
    if len(text) < 19:  # a date alone is not a timestamp
        return None
    if text[-1] in "Zz":
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def format_time(epoch: float) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` for a request (put.io keeps whole seconds)."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_crc32(value: Any) -> str | None:
    """A CRC-32 as 8 lowercase hex digits; None when missing or not a CRC-32."""
    text = to_str(value)
    if text is None:
        return None
    text = text.strip().lower()
    if len(text) == 8 and all(c in "0123456789abcdef" for c in text):
        return text
    return None


def csv(ids: Any) -> str:
    """A comma-joined id list (``file_ids=1,2,3``); a single id is a list of one."""
    if isinstance(ids, str | int):
        ids = [ids]
    return ",".join(str(i).strip() for i in ids)
