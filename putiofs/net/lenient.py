"""Single values of put.io's JSON answers, for the models of both API versions
(:mod:`putiofs.v1.models`, :mod:`putiofs.v2.parse`), and the one reader of a whole answer.

Lenient where the meaning is certain whatever the form (``"12"``, ``12``, ``12.0`` are one
number); strict where a wrong reading would be shown as fact: a byte count that cannot be one
raises :class:`BadValue` instead of becoming some other number.

A model is a frozen dataclass whose fields say how each is read (:func:`json_field`: a parser,
and where it differs the key); :func:`from_answer` builds one from an answer. A model's
``from_json`` adds only what a declaration cannot say: values that depend on one another or on
the call, nested models, refusals.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

#: The largest size a file can have (``off_t``): anything above is not a byte count.
MAX_SIZE = 2**63 - 1
#: Up to here every whole number is exactly a float, so a whole float is the number sent.
_EXACT_FLOAT = 2**53
#: A byte count as text: plain decimal, an optional fraction, an optional exponent (ASCII only).
_DECIMAL = re.compile(r"([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?", re.ASCII)
#: Longer texts are not sizes (19 digits is the largest; this leaves room for "5.0e3" forms).
_MAX_TEXT = 40

_TRUE_STRINGS = frozenset({"1", "true", "yes", "on", "t", "y"})
_FALSE_STRINGS = frozenset({"0", "false", "no", "off", "f", "n", ""})
#: Where :func:`json_field` keeps how a field is read, in the field's metadata.
_READ = "putiofs.json"

Model = TypeVar("Model")


class BadValue(ValueError):
    """A value in an answer that cannot mean what its field says (a size of -5, of "lots")."""


def shown(value: Any) -> str:
    """A value for an error message or a log line: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def to_str(value: Any) -> str | None:
    """A string, or None for null. Numbers become their decimal text (12.0 -> "12")."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def to_text(value: Any) -> str:
    """:func:`to_str`, with "" for null: for a name, which every item has."""
    return to_str(value) or ""


def to_id(value: Any) -> str | None:
    """An item id: a non-empty string (taken as sent, spaces trimmed) or a whole number >= 0.

    None for null, "", true/false, negative or fractional numbers, lists and objects: nothing
    that could be sent back to put.io to name this one item.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if value >= 0 else None
    if isinstance(value, float):
        whole = math.isfinite(value) and value.is_integer() and 0 <= value <= _EXACT_FLOAT
        return str(int(value)) if whole else None
    if isinstance(value, str):
        return value.strip() or None
    return None


def to_int(value: Any) -> int | None:
    """An integer from int, float or numeric text (fractions cut); None for null, empty,
    true/false, NaN, infinities or anything else. For counts and codes, never for sizes."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                return None
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    return None


def mapping(data: Any) -> Mapping[str, Any]:
    """``data`` if it is a JSON object, else an empty one."""
    return data if isinstance(data, Mapping) else {}


def to_size(value: Any) -> int | None:
    """A byte count, exactly as sent, or None when the answer gives none (null, "", spaces).

    Accepted: whole numbers 0..2**63-1 as JSON integers, as whole floats up to 2**53, or as
    ASCII decimal text, with a fraction or exponent only where the value stays whole and exact
    ("12", " 12 ", "12.0", "1.5e3"). Anything else raises :class:`BadValue`: negative numbers,
    numbers above 2**63-1 ("1e30", 2**64+5), fractions (12.5, "1e-3"), whole floats above
    2**53 (no longer exact), true/false, NaN, infinities, other text ("lots", "0x10", "+5",
    "1_000"), lists and objects.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadValue(f"{shown(value)} is not a byte count")
    if isinstance(value, int):
        return _in_range(value, value)
    if isinstance(value, float):
        if not (math.isfinite(value) and value.is_integer() and 0 <= value <= _EXACT_FLOAT):
            raise BadValue(f"{shown(value)} is not an exact whole byte count")
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        match = _DECIMAL.fullmatch(text) if len(text) <= _MAX_TEXT else None
        if match is None:
            raise BadValue(f"{shown(value)} is not a byte count")
        return _in_range(_whole_decimal(*match.groups(), original=value), value)
    raise BadValue(f"{shown(value)} is not a byte count")


def size_or_none(value: Any) -> int | None:
    """:func:`to_size` for figures only shown to the user (quota, a link's size): None, never a
    wrong number, when the value is not a byte count."""
    try:
        return to_size(value)
    except BadValue:
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


def to_flag(value: Any) -> bool:
    """:func:`to_bool` for a flag that is set only where the answer says so: False for null or
    unrecognised."""
    return bool(to_bool(value))


@dataclass(frozen=True)
class _Read:
    """How :func:`from_answer` reads one field: ``parse`` the value at ``path`` (the field's
    name where None), or at ``fallback`` (a key beside it) where that is null or absent."""

    parse: Callable[[Any], Any]
    path: tuple[str, ...] | None
    fallback: str | None

    def read(self, answer: Mapping[str, Any], name: str) -> Any:
        key = name
        if self.path is not None:
            *outer, key = self.path
            for step in outer:
                answer = mapping(answer.get(step))
        value = answer.get(key)
        if value is None and self.fallback is not None:
            value = answer.get(self.fallback)
        return self.parse(value)


def json_field(parse: Callable[[Any], Any], key: str | tuple[str, ...] | None = None, *,
               fallback: str | None = None, default: Any = dataclasses.MISSING,
               repr: bool = True) -> Any:
    """A dataclass field that :func:`from_answer` reads with ``parse`` from the answer's ``key``
    (the field's name unless given; a tuple is a path through nested objects), or from the key
    ``fallback`` where that value is null or absent. ``default`` and ``repr`` are those of
    :func:`dataclasses.field`: without a default the field is required."""
    path = (key,) if isinstance(key, str) else key
    return dataclasses.field(default=default, repr=repr,
                             metadata={_READ: _Read(parse, path, fallback)})


def from_answer(cls: type[Model], answer: Any, /, **given: Any) -> Model:
    """The dataclass ``cls`` read from a JSON object (anything else reads as an empty one):
    each field declared with :func:`json_field` read as it says, except those ``given`` as
    they are; the other fields keep their defaults. Fields are read in their order, so the
    first impossible value is the one a :class:`BadValue` names."""
    answer = mapping(answer)
    values = dict(given)
    for name, how in _declared(cls):
        if name not in given:
            values[name] = how.read(answer, name)
    return cls(**values)


@functools.cache
def _declared(cls: type) -> tuple[tuple[str, _Read], ...]:
    """The fields of ``cls`` declared with :func:`json_field`, in order."""
    return tuple((f.name, f.metadata[_READ]) for f in dataclasses.fields(cls)
                 if _READ in f.metadata)


def _in_range(number: int, original: Any) -> int:
    if not 0 <= number <= MAX_SIZE:
        raise BadValue(f"{shown(original)} is out of range for a byte count")
    return number


def _whole_decimal(whole: str, fraction: str | None, exponent: str | None, *,
                   original: Any) -> int:
    """The exact value of ``whole.fraction e exponent``, which must be a whole number."""
    digits = (whole + (fraction or "")).lstrip("0")
    if not digits:
        return 0
    scale = int(exponent or 0) - len(fraction or "")
    if scale >= 0:
        if len(digits) + scale > len(str(MAX_SIZE)):
            raise BadValue(f"{shown(original)} is out of range for a byte count")
        return int(digits) * 10**scale
    kept, dropped = digits[:scale], digits[scale:]
    if dropped.strip("0"):
        raise BadValue(f"{shown(original)} is not a whole byte count")
    return int(kept or "0")
