"""Serving a mount: the FUSE binding's main loop until unmounted.

Around the loop: its start-up, and the fork to the background (:mod:`putiofs.mount.startup`);
SIGHUP refreshes instead of unmounting (:mod:`putiofs.mount.signals`: cached listings dropped,
the log reopened); and systemd hears when the mount answers and when it stops
(:mod:`putiofs.mount.systemd`; nothing without ``NOTIFY_SOCKET``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from putiofs.front.operations import PutioFS
from putiofs.front.options import MountOptions
from putiofs.logs import reopen_log
from putiofs.mount.binding import PATH_ENCODING, chosen_binding, mount_class, read_ahead_for
from putiofs.mount.checks import MountError
from putiofs.mount.settings import FuseSettings, fuse_kwargs
from putiofs.mount.signals import Hangup
from putiofs.mount.startup import StderrCapture, detach, reason_of
from putiofs.mount.systemd import Service

log = logging.getLogger("putiofs.mount")


def run_mount(operations: PutioFS, mountpoint: Path, options: MountOptions,
              settings: FuseSettings, *, foreground: bool, announce: str | None = None,
              keep_stderr: bool = False) -> None:
    """Mount and serve until unmounted (fusermount -u, umount, SIGINT or SIGTERM).

    Not ``foreground``: the process forks first and the command returns once the mount is up,
    printing ``announce``, or with libfuse's reason (:mod:`putiofs.mount.startup`); the mount's
    process keeps stderr when ``keep_stderr`` (the log goes there). libfuse itself always runs
    in the foreground of its process."""
    binding = chosen_binding(settings)
    service = Service.from_environment()
    fuse_class = _reporting(mount_class(binding, read_ahead_for(settings, binding)), service,
                            _pending_uploads(operations))
    hangup = Hangup(lambda: _hangup(operations))
    operations.when_mounted.append(hangup.start)
    operations.when_mounted.append(lambda: service.mounted(mountpoint))
    log.info("serving %s on %s", mountpoint, binding)
    detached = None if foreground else detach(announce, keep_stderr=keep_stderr)
    capture = StderrCapture()

    def mounted() -> None:
        capture.release()
        if detached is not None:
            detached.ready()

    fuse_class.on_mounted = mounted
    hangup.install()
    try:
        fuse_class(operations, str(mountpoint), raw_fi=False, encoding=PATH_ENCODING,
                   **fuse_kwargs(options, settings, foreground=True, binding=binding))
    except RuntimeError as exc:
        if binding == "libfuse3" and fuse_class.served:
            # libfuse 3 reports a loop ended by SIGTERM or SIGINT as an error (7 or 8, by
            # version); libfuse 2 returned 0. The mount was up and is gone: a clean stop.
            log.info("libfuse's loop ended (code %s)", exc)
            return
        reason = reason_of(capture.release(replay=False), exc)
        raise MountError(f"libfuse could not mount {mountpoint}: {reason}") from None
    finally:
        capture.release()
        hangup.uninstall()


def _hangup(operations: PutioFS) -> None:
    """SIGHUP: every cached listing dropped (the kernel told), the log file reopened."""
    operations.refresh("/")
    if reopen_log():
        log.info("SIGHUP: log file reopened")


def _pending_uploads(operations: PutioFS) -> Callable[[], tuple[int, int]]:
    """(uploads, bytes left) of the mount; (0, 0) for one that writes nothing."""
    uploads = getattr(operations.writes, "uploads", None)
    return uploads.pending if uploads is not None else lambda: (0, 0)


def _reporting(fuse_class: Any, service: Service,
               pending: Callable[[], tuple[int, int]]) -> Any:
    """``fuse_class``, telling ``service`` when libfuse's ``destroy`` (the unmount, which waits
    for pending uploads) starts and ends."""

    class Reporting(fuse_class):  # type: ignore[misc, valid-type]
        def destroy(self, private_data: Any) -> Any:
            service.stopping(pending)
            try:
                return super().destroy(private_data)
            finally:
                service.stopped(pending)

    return Reporting
