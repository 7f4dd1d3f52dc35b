"""Mounting: checks that fail early with one clear line, then fusepy's main loop.

The only module of the package that imports the FUSE binding, and it does so late, so that a
missing libfuse is a start-up message rather than an ImportError at ``import putiofs``.
``--debug`` turns on our own debug log (redacted), never libfuse's ``-d``, which would print
every request.

Kernel cache timeouts are deliberate: entries, attributes and missing names are trusted by the
kernel for ``min(cache_ttl, 5)`` seconds (never 0, which would send every ``stat`` to Python).
Changes made through the mount update the kernel's entries at once; a change made elsewhere
shows after at most ``cache_ttl + min(cache_ttl, 5)`` seconds.
"""

from __future__ import annotations

import codecs
import errno
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from putiofs.fs import PutioFS
from putiofs.options import MountOptions

KERNEL_TTL_MAX = 5.0


class MountError(Exception):
    """The mount cannot start; the message is one line for the user."""


@dataclass
class FuseSettings:
    """Options passed to libfuse, parsed from ``-o a,b=c`` minus the ones putiofs consumes."""

    allow_other: bool = False
    extra: dict[str, str | bool] = field(default_factory=dict)


def parse_o_options(values: list[str], options: MountOptions) -> FuseSettings:
    """Split ``-o`` strings into our own options (uid, gid, ro, show_control) and libfuse's."""
    settings = FuseSettings()
    for value in values:
        for item in filter(None, (part.strip() for part in value.split(","))):
            key, sep, arg = item.partition("=")
            if key in ("uid", "gid"):
                if not arg.isdigit():
                    raise MountError(f"-o {key}= needs a number, got {arg!r}")
                setattr(options, key, int(arg))
            elif key == "ro":
                options.read_only = True
                settings.extra["ro"] = True
            elif key == "rw":
                options.read_only = False
            elif key == "allow_other":
                settings.allow_other = True
            elif key == "show_control":
                options.show_control = True
            else:
                settings.extra[key] = arg if sep else True
    return settings


def is_stale_mount(mountpoint: Path) -> bool:
    """A FUSE mount whose process has gone: the kernel answers ENOTCONN for it."""
    try:
        os.lstat(mountpoint)
    except OSError as exc:
        return exc.errno == errno.ENOTCONN
    return False


def check_mountpoint(mountpoint: Path, settings: FuseSettings) -> None:
    if is_stale_mount(mountpoint):
        raise MountError(f"{mountpoint} is a mount whose putiofs process has gone; "
                         f"clean it up first: putiofs umount {mountpoint}")
    try:
        _check_usable(mountpoint, settings)
    except OSError as exc:
        raise MountError(f"cannot use mountpoint {mountpoint}: {exc.strerror}") from None


def _check_usable(mountpoint: Path, settings: FuseSettings) -> None:
    if not mountpoint.exists():
        raise MountError(f"mountpoint {mountpoint} does not exist (create it with mkdir)")
    if not mountpoint.is_dir():
        raise MountError(f"mountpoint {mountpoint} is not a directory")
    if os.path.ismount(mountpoint):
        raise MountError(f"{mountpoint} is already a mount point (busy); "
                         f"unmount it first: putiofs umount {mountpoint}")
    if not settings.extra.get("nonempty") and any(mountpoint.iterdir()):
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


#: The codec fusepy decodes kernel paths and encodes listed names with: UTF-8, with bytes that
#: are not valid UTF-8 kept as lone surrogates (``surrogateescape``) instead of failing. A name
#: typed with such bytes then simply matches nothing (ENOENT) or is refused (EINVAL, see
#: ``names.to_remote``); with fusepy's strict 'utf-8' it would answer EINVAL with a traceback.
PATH_ENCODING = "putiofs_utf8_paths"


def _path_codec(name: str) -> codecs.CodecInfo | None:
    if name != PATH_ENCODING:
        return None
    utf8 = codecs.lookup("utf-8")
    return codecs.CodecInfo(
        name=PATH_ENCODING,
        encode=lambda text, errors="strict": utf8.encode(text, "surrogateescape"),
        decode=lambda data, errors="strict": utf8.decode(data, "surrogateescape"),
    )


def load_binding() -> Any:
    """fusepy's FUSE class, or a MountError saying what to install."""
    try:
        import fuse
    except (ImportError, OSError) as exc:
        raise MountError(f"libfuse2 is not usable ({exc}); install it: "
                         "sudo apt-get install libfuse2 fuse3") from None
    try:
        codecs.lookup(PATH_ENCODING)
    except LookupError:
        codecs.register(_path_codec)
    return fuse.FUSE


def unmount_command(mountpoint: Path | str, *, lazy: bool = False) -> list[str]:
    """How to unmount a FUSE mount here: ``fusermount3`` (libfuse 3 systems ship only that),
    else ``fusermount``, else ``umount`` (root without the FUSE tools). ``lazy`` detaches at
    once even with files open."""
    tool = shutil.which("fusermount3") or shutil.which("fusermount")
    if tool:
        return [tool, "-uz" if lazy else "-u", str(mountpoint)]
    return ["umount", *(["-l"] if lazy else []), str(mountpoint)]


def kernel_ttl(cache_ttl: float) -> float:
    return max(0.1, min(cache_ttl, KERNEL_TTL_MAX))


def fuse_kwargs(options: MountOptions, settings: FuseSettings, *,
                foreground: bool) -> dict[str, Any]:
    ttl = kernel_ttl(options.cache_ttl)
    kwargs: dict[str, Any] = {
        "foreground": foreground,
        "nothreads": False,
        "fsname": "putio",
        "subtype": "putiofs",
        "use_ino": True,
        "default_permissions": True,
        "auto_cache": True,
        "attr_timeout": ttl,
        "entry_timeout": ttl,
        "negative_timeout": ttl,
        # Writing: open(O_TRUNC) arrives as one open with O_TRUNC (not a truncate before it),
        # and writes come in requests of up to 128 KiB instead of 4 KiB.
        "atomic_o_trunc": True,
        "big_writes": True,
    }
    if settings.allow_other:
        kwargs["allow_other"] = True
    kwargs.update(settings.extra)
    return kwargs


def with_direct_io_per_open(fuse_class: Any) -> Any:
    """fusepy's FUSE class, plus: after each ``open``, the operations' ``direct_io(fh)`` may
    ask the kernel to bypass its page cache and its cached file size for that handle (the
    generated /.putio files, whose text changes between opens). fusepy sets only ``fh`` on an
    open unless ``raw_fi``, which would change the signature of every file method."""

    class PutioFuse(fuse_class):  # type: ignore[misc, valid-type]
        def open(self, path: bytes, fip: Any) -> int:
            result = super().open(path, fip)
            wants = getattr(self.operations, "direct_io", None)
            if wants is not None and wants(fip.contents.fh):
                fip.contents.direct_io = 1
            return result

    return PutioFuse


def run_mount(operations: PutioFS, mountpoint: Path, options: MountOptions,
              settings: FuseSettings, *, foreground: bool) -> None:
    """Mount and serve until unmounted (fusermount -u, SIGINT or SIGTERM)."""
    fuse_class = with_direct_io_per_open(load_binding())
    try:
        fuse_class(operations, str(mountpoint), raw_fi=False, encoding=PATH_ENCODING,
                   **fuse_kwargs(options, settings, foreground=foreground))
    except RuntimeError as exc:
        raise MountError(f"libfuse could not mount {mountpoint} (code {exc}); "
                         "see the lines above for its reason") from None
