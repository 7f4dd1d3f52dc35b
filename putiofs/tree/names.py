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
* A new version of a file takes the place of the one it replaced (:class:`Seniority`): put.io
  gives every upload a new id, so an edited ``notes.txt`` with an older same-named sibling would
  otherwise lose the plain name to it, and the path would show the other file. The mount
  records, for a file that replaced another (its upload landed, or it was renamed over it)
  while same-named siblings were there, whose place it holds; it ranks as that item, ties going
  to the lower id. Another client, or a mount without that record, ranks by id alone.
* '', '.' and '..' are always suffixed the same way.
* A name longer than 255 bytes (UTF-8) is cut at a character boundary and suffixed
  ``…[#<id>]`` before the (short) extension, so it stays unique and under NAME_MAX.
* Should a duplicate's `` [#<id>]`` name already be someone's real name (a file uploaded under a
  shown name), the real name keeps it and the duplicate becomes `` [#<id>~1]`` (``~2``, ...);
  among duplicates wanting one name, the same order decides (folders, then lower ids).
* Control characters (tab, newline, ESC, ...) are valid in POSIX names and are shown as they are.

The shown names depend on the folder's items only, never on the order a listing gives them in.
:func:`assign` works them out for a whole folder; :class:`NameTable` keeps them up to date one
change at a time, touching only the changed item's name group (the items claiming its name): a
change costs the same in a folder of 20 items and of 100,000 (``rm -r`` of a big folder is one
change per item).

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
* What put.io refuses is refused before anything is sent, by :func:`to_remote`, the one check
  of a name for put.io (create, mkdir and rename all go through it), with the API's
  capabilities: a name not valid UTF-8, or, where the API refuses it (v2's ``EMPTY_NAME``,
  ``Capabilities.blank_names`` False), a name of nothing but white space (EINVAL); longer than
  NAME_MAX bytes (ENAMETOOLONG, by the caller). '/' is not refused: '∕' stands for it.
* A name longer than NAME_MAX bytes is answered with ENAMETOOLONG, in a lookup as in mkdir or
  rename (the FUSE kernel module itself lets names up to 1024 bytes through).
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from typing import Generic, Protocol, TypeVar

NAME_MAX = 255
SLASH_SUBSTITUTE = "\u2215"
_RESERVED = {"", ".", ".."}
_MAX_EXTENSION = 16


class Named(Protocol):
    id: str
    name: str
    is_dir: bool


Value = TypeVar("Value")
N = TypeVar("N", bound=Named)
_Priority = tuple[bool, tuple[int, int | str], tuple[int, int | str], str]


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


def to_remote(local_name: str, *, slash: bool = True, blank: bool = True) -> str:
    """A name typed in the mount → the name put.io should store: '∕' becomes '/' when
    ``slash`` (put.io stores '/' in names over this API), else it is kept. Raises InvalidName
    for a name put.io refuses: one that was not valid UTF-8 (undecodable bytes arrive as lone
    surrogates), or, unless ``blank`` (the API stores such names), one of nothing but white
    space."""
    if _has_surrogates(local_name):
        raise InvalidName("the name is not valid UTF-8")
    if not blank and not local_name.strip():
        raise InvalidName("put.io refuses a name of nothing but white space")
    return local_name.replace(SLASH_SUBSTITUTE, "/") if slash else local_name


def _has_surrogates(text: str) -> bool:
    """Lone surrogates are the only characters UTF-8 cannot encode (checked at C speed)."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def normalised_index(shown_names: Iterable[str]) -> dict[str, str | None]:
    """NFC form → the one shown name with that form, or None when several share it."""
    index: dict[str, str | None] = {}
    for shown in shown_names:
        key = unicodedata.normalize("NFC", shown)
        index[key] = None if key in index and index[key] != shown else shown
    return index


def lookup(by_name: Mapping[str, Value], name: str,
           index: Mapping[str, str | None] | None = None) -> Value | None:
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


class Seniority:
    """Whose place among same-named items a file holds (see the module docstring): item id →
    the id it ranks as. Thread-safe for single calls; the owner keeps the name tables right
    (an item whose rank changes is put into its listings again, as :meth:`inherit` says)."""

    def __init__(self) -> None:
        self._ranks: dict[str, str] = {}

    def rank(self, item_id: str) -> str:
        return self._ranks.get(item_id, item_id)

    def inherit(self, heir: Named, predecessor: Named, siblings: Iterable[Named]) -> bool:
        """``heir`` replaced ``predecessor`` under the same name: it takes its place if a
        sibling (neither of the two) shares that name, the only case where the place matters.
        True if recorded; the caller then puts ``heir`` into its listings again (a table
        holding it would keep it at its old place)."""
        key = group_key(heir)
        if heir.is_dir or group_key(predecessor) != key:
            return False
        if not any(s.id not in (heir.id, predecessor.id) and group_key(s) == key
                   for s in siblings):
            return False
        rank = self.rank(predecessor.id)
        if _id_key(rank) >= _id_key(heir.id):
            return False
        self._ranks[heir.id] = rank
        return True

    def forget(self, item_id: str) -> None:
        """The item is gone (call once it has left the listings)."""
        self._ranks.pop(item_id, None)

    def restore(self, ranks: Mapping[str, str]) -> None:
        """What a previous mount recorded (before any listing is built)."""
        self._ranks.update(ranks)

    def ranks(self) -> dict[str, str]:
        """A copy of what is recorded (to keep it for the next mount)."""
        return dict(self._ranks)


def _priority(item: Named, seniority: Seniority | None = None) -> _Priority:
    """Who keeps a shared name: folders first, then the lowest rank (the item's id, or the id
    of the item whose place it holds), then the lowest id (the raw id breaks ties)."""
    rank = item.id if seniority is None else seniority.rank(item.id)
    return (not item.is_dir, _id_key(rank), _id_key(item.id), item.id)


def group_key(item: Named) -> str:
    """The name an item claims: its cleaned name, or already suffixed when reserved/too long."""
    shown = clean(item.name)
    if shown in _RESERVED or (len(shown) > NAME_MAX // 4 and _utf8_len(shown) > NAME_MAX):
        return suffixed(shown, item.id)
    return shown


def _chain(key: str, item_id: str) -> Iterator[str]:
    """The names a duplicate tries in turn: ``key [#id]``, then (only while a real name or a
    duplicate of higher priority already has it) ``key [#id~1]``, ``key [#id~2]``, ... Each ends
    in a different tag, cut or not, so the names never repeat and the walk always ends."""
    yield suffixed(key, item_id)
    for attempt in itertools.count(1):
        yield suffixed(key, f"{item_id}~{attempt}")


def assign(items: Iterable[N], seniority: Seniority | None = None) -> dict[str, N]:
    """Shown name → item for one folder's children, by the rules of this module.

    The reference: :class:`NameTable` keeps the same answer up to date one edit at a time.
    """
    def priority(item: N) -> _Priority:
        return _priority(item, seniority)

    groups: dict[str, list[N]] = {}
    for item in items:
        groups.setdefault(group_key(item), []).append(item)
    result: dict[str, N] = {}
    others: list[tuple[_Priority, str, N]] = []
    for key, members in groups.items():
        members.sort(key=priority)
        result[key] = members[0]
        others.extend((priority(m), key, m) for m in members[1:])
    others.sort(key=lambda other: other[0])
    for _, key, item in others:
        for shown in _chain(key, item.id):
            if shown not in result:
                result[shown] = item
                break
    return result


class NameTable(Generic[N]):
    """:func:`assign` for one folder, kept up to date as items come, go and change.

    An edit touches only the edited item's group (the items claiming its name) and, in the rare
    case that a duplicate's ``[#id]`` name is also someone's real name, the few items whose
    choice that changes: the cost does not grow with the folder. Per item it keeps one entry in
    ``items`` (id → item) and one in ``shown`` (shown name → item); only duplicates carry more
    (their group, their chosen name, the names they found taken).

    Not thread-safe for writers: the owner serialises ``put``/``discard``/``lookup``. Readers
    may use ``shown`` without a lock: each dict operation is atomic, and ``shown`` is updated
    in place with new names set before old ones are deleted, so a name present before and after
    an edit never disappears in between.
    """

    def __init__(self, items: Iterable[N] = (), seniority: Seniority | None = None) -> None:
        self._seniority = seniority
        self.items: dict[str, N] = {}
        self.shown: dict[str, N] = {}
        self._dups: dict[str, list[N]] = {}        # key → members by priority, where ≥ 2
        self._loser_names: dict[str, str] = {}     # id → shown name, for non-winners only
        self._blocked: dict[str, set[str]] = {}    # name → ids that found it taken
        self._pending: list[tuple[_Priority, str]] = []
        self._queued: set[str] = set()
        self._vacated: set[str] = set()
        self._nfc: dict[str, set[str]] | None = None  # NFC form → shown names not in NFC
        for item in items:
            self.items[item.id] = item
        for item in self.items.values():
            key = group_key(item)
            holder = self.shown.setdefault(key, item)
            if holder is not item:
                self._dups.setdefault(key, [holder]).append(item)
        for key, members in self._dups.items():
            members.sort(key=self._priority)
            self.shown[key] = members[0]
            for member in members[1:]:
                self._queue(member)
        self._settle()

    # -- edits ----------------------------------------------------------------------------

    def put(self, item: N) -> None:
        """Add ``item``, or replace the item of its id (new name, new fields)."""
        if item.id in self.items:
            self._remove(item.id)
        self._add(item)
        self._settle()

    def discard(self, item_id: str) -> None:
        """Remove the item of this id, if present."""
        self._remove(item_id)
        self._settle()

    def shown_name(self, item_id: str) -> str | None:
        """The name the item of this id is shown as, or None if it is not here."""
        item = self.items.get(item_id)
        if item is None:
            return None
        return self._loser_names.get(item_id) or group_key(item)

    def group(self, key: str) -> list[N]:
        """The items claiming the shown name ``key`` (see :func:`group_key`), by priority."""
        members = self._dups.get(key)
        if members is not None:
            return list(members)
        holder = self.shown.get(key)
        return [holder] if holder is not None and group_key(holder) == key else []

    def lookup(self, name: str) -> N | None:
        """The item shown as ``name``, else the one whose shown name matches it after NFC
        normalisation, if exactly one does (see the module docstring)."""
        found = self.shown.get(name)
        if found is not None or _has_surrogates(name):
            return found
        key = unicodedata.normalize("NFC", name)
        if self._nfc is None:
            self._nfc = {}
            for shown in self.shown:
                self._nfc_add(shown)
        matches = set(self._nfc.get(key, ()))
        if key in self.shown:
            matches.add(key)
        return self.shown[matches.pop()] if len(matches) == 1 else None

    def _add(self, item: N) -> None:
        key = group_key(item)
        self.items[item.id] = item
        members = self._dups.get(key)
        if members is None:
            holder = self._holder(key)
            if holder is None or self._loser_names.get(holder.id) == key:
                self._set_winner(key, item)
                return
            members = self._dups[key] = [holder]
        bisect.insort(members, item, key=self._priority)
        if members[0] is item:
            self._set_winner(key, item)
            self._queue(members[1])
        else:
            self._queue(item)

    def _remove(self, item_id: str) -> None:
        item = self.items.pop(item_id, None)
        if item is None:
            return
        key = group_key(item)
        members = self._dups.get(key)
        if members is None:
            self._vacate(key)
            return
        index = next(i for i, member in enumerate(members) if member.id == item_id)
        del members[index]
        if index == 0:
            successor = members[0]
            self._free(successor, key)
            self._set_winner(key, successor)
        else:
            self._free(item, key)
        if len(members) == 1:
            del self._dups[key]

    # -- the duplicates' names ------------------------------------------------------------

    def _priority(self, item: N) -> _Priority:
        return _priority(item, self._seniority)

    def _queue(self, item: N) -> None:
        if item.id not in self._queued:
            self._queued.add(item.id)
            heapq.heappush(self._pending, (self._priority(item), item.id))

    def _settle(self) -> None:
        """Give every queued duplicate its name, highest priority first; then drop the names
        nobody holds any more."""
        while self._pending:
            _, item_id = heapq.heappop(self._pending)
            self._queued.discard(item_id)
            item = self.items.get(item_id)
            if item is None:
                continue
            key = group_key(item)
            members = self._dups.get(key)
            if members is not None and members[0] is not item:
                self._free(item, key)
                self._place(item, key)
        for name in self._vacated:
            del self.shown[name]
            self._nfc_remove(name)
        self._vacated.clear()

    def _place(self, item: N, key: str) -> None:
        """The first name of the item's chain that no real name and no duplicate of higher
        priority holds; a duplicate of lower priority holding it must look again."""
        priority = self._priority(item)
        for shown in _chain(key, item.id):
            holder = self._holder(shown)
            if holder is None:
                break
            if self._loser_names.get(holder.id) == shown and priority < self._priority(holder):
                self._unchain(holder, group_key(holder))
                self._queue(holder)
                break
            self._blocked.setdefault(shown, set()).add(item.id)
        self._take(shown, item)
        self._loser_names[item.id] = shown

    def _free(self, item: N, key: str) -> None:
        """A duplicate gives up its name (it is leaving, being promoted or looking again)."""
        name = self._unchain(item, key)
        if name is not None and self._holder(name) is item:
            self._vacate(name)

    def _unchain(self, item: N, key: str) -> str | None:
        """Forget a duplicate's name and the names it found taken; its name, if it had one."""
        name = self._loser_names.pop(item.id, None)
        if name is None:
            return None
        for shown in _chain(key, item.id):
            if shown == name:
                break
            blocked = self._blocked.get(shown)
            if blocked is not None:
                blocked.discard(item.id)
                if not blocked:
                    del self._blocked[shown]
        return name

    # -- the shown names ------------------------------------------------------------------

    def _holder(self, name: str) -> N | None:
        return None if name in self._vacated else self.shown.get(name)

    def _set_winner(self, key: str, item: N) -> None:
        holder = self._holder(key)
        if holder is not None and self._loser_names.get(holder.id) == key:
            self._unchain(holder, group_key(holder))  # a real name takes precedence
            self._queue(holder)
        self._take(key, item)

    def _take(self, name: str, item: N) -> None:
        self._vacated.discard(name)
        if name not in self.shown:
            self._nfc_add(name)
        self.shown[name] = item

    def _vacate(self, name: str) -> None:
        """Nobody holds ``name`` now (deleted at the end of the edit); whoever found it taken
        may take it."""
        self._vacated.add(name)
        for item_id in self._blocked.pop(name, ()):
            waiting = self.items.get(item_id)
            if waiting is not None:
                self._queue(waiting)

    def _nfc_add(self, name: str) -> None:
        if self._nfc is not None:
            key = unicodedata.normalize("NFC", name)
            if key != name:
                self._nfc.setdefault(key, set()).add(name)

    def _nfc_remove(self, name: str) -> None:
        if self._nfc is not None:
            key = unicodedata.normalize("NFC", name)
            names = self._nfc.get(key)
            if names is not None:
                names.discard(name)
                if not names:
                    del self._nfc[key]
