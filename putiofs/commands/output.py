"""How the API commands print: the text views of :mod:`putiofs.views`, and JSON for scripts."""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Any, TextIO

from putiofs.views import fields, human_size, plain_text, table

__all__ = ["SECRET_FIELDS", "emit", "emit_json", "fields", "human_size", "plain_text", "table",
           "to_json"]

# Fields the spec lists on objects that must never be printed (User carries the credentials).
SECRET_FIELDS = frozenset({"access_token", "api_key", "api_secret"})


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
    out = out or sys.stdout
    json.dump(to_json(value), out, indent=2, ensure_ascii=False)
    out.write("\n")


def emit(text: str, out: TextIO | None = None) -> None:
    (out or sys.stdout).write(text)
