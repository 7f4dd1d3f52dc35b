"""Start-up checks that fail early with one clear line, and how to unmount.

A mountpoint that cannot be used, a missing ``/dev/fuse`` or a stale mount of a process that has
gone is a :class:`MountError` with one line for the user, before anything connects to put.io.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from putiofs.api.errors import UserError


class MountError(UserError):
    """The mount cannot start; the message is one line for the user."""


def is_stale_mount(mountpoint: Path) -> bool:
    """A FUSE mount whose process has gone: the kernel answers ENOTCONN for it."""
    try:
        os.lstat(mountpoint)
    except OSError as exc:
        return exc.errno == errno.ENOTCONN
    return False


def check_mountpoint(mountpoint: Path, *, nonempty: bool = False) -> None:
    """A MountError unless ``mountpoint`` is an empty folder that is not a mount (``nonempty``:
    libfuse 2's ``-o nonempty``, a folder with files in it)."""
    if is_stale_mount(mountpoint):
        raise MountError(f"{mountpoint} is a mount whose putiofs process has gone; "
                         f"clean it up first: putiofs umount {mountpoint}")
    try:
        _check_usable(mountpoint, nonempty)
    except OSError as exc:
        raise MountError(f"cannot use mountpoint {mountpoint}: {exc.strerror}") from None


def _check_usable(mountpoint: Path, nonempty: bool) -> None:
    if not mountpoint.exists():
        raise MountError(f"mountpoint {mountpoint} does not exist (create it with mkdir)")
    if not mountpoint.is_dir():
        raise MountError(f"mountpoint {mountpoint} is not a directory")
    if os.path.ismount(mountpoint):
        raise MountError(f"{mountpoint} is already a mount point (busy); "
                         f"unmount it first: putiofs umount {mountpoint}")
    if not nonempty and any(mountpoint.iterdir()):
        raise MountError(f"mountpoint {mountpoint} is not empty (use an empty folder, "
                         "or -o nonempty)")


def check_fuse_device() -> None:
    try:
        fd = os.open("/dev/fuse", os.O_RDWR)
    except FileNotFoundError:
        raise MountError("no /dev/fuse: FUSE is not available on this machine "
                         "(load the fuse kernel module, or give the container /dev/fuse)") from None
    except OSError as exc:
        raise MountError(f"cannot open /dev/fuse: {exc.strerror}") from None
    os.close(fd)


def unmount_command(mountpoint: Path | str, *, lazy: bool = False) -> list[str]:
    """How to unmount a FUSE mount here: ``fusermount3`` (libfuse 3 systems ship only that),
    else ``fusermount``, else ``umount`` (root without the FUSE tools). ``lazy`` detaches at
    once even with files open."""
    tool = shutil.which("fusermount3") or shutil.which("fusermount")
    if tool:
        return [tool, "-uz" if lazy else "-u", str(mountpoint)]
    return ["umount", *(["-l"] if lazy else []), str(mountpoint)]
