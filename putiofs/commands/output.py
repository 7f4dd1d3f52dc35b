"""How the API commands print: the text views of :mod:`putiofs.views`, and JSON for scripts."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from collections.abc import Callable
from typing import Any, TextIO

from putiofs.views import escape, fields, human_size, plain_text, table

__all__ = ["SECRET_FIELDS", "answer", "emit", "emit_json", "escape", "fields", "human_size",
           "plain_text", "show", "table", "to_json"]

# Fields that must never be printed, should an object ever carry them.
SECRET_FIELDS = frozenset({"access_token", "api_key", "api_secret", "token"})
# What JSON leaves raw with ensure_ascii=False but a terminal acts on: DEL, C1, U+2028/9.
_RAW_CONTROLS = re.compile("[\x7f-\x9f\u2028\u2029]")


def to_json(value: Any) -> Any:
    """Models (dataclasses) as JSON objects, recursively, without secret fields."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.name not in SECRET_FIELDS}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items() if k not in SECRET_FIELDS}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def emit_json(value: Any, out: TextIO | None = None) -> None:
    """``value`` as indented JSON: strings exact, every control character as a ``\\u``
    escape (JSON escapes C0 itself; DEL and C1 are escaped here), so nothing reaches the
    terminal raw."""
    text = json.dumps(to_json(value), indent=2, ensure_ascii=False)
    text = _RAW_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    (out or sys.stdout).write(text + "\n")


def emit(text: str, out: TextIO | None = None) -> None:
    (out or sys.stdout).write(text)


def show(value: Any, view: Callable[[Any], str], *, as_json: bool) -> int:
    """``value`` as JSON (``--json``) or as ``view`` renders it; exit status 0."""
    if as_json:
        emit_json(value)
    else:
        emit(view(value))
    return 0


def answer(value: Any, text: str, *, as_json: bool) -> int:
    """``value`` as JSON (``--json``), else the line(s) ``text``; exit status 0."""
    return show(value, lambda _: text, as_json=as_json)
