"""Opaque paging cursors: a random token naming the ids a listing has yet to show."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Container
from dataclasses import dataclass, field
from typing import Any

from putiofs.emulator.v2.wire import Params, bad_request, per_page

MAX_CURSORS = 10_000


@dataclass
class Cursor:
    kind: str
    ids: list[int]
    extra: dict[str, Any] = field(default_factory=dict)
    #: The page size of the listing that made the cursor: a continue call that names none
    #: (putio.py sends only ``cursor``) goes on with it.
    per_page: int = 0


class Cursors:
    """Cursors stay valid until evicted (oldest first beyond :data:`MAX_CURSORS`), so a client
    may repeat a continue call that failed on the way back."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cursors: OrderedDict[str, Cursor] = OrderedDict()

    def page(self, kind: str, ids: list[int], per_page: int,
             extra: dict[str, Any] | None = None) -> tuple[list[int], str | None]:
        """The first ``per_page`` ids, and a cursor for the rest (None when nothing is left)."""
        if len(ids) <= per_page:
            return ids, None
        token = secrets.token_urlsafe(18)
        with self._lock:
            self._cursors[token] = Cursor(kind, ids[per_page:], dict(extra or {}), per_page)
            while len(self._cursors) > MAX_CURSORS:
                self._cursors.popitem(last=False)
        return ids[:per_page], token

    def take(self, kind: str, token: object) -> Cursor:
        """The cursor ``token`` names; 400 when it is missing, unknown or of another listing."""
        if not isinstance(token, str) or not token:
            raise bad_request("Missing cursor", "INVALID_CURSOR")
        with self._lock:
            cursor = self._cursors.get(token)
        if cursor is None or cursor.kind != kind:
            raise bad_request("Invalid cursor", "INVALID_CURSOR")
        return cursor

    def kind_of(self, token: object) -> str | None:
        """The listing a cursor token belongs to, None when it names none."""
        with self._lock:
            cursor = self._cursors.get(token) if isinstance(token, str) else None
        return None if cursor is None else cursor.kind

    def resume(self, kind: str, params: Params, alive: Container[int], default: int, *,
               clamp: bool, extra: dict[str, Any] | None = None) -> tuple[list[int], str | None]:
        """A continue call of a ``kind`` listing: the ids its ``cursor`` parameter has yet to
        show that are still in ``alive``, paged by ``per_page``, else by the page size of the
        call that made the cursor, else by ``default``."""
        cursor = self.take(kind, params.raw("cursor"))
        size = per_page(params, cursor.per_page or default, clamp=clamp)
        return self.page(kind, [i for i in cursor.ids if i in alive], size, extra)
