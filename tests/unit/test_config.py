"""Settings: environment first, then a private config file; unsafe setups refused."""

import os
import stat

import pytest

from putiofs.api.errors import ConfigError
from putiofs.config import (
    DEFAULT_API_URL,
    DEFAULT_API_URLS,
    DEFAULT_APP_ID,
    Settings,
    default_config_path,
    forget_token,
    load_settings,
    store_token,
)


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


# -- the API version and its credentials -----------------------------------------------------

def test_key_and_secret_mean_v1(tmp_path):
    env = {"HOME": str(tmp_path), "PUTIO_API_KEY": "k", "PUTIO_API_SECRET": "s"}
    settings = load_settings(env)
    assert (settings.api, settings.api_url, settings.token) == ("v1", DEFAULT_API_URL, "")


def test_a_token_means_v2_even_beside_a_key_and_secret(tmp_path):
    """v2 is the default for real accounts: a v1 user who signs in (``putiofs login`` writes
    a token next to their key and secret) is on v2 from then on."""
    env = {"HOME": str(tmp_path), "PUTIO_API_KEY": "k", "PUTIO_API_SECRET": "s",
           "PUTIO_TOKEN": "TOKEN123"}
    assert load_settings(env).api == "v2"
    path = write_config(tmp_path / "config", "api_key = k\napi_secret = s\ntoken = T\n")
    assert load_settings({"HOME": str(tmp_path)}, config_path=path).api == "v2"


def test_the_environment_s_credentials_decide_before_the_file_s(tmp_path):
    """A v1 mount given its key and secret in the environment stays v1 even when the user's
    config file holds a token (the test suite's mounts rely on it), and the other way round."""
    write_config(tmp_path / ".config/putiofs/config", "token = FILETOKEN\n")
    env = {"HOME": str(tmp_path), "PUTIO_API_KEY": "k", "PUTIO_API_SECRET": "s"}
    assert (load_settings(env).api, load_settings(env).api_key) == ("v1", "k")
    write_config(tmp_path / ".config/putiofs/config", "api_key = k\napi_secret = s\n")
    settings = load_settings({"HOME": str(tmp_path), "PUTIO_TOKEN": "ENVTOKEN"})
    assert (settings.api, settings.token) == ("v2", "ENVTOKEN")


def test_no_credentials_at_all_names_putiofs_login(tmp_path):
    with pytest.raises(ConfigError) as excinfo:
        load_settings({"HOME": str(tmp_path)})
    assert "putiofs login" in str(excinfo.value) and "\n" not in str(excinfo.value)
    write_config(tmp_path / ".config/putiofs/config", "api = v2\n")
    with pytest.raises(ConfigError, match="run putiofs login"):
        load_settings({"HOME": str(tmp_path)})


def test_a_token_alone_means_v2_with_its_defaults(tmp_path):
    settings = load_settings({"HOME": str(tmp_path), "PUTIO_TOKEN": "TOKEN123"})
    assert (settings.api, settings.token, settings.api_key) == ("v2", "TOKEN123", "")
    assert settings.api_url == DEFAULT_API_URLS["v2"] == "https://api.put.io/v2"
    assert settings.upload_url == "https://upload.put.io"
    assert settings.app_id == DEFAULT_APP_ID == "8993"


def test_api_chooses_and_the_environment_overrides_the_file(tmp_path):
    path = write_config(tmp_path / "config",
                        "api = v2\ntoken = FILETOKEN\napi_key = k\napi_secret = s\n"
                        "upload_url = http://127.0.0.1:9/up\napp_id = 4131\n")
    from_file = load_settings({"HOME": str(tmp_path)}, config_path=path)
    assert (from_file.api, from_file.token, from_file.app_id) == ("v2", "FILETOKEN", "4131")
    assert from_file.upload_url == "http://127.0.0.1:9/up"
    env = {"HOME": str(tmp_path), "PUTIO_API": "v1", "PUTIO_TOKEN": "ENVTOKEN"}
    assert load_settings(env, config_path=path).api == "v1"
    env = {"HOME": str(tmp_path), "PUTIO_TOKEN": "ENVTOKEN", "PUTIO_APP_ID": "1"}
    overridden = load_settings(env, config_path=path)
    assert (overridden.token, overridden.app_id) == ("ENVTOKEN", "1")


def test_v2_without_a_token_and_an_unknown_version(tmp_path):
    with pytest.raises(ConfigError) as excinfo:
        load_settings({"HOME": str(tmp_path), "PUTIO_API": "v2", "PUTIO_API_KEY": "k",
                       "PUTIO_API_SECRET": "s"})
    assert "PUTIO_TOKEN" in str(excinfo.value) and "\n" not in str(excinfo.value)
    with pytest.raises(ConfigError, match="use v1 or v2"):
        load_settings({"HOME": str(tmp_path), "PUTIO_API": "v3", "PUTIO_TOKEN": "t"})


def test_plain_http_upload_url_needs_insecure():
    env = {"PUTIO_TOKEN": "TOKEN123", "PUTIO_UPLOAD_URL": "http://upload.put.io"}
    with pytest.raises(ConfigError, match="--insecure"):
        load_settings(env)
    assert load_settings(env, insecure=True).upload_url == "http://upload.put.io"


def test_repr_redacts_the_token():
    text = repr(Settings("https://api.put.io/v2", api="v2", token="THETOKEN"))
    assert "THETOKEN" not in text and "v2" in text


# -- storing and forgetting a token ----------------------------------------------------------

def test_store_token_creates_a_private_file(tmp_path):
    env = {"HOME": str(tmp_path)}
    path = store_token("NEWTOKEN", env=env)
    assert path == tmp_path / ".config/putiofs/config"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    settings = load_settings(env)
    assert (settings.api, settings.token) == ("v2", "NEWTOKEN")


def test_store_token_keeps_the_other_lines_and_replaces_an_old_token(tmp_path):
    path = write_config(tmp_path / "config",
                        "# mine\napi_key = k\ntoken = OLD\napi_secret = s\n[x]\n")
    store_token("NEWTOKEN", path=path)
    assert path.read_text() == "# mine\napi_key = k\ntoken = NEWTOKEN\napi_secret = s\n[x]\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert forget_token(path=path)
    assert path.read_text() == "# mine\napi_key = k\napi_secret = s\n[x]\n"
    assert not forget_token(path=path)
    assert not forget_token(path=tmp_path / "absent")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o660])
def test_store_and_forget_refuse_a_file_others_can_access(tmp_path, mode):
    path = write_config(tmp_path / "config", "api_key = k\ntoken = OLD\n", mode)
    for change in (lambda: store_token("NEWTOKEN", path=path), lambda: forget_token(path=path)):
        with pytest.raises(ConfigError, match="chmod 600"):
            change()
    assert path.read_text() == "api_key = k\ntoken = OLD\n"


@pytest.mark.parametrize("token", ["", "two words", "line\nbreak", "'quoted'", "tab\there"])
def test_store_token_refuses_what_would_not_read_back(tmp_path, token):
    with pytest.raises(ConfigError):
        store_token(token, path=tmp_path / "config")
    assert not (tmp_path / "config").exists()
