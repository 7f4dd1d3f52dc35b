"""Logging set-up with secret redaction.

Code never formats a secret into a log line on purpose; redaction is the second line of defence:
every registered secret (api_key, api_secret, stream tokens) and anything after ``/atk/`` in a
URL is replaced by ``***`` in every record, at every level -- urllib3's ``--debug`` request
lines, fusepy's lines and tracebacks included. :func:`setup_logging` redacts each record as it is
created (whichever logger and handler it goes to) and again in its own handler, and sends
uncaught exceptions of any thread and Python warnings through the same path.

fusepy logs every errno it returns at debug level with a traceback; those are expected answers
(ENOENT for a probe, EROFS for a write), so their tracebacks are dropped and one line is kept.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import types
from pathlib import Path

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_pattern: re.Pattern[str] | None = None
_TOKEN_IN_URL = re.compile(r"(/atk/)[^/?#\s\"']+")
MASK = "***"
_SCRUBBED = "_putiofs_scrubbed"

log = logging.getLogger("putiofs")


def register_secret(value: str | None) -> None:
    """Never let ``value`` reach a log line. Short values are ignored (they would mask words)."""
    global _pattern
    if not value or len(value) < 4:
        return
    with _secrets_lock:
        if value in _secrets:
            return
        _secrets.add(value)
        alternatives = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in alternatives))


def redact(text: str) -> str:
    """``text`` with every registered secret and any ``/atk/<token>`` masked."""
    text = _TOKEN_IN_URL.sub(lambda m: m.group(1) + MASK, text)
    pattern = _pattern
    return pattern.sub(MASK, text) if pattern is not None else text


def scrub(record: logging.LogRecord) -> None:
    """Format ``record`` (message and traceback), mask secrets, and freeze it into ``msg``."""
    if record.name == "fuse" and record.levelno <= logging.DEBUG:
        record.exc_info = None  # an errno fusepy returns as asked: no traceback needed
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string must not lose the line
        message = f"{record.msg!s} (unformattable arguments)"
    if record.exc_info:
        message += "\n" + logging.Formatter().formatException(record.exc_info)
    elif record.exc_text:
        message += "\n" + record.exc_text
    record.exc_info = None
    record.exc_text = None
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record.msg = redact(message)
    record.args = None


class RedactingFilter(logging.Filter):
    """A handler filter that applies :func:`scrub` to every record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub(record)
        return True


_base_factory = logging.getLogRecordFactory()


def _redacting_factory(*args: object, **kwargs: object) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    scrub(record)
    return record


def _log_uncaught(exc_type: type[BaseException], exc: BaseException,
                  tb: types.TracebackType | None, where: str) -> None:
    log.critical("uncaught %s in %s", exc_type.__name__, where, exc_info=(exc_type, exc, tb))


def _thread_hook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    name = args.thread.name if args.thread is not None else "a thread"
    _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback, name)


def setup_logging(*, debug: bool = False, log_file: Path | None = None) -> None:
    """Root logging for the CLI: INFO (or DEBUG) to stderr or to ``log_file``, always redacted."""
    handler: logging.Handler
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.setLogRecordFactory(_redacting_factory)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for name in ("urllib3", "fuse"):
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.WARNING)
    logging.captureWarnings(True)
    sys.excepthook = lambda t, e, tb: _log_uncaught(t, e, tb, "the main thread")
    threading.excepthook = _thread_hook
