"""The app config store: a JSON object per OAuth app (the app the request's token was issued
to; the configured token's is put.io's CLI app), read and written whole (``GET``/``PUT
/config`` with ``{config: {...}}``) or by key (``GET``/``PUT``/``DELETE /config/{key}`` with
``{value: ...}``). A missing key reads as ``value`` null (as put.io answers); deleting one is
no error. Values are any JSON; ``PUT /config`` replaces the whole object."""

from __future__ import annotations

import copy
from typing import Any

from putiofs.emulator.v2.request import Request, Routes
from putiofs.emulator.v2.wire import bad_request, ok

#: The most keys one app's config may hold.
MAX_KEYS = 1000

route = Routes()


def _store(request: Request) -> dict[str, Any]:
    return request.api.web.configs.setdefault(request.api.auth.app_of(request.token), {})


@route("GET PUT", r"config", "config")
def config(request: Request) -> dict[str, Any]:
    store = _store(request)
    if request.method == "GET":
        return ok(config=copy.deepcopy(store))
    value = request.params.raw("config")
    if not isinstance(value, dict):
        raise bad_request("config must be a JSON object", "INVALID_CONFIG")
    if len(value) > MAX_KEYS:
        raise bad_request("Too many keys", "INVALID_CONFIG")
    store.clear()
    store.update(copy.deepcopy(value))
    return ok()


@route("GET PUT DELETE", r"config/(?P<key>[^/]+)", "config.key")
def config_key(request: Request) -> dict[str, Any]:
    store = _store(request)
    key = request.match.group("key")
    if request.method == "GET":
        return ok(value=copy.deepcopy(store.get(key)))
    if request.method == "DELETE":
        store.pop(key, None)
        return ok()
    if "value" not in request.params.values:
        raise bad_request("Missing value")
    if key not in store and len(store) >= MAX_KEYS:
        raise bad_request("Too many keys", "INVALID_CONFIG")
    store[key] = copy.deepcopy(request.params.values["value"])
    return ok()
