"""Serving a mount: the FUSE binding's main loop until unmounted (its start-up, and the fork to
the background: :mod:`putiofs.mount.startup`)."""

from __future__ import annotations

import logging
from pathlib import Path

from putiofs.front.operations import PutioFS
from putiofs.front.options import MountOptions
from putiofs.mount.binding import PATH_ENCODING, chosen_binding, mount_class, read_ahead_for
from putiofs.mount.checks import MountError
from putiofs.mount.settings import FuseSettings, fuse_kwargs
from putiofs.mount.startup import StderrCapture, detach, reason_of

log = logging.getLogger("putiofs.mount")


def run_mount(operations: PutioFS, mountpoint: Path, options: MountOptions,
              settings: FuseSettings, *, foreground: bool, announce: str | None = None,
              keep_stderr: bool = False) -> None:
    """Mount and serve until unmounted (fusermount -u, SIGINT or SIGTERM).

    Not ``foreground``: the process forks first and the command returns once the mount is up,
    printing ``announce``, or with libfuse's reason (:mod:`putiofs.mount.startup`); the mount's
    process keeps stderr when ``keep_stderr`` (the log goes there). libfuse itself always runs
    in the foreground of its process."""
    binding = chosen_binding(settings)
    fuse_class = mount_class(binding, read_ahead_for(settings, binding))
    log.info("serving %s on %s", mountpoint, binding)
    detached = None if foreground else detach(announce, keep_stderr=keep_stderr)
    capture = StderrCapture()

    def mounted() -> None:
        capture.release()
        if detached is not None:
            detached.ready()

    fuse_class.on_mounted = mounted
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
