"""Logging set-up with secret redaction.

Code never formats a secret into a log line on purpose; this filter is the second line of
defence: every registered secret (api_key, api_secret, stream tokens) is replaced by ``***`` in
every record, at every level, before any handler sees it — including a ``--debug`` run's
urllib3 lines and tracebacks.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from pathlib import Path

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_pattern: re.Pattern[str] | None = None
_TOKEN_IN_URL = re.compile(r"(/atk/)[^/?#\s\"']+")
MASK = "***"


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


class RedactingFilter(logging.Filter):
    """Formats the record itself, masks secrets, and freezes the result into ``msg``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg = redact(message)
        record.args = None
        return True


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
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    if not debug:
        logging.getLogger("urllib3").setLevel(logging.WARNING)
        logging.getLogger("fuse").setLevel(logging.WARNING)
