"""How exceptions become errno values for FUSE callers: the one place that decides.

fusepy turns any exception that is not an ``OSError`` into ``EINVAL`` and logs a traceback;
every operation of the FUSE front (:class:`~putiofs.front.operations.PutioFS`) is wrapped in
:func:`fuse_call` so that each exception from the layers below (account tree, tree edits, control
folder, cache, reader, backends) becomes the right errno, and only the unexpected ones (``EIO``)
are logged, in one line. The packages below the front (tree, read, write, the backends) raise
only ``putiofs.api.errors`` exceptions; the front's own pieces may also raise ``fail(errno)``.
None of them decides an errno for another's exception.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from putiofs.api.errors import (
    AuthenticationError,
    ConflictError,
    InvalidNameError,
    NameExistsError,
    NameTooLongError,
    NoSpaceError,
    NotFoundError,
    NotSupportedError,
    PathNotADirectory,
    PermissionDeniedError,
    PutioError,
    QuotaExceededError,
)
from putiofs.net import deadline
from putiofs.tree import names

log = logging.getLogger("putiofs.front")

F = TypeVar("F", bound=Callable[..., Any])

#: "No such attribute" (Linux's ENODATA; ENOATTR elsewhere).
ENODATA = getattr(errno, "ENODATA", 61)


def fail(code: int) -> OSError:
    """The exception a FUSE method raises to answer ``code``."""
    return OSError(code, os.strerror(code))


def errno_for(exc: BaseException) -> int:
    """The errno a FUSE caller should see for an exception from the layers below."""
    if isinstance(exc, OSError) and exc.errno:
        return exc.errno
    if isinstance(exc, PathNotADirectory):
        return errno.ENOTDIR
    if isinstance(exc, NotFoundError):
        return errno.ENOENT
    if isinstance(exc, NameExistsError):
        return errno.EEXIST
    if isinstance(exc, AuthenticationError | PermissionDeniedError):
        return errno.EACCES
    if isinstance(exc, names.NameTooLong | NameTooLongError):
        return errno.ENAMETOOLONG
    if isinstance(exc, ConflictError | InvalidNameError | names.InvalidName):
        return errno.EINVAL
    if isinstance(exc, NotSupportedError):
        return errno.ENOTSUP
    if isinstance(exc, QuotaExceededError | NoSpaceError):
        return errno.ENOSPC
    return errno.EIO


def fuse_call(func: F) -> F:
    """Bound a FUSE method by the mount's call deadline (see :mod:`putiofs.net.deadline`) and turn
    every exception into ``OSError(errno)``, logging the unexpected ones in one line."""

    @functools.wraps(func)
    def wrapper(self: Any, *args: Any) -> Any:
        try:
            with deadline.within(self.options.call_deadline):
                return func(self, *args)
        except OSError as exc:
            if exc.errno:
                raise
            log.error("%s: %s", func.__name__, exc)
            raise OSError(errno.EIO, os.strerror(errno.EIO)) from None
        except Exception as exc:  # noqa: BLE001 - the one place that turns anything into errno
            code = errno_for(exc)
            if isinstance(exc, AuthenticationError):
                log.warning("%s refused by put.io: %s", func.__name__, exc)
            elif code == errno.EIO and isinstance(exc, PutioError):
                log.error("%s failed: %s: %s", func.__name__, type(exc).__name__, exc)
            elif code == errno.EIO:
                log.error("%s: unexpected %s: %s", func.__name__, type(exc).__name__, exc)
            else:
                log.debug("%s: %s (%s)", func.__name__, type(exc).__name__,
                          errno.errorcode.get(code, code))
            raise OSError(code, os.strerror(code)) from None

    return wrapper  # type: ignore[return-value]


REPEAT_WINDOW = 0.25


def fail_fast_repeats(func: F) -> F:
    """For ``read`` and ``read_into`` (given a size or a buffer to fill): a read inside a range
    of the same file whose read failed less than ``REPEAT_WINDOW`` seconds ago fails at once
    with the same errno.

    When a readahead read fails, the kernel at once retries the page the program asked for with
    a read of its own, and programs reading the same pages wait for that page and then retry it
    one after the other; waiting out the call deadline again each time would make a ``read(2)``
    take a multiple of ``--timeout``. A later read, or one elsewhere in the file, tries again.
    """
    failures: dict[tuple[int, str | int], tuple[float, int, int, int]] = {}
    lock = threading.Lock()

    @functools.wraps(func)
    def wrapper(self: Any, path: str | None, size_or_dest: int | memoryview, offset: int,
                fh: int) -> Any:
        size = size_or_dest if isinstance(size_or_dest, int) else len(size_or_dest)
        key = (id(self), path if path is not None else fh)
        now = time.monotonic()
        with lock:
            failed = failures.get(key)
        if failed is not None:
            when, start, end, code = failed
            if now - when < REPEAT_WINDOW and start <= offset and offset + size <= end:
                raise fail(code)
        try:
            result = func(self, path, size_or_dest, offset, fh)
        except OSError as exc:
            with lock:
                for old, value in list(failures.items()):
                    if now - value[0] >= REPEAT_WINDOW:
                        del failures[old]
                failures[key] = (time.monotonic(), offset, offset + size, exc.errno or errno.EIO)
            raise
        return result

    return wrapper  # type: ignore[return-value]
