"""Account info, settings and confirmations, OAuth (device codes, password sign-in, validate,
logout), events."""

from __future__ import annotations

import base64
import binascii
import copy
import re
from collections.abc import Callable
from typing import Any

from putiofs.emulator.account.state import ROOT_ID
from putiofs.emulator.v2.render import event_object
from putiofs.emulator.v2.request import Request, Routes
from putiofs.emulator.v2.webapp import profile
from putiofs.emulator.v2.wire import Params, V2Error, bad_request, not_found, ok, per_page, stamp

EVENTS_PER_PAGE = 50
APP = {"id": 8993, "name": "put.io emulator", "description": "putiofs's put.io emulator",
       "website": "", "has_icon": False}


route = Routes()


def _settings(request: Request) -> dict[str, Any]:
    return {**copy.deepcopy(request.api.web.profile.settings),
            "default_download_folder": request.api.default_folder,
            "trash_enabled": request.account.trash_enabled}


@route("GET", r"account/info", "account.info")
def account_info(request: Request) -> dict[str, Any]:
    account = request.account
    profile = request.api.web.profile
    used = account.disk_used()
    info: dict[str, Any] = {
        "user_id": account.user_id,
        "username": account.user_name,
        "mail": profile.mail,
        "avatar_url": "",
        "account_status": "active",
        "account_active": True,
        "disk": {"avail": max(0, account.disk_size - used), "size": account.disk_size,
                 "used": used},
        "trash_size": account.trash.size(),
        "monthly_bandwidth_usage": account.bw_used,
        "files_will_be_deleted_at": None,
        "password_last_changed_at": stamp(profile.password_changed),
        "private_download_host_ip": None,
        "is_admin": False,
        "is_sub_account": False,
        "can_create_sub_account": False,
        "is_eligible_for_friend_invitation": True,
        "features": {},
        "user_hash": profile.user_hash,
        "warnings": {},
        "settings": _settings(request),
    }
    if request.params.flag("download_token"):
        info["download_token"] = request.api.download_token
    if request.params.flag("push_token"):
        info["push_token"] = request.api.download_token
    if request.params.flag("pas"):
        info["pas"] = {"user_hash": profile.user_hash}
    return ok(info=info)


@route("GET POST", r"account/settings", "account.settings")
def account_settings(request: Request) -> dict[str, Any]:
    """GET: every setting. POST: store the settings given (each checked first, nothing stored
    when one is wrong); ``username`` renames the account; ``mail`` and ``password`` need the
    ``current_password`` (401 ``INVALID_PASSWORD`` else) and record a confirmation, as put.io
    mails one (the change is made at once: there is no mailbox to click in)."""
    if request.method == "GET":
        return ok(settings=_settings(request))
    params = request.params
    settings = params.raw("settings")
    if isinstance(settings, dict):  # a JSON body may nest them
        params.values.update(settings)
    changes = _setting_changes(params)
    folder = params.integer("default_download_folder")
    if folder is not None:
        node = request.account.nodes.get(folder)
        if node is None or not node.is_dir:
            raise bad_request("Invalid default_download_folder")
    identity = _identity_changes(request)
    if params.raw("trash_enabled") is not None:
        request.account.trash_enabled = params.flag("trash_enabled")
    if folder is not None:
        request.api.default_folder = folder
    request.api.web.profile.settings.update(changes)
    identity()
    return ok()


def _setting_changes(params: Params) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in profile.DEFAULTS:
        if name not in params.values or name == "two_factor_enabled":
            continue
        value = params.values[name]
        if name in profile.BOOLEANS:
            changes[name] = params.flag(name)
        elif name in profile.CHOICES:
            if value not in profile.CHOICES[name]:
                raise bad_request(f"Invalid {name}")
            changes[name] = value
        elif name == "subtitle_languages":
            changes[name] = _languages(value)
        elif name in ("sort_by", "transfer_sort_by"):
            if not isinstance(value, str) or not re.fullmatch(r"[A-Z]+_(ASC|DESC)", value):
                raise bad_request(f"Invalid {name}")
            changes[name] = value
        elif value is None or isinstance(value, str):
            changes[name] = value if value is not None or name != "locale" else "en"
        else:
            raise bad_request(f"Invalid {name}")
    if "two_factor_enabled" in params.values:
        raise V2Error(400, "TWO_FACTOR_NOT_AVAILABLE",
                      "Two-factor authentication is not emulated")
    return changes


def _languages(value: Any) -> list[str | None]:
    """``subtitle_languages``: up to two ISO 639-2 codes (a list or comma-joined), kept as the
    pair the SDK declares (null for a missing one)."""
    items = value if isinstance(value, list) else str(value or "").split(",")
    codes = [item.strip() if isinstance(item, str) else item for item in items]
    codes = [code or None for code in codes]
    if len(codes) > 2 or any(c is not None and not re.fullmatch(r"[a-z]{3}", c) for c in codes):
        raise bad_request("Invalid subtitle_languages")
    return (codes + [None, None])[:2]


def _identity_changes(request: Request) -> Callable[[], None]:
    """Check a ``username``, ``mail`` or ``password`` change; return what makes it."""
    params = request.params
    web = request.api.web.profile
    user_name = params.text("username")
    mail = params.text("mail")
    password = params.text("password")
    if user_name is not None and not re.fullmatch(r"[A-Za-z0-9_.-]{3,30}", user_name):
        raise bad_request("Invalid username", "INVALID_USERNAME")
    if (mail is not None or password is not None) and \
            not web.password_matches(params.text("current_password")):
        raise V2Error(401, "INVALID_PASSWORD", "The current password is wrong")
    if mail is not None and "@" not in mail:
        raise bad_request("Invalid mail", "INVALID_MAIL")
    if password is not None and len(password) < 6:
        raise bad_request("The password is too short", "PASSWORD_TOO_SHORT")

    def apply() -> None:
        now = request.account.clock()
        if user_name is not None:
            request.account.user_name = user_name
        if mail is not None:
            web.mail = mail
            web.confirmations.append(profile.Confirmation("mail_change", now))
        if password is not None:
            web.password, web.password_changed = password, now
            web.confirmations.append(profile.Confirmation("password_change", now))

    return apply


CLEAR_KEYS = ("files", "finished_transfers", "active_transfers", "rss_feeds", "rss_logs",
              "history", "trash", "friends")


def _clear(request: Request, what: set[str]) -> None:
    """Empty the parts of the account named in ``what`` (keys of :data:`CLEAR_KEYS`):
    files go to the trash when it is on (then emptied with ``trash``), friends lose their
    shared folders."""
    account = request.account
    if "friends" in what:
        for friend in list(account.friends):
            if friend.dir_id in account.nodes and friend.dir_id != ROOT_ID:
                account.remove(friend.dir_id)
        account.friends.clear()
    if "files" in what:
        for child in list(account.nodes[ROOT_ID].children):
            if account.trash_enabled and "trash" not in what:
                account.trash.put(child)
            else:
                account.remove(child)
    if "trash" in what:
        account.trash.empty()
    for transfer_id in list(account.transfers):
        finished = account.transfers.phase(account.transfers[transfer_id])[0] in (
            "completed", "error")
        if ("finished_transfers" if finished else "active_transfers") in what:
            del account.transfers[transfer_id]
    if "rss_feeds" in what:
        account.subscriptions.clear()
    if "history" in what:
        account.events.clear()
    account.forget_sizes()


@route("POST", r"account/clear", "account.clear")
def account_clear(request: Request) -> dict[str, Any]:
    """Each key of :data:`CLEAR_KEYS` that is true is cleared (``rss_logs``: nothing is
    logged here)."""
    what = {key for key in CLEAR_KEYS if request.params.flag(key)}
    _clear(request, what)
    return ok()


@route("POST", r"account/destroy", "account.destroy")
def account_destroy(request: Request) -> dict[str, Any]:
    """With the right ``current_password`` the account is emptied of everything (the emulator
    keeps serving it, and its tokens stay valid, so a test can look at what is left)."""
    if not request.api.web.profile.password_matches(request.params.text("current_password")):
        raise V2Error(401, "INVALID_PASSWORD", "The current password is wrong")
    _clear(request, set(CLEAR_KEYS))
    return ok()


@route("GET", r"account/confirmation/list", "account.confirmations")
def account_confirmations(request: Request) -> dict[str, Any]:
    """The changes waiting for a confirmation by mail, oldest first; ``type`` filters."""
    kind = request.params.text("type")
    if kind is not None and kind not in profile.CONFIRMATION_SUBJECTS:
        raise bad_request("Invalid type")
    return ok(confirmations=[{"subject": c.subject, "created_at": stamp(c.created)}
                             for c in request.api.web.profile.confirmations
                             if kind is None or c.subject == kind])


# -------------------------------------------------------------------------------- OAuth


@route("GET POST", r"oauth2/oob/code", "oauth2.oob_code", auth=False)
def oob_code(request: Request) -> dict[str, Any]:
    if request.method == "POST":  # a signed-in device approves a code for the user
        request.api.auth.require(request.token)
        entry = request.api.auth.approve(request.params.required_text("code"))
        if entry is None:
            raise not_found("Code not found")
        return ok(app=APP)
    entry = request.api.auth.new_code(request.params.text("app_id") or "",
                                      request.params.text("client_name") or "")
    return ok(code=entry.code,
              qr_code_url=f"{request.root_url}/_emulator/approve?code={entry.code}")


@route("GET", r"oauth2/oob/code/(?P<code>[^/]+)", "oauth2.oob_poll", auth=False)
def oob_code_poll(request: Request) -> dict[str, Any]:
    entry = request.api.auth.code(request.match.group("code"))
    if entry is None:
        raise not_found("Code not found or expired")
    return ok(oauth_token=entry.token)


@route("GET", r"oauth2/validate", "oauth2.validate", auth=False)
def validate(request: Request) -> dict[str, Any]:
    """200 for any token: ``result`` tells whether it is valid. The token asked about is the
    ``oauth_token`` parameter (the JS SDK sends its own in the header beside it), else the
    request's."""
    token_id = request.api.auth.token_id(request.params.text("oauth_token") or request.token)
    valid = token_id is not None
    return ok(result=valid, token_id=token_id, token_scope="default" if valid else None,
              user_id=request.account.user_id if valid else None)


@route("GET POST", r"oauth2/access_token", "oauth2.access_token", auth=False)
def access_token(request: Request) -> dict[str, Any]:
    raise V2Error(400, "invalid_grant", "The authorization code flow is not emulated: "
                  "use the device code flow (/v2/oauth2/oob/code)")


@route("PUT POST", r"oauth2/authorizations/clients/(?P<client>[^/]+)(?:/(?P<fingerprint>[^/]+))?",
       "oauth2.authorizations", auth=False)
def password_login(request: Request) -> dict[str, Any]:
    """Sign in with the account's name (or mail) and password in HTTP Basic credentials, as
    put.io's first-party apps do: a new token of app ``client``. ``client_secret`` is taken as
    sent (the emulator registers no apps). Bad credentials: 401 ``INVALID_CREDENTIALS``."""
    header = request.handler.headers.get("Authorization", "")
    scheme, _, value = header.strip().partition(" ")
    try:
        name, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        name = password = ""
    web = request.api.web.profile
    known = name in (request.account.user_name, web.mail)
    if scheme.lower() != "basic" or not known or not web.password_matches(password):
        raise V2Error(401, "INVALID_CREDENTIALS", "Wrong username or password",
                      {"WWW-Authenticate": 'Basic realm="put.io"'})
    token = request.api.auth.issue(request.match.group("client"))
    return ok(access_token=token, user_id=request.account.user_id)


@route("POST", r"oauth/grants/logout", "oauth.logout")
def logout(request: Request) -> dict[str, Any]:
    assert request.token is not None
    request.api.auth.revoke(request.token)
    return ok()


# ------------------------------------------------------------------------------- events


@route("GET", r"events/list", "events.list")
def events_list(request: Request) -> dict[str, Any]:
    params = request.params
    size = per_page(params, EVENTS_PER_PAGE, clamp=True)
    before = params.integer("before")
    events = [e for e in reversed(request.account.events) if before is None or e.id < before]
    return ok(events=[event_object(request.account, e) for e in events[:size]],
              has_more=len(events) > size)


@route("POST", r"events/delete(?:/(?P<id>\d+))?", "events.delete")
def events_delete(request: Request) -> dict[str, Any]:
    account = request.account
    if request.match.group("id") is None:
        account.events.clear()
    else:
        event_id = int(request.match.group("id"))
        account.events[:] = [e for e in account.events if e.id != event_id]
    return ok(success="OK")
