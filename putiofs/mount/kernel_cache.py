"""Telling the kernel that what it caches about a path is stale (libfuse 3 mounts only).

The kernel keeps a file's attributes (size, times) for ``attr_timeout`` and its pages while
the file's mtime and size do not change (``auto_cache``). When put.io says a file changed
behind the mount (the events of another engineer's work, a rename made on the website),
:func:`invalidate_path` makes the kernel ask the mount again at the next ``stat`` or
``read`` of that path, instead of after the timeout. It calls libfuse 3's
``fuse_invalidate_path``, which needs the mount's ``struct fuse``; the mount registers it
(:func:`attach`, from libfuse's ``init``) and withdraws it (:func:`detach`, at ``destroy``),
see :mod:`putiofs.mount.settings`. On libfuse 2, or with no mount running in this process, it is a
no-op that returns False.

What it covers: a path the kernel has looked up (a listed or opened name). New names need
nothing: the mount keeps the kernel from caching "no such file" answers (``negative_timeout``
0, :mod:`putiofs.mount.settings`), since libfuse's high-level API cannot invalidate a directory
entry. Call it from outside FUSE operations (a background thread): invalidating the inode an
operation is working on can deadlock.

Why each call first polls the mount's device: libfuse 3 calls ``destroy`` (where the mount
withdraws itself) only after its loop has ended and it has closed the device. A notification
written in between, by a thread landing an upload while the mount unmounts, fails and libfuse
prints ``fuse: writing device: ...`` on the terminal. The poll (no wait) finds a device
that is closed (``fuse_session_fd`` is -1) or whose connection the unmount ended (POLLERR),
and the mount is withdrawn before anything is written.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import select
import threading

__all__ = ["attach", "attached", "detach", "invalidate_path"]

_lock = threading.Lock()
_fuse: int | None = None          # the running mount's struct fuse *, while it runs
_lib: ctypes.CDLL | None = None
_DEVICE_GONE = select.POLLERR | select.POLLHUP | select.POLLNVAL


def _libfuse3() -> ctypes.CDLL:
    global _lib
    if _lib is None:
        lib = ctypes.CDLL(ctypes.util.find_library("fuse3") or "libfuse3.so.3")
        # struct fuse_context starts with its struct fuse *
        lib.fuse_get_context.restype = ctypes.POINTER(ctypes.c_void_p)
        lib.fuse_get_context.argtypes = []
        lib.fuse_invalidate_path.restype = ctypes.c_int
        lib.fuse_invalidate_path.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.fuse_get_session.restype = ctypes.c_void_p
        lib.fuse_get_session.argtypes = [ctypes.c_void_p]
        lib.fuse_session_fd.restype = ctypes.c_int
        lib.fuse_session_fd.argtypes = [ctypes.c_void_p]
        _lib = lib
    return _lib


def attach() -> None:
    """Register the libfuse 3 mount whose operation (``init``) is running on this thread."""
    global _fuse
    context = _libfuse3().fuse_get_context()
    with _lock:
        _fuse = context[0] if context else None


def detach() -> None:
    """The mount is going away: from now on :func:`invalidate_path` does nothing."""
    global _fuse
    with _lock:
        _fuse = None


def attached() -> bool:
    """A libfuse 3 mount of this process is registered."""
    return _fuse is not None


def invalidate_path(path: str) -> bool:
    """Drop the kernel's cached attributes and pages of ``path`` (``/folder/name`` as the
    mount shows it). True when the kernel now holds nothing stale for it (invalidated, or not
    cached at all); False on libfuse 2, with no mount running, or when libfuse refuses."""
    global _fuse
    encoded = path.encode("utf-8", "surrogateescape")
    with _lock:
        if _fuse is None:
            return False
        if not _connected(_fuse):
            _fuse = None
            return False
        result = _libfuse3().fuse_invalidate_path(_fuse, encoded)
    return result in (0, -errno.ENOENT)   # ENOENT: the kernel has not looked it up


def _connected(fuse: int) -> bool:
    """The mount's device is open and its connection to the kernel has not ended."""
    lib = _libfuse3()
    fd = lib.fuse_session_fd(lib.fuse_get_session(fuse))
    if fd < 0:
        return False
    poller = select.poll()
    poller.register(fd, 0)   # no events asked: only the error bits are reported
    return not any(mask & _DEVICE_GONE for _, mask in poller.poll(0))
