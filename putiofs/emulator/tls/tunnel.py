"""One decrypting tunnel of the TLS front: TLS from a client on one side, plain TCP on the other.

The tunnel does not parse HTTP at all: it decrypts whatever the client sends and writes it to the
emulator unchanged, and encrypts whatever the emulator answers. Keep-alive, pipelining, chunked or
streamed bodies in either direction, ``Expect: 100-continue`` and ``Connection: close`` therefore
all behave exactly as they would against the emulator itself.

TLS runs on an ``ssl.SSLObject`` over memory buffers, so one thread drives both directions with
``poll`` (an OpenSSL connection must not be used from two threads at once). At most
``BUFFER_LIMIT`` bytes wait in each direction: a side that does not read stops the other side
from being read (back-pressure) instead of filling memory.

Lifetime is bounded (:class:`TunnelLimits`): the tunnel ends when the front stops, when nothing has
moved for ``idle_timeout`` seconds, when the handshake has not finished within
``handshake_timeout`` seconds, or after ``max_lifetime`` seconds in all.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

BUFFER_LIMIT = 1 << 20
READ_SIZE = 1 << 16
#: How often a waiting thread of the front looks at the stop flag and its deadlines (a tunnel's
#: poll, the listener's accept, the read of a CONNECT request).
STOP_CHECK_SECONDS = 0.25
LINGER_SECONDS = 1.0   # how long a closing tunnel reads what the client still sends (see _linger)

_READABLE = select.POLLIN | select.POLLHUP | select.POLLERR
_WRITABLE = select.POLLOUT | select.POLLHUP | select.POLLERR


@dataclass(frozen=True)
class TunnelLimits:
    """How long a tunnel of the front may last; the front reads ``handshake_timeout`` too, as the
    time a client has to send its CONNECT request."""

    #: Seconds without a byte moving either way.
    idle_timeout: float = 300.0
    #: Seconds from the CONNECT's answer to the end of the TLS handshake.
    handshake_timeout: float = 10.0
    #: Seconds in all, however busy the tunnel is.
    max_lifetime: float = 3600.0


class Tunnel:
    """Carry one client connection (its CONNECT already answered) to ``upstream`` until it ends."""

    def __init__(self, client: socket.socket, upstream: socket.socket,
                 context: ssl.SSLContext, first_bytes: bytes, stopping: threading.Event,
                 limits: TunnelLimits) -> None:
        self._client = client
        self._upstream = upstream
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self._incoming.write(first_bytes)
        self._stopping = stopping
        self._limits = limits
        self._to_client = bytearray()     # TLS records waiting for the client socket
        self._to_upstream = bytearray()   # decrypted bytes waiting for the emulator socket
        self._handshaken = False
        self._client_eof = False          # the client's socket gave end-of-file
        self._tls_closed = False          # the client sent close_notify (or its TLS ended)
        self._upstream_shut = False       # we have half-closed the emulator connection
        self._upstream_eof = False        # the emulator closed its side
        self._broken = False              # a socket failed: nothing more can be delivered

    def run(self) -> None:
        """Pump until the tunnel ends; the caller closes both sockets."""
        self._client.setblocking(False)
        self._upstream.setblocking(False)
        poller = select.poll()
        started = last_moved = time.monotonic()
        while not self._stopping.is_set() and not self._broken:
            self._run_tls()
            if self._finished():
                self._linger()
                return
            now = time.monotonic()
            limits = self._limits
            if (now - last_moved > limits.idle_timeout or now - started > limits.max_lifetime
                    or (not self._handshaken and now - started > limits.handshake_timeout)):
                return
            client_mask = ((select.POLLIN if self._want_client_read() else 0)
                           | (select.POLLOUT if self._to_client else 0))
            upstream_mask = ((select.POLLIN if self._want_upstream_read() else 0)
                             | (select.POLLOUT if self._to_upstream else 0))
            for sock, mask in ((self._client, client_mask), (self._upstream, upstream_mask)):
                if mask:
                    poller.register(sock, mask)
                else:  # not even hang-ups: a closed socket we are not serving would spin poll
                    with contextlib.suppress(KeyError):
                        poller.unregister(sock)
            for fd, events in poller.poll(STOP_CHECK_SECONDS * 1000):
                if self._handle(fd, events):
                    last_moved = time.monotonic()

    def _want_client_read(self) -> bool:
        return (not self._client_eof and len(self._to_upstream) < BUFFER_LIMIT
                and self._incoming.pending < BUFFER_LIMIT)

    def _want_upstream_read(self) -> bool:
        return self._handshaken and not self._upstream_eof and len(self._to_client) < BUFFER_LIMIT

    def _handle(self, fd: int, events: int) -> bool:
        """Serve one socket's poll events; True if any byte moved."""
        if fd == self._client.fileno():
            return self._serve(self._client, events, self._to_client, self._want_client_read,
                               self._from_client)
        return self._serve(self._upstream, events, self._to_upstream, self._want_upstream_read,
                           self._from_upstream)

    def _serve(self, sock: socket.socket, events: int, outbox: bytearray,
               want_read: Callable[[], bool], received: Callable[[bytes], None]) -> bool:
        """Send what waits for ``sock`` and read from it when ``want_read()``, handing what
        arrived (b"" at end of file) to ``received``; True if any byte moved."""
        moved = False
        if events & _WRITABLE and outbox:
            moved |= self._send(sock, outbox)
        if events & _READABLE and want_read():
            data = self._recv(sock)
            if data is not None:
                moved = True
                received(data)
        return moved

    def _from_client(self, data: bytes) -> None:
        """TLS records from the client go into the TLS object (decrypted by ``_run_tls``)."""
        if data:
            self._incoming.write(data)
        else:
            self._client_eof = True
            self._incoming.write_eof()

    def _from_upstream(self, data: bytes) -> None:
        """The emulator's bytes are encrypted and queued for the client; its end of file queues
        our close_notify."""
        if data:
            self._encrypt(data)
        else:
            self._upstream_eof = True
            self._close_tls()
        self._to_client += self._outgoing.read()

    def _run_tls(self) -> None:
        """Advance the handshake, decrypt what has arrived, queue what TLS wants to send."""
        if not self._handshaken:
            try:
                self._tls.do_handshake()
                self._handshaken = True
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError:
                self._broken = True  # e.g. the client refused the certificate
        while self._handshaken and not self._tls_closed and len(self._to_upstream) < BUFFER_LIMIT:
            try:
                data = self._tls.read(READ_SIZE)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLError:  # close_notify, end of file without one, or a broken record
                data = b""
            if not data:
                self._tls_closed = True
                break
            self._to_upstream += data
        if (self._tls_closed or (self._client_eof and not self._handshaken)) \
                and not self._to_upstream and not self._upstream_shut:
            self._upstream_shut = True
            try:
                self._upstream.shutdown(socket.SHUT_WR)
            except OSError:
                self._broken = True
        self._to_client += self._outgoing.read()

    def _encrypt(self, data: bytes) -> None:
        try:
            self._tls.write(data)
        except ssl.SSLError:
            self._broken = True

    def _close_tls(self) -> None:
        """Queue our close_notify: the emulator has closed, nothing more will come."""
        # unwrap also waits for the client's close_notify, but ours is queued regardless
        with contextlib.suppress(ssl.SSLError):
            self._tls.unwrap()

    def _finished(self) -> bool:
        if not self._handshaken:
            return self._client_eof
        return self._upstream_eof and not self._to_client

    @staticmethod
    def _recv(sock: socket.socket) -> bytes | None:
        """Bytes read (b"" at end of file), or None if none were ready."""
        try:
            return sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            return b""

    def _send(self, sock: socket.socket, buffer: bytearray) -> bool:
        try:
            sent = sock.send(buffer)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            self._broken = True
            return False
        del buffer[:sent]
        return sent > 0

    def _linger(self) -> None:
        """Half-close towards the client and read what it still sends for a moment, then return.

        Closing a socket with unread input makes the kernel send a reset, which can destroy the
        last answer before the client has read it; reading first avoids that.
        """
        try:
            self._client.shutdown(socket.SHUT_WR)
        except OSError:
            return
        deadline = time.monotonic() + LINGER_SECONDS
        poller = select.poll()
        poller.register(self._client, select.POLLIN)
        while not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or not poller.poll(min(left, STOP_CHECK_SECONDS) * 1000):
                if left <= 0:
                    return
                continue
            if self._recv(self._client) == b"":
                return
