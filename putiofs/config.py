"""Where the API URL and the account's credentials come from.

Order: ``PUTIO_API_KEY`` / ``PUTIO_API_SECRET`` / ``PUTIO_API_URL`` in the environment, then
the config file (``$XDG_CONFIG_HOME/putiofs/config``, by default ``~/.config/putiofs/config``),
then the default URL. The file is a plain ``key = value`` list (``api_key``, ``api_secret``,
optional ``api_url``; ``#`` / ``;`` comments and ``[section]`` lines are ignored). It is read
only when the environment leaves something unset, and refused if group or others may read or
write it: it holds the api_secret, and whoever can write it can send that secret elsewhere by
changing ``api_url``.
"""

from __future__ import annotations

import ipaddress
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from putiofs.errors import ConfigError

DEFAULT_API_URL = "https://api.put.io/v1"
ENV_API_KEY = "PUTIO_API_KEY"
ENV_API_SECRET = "PUTIO_API_SECRET"
ENV_API_URL = "PUTIO_API_URL"


@dataclass(frozen=True)
class Settings:
    """The API base URL and the credentials. The repr shows neither key nor secret."""

    api_url: str
    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Settings(api_url={self.api_url!r}, api_key='***', api_secret='***')"


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


def read_config_file(path: Path) -> dict[str, str]:
    """Parse the config file after checking that only its owner can read or write it."""
    try:
        st = path.stat()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    if stat.S_IMODE(st.st_mode) & 0o066:  # read or write by group/others
        raise ConfigError(
            f"config file {path} holds your api_secret but group or others can access it "
            f"(mode {stat.S_IMODE(st.st_mode):03o}); fix it with: chmod 600 {path}"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;" or (line.startswith("[") and line.endswith("]")):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ConfigError(f"{path}, line {number}: expected 'key = value'")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip().lower()] = value
    return values


def validate_api_url(url: str, *, insecure: bool = False) -> str:
    """Return the URL without a trailing slash; refuse non-http(s), and plain http to anything
    but loopback unless ``insecure`` (the api_secret would cross the network in clear)."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"API URL {url!r} is not an http:// or https:// URL")
    if parts.username or parts.password:
        raise ConfigError("API URL must not contain credentials; use PUTIO_API_KEY/SECRET")
    if parts.query or parts.fragment:
        raise ConfigError(f"API URL {url!r} must not have a query or fragment")
    if parts.scheme == "http" and not insecure and not _is_loopback(parts.hostname):
        raise ConfigError(
            f"API URL {url!r} is plain http to a non-local host: your api_secret would be sent "
            "unencrypted; use https, or pass --insecure if you really mean it"
        )
    return url


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(env: Mapping[str, str] | None = None, config_path: str | Path | None = None,
                  *, insecure: bool = False) -> Settings:
    """Settings from the environment and, for what it leaves unset, the config file.

    An explicit ``config_path`` must exist; the default one may be absent.
    """
    env = os.environ if env is None else env
    api_key = env.get(ENV_API_KEY) or None
    api_secret = env.get(ENV_API_SECRET) or None
    api_url = env.get(ENV_API_URL) or None

    path = Path(config_path) if config_path is not None else default_config_path(env)
    file_values: dict[str, str] = {}
    needs_file = api_key is None or api_secret is None or api_url is None
    if needs_file and (config_path is not None or path.exists()):
        file_values = read_config_file(path)
    api_key = api_key or file_values.get("api_key") or None
    api_secret = api_secret or file_values.get("api_secret") or None
    api_url = api_url or file_values.get("api_url") or DEFAULT_API_URL

    if api_key is None or api_secret is None:
        missing = [name for name, value in (("api_key", api_key), ("api_secret", api_secret))
                   if value is None]
        raise ConfigError(
            f"no put.io {' and '.join(missing)}: set {ENV_API_KEY} and {ENV_API_SECRET}, "
            f"or write api_key = ... and api_secret = ... to {path} (chmod 600)"
        )
    return Settings(api_url=validate_api_url(api_url, insecure=insecure),
                    api_key=api_key, api_secret=api_secret)
