"""The errno a call fails with, for tests of what a user (or the kernel) is told."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def errno_of(call: Callable[..., Any], *args: Any, **kwargs: Any) -> int | None:
    """``call(*args, **kwargs)``'s ``OSError.errno``, or None if it succeeds: a test asserts
    ``errno_of(os.mkdir, path) == errno.EEXIST`` (or ``errno_of(lambda: ...)``), so a call that
    unexpectedly succeeds fails the test's own assertion, with its own message."""
    try:
        call(*args, **kwargs)
    except OSError as exc:
        return exc.errno
    return None
