"""Real FUSE mounts for tests: ``putiofs mount -f`` in a subprocess against an emulator (a
plugin that ``tests/conftest.py`` loads).

``mount_factory(server, *args)`` mounts any emulator; ``mount`` is the test's ``server``
(:mod:`tests.support.servers`) mounted with the arguments of the closest
``@pytest.mark.mount_args(*args, **kwargs)`` (none: no extra arguments). Both fail a test outside
the fuse tier (``tests/mount``), which ``tests/conftest.py`` skips, with
:func:`fuse_unavailable_reason`, where no real mount can run here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from putiofs.mount.binding import load_binding
from putiofs.mount.checks import MountError
from putiofs.testing.mount_process import MountProcess

#: The fuse tier's marker, which every test in tests/mount gets; some say it themselves.
requires_fuse = pytest.mark.fuse


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "mount_args(*args, **kwargs): how the ``mount`` fixture mounts ``server``: "
        "mount_factory(server, *args, **kwargs) (tests.support.mounting)")


def fuse_unavailable_reason() -> str | None:
    """Why a real mount cannot run here, or None if it can.

    The binding itself is loaded too: with /dev/fuse present but libfuse or fusepy unusable
    (``ImportError``, or fusepy's ``OSError`` "Unable to find libfuse"), mounting tests skip
    with that reason instead of failing.
    """
    device = fuse_device_unusable_reason()
    if device is not None:
        return device
    try:
        load_binding()
    except MountError as exc:
        return f"the FUSE binding cannot load: {exc}"
    if os.getuid() != 0 and not any(
        Path(d, "fusermount").exists() or Path(d, "fusermount3").exists()
        for d in os.environ.get("PATH", "").split(os.pathsep)
    ):
        return "no fusermount or fusermount3 for an unprivileged mount"
    return None


def fuse_device_unusable_reason() -> str | None:
    """Why /dev/fuse cannot be used here (missing, or it does not open), or None."""
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse on this machine: real mounts are impossible here"
    try:
        os.close(os.open("/dev/fuse", os.O_RDWR))
    except OSError as exc:
        return f"/dev/fuse cannot be opened ({exc.strerror})"
    return None


class Mount(MountProcess):
    """A running ``putiofs mount -f``; ``path`` is the mountpoint. ``token`` given: the v2 API
    with that token (``PUTIO_API=v2``), else v1 with ``api_key`` / ``api_secret``.

    ``subtitles``: show put.io's subtitle sidecars (the mount's default). Off here unless a
    test asks (``--no-subtitles``): they appear in a folder a moment after its first listing,
    in the background, which a test of something else would see as its folder changing."""

    def __init__(self, base_url: str, path: Path, log_file: Path, *extra: str,
                 api_key: str = "demo", api_secret: str = "demo", token: str | None = None,
                 upload_url: str | None = None, socket_url: str | None = None,
                 timeout: float = 20.0, subtitles: bool = False) -> None:
        if not subtitles:
            extra = (*extra, "--no-subtitles")
        env = {name: value for name, value in os.environ.items()
               if name not in ("PUTIO_API", "PUTIO_TOKEN", "PUTIO_API_KEY", "PUTIO_API_SECRET",
                               "PUTIO_UPLOAD_URL", "PUTIO_SOCKET_URL", "XDG_CONFIG_HOME")}
        env["PUTIO_API_URL"] = base_url
        env["XDG_CACHE_HOME"] = str(path.parent / "cache")  # the spool of writes, per mount
        if token is not None:
            env.update(PUTIO_API="v2", PUTIO_TOKEN=token)
            if upload_url is not None:
                env["PUTIO_UPLOAD_URL"] = upload_url
            if socket_url is not None:
                env["PUTIO_SOCKET_URL"] = socket_url
        else:
            env.update(PUTIO_API="v1", PUTIO_API_KEY=api_key, PUTIO_API_SECRET=api_secret)
        super().__init__([sys.executable, "-m", "putiofs", "mount", str(path), "-f",
                          "--log-file", str(log_file), *extra],
                         path, log_file=log_file, env=env, timeout=timeout)


@pytest.fixture
def mount_factory(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """Mount an emulator: ``mount_factory(server, "--cache-ttl", "1")`` → :class:`Mount`.

    A v2 emulator is mounted over the v2 API with its token and its realtime socket (events
    on, as against put.io; ``"--no-events"`` turns them off); a v1 one (or any server without
    ``options.api``) with the v1 key and secret.

    Every mount is unmounted at teardown; a test fails if the mount process did not exit
    cleanly, wrote a traceback to its log, or printed anything on stderr (it logs to a file
    here, so anything there is a stray message a user would see in the terminal).
    """
    if request.node.get_closest_marker("fuse") is None:
        pytest.fail(f"{request.node.nodeid} mounts but is not in the fuse tier: move it to "
                    "tests/mount", pytrace=False)
    mounts: list[Mount] = []

    def start(server, *extra: str, **kwargs) -> Mount:
        base = tmp_path_factory.mktemp("mnt")
        path = base / "putio"
        path.mkdir()
        options = getattr(server, "options", None)
        if getattr(options, "api", "v1") == "v2":
            kwargs.setdefault("token", options.token)
            kwargs.setdefault("upload_url", server.root_url)
            kwargs.setdefault("socket_url", getattr(server, "socket_url", None))
        mount = Mount(server.base_url, path, base / "putiofs.log", *extra, **kwargs)
        mounts.append(mount)
        return mount

    yield start
    problems = []
    for mount in mounts:
        code = mount.unmount()
        if code != 0:
            problems.append(f"{mount.path}: exit code {code}\n{mount.log()}")
        if "Traceback" in mount.log():
            problems.append(f"{mount.path}: traceback in the mount log\n{mount.log()}")
        pipe = mount.process.stderr  # closed where the test read it itself
        stray = pipe.read() if pipe is not None and not pipe.closed else ""
        if stray.strip():
            problems.append(f"{mount.path}: the mount printed on stderr\n{stray}")
    if problems:
        pytest.fail("\n".join(problems))


@pytest.fixture
def mount(request: pytest.FixtureRequest, server, mount_factory) -> Mount:
    """The test's ``server`` mounted, with the closest ``mount_args`` mark's arguments."""
    mark = request.node.get_closest_marker("mount_args")
    args, kwargs = (mark.args, mark.kwargs) if mark is not None else ((), {})
    return mount_factory(server, *args, **kwargs)
