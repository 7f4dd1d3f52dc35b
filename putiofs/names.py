"""How put.io names become directory entries, and back.

put.io allows what a POSIX directory cannot: '/' inside a name, two items of one name in a
folder, names longer than 255 bytes, '.' and '..'. The rules, applied per folder listing:

* '/' is shown as U+2215 DIVISION SLASH '∕'; a name typed with '∕' is sent to put.io with '/'
  where the API stores '/' in names (v1). (A put.io name that really contains '∕' therefore
  turns into '/' if it is renamed through the mount — the one ambiguity of the scheme,
  accepted because '∕' is vanishingly rare in names.) Where put.io refuses '/' (v2, see
  ``Capabilities.slash_in_names``) a typed '∕' is stored as '∕': the name then reads back
  exactly as typed.
* NUL and lone surrogates (which cannot be encoded) become U+FFFD.
* When several items share a shown name, folders come first, then lower ids; the first keeps the
  plain name and each other one gets `` [#<id>]`` before its extension: ``movie [#1234].mkv``.
  The suffix depends only on the item's own id, so names do not change between listings, and a
  folder's shown name depends only on its sibling folders, which lets a folder map (dirmap)
  resolve deep paths exactly as listings do.
* '', '.' and '..' are always suffixed the same way.
* A name longer than 255 bytes (UTF-8) is cut at a character boundary and suffixed
  ``…[#<id>]`` before the (short) extension, so it stays unique and under NAME_MAX.
* Control characters (tab, newline, ESC, ...) are valid in POSIX names and are shown as they are.

Names typed in the mount:

* A lookup matches the shown name exactly. Only when nothing matches exactly, a name that equals
  exactly one shown name after Unicode NFC normalisation finds that item: put.io keeps names as
  uploaded, so a name written on macOS (decomposed, NFD: "e" + U+0301) is still found when typed
  on Linux (composed, NFC: U+00E9). If two shown names normalise alike, the fallback answers
  nothing (ENOENT) rather than guess. Listings always show the names exactly as put.io has them.
* A name the kernel hands over that is not valid UTF-8 arrives with the undecodable bytes as
  lone surrogates (fusepy decodes with ``surrogateescape``, see ``mount.py``): it matches no
  put.io name (those are always valid Unicode), and creating or renaming to it is refused with
  :class:`InvalidName` (EINVAL), as put.io names are text.
* A name longer than NAME_MAX bytes is answered with ENAMETOOLONG, in a lookup as in mkdir or
  rename (the FUSE kernel module itself lets names up to 1024 bytes through).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Protocol, TypeVar

NAME_MAX = 255
SLASH_SUBSTITUTE = "\u2215"
_RESERVED = {"", ".", ".."}
_MAX_EXTENSION = 16


class Named(Protocol):
    id: str
    name: str
    is_dir: bool


T = TypeVar("T")


class InvalidName(ValueError):
    """A name typed in the mount that put.io cannot store (not valid Unicode text)."""


class NameTooLong(ValueError):
    """A path component longer than NAME_MAX bytes (ENAMETOOLONG): no shown name is."""


def check_length(name: str) -> None:
    """Raise NameTooLong for a component of more than NAME_MAX bytes."""
    if len(name) > NAME_MAX // 4 and len(name.encode("utf-8", "surrogateescape")) > NAME_MAX:
        raise NameTooLong(f"a name of more than {NAME_MAX} bytes")


def clean(name: str) -> str:
    """put.io name → a valid path component, before duplicate handling."""
    name = name.replace("/", SLASH_SUBSTITUTE).replace("\0", "\ufffd")
    if _has_surrogates(name):
        name = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in name)
    return name


def to_remote(local_name: str, *, slash: bool = True) -> str:
    """A name typed in the mount → the name put.io should store: '∕' becomes '/' when
    ``slash`` (put.io stores '/' in names over this API), else it is kept. Raises InvalidName
    for a name that was not valid UTF-8 (undecodable bytes arrive as lone surrogates)."""
    if _has_surrogates(local_name):
        raise InvalidName("the name is not valid UTF-8")
    return local_name.replace(SLASH_SUBSTITUTE, "/") if slash else local_name


def _has_surrogates(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def normalised_index(shown_names: Iterable[str]) -> dict[str, str | None]:
    """NFC form → the one shown name with that form, or None when several share it."""
    index: dict[str, str | None] = {}
    for shown in shown_names:
        key = unicodedata.normalize("NFC", shown)
        index[key] = None if key in index and index[key] != shown else shown
    return index


def lookup(by_name: Mapping[str, T], name: str,
           index: Mapping[str, str | None] | None = None) -> T | None:
    """The item shown as ``name``: exact match first, then an unambiguous NFC match (see the
    module docstring). ``index`` is :func:`normalised_index` of ``by_name`` when the caller
    keeps one; else it is built here."""
    found = by_name.get(name)
    if found is not None or _has_surrogates(name):
        return found
    if index is None:
        index = normalised_index(by_name)
    shown = index.get(unicodedata.normalize("NFC", name))
    return by_name.get(shown) if shown is not None else None


def _split_extension(name: str) -> tuple[str, str]:
    dot = name.rfind(".")
    if dot <= 0 or dot == len(name) - 1 or len(name) - dot > _MAX_EXTENSION:
        return name, ""
    return name[:dot], name[dot:]


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def _cut_utf8(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")[:max(max_bytes, 0)]
    return encoded.decode("utf-8", errors="ignore")


def suffixed(name: str, item_id: str) -> str:
    """``stem [#id].ext``, cut so the result fits NAME_MAX bytes."""
    stem, ext = _split_extension(name)
    tag = f" [#{item_id}]"
    if _utf8_len(stem + tag + ext) <= NAME_MAX:
        return stem + tag + ext
    tag = f"\u2026[#{item_id}]"
    return _cut_utf8(stem, NAME_MAX - _utf8_len(tag + ext)) + tag + ext


def _id_key(item_id: str) -> tuple[int, int | str]:
    return (0, int(item_id)) if item_id.isdigit() else (1, item_id)


def assign(items: Iterable[Named]) -> dict[str, Named]:
    """Shown name → item for one folder's children, by the rules of this module."""
    groups: dict[str, list[Named]] = {}
    for item in items:
        shown = clean(item.name)
        if _utf8_len(shown) > NAME_MAX or shown in _RESERVED:
            groups.setdefault(suffixed(shown, item.id), []).append(item)
            continue
        groups.setdefault(shown, []).append(item)
    result: dict[str, Named] = {}
    pending: list[tuple[str, Named]] = []
    for shown, members in groups.items():
        members.sort(key=lambda it: (not it.is_dir, _id_key(it.id)))
        result[shown] = members[0]
        pending.extend((suffixed(shown, m.id), m) for m in members[1:])
    for shown, item in pending:
        attempt = 0
        while shown in result:
            attempt += 1
            shown = suffixed(f"{shown}~{attempt}", item.id)
        result[shown] = item
    return result
