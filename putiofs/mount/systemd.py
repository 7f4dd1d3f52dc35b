"""Telling systemd how the mount is doing (``Type=notify`` units): the ``sd_notify`` protocol.

Under ``NOTIFY_SOCKET`` (a unix datagram socket; a name starting with ``@`` is in the abstract
namespace) the mount sends:

* ``READY=1`` once it answers: after libfuse's ``init``, a thread of its own (never a FUSE
  thread) stats the mountpoint and lists the root through the kernel, as a unit ordered after
  it would; only when both succeed is it ready (:meth:`Service.mounted`). While put.io does not
  answer the listing it says so in ``STATUS=`` and tries again each second, so a
  ``TimeoutStartSec`` (and ``Restart=on-failure``) decides, not a guess of ours.
* ``STOPPING=1`` when it unmounts (libfuse's ``destroy``), then a ``STATUS=`` line each second
  while uploads are pending (how many, and what is left), and a last one saying whether any is
  left in the spool for the next mount (:meth:`Service.stopping`, :meth:`Service.stopped`).

Without ``NOTIFY_SOCKET`` every call does nothing and no thread starts. A send never blocks
for long (a two-second timeout) and never raises. The client is a dozen lines of our own:
no dependency on libsystemd. A mount in the background (libfuse forks) sends from another
PID than the one started: a unit runs ``putiofs mount --foreground`` (see
``contrib/systemd/putiofs@.service``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

log = logging.getLogger("putiofs.mount")

NOTIFY_ENV = "NOTIFY_SOCKET"
SEND_TIMEOUT = 2.0
#: How often the mount tries the root again before it is ready, and reports pending uploads.
EVERY = 1.0


def notify_address(env: Mapping[str, str] | None = None) -> str | None:
    """The socket address ``NOTIFY_SOCKET`` names (``@name``: the abstract ``\\0name``), or
    None when unset or not a unix socket path."""
    value = (os.environ if env is None else env).get(NOTIFY_ENV, "")
    if value.startswith("@"):
        return "\0" + value[1:]
    return value if value.startswith("/") else None


def send(address: str, *lines: str) -> bool:
    """Send ``lines`` (``KEY=value``) as one datagram to ``address``; False if it failed."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.settimeout(SEND_TIMEOUT)
            sock.sendto("\n".join(lines).encode("utf-8", "replace"), address)
    except OSError as exc:
        log.debug("systemd notification not sent: %s", exc)
        return False
    return True


class Service:
    """The mount's notifications to systemd (all no-ops without ``NOTIFY_SOCKET``)."""

    def __init__(self, address: str | None) -> None:
        self.address = address
        self._ended = threading.Event()   # unmounting: stop trying to be ready
        self._stopped = threading.Event()  # unmounted: stop reporting uploads
        self._reporter: threading.Thread | None = None

    @classmethod
    def from_environment(cls) -> Service:
        return cls(notify_address())

    def notify(self, *lines: str) -> bool:
        return self.address is not None and send(self.address, *lines)

    def mounted(self, mountpoint: Path) -> None:
        """libfuse's ``init`` ran: announce ``READY=1`` from a thread once the mount answers."""
        if self.address is None:
            return
        threading.Thread(target=self._announce_ready, args=(mountpoint,), daemon=True,
                         name="putiofs-systemd-ready").start()

    def _announce_ready(self, mountpoint: Path) -> None:
        said = None
        while not self._ended.is_set():
            try:
                os.stat(mountpoint)
                with os.scandir(mountpoint) as entries:
                    next(entries, None)
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
                if reason != said:
                    said = reason
                    log.warning("mounted at %s, but its root does not answer yet (%s)",
                                mountpoint, reason)
                    self.notify(f"STATUS=mounted at {mountpoint}; waiting for put.io ({reason})")
                self._ended.wait(EVERY)
                continue
            self.notify("READY=1", f"STATUS=serving put.io at {mountpoint}")
            log.info("told systemd the mount at %s is ready", mountpoint)
            return

    def stopping(self, pending: Callable[[], tuple[int, int]]) -> None:
        """Unmounting: ``STOPPING=1``, then each second what ``pending()`` (uploads, bytes left)
        says until :meth:`stopped`."""
        self._ended.set()
        if self.address is None:
            return
        self.notify("STOPPING=1", _status(*pending()))
        self._reporter = threading.Thread(target=self._report, args=(pending,), daemon=True,
                                          name="putiofs-systemd-stopping")
        self._reporter.start()

    def _report(self, pending: Callable[[], tuple[int, int]]) -> None:
        while not self._stopped.wait(EVERY):
            try:
                jobs, left = pending()
            except Exception:  # noqa: BLE001 - a report must not end the thread with a trace
                log.debug("pending uploads unknown", exc_info=True)
                continue
            if jobs:
                self.notify(_status(jobs, left))

    def stopped(self, pending: Callable[[], tuple[int, int]]) -> None:
        """Unmounted: the last ``STATUS=`` (what stays in the spool for the next mount)."""
        self._stopped.set()
        if self.address is None:
            return
        if self._reporter is not None:
            self._reporter.join(SEND_TIMEOUT + EVERY)
        jobs, left = pending()
        if jobs:
            self.notify(f"STATUS=unmounted; {jobs} upload(s), {_mib(left)} left in the spool "
                        "for the next mount")
        else:
            self.notify("STATUS=unmounted")


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def _status(jobs: int, left: int) -> str:
    if not jobs:
        return "STATUS=unmounting"
    return f"STATUS=unmounting: waiting for {jobs} upload(s), {_mib(left)} left"
