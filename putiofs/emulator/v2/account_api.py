"""Account info and settings, OAuth (device codes, validate, logout), friends, events."""

from __future__ import annotations

from typing import Any

from putiofs.emulator.v2.render import event_object
from putiofs.emulator.v2.request import Request, Routes
from putiofs.emulator.v2.wire import V2Error, bad_request, not_found, ok, per_page

EVENTS_PER_PAGE = 50
APP = {"id": 8993, "name": "put.io emulator", "description": "putiofs's put.io emulator",
       "website": "", "has_icon": False}


route = Routes()


def _settings(request: Request) -> dict[str, Any]:
    account = request.account
    return {
        "default_download_folder": request.api.default_folder,
        "trash_enabled": account.trash_enabled,
        "sort_by": "NAME_ASC",
        "start_from": True,
        "next_episode": True,
        "subtitle_languages": ["eng"],
        "theme": "auto",
        "tunnel_route_name": None,
        "two_factor_enabled": False,
        "history_enabled": True,
        "callback_url": None,
        "pushover_token": None,
        "hide_subtitles": False,
        "dont_autoselect_subtitles": False,
        "show_optimistic_usage": False,
        "use_private_download_ip": False,
    }


@route("GET", r"account/info", "account.info")
def account_info(request: Request) -> dict[str, Any]:
    account = request.account
    used = account.disk_used()
    info: dict[str, Any] = {
        "user_id": account.user_id,
        "username": account.user_name,
        "mail": f"{account.user_name}@example.invalid",
        "avatar_url": None,
        "account_status": "active",
        "account_active": True,
        "disk": {"avail": max(0, account.disk_size - used), "size": account.disk_size,
                 "used": used},
        "trash_size": account.trash.size(),
        "monthly_bandwidth_usage": account.bw_used,
        "files_will_be_deleted_at": None,
        "password_last_changed_at": None,
        "private_download_host_ip": None,
        "is_sub_account": False,
        "can_create_sub_account": False,
        "is_eligible_for_friend_invitation": False,
        "warnings": {},
        "settings": _settings(request),
    }
    if request.params.flag("download_token"):
        info["download_token"] = request.api.download_token
    if request.params.flag("features"):
        info["features"] = {}
    return ok(info=info)


@route("GET POST", r"account/settings", "account.settings")
def account_settings(request: Request) -> dict[str, Any]:
    if request.method == "GET":
        return ok(settings=_settings(request))
    params = request.params
    settings = params.raw("settings")
    if isinstance(settings, dict):  # a JSON body may nest them
        params.values.update(settings)
    if params.raw("trash_enabled") is not None:
        request.account.trash_enabled = params.flag("trash_enabled")
    folder = params.integer("default_download_folder")
    if folder is not None:
        node = request.account.nodes.get(folder)
        if node is None or not node.is_dir:
            raise bad_request("Invalid default_download_folder")
        request.api.default_folder = folder
    return ok()


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
    """200 for any token: ``result`` tells whether it is valid."""
    token_id = request.api.auth.token_id(request.token)
    valid = token_id is not None
    return ok(result=valid, token_id=token_id, token_scope="default" if valid else None,
              user_id=request.account.user_id if valid else None)


@route("GET POST", r"oauth2/access_token", "oauth2.access_token", auth=False)
def access_token(request: Request) -> dict[str, Any]:
    raise V2Error(400, "invalid_grant", "The authorization code flow is not emulated: "
                  "use the device code flow (/v2/oauth2/oob/code)")


@route("POST", r"oauth/grants/logout", "oauth.logout")
def logout(request: Request) -> dict[str, Any]:
    assert request.token is not None
    request.api.auth.revoke(request.token)
    return ok()


# --------------------------------------------------------------------- friends, events


@route("GET", r"friends/list", "friends.list")
def friends_list(request: Request) -> dict[str, Any]:
    friends = [{"id": f.id, "name": f.name, "avatar_url": None, "dir_id": f.dir_id}
               for f in request.account.friends]
    return ok(friends=friends, total=len(friends))


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
    return ok()
