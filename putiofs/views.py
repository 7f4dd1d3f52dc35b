"""Text views of put.io's objects: aligned tables, put.io's human sizes, plain message titles.

Shared by the API commands (``putiofs transfers list`` …) and the control files of the mount
(``/.putio/transfers`` …), so both show the same text. Nothing here prints or calls the API.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from typing import Any

from putiofs.models import Friend, Message, Subscription, Transfer, User

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


def render_transfers(transfers: list[Transfer]) -> str:
    """One line per transfer: id, percent done, status, name (also ``/.putio/transfers``)."""
    if not transfers:
        return "no active transfers\n"
    rows = [(t.id, _percent(t), t.status, t.name) for t in transfers]
    return table(("ID", "DONE", "STATUS", "NAME"), rows)


def _percent(transfer: Transfer) -> str:
    return "-" if transfer.percent_done is None else f"{transfer.percent_done}%"


def render_messages(messages: list[Message]) -> str:
    """The dashboard messages, titles as plain text (also ``/.putio/messages``)."""
    if not messages:
        return "no messages\n"
    rows = [(m.id, m.file_type, plain_text(m.title) or m.file_name) for m in messages]
    return table(("ID", "TYPE", "MESSAGE"), rows)


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


def render_user(user: User, friends: list[Friend] | None = None) -> str:
    """The account (never its key, secret or token), then its friends (``/.putio/user``)."""

    def size(value: int | None) -> str | None:
        return None if value is None else f"{human_size(value)} ({value} bytes)"

    text = fields([
        ("user", user.user_name), ("id", user.user_id), ("name", user.name),
        ("disk quota", size(user.disk_quota)),
        ("disk available", size(user.disk_quota_available)),
        ("bandwidth quota", size(user.bw_quota)),
        ("bandwidth available", size(user.bw_quota_available)),
        ("shared items", user.shared_items), ("shared space", size(user.shared_space)),
        ("friends", user.friends_count if friends is None else len(friends)),
    ])
    if friends:
        text += "\n" + render_friends(friends)
    return text


def render_friends(friends: list[Friend]) -> str:
    if not friends:
        return "no friends\n"
    return table(("ID", "NAME", "SHARED FOLDER"), [(f.id, f.name, f.dir_id) for f in friends])
