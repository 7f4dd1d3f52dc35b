"""Mounting: checks that fail early with one clear line, then the FUSE binding's main loop.

The only module of the package that imports a FUSE binding, and it does so late, so that a
missing libfuse is a start-up message rather than an ImportError at ``import putiofs``.
``--debug`` turns on our own debug log (redacted), never libfuse's ``-d``, which would print
every request.

Two bindings, one behaviour (:data:`BINDINGS`; ``-o fuse=libfuse2|libfuse3`` or the
``PUTIOFS_FUSE`` environment variable choose, default :data:`DEFAULT_BINDING`):

* ``libfuse3``: mfusepy over libfuse 3. The kernel sends reads of up to 1 MiB (libfuse 3
  negotiates ``max_pages``), and the kernel's caches can be invalidated by path
  (:mod:`putiofs.kernel_cache`).
* ``libfuse2``: fusepy over libfuse 2, reads of at most 128 KiB.

Under both, paths are decoded with :data:`PATH_ENCODING`, file methods get ``fh`` (never the
raw ``fuse_file_info``), ``direct_io`` is set per open (:func:`with_direct_io_per_open`),
reads are written straight into libfuse's reply buffer (:func:`with_fast_reads`), and
``rename`` gets libfuse 3's flags (``RENAME_NOREPLACE``: mfusepy would drop them).

Kernel cache timeouts are deliberate: entries and attributes are trusted by the kernel for
``min(cache_ttl, 5)`` seconds (never 0, which would send every ``stat`` to Python). Missing
names are not trusted at all (``negative_timeout`` 0, libfuse's default): a lookup of a name
that does not exist is answered from the mount's own cache, without an API call while the
folder's listing is fresh, and the moment the mount learns of a name made elsewhere (a
relisting, a rename that finds its target taken) ``stat`` sees it as well.
Changes made through the mount update the kernel's entries at once; a change made elsewhere
shows after at most ``cache_ttl + min(cache_ttl, 5)`` seconds. With realtime events on
(``options.events``, :mod:`putiofs.live_updates`) the kernel keeps them for
``min(cache_ttl, 1)`` seconds instead: libfuse 2's high-level API cannot drop a path from the
kernel's caches when an event arrives, so a short timeout is what makes the change visible
within about a second (each extra ``stat`` is answered from the cache, without an API call).
"""

from __future__ import annotations

import codecs
import ctypes
import errno
import logging
import os
import re
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from putiofs import kernel_cache
from putiofs.fs import PutioFS
from putiofs.live_updates import KERNEL_TTL_LIVE
from putiofs.options import MountOptions

KERNEL_TTL_MAX = 5.0
log = logging.getLogger("putiofs.mount")

#: The FUSE bindings putiofs can mount with, and the environment variable that picks one.
BINDINGS = ("libfuse3", "libfuse2")
DEFAULT_BINDING = "libfuse3"
BINDING_ENV = "PUTIOFS_FUSE"

#: Options libfuse 3 refuses: it mounts over a non-empty folder anyway, and big writes and
#: atomic O_TRUNC are on by default there.
_LIBFUSE2_ONLY = ("nonempty", "big_writes", "atomic_o_trunc")


class MountError(Exception):
    """The mount cannot start; the message is one line for the user."""


@dataclass
class FuseSettings:
    """Options passed to libfuse, parsed from ``-o a,b=c`` minus the ones putiofs consumes."""

    allow_other: bool = False
    binding: str | None = None   # -o fuse=...; None: $PUTIOFS_FUSE, else DEFAULT_BINDING
    read_ahead_kb: int | None = None   # -o read_ahead_kb=...; None: see read_ahead_for
    extra: dict[str, str | bool] = field(default_factory=dict)


def parse_o_options(values: list[str], options: MountOptions) -> FuseSettings:
    """Split ``-o`` strings into our own options (uid, gid, ro, show_control, fuse,
    read_ahead_kb) and libfuse's."""
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
            elif key == "fuse":
                settings.binding = check_binding(arg, "-o fuse=")
            elif key == "read_ahead_kb":
                if not arg.isdigit():
                    raise MountError(f"-o read_ahead_kb= needs a number of KiB, got {arg!r}")
                settings.read_ahead_kb = int(arg)
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


def check_binding(name: str, source: str) -> str:
    """``name`` if it is one of :data:`BINDINGS`, else a MountError naming ``source``."""
    if name not in BINDINGS:
        raise MountError(f"{source}{name!r} is not a FUSE binding putiofs knows; use one of "
                         f"{', '.join(BINDINGS)}")
    return name


def chosen_binding(settings: FuseSettings | None = None) -> str:
    """The binding to mount with: ``-o fuse=``, else ``$PUTIOFS_FUSE``, else the default,
    unless that cannot load here (no libfuse 3 or no mfusepy): then libfuse 2."""
    if settings is not None and settings.binding:
        return settings.binding
    env = os.environ.get(BINDING_ENV)
    if env:
        return check_binding(env, f"{BINDING_ENV}=")
    try:
        load_binding(DEFAULT_BINDING)
    except MountError as exc:
        log.info("%s; mounting with libfuse2", exc)
        return "libfuse2"
    return DEFAULT_BINDING


def load_binding(binding: str | None = None) -> Any:
    """The FUSE class of ``binding`` (default :func:`chosen_binding`), or a MountError saying
    what to install."""
    binding = binding or chosen_binding()
    try:
        codecs.lookup(PATH_ENCODING)
    except LookupError:
        codecs.register(_path_codec)
    if binding == "libfuse2":
        try:
            import fuse
        except (ImportError, OSError) as exc:
            raise MountError(f"libfuse2 is not usable ({exc}); install it: "
                             "sudo apt-get install libfuse2 fuse3") from None
        return fuse.FUSE
    # mfusepy picks its library when imported: libfuse 3, whatever else is installed
    os.environ.setdefault("FUSE_LIBRARY_NAME", "fuse3")
    try:
        import mfusepy
    except (ImportError, OSError) as exc:
        raise MountError(f"libfuse3 is not usable ({exc}); install it: sudo apt-get install "
                         "libfuse3-3 fuse3 and pip install mfusepy (or mount with "
                         "-o fuse=libfuse2)") from None
    if mfusepy.fuse_version_major != 3:
        raise MountError(f"mfusepy loaded libfuse {mfusepy.fuse_version_major}, not libfuse 3 "
                         "(FUSE_LIBRARY_NAME is set elsewhere?); mount with -o fuse=libfuse2")
    # PutioFS is callable for fusepy's sake; mfusepy calls its methods directly and says so
    warnings.filterwarnings("ignore", message="The call operator", category=DeprecationWarning)
    return mfusepy.FUSE


#: The kernel readahead a libfuse 3 mount asks for: its largest request (1 MiB).
LIBFUSE3_READ_AHEAD_KB = 1024


def read_ahead_for(settings: FuseSettings, binding: str) -> int:
    """The kernel readahead (KiB) to set once mounted; 0 leaves the kernel's 128 KiB.

    ``-o read_ahead_kb=N`` wins; else 1 MiB on libfuse 3 (which the kernel then asks in 1 MiB
    requests: about 40 % less CPU per GiB) and the kernel's own on libfuse 2, where a wider
    readahead is eight 128 KiB requests in flight at once: no faster in the bench, and when
    the server stalls, the kernel's retries after the failed batch make a ``read(2)`` take two
    call deadlines instead of one."""
    if settings.read_ahead_kb is not None:
        return settings.read_ahead_kb
    return LIBFUSE3_READ_AHEAD_KB if binding == "libfuse3" else 0


def binding_of(fuse_class: Any) -> str:
    """Which binding a class from :func:`load_binding` (or a subclass) belongs to."""
    return "libfuse3" if fuse_class.__module__ == "mfusepy" or any(
        base.__module__ == "mfusepy" for base in fuse_class.__mro__) else "libfuse2"


def unmount_command(mountpoint: Path | str, *, lazy: bool = False) -> list[str]:
    """How to unmount a FUSE mount here: ``fusermount3`` (libfuse 3 systems ship only that),
    else ``fusermount``, else ``umount`` (root without the FUSE tools). ``lazy`` detaches at
    once even with files open."""
    tool = shutil.which("fusermount3") or shutil.which("fusermount")
    if tool:
        return [tool, "-uz" if lazy else "-u", str(mountpoint)]
    return ["umount", *(["-l"] if lazy else []), str(mountpoint)]


def kernel_ttl(cache_ttl: float, *, events: bool = False) -> float:
    return max(0.1, min(cache_ttl, KERNEL_TTL_LIVE if events else KERNEL_TTL_MAX))


def fuse_kwargs(options: MountOptions, settings: FuseSettings, *,
                foreground: bool, binding: str = "libfuse2") -> dict[str, Any]:
    ttl = kernel_ttl(options.cache_ttl, events=options.events)
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
        # Missing names are not cached by the kernel (libfuse's default): the mount may
        # learn of a name another client made at any call (a relisting, a rename that finds
        # its target), and a kernel that still said ENOENT would contradict it.
        "negative_timeout": 0,
        # Writing: open(O_TRUNC) arrives as one open with O_TRUNC (not a truncate before it),
        # and writes come in requests of up to 128 KiB instead of 4 KiB.
        "atomic_o_trunc": True,
        "big_writes": True,
    }
    if settings.allow_other:
        kwargs["allow_other"] = True
    kwargs.update(settings.extra)
    if binding == "libfuse3":
        for key in _LIBFUSE2_ONLY:
            kwargs.pop(key, None)
        # Both set: libfuse 3.14's fuse_main otherwise uses 10 threads, and prints "Ignoring
        # invalid max threads value 4294967295" on stderr for the unset idle-thread limit.
        kwargs.setdefault("max_threads", 16)
        kwargs.setdefault("max_idle_threads", 16)
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


def with_fast_reads(fuse_class: Any) -> Any:
    """The binding's FUSE class, plus: ``read`` hands the operations' ``read_into(path, dest,
    offset, fh)`` libfuse's own reply buffer as ``dest`` (a memoryview), so the bytes are
    copied there once instead of being returned as a new ``bytes`` and copied again (operations
    without ``read_into`` are read as before). Also: libfuse 3's ``rename`` flags reach the
    operations (mfusepy drops them, which would turn ``RENAME_NOREPLACE`` into a replace),
    on libfuse 3 the mount is registered with :mod:`putiofs.kernel_cache` while it runs, and
    the kernel's readahead is set once the mount is up (:func:`set_read_ahead`, the class's
    ``read_ahead_kb``): at the first ``getattr`` after ``init``. The kernel sets a mount's
    readahead from libfuse's answer to ``init`` and sends no other request before it has; a
    thread that waited for that with a ``stat`` of the mountpoint held the mount busy, so an
    unmount just after mounting could fail with EBUSY."""

    class FastReads(fuse_class):  # type: ignore[misc, valid-type]
        served = False   # libfuse called init: the mount was up
        read_ahead_kb = 0
        _read_ahead_due = False   # init came, the readahead is not set yet

        def _after_init(self) -> None:
            if self._read_ahead_due:
                self._read_ahead_due = False
                set_read_ahead(self._mountpoint, self.read_ahead_kb)

        def __init__(self, operations: Any, mountpoint: str, *args: Any, **kwargs: Any) -> None:
            self._mountpoint = mountpoint
            super().__init__(operations, mountpoint, *args, **kwargs)


        def read(self, path: bytes | None, buf: Any, size: int, offset: int, fip: Any) -> int:
            read_into = getattr(self.operations, "read_into", None)
            if read_into is None or self.raw_fi:
                return super().read(path, buf, size, offset, fip)
            address = ctypes.cast(buf, ctypes.c_void_p).value
            dest = memoryview((ctypes.c_ubyte * size).from_address(address)).cast("B")
            return read_into(_decode(self, path), dest, offset, fip.contents.fh)

    if binding_of(fuse_class) == "libfuse3":
        class FastReads3(FastReads):
            def rename_fuse_3(self, old: bytes, new: bytes, flags: int) -> int:
                return self.operations.rename(_decode(self, old), _decode(self, new), flags)

            def readdir_fuse_3(self, path: bytes | None, buf: Any, filler: Any, offset: int,
                               fip: Any, flags: int) -> int:
                # names without a stat, as fusepy passes them: mfusepy hands libfuse a zeroed
                # stat, and with use_ino its inode 0 makes readdir(3) skip every entry
                for item in self.operations.readdir(_decode(self, path), fip.contents.fh):
                    name = item if isinstance(item, str) else item[0]
                    if filler(buf, name.encode(self.encoding, "surrogateescape"), None, 0, 0):
                        break
                return 0

            def init_fuse_3(self, conn: Any, config: Any) -> None:
                self._read_ahead_due = self.read_ahead_kb > 0
                super().init_fuse_3(conn, config)
                type(self).served = True
                kernel_cache.attach()

            def getattr_fuse_3(self, path: bytes, buf: Any, fip: Any) -> int:
                self._after_init()
                return super().getattr_fuse_3(path, buf, fip)

            def destroy(self, private_data: Any) -> None:
                kernel_cache.detach()
                return super().destroy(private_data)

        return FastReads3

    class FastReads2(FastReads):
        def init(self, conn: Any) -> Any:
            self._read_ahead_due = self.read_ahead_kb > 0
            return super().init(conn)

        def getattr(self, path: bytes, buf: Any) -> int:
            self._after_init()
            return super().getattr(path, buf)

    return FastReads2


def _decode(fuse: Any, path: bytes | None) -> str | None:
    return None if path is None else path.decode(fuse.encoding, "surrogateescape")


def mount_class(binding: str, read_ahead_kb: int = 0) -> Any:
    """The FUSE class putiofs mounts with on ``binding``: the binding's, with putiofs's
    per-open direct_io, fast reads, the kernel's readahead set to ``read_ahead_kb`` once
    mounted (0: the kernel's own), and (libfuse 3) rename flags and kernel cache hook."""
    fuse_class = with_direct_io_per_open(with_fast_reads(load_binding(binding)))
    fuse_class.read_ahead_kb = read_ahead_kb
    return fuse_class


def set_read_ahead(mountpoint: str, kb: int) -> bool:
    """Set the kernel's readahead for the FUSE mount at ``mountpoint`` (its bdi's
    ``read_ahead_kb``; needs root, else the kernel's 128 KiB stays). True if set.

    Why: the kernel asks for at most ``read_ahead_kb`` ahead of a sequential reader; at its
    default of 128 KiB a libfuse 3 mount, which could take 1 MiB per request, gets 128 KiB
    requests. Found through /proc/self/mountinfo (a ``stat`` of the mountpoint would be a FUSE
    call of its own)."""
    device = _mount_device(mountpoint) if kb > 0 else None
    if device is None:
        return False
    try:
        Path(f"/sys/class/bdi/{device}/read_ahead_kb").write_text(str(kb))
    except OSError as exc:
        log.debug("read_ahead_kb stays the kernel's: %s", exc.strerror)
        return False
    log.debug("read_ahead_kb of %s set to %d", mountpoint, kb)
    return True


def _mount_device(mountpoint: str) -> str | None:
    """``major:minor`` of the newest mount at ``mountpoint`` (/proc/self/mountinfo), or None."""
    target = os.path.abspath(mountpoint)
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as info:
            lines = info.read().splitlines()
    except OSError:
        return None
    devices = [fields[2] for fields in (line.split(" ") for line in lines)
               if len(fields) > 4 and _unescape(fields[4]) == target]
    return devices[-1] if devices else None


def _unescape(field: str) -> str:
    """A mountinfo path field: spaces, tabs, newlines and backslashes are octal escapes."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


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
