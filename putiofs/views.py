"""Text views of the account's objects: aligned tables, put.io's human sizes, plain message
titles.

Shared by the API commands (``putiofs transfers list`` …) and the control files of the mount
(``/.putio/transfers`` …), so both show the same text. Nothing here prints or calls the API.

Every value is shown exactly, except that what a terminal would act on is escaped (see
:func:`escape`): a name can hold anything, and a transfer's name comes from whoever wrote the
link (``magnet:?dn=``), so ``ESC ] 2 ; … BEL`` in it must not retitle the terminal or clear
the screen of whoever lists the transfers.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from typing import Any

from putiofs.api.services import Account, Friend, HistoryEvent, Message, Subscription, Transfer
from putiofs.write.status import UploadStatus

_TAG = re.compile(r"<[^>]*>")
#: Backslash, C0 controls, DEL, C1 controls, and the Unicode line and paragraph separators.
_UNSAFE = re.compile("[\\\\\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def escape(text: str) -> str:
    """``text`` with nothing a terminal acts on: ``\\`` as ``\\\\``; newline, tab and
    carriage return as ``\\n``, ``\\t``, ``\\r``; other control characters as ``\\xNN``
    (C0, DEL, C1) and U+2028 / U+2029 as ``\\u2028`` / ``\\u2029``. Reversible (Python's
    string escapes), and the identity for names without any of these."""
    return _UNSAFE.sub(_escape_one, text)


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


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
    """Left-aligned columns two spaces apart; the last column is not padded (and keeps its
    value's own trailing spaces: a name ``"sp ace "`` is shown as it is)."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for index, value in enumerate(row):
            widths[index] = max(widths[index], len(value))
    lines = []
    for row in [list(headers), *cells]:
        padded = [value.ljust(widths[i]) for i, value in enumerate(row[:-1])]
        lines.append("  ".join([*padded, row[-1]]))
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
    return escape(str(value)) or "-"


def render_transfers(transfers: list[Transfer]) -> str:
    """One line per transfer: id, percent done, status, name (also ``/.putio/transfers``)."""
    if not transfers:
        return "no active transfers\n"
    rows = [(t.id, _percent(t), t.status, t.name) for t in transfers]
    return table(("ID", "DONE", "STATUS", "NAME"), rows)


def _percent(transfer: Transfer) -> str:
    return "-" if transfer.percent_done is None else f"{transfer.percent_done}%"


def render_uploads(uploads: list[UploadStatus], *, note: str = "") -> str:
    """Files written through the mount and not yet on put.io (also ``/.putio/uploads``): state,
    bytes done of the size, speed, the path in the mount (for a handed-back file, where it is
    on this disk) and the last error. ``note`` is a line printed first (e.g. that no mount is
    running)."""
    head = f"{note}\n" if note else ""
    if not uploads:
        return head + "no uploads pending\n"
    rows = [(u.state, _progress(u), _speed(u), u.path, u.error) for u in uploads]
    return head + table(("STATE", "DONE", "SPEED", "PATH", "ERROR"), rows)


def _progress(upload: UploadStatus) -> str:
    if upload.state in ("open", "recovered"):
        return human_size(upload.size)
    return f"{human_size(upload.bytes_done)}/{human_size(upload.size)}"


def _speed(upload: UploadStatus) -> str | None:
    return f"{human_size(int(upload.speed))}/s" if upload.speed > 0 else None


def render_messages(messages: list[Message]) -> str:
    """The dashboard messages, titles as plain text (also ``/.putio/messages``)."""
    if not messages:
        return "no messages\n"
    rows = [(m.id, m.file_type, plain_text(m.title) or m.file_name) for m in messages]
    return table(("ID", "TYPE", "MESSAGE"), rows)


def render_events(events: list[HistoryEvent]) -> str:
    """The account's history, newest first (also ``/.putio/events``)."""
    if not events:
        return "no events\n"
    rows = [(e.id, e.created_at, e.type,
             e.detail or (None if e.size is None else human_size(e.size)), e.name)
            for e in events]
    return table(("ID", "WHEN", "TYPE", "DETAIL", "NAME"), rows)


def render_subscriptions(subscriptions: list[Subscription]) -> str:
    """One line per RSS subscription (also ``/.putio/subscriptions``)."""
    if not subscriptions:
        return "no subscriptions\n"
    rows = [(s.id, _state(s), s.name, s.parent_folder_id, s.do_filters, s.dont_filters,
             s.next_update_time, s.url) for s in subscriptions]
    return table(("ID", "STATE", "NAME", "FOLDER", "DO", "DONT", "NEXT UPDATE", "URL"), rows)


def render_subscription(sub: Subscription) -> str:
    return fields([
        ("id", sub.id), ("name", sub.name), ("url", sub.url), ("state", _state(sub)),
        ("do filters", sub.do_filters or "-"), ("don't filters", sub.dont_filters or "-"),
        ("folder", sub.parent_folder_id), ("last update", sub.last_update_time),
        ("next update", sub.next_update_time),
    ])


def _state(sub: Subscription) -> str:
    return "paused" if sub.paused else "active"


def render_user(account: Account, friends: list[Friend] | None = None) -> str:
    """The account (never a credential), then its friends (``/.putio/user``)."""

    def size(value: int | None) -> str | None:
        return None if value is None else f"{human_size(value)} ({value} bytes)"

    text = fields([
        ("user", account.user_name), ("id", account.user_id), ("name", account.name),
        ("status", account.account_status),
        ("disk quota", size(account.disk_quota)),
        ("disk available", size(account.disk_quota_available)),
        ("disk used", size(account.disk_used)),
        ("trash", None if account.trash_enabled is None else
         ("on (deleted items go to the trash)" if account.trash_enabled else
          "off (deleted items are gone)")),
        ("trash size", size(account.trash_size)),
        ("bandwidth quota", size(account.bw_quota)),
        ("bandwidth available", size(account.bw_quota_available)),
        ("shared items", account.shared_items), ("shared space", size(account.shared_space)),
        ("friends", account.friends_count if friends is None else len(friends)),
    ])
    if friends:
        text += "\n" + render_friends(friends)
    return text


def render_friends(friends: list[Friend]) -> str:
    if not friends:
        return "no friends\n"
    return table(("ID", "NAME", "SHARED FOLDER"), [(f.id, f.name, f.dir_id) for f in friends])
