"""The line splitting behind /.putio/add: bounded memory, each byte looked at once."""

from __future__ import annotations

from putiofs.front.control.add import MAX_LINE, LineBuffer


class Counted(bytes):
    """Bytes that count how many bytes ``find`` looks at."""

    looked_at = 0

    def find(self, sub, start=0, *rest):  # type: ignore[override]
        found = super().find(sub, start, *rest)
        Counted.looked_at += (found + 1 if found >= 0 else len(self)) - start
        return found


def test_lines_split_across_writes() -> None:
    buffer = LineBuffer()
    assert buffer.feed(b"http://a/1\nhttp://") == ([b"http://a/1"], False)
    assert buffer.feed(b"b/2") == ([], False)
    assert buffer.feed(b"\n\nhttp://c/3") == ([b"http://b/2", b""], False)
    assert buffer.take_rest() == b"http://c/3"
    assert buffer.take_rest() == b""


def test_a_line_of_the_limit_passes_one_byte_more_is_dropped_to_its_newline() -> None:
    buffer = LineBuffer(limit=10)
    assert buffer.feed(b"0123456789\n") == ([b"0123456789"], False)
    assert buffer.feed(b"01234") == ([], False)
    assert buffer.feed(b"567890") == ([], True)  # the write that passes the limit
    assert buffer.feed(b"more of it") == ([], True)  # still that line: dropped as it comes
    assert buffer.feed(b"end\nnext\nnew") == ([b"next"], True)
    assert buffer.feed(b"er") == ([], False)
    assert buffer.take_rest() == b"newer"


def test_an_over_long_last_line_is_not_sent_at_close() -> None:
    buffer = LineBuffer(limit=4)
    assert buffer.feed(b"abcdef") == ([], True)
    assert buffer.take_rest() == b""
    assert buffer.feed(b"ok\n") == ([b"ok"], False)  # a fresh start after close or truncate


def test_each_byte_is_looked_at_once() -> None:
    """Every write used to rescan the whole pending line (quadratic)."""
    buffer = LineBuffer()
    Counted.looked_at = 0
    written = 0
    piece = Counted(b"x" * 4096)
    for _ in range(2 * MAX_LINE // 4096):
        buffer.feed(piece)
        written += len(piece)
    last = Counted(b"tail\nhttp://example.com/a\n")
    lines, overlong = buffer.feed(last)
    written += len(last)
    assert overlong and lines == [b"http://example.com/a"]
    assert Counted.looked_at == written
