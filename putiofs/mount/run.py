"""Serving a mount: the FUSE binding's main loop until unmounted."""

from __future__ import annotations

import logging
from pathlib import Path

from putiofs.front.operations import PutioFS
from putiofs.front.options import MountOptions
from putiofs.mount.binding import PATH_ENCODING, chosen_binding, mount_class, read_ahead_for
from putiofs.mount.checks import MountError
from putiofs.mount.settings import FuseSettings, fuse_kwargs

log = logging.getLogger("putiofs.mount")


def run_mount(operations: PutioFS, mountpoint: Path, options: MountOptions,
              settings: FuseSettings, *, foreground: bool) -> None:
    """Mount and serve until unmounted (fusermount -u, SIGINT or SIGTERM)."""
    binding = chosen_binding(settings)
    fuse_class = mount_class(binding, read_ahead_for(settings, binding))
    log.info("serving %s on %s", mountpoint, binding)
    try:
        fuse_class(operations, str(mountpoint), raw_fi=False, encoding=PATH_ENCODING,
                   **fuse_kwargs(options, settings, foreground=foreground, binding=binding))
    except RuntimeError as exc:
        if binding == "libfuse3" and fuse_class.served:
            # libfuse 3 reports a loop ended by SIGTERM or SIGINT as an error (7 or 8, by
            # version); libfuse 2 returned 0. The mount was up and is gone: a clean stop.
            log.info("libfuse's loop ended (code %s)", exc)
            return
        raise MountError(f"libfuse could not mount {mountpoint} (code {exc}); "
                         "see the lines above for its reason") from None
