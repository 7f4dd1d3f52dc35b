"""Friends: the list, user search, friendship requests (send, approve, deny, the waiting ones),
unfriending, a friend's shared files, and friend invitations (``account/friend_invites``).

A friend is listed as the SDK declares (``IFriend``): ``has_received_files`` when the account
shares something with them (by name or with everyone), ``has_shared_files`` when their shared
folder holds anything. Approving a request makes the user a friend and gives them their
``SHARED_ROOT`` folder at the root (named after them, empty: the emulated users put nothing in
it); unfriending removes the friend and that folder with what is in it, as put.io stops showing
a former friend's files. An unknown user: 404 ``USER_NOT_FOUND``; a request to a friend or
oneself: 400 ``ALREADY_FRIENDS`` / ``CANNOT_FRIEND_YOURSELF``."""

from __future__ import annotations

import secrets
from typing import Any

from putiofs.emulator.account.records import Friend
from putiofs.emulator.account.state import ROOT_ID
from putiofs.emulator.v2.render import file_object
from putiofs.emulator.v2.request import Request, Routes
from putiofs.emulator.v2.wire import bad_request, not_found, ok, stamp

#: How many friend invitations an account may have open.
INVITE_LIMIT = 5

route = Routes()


def _received(request: Request, name: str) -> bool:
    nodes = request.account.nodes
    return any(i in nodes and (shares.everyone or name in shares.friends.values())
               for i, shares in request.api.shares.files.items())


def _shared_folder(request: Request, friend: Friend) -> list[int]:
    folder = request.account.nodes.get(friend.dir_id)
    return list(folder.children) if folder is not None and folder.is_dir else []


def friend_object(request: Request, friend: Friend) -> dict[str, Any]:
    return {"id": friend.id, "name": friend.name, "avatar_url": "", "dir_id": friend.dir_id,
            "has_received_files": _received(request, friend.name),
            "has_shared_files": bool(_shared_folder(request, friend))}


def _friend(request: Request, name: str) -> Friend:
    friend = next((f for f in request.account.friends if f.name == name), None)
    if friend is None:
        raise not_found("Not a friend", "FRIEND_NOT_FOUND")
    return friend


@route("GET", r"friends/list", "friends.list")
def friends_list(request: Request) -> dict[str, Any]:
    friends = [friend_object(request, f) for f in request.account.friends]
    return ok(friends=friends, total=len(friends))


@route("GET", r"friends/user-search/(?P<name>[^/]+)", "friends.search")
def friends_search(request: Request) -> dict[str, Any]:
    """Users whose name holds the text, friends and the account itself left out."""
    people = request.api.web.people
    exclude = {f.name for f in request.account.friends} | {request.account.user_name}
    users = [{"id": user_id, "name": name, "avatar_url": "", "invited": name in people.outgoing}
             for name, user_id in people.search(request.match.group("name"), exclude)]
    return ok(users=users)


@route("GET", r"friends/waiting-requests", "friends.waiting")
def friends_waiting(request: Request) -> dict[str, Any]:
    incoming = request.api.web.people.incoming
    return ok(friends=[{"id": user_id, "name": name, "avatar_url": ""}
                       for name, user_id in incoming.items()])


@route("GET", r"friends/waiting-requests-count", "friends.waiting_count")
def friends_waiting_count(request: Request) -> dict[str, Any]:
    return ok(count=len(request.api.web.people.incoming))


_ACTION = r"friends/(?!user-search/)(?P<name>[^/]+)/"


@route("POST", _ACTION + "request", "friends.request")
def friends_request(request: Request) -> dict[str, Any]:
    """Ask a user to be friends; when they had asked the account already, they become one."""
    name = request.match.group("name")
    people = request.api.web.people
    if name == request.account.user_name:
        raise bad_request("You cannot befriend yourself", "CANNOT_FRIEND_YOURSELF")
    if any(f.name == name for f in request.account.friends):
        raise bad_request("Already friends", "ALREADY_FRIENDS")
    if name not in people.directory:
        raise not_found("User not found", "USER_NOT_FOUND")
    if name in people.incoming:
        _befriend(request, name)
    else:
        people.outgoing.add(name)
    return ok()


def _befriend(request: Request, name: str) -> Friend:
    people = request.api.web.people
    account = request.account
    people.incoming.pop(name, None)
    people.outgoing.discard(name)
    taken = {account.nodes[c].name for c in account.nodes[ROOT_ID].children}
    folder_name, n = name, 2
    while folder_name in taken:
        folder_name, n = f"{name} ({n})", n + 1
    folder = account.create(ROOT_ID, folder_name, True)
    friend = Friend(people.directory[name], name, folder.id)
    account.friends.append(friend)
    return friend


def _incoming(request: Request) -> str:
    name = request.match.group("name")
    if name not in request.api.web.people.incoming:
        raise not_found("No friendship request from this user", "REQUEST_NOT_FOUND")
    return name


@route("POST", _ACTION + "approve", "friends.approve")
def friends_approve(request: Request) -> dict[str, Any]:
    _befriend(request, _incoming(request))
    return ok()


@route("POST", _ACTION + "deny", "friends.deny")
def friends_deny(request: Request) -> dict[str, Any]:
    del request.api.web.people.incoming[_incoming(request)]
    return ok()


@route("POST", _ACTION + "unfriend", "friends.unfriend")
def friends_unfriend(request: Request) -> dict[str, Any]:
    friend = _friend(request, request.match.group("name"))
    account = request.account
    account.friends.remove(friend)
    if friend.dir_id in account.nodes and friend.dir_id != ROOT_ID:
        account.remove(friend.dir_id)
    for shares in request.api.shares.files.values():
        for share_id in [i for i, n in shares.friends.items() if n == friend.name]:
            del shares.friends[share_id]
    return ok()


@route("GET", _ACTION + "files", "friends.files")
def friends_files(request: Request) -> dict[str, Any]:
    """What a friend shares with the account: the items of their shared folder."""
    friend = _friend(request, request.match.group("name"))
    nodes = request.account.nodes
    return ok(files=[file_object(request.api, nodes[i]) for i in _shared_folder(request, friend)])


# ---------------------------------------------------------------------------- invitations


@route("GET", r"account/friend_invites", "account.friend_invites")
def friend_invites(request: Request) -> dict[str, Any]:
    invites = request.api.web.people.invites
    return ok(invites=[{"code": code, "created_at": stamp(created)}
                       for code, created in invites.items()],
              remaining_limit=max(0, INVITE_LIMIT - len(invites)))


@route("POST", r"account/create_friend_invitation", "account.create_friend_invitation")
def create_friend_invitation(request: Request) -> dict[str, Any]:
    invites = request.api.web.people.invites
    if len(invites) >= INVITE_LIMIT:
        raise bad_request("No invitations left", "INVITE_LIMIT_REACHED")
    code = secrets.token_hex(6)
    invites[code] = request.account.clock()
    return ok(code=code)

