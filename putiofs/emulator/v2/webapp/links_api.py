"""Download links (a list of URLs for many items at once), items shared with you and copying
them into the account (``sharing/clone``), and public shares (a link anyone may open).

* ``download_links/create`` takes ``file_ids`` or a listing's ``cursor`` (less
  ``exclude_ids``) and answers ``{id}``; ``download_links/{id}`` is ``NEW`` for the first 10%
  of ``transfer_seconds``, ``PROCESSING``, then ``DONE`` with ``download_links`` (a storage
  URL per file, folders expanded, in listing order), ``mp4_links`` (the files whose MP4 is
  ready) and ``media_links`` (the videos and audio); ``ERROR`` when every item is gone.
* Items shared with you are the contents of your friends' shared folders:
  ``files/items-shared-with-you`` (the JS SDK's ``Files.Query("friends")``) and
  ``files/list/items-shared-with-you`` (the reference's form) list them with ``sender_name``,
  under a synthetic parent of id -2. ``sharing/clone`` copies such items (``file_ids`` or a
  ``cursor``) into ``parent_id`` at once and answers ``{id}``; ``sharing/clone/{id}`` is then
  ``DONE``. An item that is not shared with you: 400 ``NOT_SHARED_WITH_YOU``.
* ``POST files/{id}/share_public`` makes a public share with a token of its own (answered as
  ``public_share``); ``GET files/public/list`` lists them, ``DELETE files/public/list/{id}``
  revokes one. ``GET files/public?oauth_token=<share token>`` needs no other credentials and
  answers ``{parent, files, cursor}`` (the shared item, and a folder's children) with
  ``stream_url`` for each file, so anyone with the link can play or fetch it. A revoked or
  unknown share token: 401.
"""

from __future__ import annotations

import secrets
from typing import Any

from putiofs.emulator.account.records import Node
from putiofs.emulator.account.state import ROOT_ID
from putiofs.emulator.v2.files_api import folder_of, node_of, selected_ids
from putiofs.emulator.v2.media import progress
from putiofs.emulator.v2.render import file_object, file_type
from putiofs.emulator.v2.request import Request, Routes
from putiofs.emulator.v2.webapp.state import LinkJob, PublicShare
from putiofs.emulator.v2.wire import V2Error, bad_request, not_found, ok, stamp

#: The synthetic parent id of the items shared with you (put.io's own).
SHARED_WITH_YOU_ID = -2

route = Routes()


def _checked(request: Request) -> list[int]:
    ids = selected_ids(request)
    if not ids:
        raise bad_request("Missing file_ids")
    for item_id in ids:
        node_of(request, item_id)
    return ids


# ---------------------------------------------------------------------- download links


@route("POST", r"download_links/create", "download_links.create")
def download_links_create(request: Request) -> dict[str, Any]:
    jobs = request.api.web.jobs
    job_id = jobs.new_id()
    jobs.links[job_id] = LinkJob(_checked(request), request.account.clock())
    return ok(id=job_id)


def _files_below(request: Request, ids: list[int]) -> list[Node]:
    account = request.account
    found: list[Node] = []
    for item_id in ids:
        node = account.nodes.get(item_id)
        if node is None:
            continue
        below = account.descendants(node.id) if node.is_dir else iter([node])
        found.extend(n for n in below if not n.is_dir)
    return found


@route("GET", r"download_links/(?P<id>\d+)", "download_links.get")
def download_links_get(request: Request) -> dict[str, Any]:
    job = request.api.web.jobs.links.get(request.path_id())
    if job is None:
        raise not_found("Download links not found")
    percent = progress(request.account, job.created)
    links: dict[str, list[str]] = {"download_links": [], "mp4_links": [], "media_links": []}
    if percent < 100:
        return ok(links=links, links_status="NEW" if percent < 10 else "PROCESSING")
    if not any(i in request.account.nodes for i in job.file_ids):
        return ok(links=links, links_status="ERROR")
    storage, mp4 = request.api.storage, request.api.mp4
    for node in _files_below(request, job.file_ids):
        url = storage.url_for(node)
        links["download_links"].append(url)
        if mp4.status(node)["status"] == "COMPLETED":
            links["mp4_links"].append(url)
        if file_type(node) in ("VIDEO", "AUDIO"):
            links["media_links"].append(url)
    return ok(links=links, links_status="DONE")


# ----------------------------------------------------------------- shared with you, clone


def shared_with_you(request: Request) -> list[tuple[Node, str]]:
    """The items your friends share with you, each with the friend's name."""
    nodes = request.account.nodes
    found = []
    for friend in request.account.friends:
        folder = nodes.get(friend.dir_id)
        if folder is not None and folder.is_dir and folder.id != ROOT_ID:
            found.extend((nodes[c], friend.name) for c in folder.children)
    return found


@route("GET", r"files/(?:list/)?items-shared-with-you", "files.shared_with_you")
def items_shared_with_you(request: Request) -> dict[str, Any]:
    files = []
    for node, sender in shared_with_you(request):
        item = file_object(request.api, node, request.params)
        item.update(folder_type="SHARED_FRIEND" if node.is_dir else item["folder_type"],
                    sender_name=sender)
        files.append(item)
    parent = file_object(request.api, request.account.nodes[ROOT_ID])
    parent.update(id=SHARED_WITH_YOU_ID, name="Items shared with you", size=0,
                  folder_type="SHARED_ROOT")
    return ok(files=files, parent=parent, cursor=None, total=len(files))


@route("POST", r"sharing/clone", "sharing.clone")
def sharing_clone(request: Request) -> dict[str, Any]:
    ids = _checked(request)
    parent = folder_of(request, request.params.integer("parent_id", ROOT_ID))
    shared = {node.id for node, _ in shared_with_you(request)}
    account = request.account
    for item_id in ids:
        if not any(account.is_within(item_id, top) for top in shared):
            raise bad_request("Not shared with you", "NOT_SHARED_WITH_YOU")
    for item_id in ids:
        account.copy_tree(item_id, parent.id)
    jobs = request.api.web.jobs
    job_id = jobs.new_id()
    jobs.clones[job_id] = "DONE"
    return ok(id=job_id)


@route("GET", r"sharing/clone/(?P<id>\d+)", "sharing.clone_info")
def sharing_clone_info(request: Request) -> dict[str, Any]:
    status = request.api.web.jobs.clones.get(request.path_id())
    if status is None:
        raise not_found("Clone not found")
    return ok(shared_file_clone_status=status)


# -------------------------------------------------------------------------- public shares


def _public_object(request: Request, share: PublicShare) -> dict[str, Any]:
    node = request.account.nodes[share.file_id]
    return {"id": share.id, "token": share.token, "created_at": stamp(share.created),
            "url": f"{request.root_url}/v2/files/public?oauth_token={share.token}",
            "user_file": {"id": node.id, "name": node.name, "file_type": file_type(node)}}


def _live_public(request: Request) -> list[PublicShare]:
    nodes = request.account.nodes
    return [s for s in request.api.web.jobs.public.values() if s.file_id in nodes]


@route("POST", r"files/(?P<id>\d+)/share_public", "files.share_public")
def share_public(request: Request) -> dict[str, Any]:
    node = node_of(request, request.path_id())
    if node.id == ROOT_ID:
        raise bad_request("The root folder cannot be shared", "CANNOT_SHARE_ROOT")
    jobs = request.api.web.jobs
    share = PublicShare(jobs.new_id(), node.id, secrets.token_urlsafe(18),
                        request.account.clock())
    jobs.public[share.id] = share
    return ok(public_share=_public_object(request, share))


@route("GET", r"files/public/list", "files.public_list")
def public_list(request: Request) -> dict[str, Any]:
    return ok(public_shares=[_public_object(request, s) for s in _live_public(request)])


@route("DELETE", r"files/public/list/(?P<id>\d+)", "files.public_revoke")
def public_revoke(request: Request) -> dict[str, Any]:
    if request.api.web.jobs.public.pop(request.path_id(), None) is None:
        raise not_found("Public share not found", "PUBLIC_SHARE_NOT_FOUND")
    return ok()


@route("GET", r"files/public", "files.public", auth=False)
def public_files(request: Request) -> dict[str, Any]:
    token = request.params.text("oauth_token") or request.token
    share = next((s for s in _live_public(request)
                  if token and secrets.compare_digest(s.token, token)), None)
    if share is None:
        raise V2Error(401, "Unauthorized", "Unknown or revoked public share")
    nodes = request.account.nodes
    top = nodes[share.file_id]
    with_urls = request.params
    with_urls.values.update(stream_url="1", stream_url_parent="1")
    children = [file_object(request.api, nodes[c], with_urls) for c in top.children]
    return ok(parent=file_object(request.api, top, with_urls, "_parent"), files=children,
              cursor=None)
