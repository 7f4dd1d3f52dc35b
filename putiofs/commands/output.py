"""How the API commands print: aligned tables, put.io's human sizes, and JSON for scripts."""

from __future__ import annotations

import dataclasses
import html
import json
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

# Fields the spec lists on objects that must never be printed (User carries the credentials).
SECRET_FIELDS = frozenset({"access_token", "api_key", "api_secret"})
_TAG = re.compile(r"<[^>]*>")


def human_size(size: int | None) -> str:
    """put.io's human size: 1024-based, two decimals, one-letter suffix ("89.86K", "100.10M")."""
    if size is None:
        return "-"
    value = float(size)
    for suffix in ("B", "K", "M", "G"):
        if abs(value) < 1024:
            return f"{value:.2f}{suffix}"
        value /= 1024
    return f"{value:.2f}T"


def plain_text(markup: str | None) -> str:
    """A put.io message title (HTML) as one line of text."""
    if not markup:
        return ""
    return " ".join(html.unescape(_TAG.sub("", markup)).split())


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Left-aligned columns two spaces apart; the last column is not padded."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for index, value in enumerate(row):
            widths[index] = max(widths[index], len(value))
    lines = []
    for row in [list(headers), *cells]:
        padded = [value.ljust(widths[i]) for i, value in enumerate(row[:-1])]
        lines.append("  ".join([*padded, row[-1]]).rstrip())
    return "\n".join(lines) + "\n"


def fields(pairs: Iterable[tuple[str, Any]]) -> str:
    """``key: value`` lines with the values aligned; None values are left out."""
    present = [(key, _cell(value)) for key, value in pairs if value is not None]
    width = max((len(key) for key, _ in present), default=0)
    return "".join(f"{(key + ':').ljust(width + 1)} {value}\n" for key, value in present)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return " ".join(str(value).split()) or "-"


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
