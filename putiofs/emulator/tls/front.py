"""A loopback CONNECT front that lets unmodified put.io v2 clients (rclone, SDKs) reach
the emulator.

Clients such as rclone have ``https://api.put.io`` and ``https://upload.put.io`` built in, but
honour ``HTTPS_PROXY`` and accept an extra CA (``--ca-cert``, ``verify=``). ``TlsFront`` is that
proxy, and nothing more:

- it listens on 127.0.0.1 only, and forwards only to the one emulator address it was given, which
  must itself be on this machine;
- it tunnels only ``CONNECT api.put.io:443`` and ``CONNECT upload.put.io:443``; any other target,
  and any plain proxy request (``GET http://...``), is answered 403 and the connection closed;
- it terminates TLS with a certificate for both names, signed by a CA made for this run (see
  :mod:`putiofs.emulator.tls.certs`; ``ca_file`` is what clients must trust), offering HTTP/1.1
  only (ALPN), since the emulator speaks HTTP/1.1;
- it passes the decrypted bytes through unchanged (:mod:`putiofs.emulator.tls.tunnel`): the
  ``Host`` header stays ``api.put.io``/``upload.put.io``, because the emulator serves both hosts'
  paths on one port. Only the scheme, host and port of ``emulator_url`` are used; a path such as
  ``/v2`` in it is ignored for the same reason.

Storage URLs the emulator hands out point at ``http://127.0.0.1:PORT/...`` and clients fetch them
directly (loopback addresses bypass ``HTTPS_PROXY``; set ``NO_PROXY=127.0.0.1,localhost`` too).

    with TlsFront(emulator.base_url) as front:
        requests.get("https://api.put.io/v2/account/info", verify=front.ca_file,
                     proxies={"https": front.proxy_url}, headers={"Authorization": "token T"})

From a shell, ``python -m putiofs.emulator.tls.front http://127.0.0.1:8765 [--port N]`` serves a
front for a running emulator until Ctrl-C and prints the settings a client needs.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import shutil
import socket
import ssl
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from putiofs.emulator.stop_signals import StopSignals
from putiofs.emulator.tls.certs import make_certificates
from putiofs.emulator.tls.tunnel import STOP_CHECK_SECONDS, Tunnel, TunnelLimits

HOSTS = ("api.put.io", "upload.put.io")
ALLOWED_TARGETS = frozenset(f"{host}:443" for host in HOSTS)
HEAD_LIMIT = 8192
LISTEN_HOST = "127.0.0.1"
DEFAULT_LIMITS = TunnelLimits()

log = logging.getLogger(__name__)


class TlsFront:
    """The CONNECT proxy; ``start()`` (or ``with``) serves it, ``stop()`` ends every tunnel.

    ``limits`` bound each tunnel's life; ``max_tunnels`` is how many may be open at once (one
    more is answered 503)."""

    def __init__(self, emulator_url: str, *, port: int = 0,
                 limits: TunnelLimits = DEFAULT_LIMITS, max_tunnels: int = 64) -> None:
        self.upstream = loopback_address(emulator_url)
        self._port = port
        self._limits = limits
        self._max_tunnels = max_tunnels
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._listener: socket.socket | None = None
        self._accepter: threading.Thread | None = None
        self._directory: Path | None = None
        self._context: ssl.SSLContext | None = None
        self.ca_file: Path | None = None
        self.tunnels_opened = 0

    @property
    def proxy_url(self) -> str:
        """``http://127.0.0.1:PORT``, the value for ``HTTPS_PROXY``."""
        if self._listener is None:
            raise RuntimeError("the TLS front is not running")
        return f"http://{LISTEN_HOST}:{self._listener.getsockname()[1]}"

    def start(self) -> TlsFront:
        """Make the certificates, listen, and serve in background threads."""
        if self._listener is not None:
            raise RuntimeError("the TLS front is already running")
        self._stopping.clear()
        self._directory = Path(tempfile.mkdtemp(prefix="putiofs-tls-front-"))
        try:
            certificates = make_certificates(self._directory, HOSTS)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.set_alpn_protocols(["http/1.1"])
            context.load_cert_chain(certificates.cert_file, certificates.key_file)
            listener = socket.create_server((LISTEN_HOST, self._port))
        except BaseException:
            shutil.rmtree(self._directory, ignore_errors=True)
            raise
        listener.settimeout(STOP_CHECK_SECONDS)
        self._context, self.ca_file, self._listener = context, certificates.ca_file, listener
        self._accepter = threading.Thread(target=self._accept_loop, name="tls-front-accept",
                                          daemon=True)
        self._accepter.start()
        return self

    def stop(self) -> None:
        """Stop listening, end every tunnel, delete the certificates."""
        self._stopping.set()
        if self._accepter is not None:
            self._accepter.join()
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(self._limits.handshake_timeout + 5)
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
        self._listener = self._accepter = self._directory = self._context = None
        self.ca_file = None

    def __enter__(self) -> TlsFront:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                log.warning("TLS front: accept failed: %s", exc)
                time.sleep(STOP_CHECK_SECONDS)
                continue
            with self._lock:
                full = len(self._threads) >= self._max_tunnels
                if not full:
                    thread = threading.Thread(target=self._serve, args=(conn,), daemon=True,
                                              name="tls-front-tunnel")
                    self._threads.add(thread)
            if full:
                conn.settimeout(1.0)
                with conn:
                    _refuse(conn, 503, "Service Unavailable", "too many open tunnels")
            else:
                thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            with conn:
                first_bytes = self._read_connect(conn)
                if first_bytes is None:
                    return
                try:
                    upstream = socket.create_connection(self.upstream, timeout=5.0)
                except OSError as exc:
                    _refuse(conn, 502, "Bad Gateway", f"the emulator is not reachable: {exc}")
                    return
                with upstream:
                    upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    with self._lock:
                        self.tunnels_opened += 1
                    assert self._context is not None
                    Tunnel(conn, upstream, self._context, first_bytes, self._stopping,
                           self._limits).run()
        except OSError as exc:
            log.debug("TLS front: tunnel ended: %s", exc)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _read_connect(self, conn: socket.socket) -> bytes | None:
        """Read and check the proxy request; the bytes after its head, or None once refused."""
        conn.settimeout(STOP_CHECK_SECONDS)
        deadline = time.monotonic() + self._limits.handshake_timeout
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            if self._stopping.is_set() or time.monotonic() > deadline:
                return None
            if len(buffer) > HEAD_LIMIT:
                _refuse(conn, 431, "Request Header Fields Too Large", "request head too long")
                return None
            try:
                chunk = conn.recv(4096)
            except TimeoutError:
                continue
            if not chunk:
                return None
            buffer += chunk
        head, _, rest = buffer.partition(b"\r\n\r\n")
        parts = head.split(b"\r\n", 1)[0].decode("latin-1").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            _refuse(conn, 400, "Bad Request", "not an HTTP/1.x proxy request")
            return None
        method, target = parts[0], parts[1].lower()
        if method != "CONNECT" or target not in ALLOWED_TARGETS:
            log.info("TLS front: refused %s %s", method[:16], _loggable(method, target))
            _refuse(conn, 403, "Forbidden", "this proxy only tunnels CONNECT to "
                    + " and ".join(sorted(ALLOWED_TARGETS)))
            return None
        return rest


def loopback_address(url: str) -> tuple[str, int]:
    """``(host, port)`` of an ``http://`` URL on this machine; ValueError for anything else."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"the emulator URL must be http://HOST:PORT, not {url!r}")
    host = parts.hostname
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the TLS front forwards only to this machine, not to {host!r}")
    return host, parts.port or 80


def _loggable(method: str, target: str) -> str:
    """The host part of a refused target: a plain proxy request's URL may carry a token."""
    if method == "CONNECT":
        return target[:200]
    return (urlsplit(target).netloc or "(no host)")[:200]


def _refuse(conn: socket.socket, status: int, reason: str, message: str) -> None:
    """Answer an error and half-close, reading briefly so the answer is not lost to a reset."""
    body = (message + "\n").encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    try:
        conn.sendall(head + body)
        conn.shutdown(socket.SHUT_WR)
        conn.settimeout(0.5)
        for _ in range(16):
            if not conn.recv(4096):
                break
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    """Serve a front for a running emulator until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m putiofs.emulator.tls.front",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("emulator_url", help="the emulator's http://127.0.0.1:PORT")
    parser.add_argument("--port", type=int, default=0, help="proxy port (default: any free one)")
    args = parser.parse_args(argv)
    try:
        front = TlsFront(args.emulator_url, port=args.port).start()
    except (OSError, ValueError, RuntimeError) as exc:
        parser.exit(1, f"{parser.prog}: {exc}\n")
    with StopSignals() as stop:
        try:
            print(f"HTTPS_PROXY={front.proxy_url} NO_PROXY=127.0.0.1,localhost", flush=True)
            print(f"trust {front.ca_file} (rclone --ca-cert, REQUESTS_CA_BUNDLE); "
                  "Ctrl-C stops the front and deletes it", flush=True)
            stop.wait()
        finally:
            front.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
