"""The JSON methods of ``/v1/<service>?method=<name>``: the routing table and the request check.

A handler receives a :class:`~putiofs.emulator.v1.call.Call` and returns the ``results``
value of the envelope; it raises :class:`~putiofs.emulator.account.state.ApiError` for anything
the API reports as an error. All handlers run with the account lock held. The handlers
themselves live in :mod:`~putiofs.emulator.v1.files_api` and
:mod:`~putiofs.emulator.v1.account_api`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from putiofs.emulator.account.state import Account, ApiError
from putiofs.emulator.v1 import account_api, files_api
from putiofs.emulator.v1.call import Call

Handler = Callable[[Call], Any]


#: service -> method names; the handler of files.list is ``files_api.files_list``, and so on.
METHODS: dict[str, tuple[str, ...]] = {
    "files": ("list", "create_dir", "info", "rename", "move", "delete", "search", "dirmap"),
    "messages": ("list", "delete"),
    "transfers": ("list", "cancel", "add"),
    "urls": ("analyze", "extracturls"),
    "user": ("info", "friends", "acctoken"),
    "subscriptions": ("list", "create", "edit", "delete", "pause", "info"),
}
SERVICES: dict[str, dict[str, Handler]] = {
    service: {
        method: getattr(files_api if service == "files" else account_api, f"{service}_{method}")
        for method in methods
    }
    for service, methods in METHODS.items()
}


def find_handler(service: str, method: str) -> Handler:
    methods = SERVICES.get(service)
    if methods is None:
        raise ApiError(f"Unknown service: {service}", "route")
    handler = methods.get(method)
    if handler is None:
        raise ApiError(f"Unknown method: {method}", "route")
    return handler


def check_request(raw: str | None, account: Account) -> dict[str, Any]:
    """Decode the ``request`` JSON, check the credentials and return ``params``."""
    if raw is None:
        raise ApiError("Malformed request", "malformed")
    try:
        request = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError("Malformed request", "malformed") from None
    if not isinstance(request, dict):
        raise ApiError("Malformed request", "malformed")
    params = request.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ApiError("Malformed request", "malformed")
    key, secret = request.get("api_key"), request.get("api_secret")
    if not (isinstance(key, str) and isinstance(secret, str)) or not account.credentials_match(
        key, secret
    ):
        raise ApiError("Invalid api_key or api_secret", "auth")
    return params
