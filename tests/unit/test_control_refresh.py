"""The lines of /.putio/refresh: paths, split across writes, bounded."""

from __future__ import annotations

import errno

import pytest

from putiofs.front.control.refresh import MAX_PATH_LINE, RefreshHandle


def test_each_complete_line_is_a_path_from_the_root():
    handle = RefreshHandle()
    assert handle.feed(b"/Movies\nSeries/Old") == ["/Movies"]
    assert handle.feed(b" Show\n\n") == ["/Series/Old Show"]
    assert handle.feed(b"/\n") == ["/"]
    assert handle.feed(b"/last") == []
    assert handle.take_rest() == ["/last"]
    assert handle.take_rest() == []


def test_a_name_that_is_not_utf8_is_kept_as_the_mount_decodes_paths():
    assert RefreshHandle().feed(b"/caf\xe9\n") == ["/caf\udce9"]


def test_a_line_longer_than_any_path_is_einval_and_dropped():
    handle = RefreshHandle()
    with pytest.raises(OSError) as info:
        handle.feed(b"/" + b"x" * MAX_PATH_LINE)
    assert info.value.errno == errno.EINVAL
    assert handle.feed(b"/next\n") == ["/next"]
