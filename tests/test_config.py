"""Settings: environment first, then a private config file; unsafe setups refused."""

import os

import pytest

from putiofs.config import DEFAULT_API_URL, Settings, default_config_path, load_settings
from putiofs.errors import ConfigError


def write_config(path, text, mode=0o600):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_environment_credentials_and_default_url(tmp_path):
    env = {"PUTIO_API_KEY": "k", "PUTIO_API_SECRET": "s", "HOME": str(tmp_path)}
    settings = load_settings(env)
    assert settings == Settings(DEFAULT_API_URL, "k", "s")


def test_repr_redacts_key_and_secret():
    text = repr(Settings("https://api.put.io/v1", "THEKEY", "THESECRET"))
    assert "THEKEY" not in text
    assert "THESECRET" not in text
    assert "api.put.io" in text


def test_config_file_under_xdg_config_home(tmp_path):
    xdg = tmp_path / "xdg"
    write_config(xdg / "putiofs" / "config",
                 "# my account\n[putio]\napi_key = fromfile\napi_secret = 's e c'\n"
                 "api_url = http://127.0.0.1:8765/v1/\n")
    settings = load_settings({"XDG_CONFIG_HOME": str(xdg), "HOME": str(tmp_path / "home")})
    assert settings.api_key == "fromfile"
    assert settings.api_secret == "s e c"
    assert settings.api_url == "http://127.0.0.1:8765/v1"


def test_default_path_under_home(tmp_path):
    assert default_config_path({"HOME": str(tmp_path)}) == tmp_path / ".config/putiofs/config"
    write_config(tmp_path / ".config/putiofs/config", "api_key=a\napi_secret=b\n")
    assert load_settings({"HOME": str(tmp_path)}).api_key == "a"


def test_environment_overrides_file(tmp_path):
    path = write_config(tmp_path / "config", "api_key = f\napi_secret = fs\n")
    env = {"PUTIO_API_KEY": "e", "PUTIO_API_URL": "https://example.invalid/v1"}
    settings = load_settings(env, config_path=path)
    assert (settings.api_key, settings.api_secret) == ("e", "fs")
    assert settings.api_url == "https://example.invalid/v1"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o620])
def test_readable_config_file_refused_with_fix(tmp_path, mode):
    path = write_config(tmp_path / "config", "api_key = a\napi_secret = TOPSECRET\n", mode)
    with pytest.raises(ConfigError) as excinfo:
        load_settings({"HOME": str(tmp_path)}, config_path=path)
    message = str(excinfo.value)
    assert str(path) in message
    assert f"chmod 600 {path}" in message
    assert "TOPSECRET" not in message


def test_private_file_not_needed_when_environment_complete(tmp_path):
    write_config(tmp_path / ".config/putiofs/config", "api_key = a\n", 0o644)
    env = {"HOME": str(tmp_path), "PUTIO_API_KEY": "k", "PUTIO_API_SECRET": "s",
           "PUTIO_API_URL": "https://api.put.io/v1"}
    assert load_settings(env).api_key == "k"


def test_missing_credentials_message(tmp_path):
    with pytest.raises(ConfigError) as excinfo:
        load_settings({"HOME": str(tmp_path), "PUTIO_API_KEY": "k"})
    message = str(excinfo.value)
    assert "api_secret" in message
    assert "PUTIO_API_SECRET" in message
    assert "\n" not in message


def test_explicit_missing_config_path(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings({"HOME": str(tmp_path)}, config_path=tmp_path / "nope")


def test_malformed_line(tmp_path):
    path = write_config(tmp_path / "config", "api_key a\n")
    with pytest.raises(ConfigError, match="line 1"):
        load_settings({}, config_path=path)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8765/v1", "http://localhost/v1", "http://[::1]:80/v1",
    "http://127.5.6.7/v1", "https://api.put.io/v1",
])
def test_allowed_api_urls(url):
    env = {"PUTIO_API_KEY": "k", "PUTIO_API_SECRET": "s", "PUTIO_API_URL": url}
    assert load_settings(env).api_url == url


def test_plain_http_to_remote_host_needs_insecure():
    env = {"PUTIO_API_KEY": "k", "PUTIO_API_SECRET": "s", "PUTIO_API_URL": "http://api.put.io/v1"}
    with pytest.raises(ConfigError, match="--insecure"):
        load_settings(env)
    assert load_settings(env, insecure=True).api_url == "http://api.put.io/v1"


@pytest.mark.parametrize("url", ["ftp://x/v1", "api.put.io/v1", "https://u:p@api.put.io/v1",
                                 "https://api.put.io/v1?x=1"])
def test_malformed_api_urls(url):
    env = {"PUTIO_API_KEY": "k", "PUTIO_API_SECRET": "s", "PUTIO_API_URL": url}
    with pytest.raises(ConfigError):
        load_settings(env)
