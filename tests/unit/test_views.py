"""The text views: exact values, nothing a terminal would act on."""

from __future__ import annotations

import codecs

import pytest

from putiofs.api.services import HistoryEvent, Transfer
from putiofs.views import escape, render_events, render_transfers, table


@pytest.mark.parametrize(("raw", "shown"), [
    ("plain name.mkv", "plain name.mkv"),
    ("sp ace ", "sp ace "),
    ("Café — ∕ 日本", "Café — ∕ 日本"),
    ("a\\b", "a\\\\b"),
    ("tab\there\nnew\rret", "tab\\there\\nnew\\rret"),
    ("\x1b]2;t\x07\x1b[2J", "\\x1b]2;t\\x07\\x1b[2J"),
    ("\x00\x7f\x85\x9b", "\\x00\\x7f\\x85\\x9b"),
    ("line\u2028sep\u2029", "line\\u2028sep\\u2029"),
])
def test_escape_is_visible_and_reversible(raw: str, shown: str) -> None:
    assert escape(raw) == shown
    if shown.isascii():
        assert codecs.decode(shown, "unicode_escape") == raw


def test_tables_keep_values_and_escape_every_column() -> None:
    text = table(("A", "NAME"), [("x\ty", "trailing  "), (None, "\x1b[31mred")])
    assert text == "A     NAME\nx\\ty  trailing  \n-     \\x1b[31mred\n"
    transfers = render_transfers([Transfer("1", "a\nb", "Error: \x1b[2J", None)])
    assert transfers.splitlines()[1] == "1   -     Error: \\x1b[2J  a\\nb"


def test_events() -> None:
    assert render_events([]) == "no events\n"
    text = render_events([
        HistoryEvent(2, "transfer_error", "2026-01-02T03:04:05", "bad.iso", detail="no seeds"),
        HistoryEvent(1, "upload", "2026-01-01T00:00:00", "song.mp3", size=92014),
    ])
    lines = text.splitlines()
    assert lines[0].split() == ["ID", "WHEN", "TYPE", "DETAIL", "NAME"]
    assert lines[1].split() == ["2", "2026-01-02T03:04:05", "transfer_error", "no", "seeds",
                                "bad.iso"]
    assert lines[2].endswith("upload          89.86K    song.mp3")
