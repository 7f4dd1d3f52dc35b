"""The FUSE bindings and putiofs's glue over them: the only module that imports one.

A binding is imported late, so that a missing libfuse is a start-up message rather than an
ImportError at ``import putiofs``. Two bindings, one behaviour
(:data:`~putiofs.mount.settings.BINDINGS`; ``-o fuse=libfuse2|libfuse3`` or the ``PUTIOFS_FUSE``
environment variable choose, default :data:`DEFAULT_BINDING`):

* ``libfuse3``: mfusepy over libfuse 3. The kernel sends reads of up to 1 MiB (libfuse 3
  negotiates ``max_pages``), and the kernel's caches can be invalidated by path
  (:mod:`putiofs.mount.kernel_cache`).
* ``libfuse2``: fusepy over libfuse 2, reads of at most 128 KiB.

Under both, paths are decoded with :data:`PATH_ENCODING`, file methods get ``fh`` (never the
raw ``fuse_file_info``), ``direct_io`` is set per open (:func:`with_direct_io_per_open`),
reads are written straight into libfuse's reply buffer (:func:`with_fast_reads`), and
``rename`` gets libfuse 3's flags (``RENAME_NOREPLACE``: mfusepy would drop them).
"""

from __future__ import annotations

import codecs
import ctypes
import functools
import importlib
import logging
import os
import re
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from putiofs.mount import kernel_cache
from putiofs.mount.checks import MountError
from putiofs.mount.settings import BINDING_ENV, DEFAULT_BINDING, FuseSettings, check_binding

log = logging.getLogger("putiofs.mount")

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


def caller_of(binding: str) -> Callable[[], tuple[int, int]]:
    """A function giving the (uid, gid) of the process whose request is being served (the
    binding's ``fuse_get_context``): the front makes new files and folders theirs."""
    load_binding(binding)
    module = importlib.import_module("fuse" if binding == "libfuse2" else "mfusepy")

    def caller() -> tuple[int, int]:
        uid, gid, _pid = module.fuse_get_context()
        return uid, gid

    return caller


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
    on libfuse 3 the mount is registered with :mod:`putiofs.mount.kernel_cache` while it runs, and
    the kernel's readahead is set once the mount is up (:func:`set_read_ahead`, the class's
    ``read_ahead_kb``): at the first ``getattr`` after ``init``. The kernel sets a mount's
    readahead from libfuse's answer to ``init`` and sends no other request before it has; a
    thread that waited for that with a ``stat`` of the mountpoint held the mount busy, so an
    unmount just after mounting could fail with EBUSY."""

    class FastReads(fuse_class):  # type: ignore[misc, valid-type]
        served = False   # libfuse called init: the mount was up
        read_ahead_kb = 0
        _read_ahead_due = False   # init came, the readahead is not set yet
        #: Called once libfuse's init has run: the mount is up (see putiofs.mount.startup).
        on_mounted: Callable[[], None] | None = None

        def _mounted(self) -> None:
            hook = type(self).on_mounted   # a plain function, not a method
            if hook is not None:
                hook()

        def _after_init(self) -> None:
            if self._read_ahead_due:
                self._read_ahead_due = False
                set_read_ahead(self._mountpoint, self.read_ahead_kb)

        def __init__(self, operations: Any, mountpoint: str, *args: Any, **kwargs: Any) -> None:
            self._mountpoint = mountpoint
            self._keep_states = workers_stay(binding_of(type(self)), kwargs)
            super().__init__(operations, mountpoint, *args, **kwargs)

        def _wrapper(self, func: Any, *args: Any, **kwargs: Any) -> Any:
            # every callback of libfuse's comes through here (both bindings)
            if self._keep_states:
                keep_thread_state()
            return super()._wrapper(func, *args, **kwargs)


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
                self._mounted()

            def getattr_fuse_3(self, path: bytes, buf: Any, fip: Any) -> int:
                # mfusepy's fgetattr, with the stat written by fill_stat (a warm stat of a
                # file the kernel no longer holds is this call and the lookup around it)
                self._after_init()
                ctypes.memset(buf, 0, ctypes.sizeof(buf.contents))
                fh = fip.contents.fh if fip else None
                fill_stat(buf.contents, self.operations.getattr(_decode(self, path), fh))
                return 0

            def destroy(self, private_data: Any) -> None:
                kernel_cache.detach()
                return super().destroy(private_data)

        return FastReads3

    class FastReads2(FastReads):
        def init(self, conn: Any) -> Any:
            self._read_ahead_due = self.read_ahead_kb > 0
            result = super().init(conn)
            self._mounted()
            return result

        def getattr(self, path: bytes, buf: Any) -> int:
            self._after_init()
            return super().getattr(path, buf)

    return FastReads2


#: The nanosecond times of a stat dict (``use_ns``) and the timespec fields they go in.
_TIMESPECS = {"st_atime": "st_atimespec", "st_mtime": "st_mtimespec",
              "st_ctime": "st_ctimespec"}


def fill_stat(st: Any, attrs: dict[str, Any]) -> None:
    """Write a stat dict (times in ns) into the binding's ``struct stat`` (zeroed): what
    mfusepy's ``set_st_attrs`` does, without looking up each field twice. Keys the struct does
    not have (``st_birthtime`` on Linux) are left out."""
    fields = _stat_fields(type(st))
    for key, value in attrs.items():
        spec = _TIMESPECS.get(key)
        if spec is not None:
            if spec in fields:
                timespec = getattr(st, spec)
                timespec.tv_sec, timespec.tv_nsec = divmod(int(value), 1_000_000_000)
        elif key in fields:
            setattr(st, key, value)


@functools.cache
def _stat_fields(struct: type) -> frozenset[str]:
    return frozenset(name for name, *_ in struct._fields_)


_worker = threading.local()


def keep_thread_state() -> None:
    """Keep the calling libfuse thread's Python thread state from one callback to the next.

    ctypes enters a callback on a thread Python did not start with ``PyGILState_Ensure``, which
    makes a new thread state there, and leaves it with ``PyGILState_Release``, which deletes it
    again: every FUSE request paid for a thread state and its frame stack (an ``mmap`` and a
    ``munmap``, which flushes the TLB of every core), about a third of a warm ``stat``. One
    ``PyGILState_Ensure`` more, never released, keeps the thread's state alive; the GIL is
    still released after each callback. Only where libfuse's threads live as long as the mount
    (:func:`workers_stay`): a thread that ends would leave its state behind."""
    if not getattr(_worker, "kept", False):
        ctypes.pythonapi.PyGILState_Ensure()
        _worker.kept = True


def workers_stay(binding: str, kwargs: dict[str, Any]) -> bool:
    """Do libfuse's worker threads live until the unmount? On libfuse 3 when as many may idle
    as may run (``max_idle_threads`` >= ``max_threads``, as
    :func:`putiofs.mount.settings.fuse_kwargs` sets); libfuse
    2 ends threads beyond 10 idle ones."""
    if binding != "libfuse3":
        return False
    try:
        return int(kwargs.get("max_idle_threads", 0)) >= int(kwargs.get("max_threads", 1))
    except (TypeError, ValueError):
        return False


def _decode(fuse: Any, path: bytes | None) -> str | None:
    if path is None:
        return None
    # PATH_ENCODING is UTF-8 with surrogateescape: the C codec is the same, and faster
    encoding = "utf-8" if fuse.encoding == PATH_ENCODING else fuse.encoding
    return path.decode(encoding, "surrogateescape")


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
