"""Where the API version, its URL and the account's credentials come from.

Order: the environment, then the config file (``$XDG_CONFIG_HOME/putiofs/config``, by default
``~/.config/putiofs/config``), then the defaults. The file is a plain ``key = value`` list
(``#`` / ``;`` comments and ``[section]`` lines are ignored):

=============  ====================  ===================================================
config key     environment           meaning
=============  ====================  ===================================================
``api``        ``PUTIO_API``         ``v1`` or ``v2``
``api_key``    ``PUTIO_API_KEY``     v1 credentials, with ``api_secret``
``api_secret`` ``PUTIO_API_SECRET``
``token``      ``PUTIO_TOKEN``       v2 OAuth token
``api_url``    ``PUTIO_API_URL``     default ``https://api.put.io/v1`` or ``.../v2``
``upload_url`` ``PUTIO_UPLOAD_URL``  v2 uploads, default ``https://upload.put.io``
``socket_url`` ``PUTIO_SOCKET_URL``  v2 realtime events; default put.io's websocket for
                                     put.io's own API URL, none for any other
``app_id``     ``PUTIO_APP_ID``      OAuth app id for the device login, default 8993
=============  ====================  ===================================================

Choosing the version (v2 is what put.io gives users today; v1 keeps working for whoever has a
key and secret): ``PUTIO_API`` decides; else the environment's credentials (``PUTIO_TOKEN``:
v2; ``PUTIO_API_KEY`` and ``PUTIO_API_SECRET``: v1); else the file's ``api``; else the file's
credentials, a token before a key and secret (``putiofs login`` in a v1 user's config moves it
to v2). No credentials at all: the error names ``putiofs login``.

The file is read only when the environment leaves something the chosen version needs unset,
and refused if group or others may read or write it: it holds the secret or the token, and
whoever can write it can send them elsewhere by changing ``api_url``. :func:`load_config_file`
reads one named file alone (``putiofs mount --config``, fstab's ``config=``).
:func:`store_token` and :func:`forget_token` change it in place for ``putiofs login`` /
``logout``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from putiofs.api.errors import ConfigError

API_VERSIONS = ("v1", "v2")
DEFAULT_API_URLS = {"v1": "https://api.put.io/v1", "v2": "https://api.put.io/v2"}
DEFAULT_API_URL = DEFAULT_API_URLS["v1"]
DEFAULT_UPLOAD_URL = "https://upload.put.io"
DEFAULT_SOCKET_URL = "wss://socket.put.io/socket/sockjs/websocket"
#: put.io's own command-line app (putio-cli): the OAuth app the device login asks for a code.
DEFAULT_APP_ID = "8993"
ENV_API = "PUTIO_API"
ENV_API_KEY = "PUTIO_API_KEY"
ENV_API_SECRET = "PUTIO_API_SECRET"
ENV_TOKEN = "PUTIO_TOKEN"
ENV_API_URL = "PUTIO_API_URL"
ENV_UPLOAD_URL = "PUTIO_UPLOAD_URL"
ENV_SOCKET_URL = "PUTIO_SOCKET_URL"
ENV_APP_ID = "PUTIO_APP_ID"
#: config key -> environment variable
_KEYS = {"api": ENV_API, "api_key": ENV_API_KEY, "api_secret": ENV_API_SECRET,
         "token": ENV_TOKEN, "api_url": ENV_API_URL, "upload_url": ENV_UPLOAD_URL,
         "app_id": ENV_APP_ID, "socket_url": ENV_SOCKET_URL}


@dataclass(frozen=True)
class Settings:
    """The API version and base URL and that version's credentials (v1: ``api_key`` and
    ``api_secret``; v2: ``token``). The repr shows no credential."""

    api_url: str
    api_key: str = field(default="", repr=False)
    api_secret: str = field(default="", repr=False)
    api: str = "v1"
    token: str = field(default="", repr=False)
    upload_url: str = DEFAULT_UPLOAD_URL
    app_id: str = DEFAULT_APP_ID
    #: v2 realtime events; None: none (see :func:`load_settings`).
    socket_url: str | None = None

    def __repr__(self) -> str:
        return (f"Settings(api={self.api!r}, api_url={self.api_url!r}, api_key='***', "
                f"api_secret='***', token='***')")


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/putiofs/config``, or ``~/.config/putiofs/config``."""
    env = os.environ if env is None else env
    xdg = env.get("XDG_CONFIG_HOME", "")
    if xdg and os.path.isabs(xdg):
        base = Path(xdg)
    else:
        home = env.get("HOME") or str(Path.home())
        base = Path(home) / ".config"
    return base / "putiofs" / "config"


def _check_private(path: Path, st: os.stat_result) -> None:
    if stat.S_IMODE(st.st_mode) & 0o066:  # read or write by group/others
        raise ConfigError(
            f"config file {path} holds your credentials but group or others can access it "
            f"(mode {stat.S_IMODE(st.st_mode):03o}); fix it with: chmod 600 {path}"
        )


def read_config_file(path: Path) -> dict[str, str]:
    """Parse the config file after checking that only its owner can read or write it."""
    try:
        st = path.stat()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"cannot read config file {path}: not a regular file")
    _check_private(path, st)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        key, value = _parse_line(raw, path, number)
        if key is not None:
            values[key] = value
    return values


def _parse_line(raw: str, path: Path, number: int) -> tuple[str | None, str]:
    line = raw.strip()
    if not line or line[0] in "#;" or (line.startswith("[") and line.endswith("]")):
        return None, ""
    key, sep, value = line.partition("=")
    if not sep:
        raise ConfigError(f"{path}, line {number}: expected 'key = value'")
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return key.strip().lower(), value


def validate_api_url(url: str, *, insecure: bool = False) -> str:
    """Return the URL without a trailing slash; refuse non-http(s), and plain http to anything
    but loopback unless ``insecure`` (the credentials would cross the network in clear)."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"API URL {url!r} is not an http:// or https:// URL")
    if parts.username or parts.password:
        raise ConfigError("API URL must not contain credentials; use PUTIO_API_KEY/SECRET "
                          "or PUTIO_TOKEN")
    if parts.query or parts.fragment:
        raise ConfigError(f"API URL {url!r} must not have a query or fragment")
    if parts.scheme == "http" and not insecure and not _is_loopback(parts.hostname):
        raise ConfigError(
            f"API URL {url!r} is plain http to a non-local host: your credentials would be "
            "sent unencrypted; use https, or pass --insecure if you really mean it"
        )
    return url


def validate_socket_url(url: str, *, insecure: bool = False) -> str:
    """The realtime socket's URL: ``wss://``, or ``ws://`` to loopback (or with
    ``insecure``); the token is its first frame, so a plain socket elsewhere would send it
    in clear."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ConfigError(f"socket URL {url!r} is not a ws:// or wss:// URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError(f"socket URL {url!r} must not hold credentials, a query or a fragment")
    if parts.scheme == "ws" and not insecure and not _is_loopback(parts.hostname):
        raise ConfigError(f"socket URL {url!r} is plain ws to a non-local host: your token "
                          "would be sent unencrypted; use wss, or pass --insecure")
    return url


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _choose_api(env_values: Mapping[str, str], values: Mapping[str, str],
                path: Path) -> str | None:
    """The API version: ``PUTIO_API``; else the kind of credentials the environment gives (a
    token: v2, a key and secret: v1); else the file's ``api``; else the kind of credentials
    the file and environment give together (a token: v2; a key or secret: v1). None when
    nothing says."""
    api = (env_values.get("api") or "").strip().lower()
    if not api:
        if env_values.get("token"):
            return "v2"
        if env_values.get("api_key") and env_values.get("api_secret"):
            return "v1"
        api = (values.get("api") or "").strip().lower()
    if api:
        if api not in API_VERSIONS:
            raise ConfigError(f"unknown put.io API version {api!r} (from {ENV_API} or {path}); "
                              "use v1 or v2")
        return api
    if values.get("token"):
        return "v2"
    if values.get("api_key") or values.get("api_secret"):
        return "v1"  # half of v1's credentials: say which half is missing
    return None


def _environment(env: Mapping[str, str]) -> dict[str, str]:
    return {key: env.get(name) or "" for key, name in _KEYS.items()}


def _with_file(values: dict[str, str], path: Path, *, required: bool) -> dict[str, str]:
    """``values`` with what they leave unset taken from the config file (if it exists, or
    ``required``)."""
    merged = dict(values)
    if required or path.exists():
        for key, value in read_config_file(path).items():
            if key in merged and not merged[key]:
                merged[key] = value
    return merged


def load_settings(env: Mapping[str, str] | None = None, config_path: str | Path | None = None,
                  *, insecure: bool = False) -> Settings:
    """Settings from the environment and, for what it leaves unset, the config file.

    An explicit ``config_path`` must exist; the default one may be absent. The file is not
    read when the environment already gives everything the version it chooses needs.
    """
    env = os.environ if env is None else env
    env_values = _environment(env)
    path = Path(config_path) if config_path is not None else default_config_path(env)
    api = _choose_api(env_values, {}, path)
    complete = {"v1": {"api_key", "api_secret", "api_url"},
                "v2": {"token", "api_url", "upload_url"}}
    has = {key for key, value in env_values.items() if value}
    values = env_values
    if api is None or not complete[api] <= has:
        values = _with_file(env_values, path, required=config_path is not None)
        api = _choose_api(env_values, values, path)
    if api is None:
        raise ConfigError(f"not signed in to put.io: run putiofs login (or set {ENV_TOKEN}, "
                          f"or write token = ... to {path}, chmod 600)")
    if api == "v1" and not (values["api_key"] and values["api_secret"]):
        missing = [key for key in ("api_key", "api_secret") if not values[key]]
        raise ConfigError(
            f"no put.io {' and '.join(missing)}: set {ENV_API_KEY} and {ENV_API_SECRET}, "
            f"or write api_key = ... and api_secret = ... to {path} (chmod 600)"
        )
    if api == "v2" and not values["token"]:
        raise ConfigError(f"no put.io OAuth token for the API v2: run putiofs login (or set "
                          f"{ENV_TOKEN}, or write token = ... to {path}, chmod 600)")
    return Settings(
        api=api,
        api_url=validate_api_url(values["api_url"] or DEFAULT_API_URLS[api], insecure=insecure),
        api_key=values["api_key"] if api == "v1" else "",
        api_secret=values["api_secret"] if api == "v1" else "",
        token=values["token"] if api == "v2" else "",
        upload_url=(validate_api_url(values["upload_url"] or DEFAULT_UPLOAD_URL,
                                     insecure=insecure) if api == "v2" else DEFAULT_UPLOAD_URL),
        app_id=values["app_id"] or DEFAULT_APP_ID,
        socket_url=_socket_url(values, api, insecure),
    )


def load_config_file(path: str | Path, *, insecure: bool = False) -> Settings:
    """The account of the config file at ``path`` alone: ``putiofs mount --config FILE``,
    fstab's ``config=FILE``. The ``PUTIO_*`` environment is not read: a file named on purpose
    wins over whatever the shell that runs ``mount -a`` happens to export. A missing or
    unreadable file, or one group or others can access, is a ConfigError (one line)."""
    return load_settings({}, config_path=path, insecure=insecure)


def _socket_url(values: Mapping[str, str], api: str, insecure: bool) -> str | None:
    """v2's realtime socket: ``socket_url`` if set; else put.io's own, but only for put.io's
    own API (a token meant for another API URL, such as an emulator's, is never sent to
    put.io's socket); else None (no realtime events)."""
    if api != "v2":
        return None
    if values["socket_url"]:
        return validate_socket_url(values["socket_url"], insecure=insecure)
    api_url = (values["api_url"] or DEFAULT_API_URLS["v2"]).strip().rstrip("/")
    return DEFAULT_SOCKET_URL if api_url == DEFAULT_API_URLS["v2"] else None


@dataclass(frozen=True)
class LoginSettings:
    """What ``putiofs login`` / ``logout`` need: where the v2 API is, the OAuth app to ask
    for, the config file the token goes to, and the ``api`` setting (to refuse v1)."""

    api_url: str
    app_id: str
    config_path: Path
    api: str = ""
    env_token: bool = False


def load_login_settings(env: Mapping[str, str] | None = None,
                        config_path: str | Path | None = None, *,
                        insecure: bool = False) -> LoginSettings:
    """The environment, then the config file (if it exists; refused unless private), then the
    defaults: the v2 API URL, app id 8993 (put.io's own command-line app)."""
    env = os.environ if env is None else env
    path = Path(config_path) if config_path is not None else default_config_path(env)
    values = _with_file(_environment(env), path, required=False)
    api = values["api"].strip().lower()
    return LoginSettings(
        api_url=validate_api_url(values["api_url"] or DEFAULT_API_URLS["v2"], insecure=insecure),
        app_id=values["app_id"] or DEFAULT_APP_ID, config_path=path, api=api,
        env_token=bool(env.get(ENV_TOKEN)))


def stored_token(path: Path) -> str | None:
    """The token the config file holds, if it exists and holds one."""
    if not path.exists():
        return None
    return read_config_file(path).get("token") or None


# -- changing the config file ---------------------------------------------------------------

def store_token(token: str, *, path: str | Path | None = None,
                env: Mapping[str, str] | None = None) -> Path:
    """Write ``token = <token>`` to the config file, keeping every other line; the file is
    created with mode 0600 (its folder 0700), an existing one that group or others can access
    is refused. Returns the file's path."""
    token = token.strip()
    if not token or any(ch.isspace() or ord(ch) < 32 or ch in "'\"" for ch in token):
        raise ConfigError("refusing to store a token that is empty or holds spaces, quotes "
                          "or control characters")
    return update_config({"token": token}, path=path, env=env)


def forget_token(*, path: str | Path | None = None,
                 env: Mapping[str, str] | None = None) -> bool:
    """Remove the token from the config file (other lines stay); False if it had none."""
    target = Path(path) if path is not None else default_config_path(env)
    if not target.exists() or "token" not in read_config_file(target):
        return False
    update_config({"token": None}, path=target, env=env)
    return True


def update_config(changes: Mapping[str, str | None], *, path: str | Path | None = None,
                  env: Mapping[str, str] | None = None) -> Path:
    """Set (or, for None, remove) keys of the config file; comments and other keys stay.

    The new text is written to a private temporary file next to it and renamed over it, so a
    crash leaves the old file or the new one, never half of one, and the credentials are never
    readable by others, not even for an instant.
    """
    target = Path(path) if path is not None else default_config_path(env)
    for key, value in changes.items():
        if key not in _KEYS:
            raise ConfigError(f"unknown config key {key!r}")
        if value is not None and ("\n" in value or "\r" in value):
            raise ConfigError(f"a value for {key} cannot span lines")
    lines = _existing_lines(target)
    pending = dict(changes)
    kept: list[str] = []
    for number, raw in enumerate(lines, start=1):
        key, _ = _parse_line(raw, target, number)
        if key in changes:
            value = pending.pop(key, None)
            if value is not None:
                kept.append(f"{key} = {value}")
            continue
        kept.append(raw)
    kept.extend(f"{key} = {value}" for key, value in pending.items() if value is not None)
    _write_private(target, "".join(line + "\n" for line in kept))
    return target


def _existing_lines(path: Path) -> list[str]:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"config file {path} is not a regular file; refusing to change it")
    _check_private(path, st)
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None


def _write_private(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".config-", dir=path.parent)  # mode 0600
    except OSError as exc:
        raise ConfigError(f"cannot write config file {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise ConfigError(f"cannot write config file {path}: {exc.strerror}") from None
