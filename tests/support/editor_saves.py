"""How editors save a file, as the mount tests of ``tests/mount/test_editors.py`` replay them.

Each :class:`Strategy` saves ``data`` over the file at ``path`` the way one program does, with
the same system calls in the same order: real vim, nano and gio where they are installed
(``scripts/setup-env.sh`` installs them), and for emacs and LibreOffice (too big to install
for a test) a Python sequence of the calls they make, taken from their source:

* **emacs** (``lisp/files.el`` ``basic-save-buffer-2`` / ``backup-buffer``; ``src/fileio.c``
  ``write-region`` and ``copy-file``; ``src/filelock.c`` ``create_lock_file``): the first change
  locks the file with a symlink ``.#name``; where symlinks are refused (``EPERM``, as here) the
  lock is a regular file written under a nonce name ``.#-emacsXXXXXX`` and renamed to
  ``.#name`` without replacing (``renameat2(RENAME_NOREPLACE)``, else ``link``, else a check
  and a plain rename). The first save of a session backs the file up to ``name~``: by default
  by renaming the file there (``rename-file ... t``), with ``backup-by-copying`` by copying it
  (the old backup deleted, the copy created, written, its mode and times set). Then
  ``write-region`` opens ``name`` ``O_WRONLY|O_CREAT|O_TRUNC``, writes, fsyncs
  (``write-region-inhibit-fsync`` is nil in an interactive session) and closes; the lock is
  removed once the buffer is saved. The backup stays: emacs keeps ``name~``.
* **LibreOffice** (``sfx2/source/doc/docfile.cxx``: ``SfxMedium::CreateTempFileNoCopy``,
  ``TransactedTransferForFS_Impl``, ``Transfer_Impl``; ``svl/source/misc/documentlockfile.cxx``;
  temp names from ``unotools/source/ucbhelper/tempfile.cxx``): opening the document creates the
  lock file ``.~lock.name#`` (``O_CREAT|O_EXCL``, one CSV line naming the user); a save writes
  the document to a temp file ``lu<random>.tmp`` in the document's folder, closes it, renames
  it over the document (``osl::File::replace``), then opens the document again for writing
  just to fsync it; closing the document removes the lock file.

The real programs' own sequences, for the record (strace of vim 9.0, nano 7.2, gio of GLib
2.74; ``gio/glocalfileoutputstream.c`` for the last):

* **vim** ``backupcopy=no`` (``auto`` picks it for a plain file, after probing the folder with
  a file ``4913`` it creates, chowns and removes): rename ``name`` to ``name~``, create
  ``name`` (``O_WRONLY|O_CREAT``, ``ftruncate``), write, fsync, fchmod, close, remove
  ``name~``. ``backupcopy=yes``: copy ``name`` to ``name~`` (``O_EXCL``), then rewrite ``name``
  in place (``O_WRONLY|O_CREAT``, ``ftruncate``, write, fsync), remove ``name~``. Without
  ``writebackup`` no backup is made at all: the rewrite in place. The swap file
  ``.name.swp`` (``O_RDWR|O_CREAT|O_EXCL``, written and fsynced while editing) is closed and
  removed at exit. ``backupskip`` is emptied: its default skips backups under ``/tmp``, where
  the tests' mounts are.
* **nano**: ``O_WRONLY|O_CREAT|O_TRUNC``, write, fsync, close. With ``--backup`` it first
  removes ``name~`` and copies the file there (``O_EXCL``, fsync, futimens); with
  ``--locking`` it holds a vim-style lock ``.name.swp`` while the file is open.
* **gio save** (``g_file_replace``): over an existing file it opens the file ``O_WRONLY``
  (no truncation) and closes it again, writes a temp file ``.goutputstream-XXXXXX`` in the
  same folder (``O_EXCL``, fchown/fchmod to the original's), fsyncs it, renames it over the
  file while still open, then closes it. With ``--backup`` the file is first renamed to
  ``name~`` (its ``link`` is refused here).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.support.terminal import Terminal

Save = Callable[[Path, bytes], None]


@dataclass(frozen=True)
class Strategy:
    """One way to save a file; ``backup``: it leaves ``name~`` holding the version it
    replaced; ``program``: the executable it runs, None for a replayed sequence."""

    name: str
    save: Save
    backup: bool = False
    program: str | None = None

    def missing(self) -> str | None:
        """Why this strategy cannot run here, or None."""
        if self.program is not None and shutil.which(self.program) is None:
            return f"{self.program} is not installed (scripts/setup-env.sh installs it)"
        return None


def _run(argv: list[str], *, cwd: Path | None = None, data: bytes | None = None) -> None:
    """Run a program to its end; its output in the error should it fail."""
    done = subprocess.run(argv, cwd=cwd, input=data, timeout=30, capture_output=True,
                          stdin=subprocess.DEVNULL if data is None else None)
    if done.returncode != 0:
        raise AssertionError(f"{argv[0]} exited {done.returncode}: {done.stdout!r} "
                             f"{done.stderr!r}")


def _scratch_copy(data: bytes) -> Path:
    """``data`` in a file outside the mount, for a program to read it from."""
    fd, name = tempfile.mkstemp(prefix="putiofs-editor-", suffix=".txt")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return Path(name)


# -- real programs -----------------------------------------------------------------------


def vim(backupcopy: str, *, swap: bool, writebackup: bool) -> Strategy:
    """Real vim in Ex mode: the buffer replaced by ``data``'s lines, then ``:wq``."""
    settings = (f"set verbose=1 backupcopy={backupcopy} backupskip= nobackup directory=. "
                f"{'' if writebackup else 'no'}writebackup")

    def save(path: Path, data: bytes) -> None:
        source = _scratch_copy(data)
        try:
            _run(["vim", "-u", "NONE", "-i", "NONE", "-N", "-es", *([] if swap else ["-n"]),
                  "--cmd", settings, "-c", "%delete _",
                  "-c", f"call setline(1, readfile('{source}'))", "-c", "wq", path.name],
                 cwd=path.parent)
        finally:
            source.unlink()

    name = (f"vim-backupcopy={backupcopy}-{'swap' if swap else 'noswap'}-"
            f"{'' if writebackup else 'no'}writebackup")
    return Strategy(name, save, program="vim")


def nano(*options: str) -> Strategy:
    """Real nano in a terminal: mark everything and cut it, read ``data`` in with ^R, ^O to
    write, ^X to leave (control keys only: an escape sequence typed at once may be split)."""

    def save(path: Path, data: bytes) -> None:
        source = _scratch_copy(data)
        terminal = Terminal(["nano", "--ignorercfiles", *options, path.name], path.parent)
        try:
            terminal.expect("Read ")  # the file is loaded, the cursor at its start
            terminal.send(b"\x1e")  # ^6: set the mark
            terminal.send(b"\x17")  # ^W, then ^V: to the last line
            terminal.expect("Search")
            terminal.send(b"\x16")
            terminal.send(b"\x05")  # ^E: to the end of that line
            terminal.send(b"\x0b")  # ^K: cut the marked text, all of it
            terminal.send(b"\x12")  # ^R: read a file in
            terminal.expect("to insert")
            terminal.send(f"{source}\r")
            terminal.expect("Read ")
            terminal.send(b"\x0f")  # ^O: write out
            terminal.expect("File Name to Write")
            terminal.send(b"\r")
            terminal.expect("Wrote ")
            terminal.send(b"\x18")  # ^X: exit
            assert terminal.wait() == 0
        finally:
            terminal.close()
            source.unlink()

    label = "".join(options).strip("-") or "default"
    return Strategy(f"nano-{label}", save, backup="--backup" in options, program="nano")


def gio_save(*options: str) -> Strategy:
    """Real ``gio save`` (GLib's ``g_file_replace``), ``data`` on its standard input."""

    def save(path: Path, data: bytes) -> None:
        _run(["gio", "save", *options, str(path)], data=data)

    label = "".join(options).strip("-") or "replace"
    return Strategy(f"gio-{label}", save, backup="--backup" in options, program="gio")


# -- replayed sequences ------------------------------------------------------------------


_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _rename_noreplace(old: Path, new: Path) -> None:
    """renameat2(RENAME_NOREPLACE), OSError on failure."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(_AT_FDCWD, os.fsencode(old), _AT_FDCWD, os.fsencode(new),
                      _RENAME_NOREPLACE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(new))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _emacs_lock(path: Path) -> Path:
    """filelock.c ``lock_file_1`` -> ``create_lock_file`` (and ``rename_lock_file``)."""
    lock = path.with_name(f".#{path.name}")
    info = f"{os.environ.get('USER', 'user')}@{socket.gethostname()}.{os.getpid()}"
    try:
        os.symlink(info, lock)
        return lock
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOSYS, errno.ENAMETOOLONG):
            raise
    fd, nonce = tempfile.mkstemp(prefix=".#-emacs", dir=path.parent)
    try:
        _write_all(fd, info.encode())
        os.fchmod(fd, 0o644)
    finally:
        os.close(fd)
    try:
        try:
            _rename_noreplace(Path(nonce), lock)
        except OSError as exc:
            if exc.errno != errno.ENOSYS:
                raise
            try:
                os.link(nonce, lock)
                os.unlink(nonce)
            except OSError as link_error:
                if link_error.errno not in (errno.ENOSYS, errno.EPERM):
                    raise
                if os.path.lexists(lock):
                    raise FileExistsError(errno.EEXIST, "locked", str(lock)) from None
                os.rename(nonce, lock)
    except BaseException:
        os.unlink(nonce)
        raise
    return lock


def _emacs_copy_file(source: Path, target: Path) -> None:
    """fileio.c ``copy-file`` with KEEP-TIME: read, create, write, fchmod, futimens."""
    with open(source, "rb") as handle:
        data = handle.read()
        status = os.fstat(handle.fileno())
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700)
    try:
        _write_all(fd, data)
        os.fchmod(fd, status.st_mode & 0o7777)
        os.utime(fd, ns=(status.st_atime_ns, status.st_mtime_ns))
    finally:
        os.close(fd)


def emacs(*, by_copying: bool) -> Strategy:
    """One emacs session: change the buffer (lock), ``save-buffer`` (backup, write-region),
    unlock."""

    def save(path: Path, data: bytes) -> None:
        lock = _emacs_lock(path)
        backup = path.with_name(path.name + "~")
        if os.path.exists(path):  # backup-buffer, on the session's first save
            if by_copying:  # backup-buffer-copy: the old backup deleted, then copy-file
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(backup)
                _emacs_copy_file(path, backup)
            else:
                os.rename(path, backup)  # rename-file REAL-FILE-NAME BACKUPNAME t
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.unlink(lock)  # unlock-buffer once the buffer is unmodified

    name = "emacs-backup-by-copying" if by_copying else "emacs-backup-by-rename"
    return Strategy(name, save, backup=True)


def libreoffice() -> Strategy:
    """One LibreOffice session on the document: open (lock), save, close (unlock)."""

    def save(path: Path, data: bytes) -> None:
        lock = path.with_name(f".~lock.{path.name}#")
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            _write_all(fd, f",{socket.gethostname()},user,01.01.2026 00:00,file://;".encode())
        finally:
            os.close(fd)
        temp = path.with_name(f"lu{secrets.token_hex(6)}.tmp")
        fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        os.rename(temp, path)  # osl::File::replace
        fd = os.open(path, os.O_WRONLY)  # "re-open the file just to fsync it"
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(path, 0o644)  # osl::File::setAttributes: the default attributes again
        os.unlink(lock)

    return Strategy("libreoffice", save)


def write_in_place() -> Strategy:
    """``open(O_WRONLY|O_CREAT|O_TRUNC)``, write, close: most programs' plain save."""

    def save(path: Path, data: bytes) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)

    return Strategy("write-in-place", save)


def all_strategies() -> list[Strategy]:
    """Every strategy the editor tests run."""
    # Without writebackup vim makes no backup whatever backupcopy says: one rewrite in place.
    vims = [*(vim(backupcopy, swap=swap, writebackup=True)
              for backupcopy in ("yes", "no", "auto") for swap in (True, False)),
            *(vim("auto", swap=swap, writebackup=False) for swap in (True, False))]
    return [*vims, nano(), nano("--backup"), nano("--locking"), emacs(by_copying=False),
            emacs(by_copying=True), gio_save(), gio_save("--backup"), libreoffice(),
            write_in_place()]
