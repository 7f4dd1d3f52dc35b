"""Streaming reads of one open file: a buffer policy over checked HTTP Range requests.

A :class:`StreamReader` serves ``read(offset, length)`` for one FUSE file handle. It knows
nothing about FUSE or put.io's API: it is handed a ``requests.Session`` (one from
:func:`putiofs.net.http.new_session`, so that the deadline bounds a server that trickles bytes) and
a URL provider. It is two parts with one job each:

* :mod:`putiofs.read.buffer` decides which bytes to ask for and which to keep (edge blocks,
  back buffer, side reads, a growing window over one kept-open stream) and knows no HTTP;
* :mod:`putiofs.read.fetcher` turns a range into checked bytes (redirects, status, Content-Range
  and length checks, refreshed tokens, resumes at the exact byte with the retry policy of
  :mod:`putiofs.net.retry`, every request and socket read bounded by the call's deadline).

Every answer is checked, so a misbehaving server yields an error, never wrong bytes; a whole
``read()`` never takes longer than ``deadline`` seconds (nor than the calling thread's own
:mod:`putiofs.net.deadline`). Log lines name the handle by ``label`` and never show the URL, which
carries a token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import requests

from putiofs.api.backend import Backend, Entry
from putiofs.read.buffer import StreamBuffer
from putiofs.read.fetcher import RangeFetcher

__all__ = ["ReadLimits", "StreamReader", "open_stream"]


class ReadLimits(Protocol):
    """The time limits of a mount's reads (its :class:`~putiofs.front.options.MountOptions`)."""

    #: A socket read silent this long is a stall, and is resumed.
    read_timeout: float
    #: A whole ``read()`` ends within this many seconds.
    call_deadline: float


def open_stream(backend: Backend, entry: Entry, limits: ReadLimits) -> StreamReader:
    """The reader of one handle on ``entry``: its bytes at ``backend.stream_url(entry)``
    (asked again with a fresh token when the URL is refused), through the backend's pooled
    session, within ``limits``; log lines name it ``item <id>``."""

    def url_provider(refresh: bool) -> str:
        return backend.stream_url(entry, refresh_token=refresh)

    return StreamReader(backend.http_session, url_provider, entry.size,
                        read_timeout=limits.read_timeout, deadline=limits.call_deadline,
                        label=f"item {entry.id}")


class StreamReader(StreamBuffer):
    """Serves reads of one open remote file from one kept-open HTTP Range stream.

    ``url_provider(refresh)`` returns the full stream URL, token included; ``refresh=True`` asks
    for a fresh token and is called whenever the URL is refused (401/403). It is called before
    every GET, so it should be cheap (the caller caches the token). ``read`` may be called from
    several threads; calls on one reader are serialised. ``close`` waits for a read in progress
    (at most ``deadline``). A socket read silent for ``read_timeout`` is a stall and is resumed;
    ``max_attempts`` consecutive failures (progress resets the count; the default, 8, makes a
    read fail on a server that fails one request in ten about once in 10^8 reads instead of
    once in 10^4, and the deadline still bounds the time) end a read with the last error.
    """

    def __init__(
        self,
        session: requests.Session,
        url_provider: Callable[[bool], str],
        size: int,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        max_attempts: int = 8,
        deadline: float = 60.0,
        readahead_min: int = 128 * 1024,
        readahead_max: int = 8 * 1024 * 1024,
        forward_skip_max: int = 4 * 1024 * 1024,
        back_buffer: int = 4 * 1024 * 1024,
        edge_cache: int = 256 * 1024,
        label: str = "",
    ) -> None:
        label = label or "stream"
        fetcher = RangeFetcher(session, url_provider, size, connect_timeout=connect_timeout,
                               read_timeout=read_timeout, max_attempts=max_attempts,
                               label=label)
        super().__init__(fetcher, size, deadline=deadline, readahead_min=readahead_min,
                         readahead_max=readahead_max, forward_skip_max=forward_skip_max,
                         back_buffer=back_buffer, edge_cache=edge_cache, label=label)
