"""Logging set-up with secret redaction.

Code never formats a secret into a log line on purpose; redaction is the second line of defence:
every registered secret (api_key, api_secret, stream tokens, signed download URLs), anything after
``/atk/`` in a URL and the value of every signature-like query parameter (``u``, ``sig``,
``signature``, ``token``, ``access_token``, ``oauth_token``, ``key``, ``X-Amz-Signature``, ...)
are replaced by ``***`` in every record, at every level -- urllib3's ``--debug`` request lines,
fusepy's lines and tracebacks included. :func:`setup_logging` redacts each record as it is created
(whichever logger and handler it goes to) and again in its own handler, and sends uncaught
exceptions of any thread and Python warnings through the same path.

A signed URL serves the file to anyone who has it, so it is a secret like a token, whatever its
shape: the path and query of every URL a download was redirected to (a CDN's signed link; see
:func:`note_redirect`) or that an API handed out as a download link are registered with
:func:`register_url_secret` before anything can log them.

Log files are created readable by their owner only (0600, in a 0700 folder when putiofs creates
the folder); an existing regular log file readable by others is narrowed to 0600 before the first
line is written to it, since a debug log is a record of what the account holds.

fusepy logs every errno it returns at debug level with a traceback; those are expected answers
(ENOENT for a probe, EROFS for a write), so their tracebacks are dropped and one line is kept.

Where the log goes (:func:`setup_logging`): a file, or stderr (no file, or ``-``). Under
systemd, when stderr is the journal (``JOURNAL_STREAM`` names stderr's device and inode, see
:func:`stderr_is_journal`), lines carry no timestamp of ours (the journal stamps each) and
start with the sd-daemon(3) priority prefix (``<3>`` error ... ``<7>`` debug), every line of a
traceback too, so ``journalctl -p warning`` keeps its meaning.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
import sys
import threading
import types
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_pattern: re.Pattern[str] | None = None
_TOKEN_IN_URL = re.compile(r"(/atk/)[^/?#\s\"']+")
_SIGNED_QUERY = re.compile(
    r"([?&;](?:u|sig|signature|token|access_token|oauth_token|key|x-amz-signature"
    r"|x-amz-credential|x-amz-security-token)=)[^&#\s\"']+", re.IGNORECASE)
#: A URL's path and query as log lines show them: ``"GET /path?query HTTP/1.1"`` (urllib3) or
#: a whole ``scheme://host/path?query``; the scheme and host are kept, never masked.
_URL_PARTS = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*://[^/\s\"'?#]*)?(/[^\s\"'?#]*)"
                        r"(?:\?([^\s\"'#]*))?")
_url_secrets: dict[str, None] = {}  # an insertion-ordered set
MAX_URL_SECRETS = 50_000
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


def register_url_secret(url: str | None) -> None:
    """Never let the path or query of ``url`` (a signed download link) reach a log line.

    Every open of a file may bring a new signed link, so these are not added to the pattern of
    :func:`register_secret` (recompiled at each addition): each path and query in a line is
    looked up in a set. The set keeps the newest ``MAX_URL_SECRETS`` links (about 100 bytes
    each), far more than a mount has open at once.
    """
    if not url:
        return
    parts = urlsplit(url)
    with _secrets_lock:
        for value in (parts.path, parts.query):
            if len(value) >= 4:
                _url_secrets.pop(value, None)
                _url_secrets[value] = None
        while len(_url_secrets) > MAX_URL_SECRETS:
            del _url_secrets[next(iter(_url_secrets))]


def _mask_url_part(match: re.Match[str]) -> str:
    text = match.group(0)
    for group in (2, 1):  # right to left: the earlier offsets stay valid
        value = match.group(group)
        if value and value in _url_secrets:
            start, end = match.start(group) - match.start(), match.end(group) - match.start()
            text = text[:start] + MASK + text[end:]
    return text


def note_redirect(response: Any, *args: Any, **kwargs: Any) -> Any:
    """A ``requests`` response hook: register where a redirect points before it is followed
    (requests runs the hook on each answer, urllib3 logs the next request line after it)."""
    location = response.headers.get("Location") if response.is_redirect else None
    if location:
        register_url_secret(urljoin(response.url, location))
    return response


def redact(text: str) -> str:
    """``text`` with every registered secret, any ``/atk/<token>`` and signed query masked."""
    text = _TOKEN_IN_URL.sub(lambda m: m.group(1) + MASK, text)
    if _url_secrets:
        text = _URL_PARTS.sub(_mask_url_part, text)
    text = _SIGNED_QUERY.sub(lambda m: m.group(1) + MASK, text)
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


def make_private(log_file: Path) -> None:
    """Create ``log_file`` 0600 (its folder 0700 if new), or narrow an existing regular file to
    0600; a device such as /dev/null is left as it is."""
    log_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISREG(mode) and mode & 0o077:
            with contextlib.suppress(PermissionError):  # another user's file: their choice
                os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


class LogFile(logging.FileHandler):
    """The log file, which :meth:`reopen` opens anew at its path (logrotate's move-then-HUP:
    the old file is closed, a new one is created 0600, see :func:`make_private`)."""

    def reopen(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            make_private(Path(self.baseFilename))
            if self.stream is not None:
                self.stream.close()
            self.stream = self._open()


def reopen_log() -> bool:
    """Reopen the log file the logging set up writes to (SIGHUP); False if it writes to none."""
    files = [h for h in logging.getLogger().handlers if isinstance(h, LogFile)]
    for handler in files:
        handler.reopen()
    return bool(files)


#: ``--log-level`` names, least to most severe.
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}
#: ``--log-file -``: the log goes to stderr.
STDERR = Path("-")
#: sd-daemon(3) priorities (syslog's) by logging level.
_PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4),
               (logging.INFO, 6))
_DEBUG_PRIORITY = 7


def journal_priority(levelno: int) -> int:
    """The syslog priority of a logging level: 2 (crit) to 7 (debug)."""
    return next((priority for level, priority in _PRIORITIES if levelno >= level),
                _DEBUG_PRIORITY)


class JournalFormatter(logging.Formatter):
    """``<N>name: message`` on every line, without a timestamp: for the systemd journal."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{journal_priority(record.levelno)}>"
        text = f"{record.name}: {super().format(record)}"
        return "\n".join(prefix + line for line in text.splitlines() or [""])


def stderr_is_journal() -> bool:
    """Is stderr systemd's journal stream? ``JOURNAL_STREAM`` (``device:inode``) is set by
    systemd for a service whose output goes to the journal; it is compared with stderr itself,
    as sd-daemon(3) advises, since a child may have had its stderr sent elsewhere."""
    value = os.environ.get("JOURNAL_STREAM", "")
    device, sep, inode = value.partition(":")
    if not sep or not device.isdigit() or not inode.isdigit():
        return False
    try:
        st = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    return (st.st_dev, st.st_ino) == (int(device), int(inode))


def setup_logging(*, debug: bool = False, log_file: Path | None = None,
                  level: str | None = None) -> None:
    """Root logging for the CLI, always redacted: ``level`` (a :data:`LEVELS` name, default
    info; ``debug`` wins) to ``log_file``, or to stderr (None or ``-``), in the journal's form
    when stderr is the journal."""
    handler: logging.Handler
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    if log_file is not None and log_file != STDERR:
        make_private(log_file)
        handler = LogFile(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
        if stderr_is_journal():
            formatter = JournalFormatter("%(message)s")
    handler.addFilter(RedactingFilter())
    handler.setFormatter(formatter)
    logging.setLogRecordFactory(_redacting_factory)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    threshold = logging.DEBUG if debug else LEVELS[level or "info"]
    root.setLevel(threshold)
    for name in ("urllib3", "fuse"):
        # their info lines (one per connection) are noise unless every call is logged
        logging.getLogger(name).setLevel(
            logging.DEBUG if threshold <= logging.DEBUG else max(threshold, logging.WARNING))
    logging.captureWarnings(True)
    sys.excepthook = lambda t, e, tb: _log_uncaught(t, e, tb, "the main thread")
    threading.excepthook = _thread_hook
