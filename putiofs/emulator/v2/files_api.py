"""The files endpoints: list, get, child, search, create-folder, rename, move, delete, touch,
copy, url, the download/stream redirects and the mp4 status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote

from putiofs.emulator.account.state import ROOT_ID, ApiError, Node
from putiofs.emulator.v2 import names, subtitles
from putiofs.emulator.v2.render import file_object, file_type, mime_type
from putiofs.emulator.v2.request import Request, Routes
from putiofs.emulator.v2.wire import (
    DEFAULT_PER_PAGE,
    Document,
    Params,
    Redirect,
    V2Error,
    bad_request,
    not_found,
    ok,
    parse_stamp,
    per_page,
)

MAX_QUERY = 255
LEGACY_SEARCH_PAGE = 50
SORTS = ("NAME", "SIZE", "DATE", "MODIFIED", "TYPE", "WATCH")


route = Routes()


def node_of(request: Request, item_id: int | None) -> Node:
    if item_id is None:
        raise bad_request("Missing file_id")
    node = request.account.nodes.get(item_id)
    if node is None:
        raise not_found("File not found")
    return node


def folder_of(request: Request, item_id: int) -> Node:
    node = node_of(request, item_id)
    if not node.is_dir:
        raise bad_request("Parent is not a folder", "NotAFolder")
    return node


def selected_ids(request: Request, name: str = "file_ids") -> list[int] | None:
    """The items a batch call names: ``name`` (comma-joined ids or a list), else every item a
    files listing's or a search's ``cursor`` has yet to show, less ``exclude_ids`` (the form
    put.io's web app sends for "select all"); None when neither is given."""
    params = request.params
    ids = params.ids(name)
    cursor = params.raw("cursor")
    if ids is None and cursor is not None:
        kind = "search" if request.api.cursors.kind_of(cursor) == "search" else "files"
        excluded = set(params.ids("exclude_ids") or [])
        ids = [i for i in request.api.cursors.take(kind, cursor).ids if i not in excluded]
    return ids


def _file_of(request: Request) -> Node:
    node = node_of(request, request.path_id())
    if node.is_dir:
        raise bad_request("Not a file", "NotFile")
    return node


def sort_key(request: Request, sort_by: str) -> Callable[[Node], tuple]:
    account = request.account
    key = sort_by.rpartition("_")[0]
    if key == "NAME":
        return lambda n: (n.name.casefold(), n.name, n.id)
    if key == "SIZE":
        return lambda n: (account.size_of(n), n.id)
    if key == "DATE":
        return lambda n: (n.created, n.id)
    if key == "MODIFIED":
        return lambda n: (n.updated, n.id)
    if key == "TYPE":
        return lambda n: (file_type(n), n.name.casefold(), n.id)
    if key == "WATCH":
        watched = request.api.web.playback.watched
        return lambda n: (n.id in watched, n.name.casefold(), n.id)
    return lambda n: (n.id,)


def _filters(params: Params) -> Callable[[Node], bool]:
    types = {t.strip().upper() for t in (params.text("file_type") or "").split(",") if t.strip()}
    content = params.text("content_type")

    def wanted(node: Node) -> bool:
        if types and file_type(node) not in types:
            return False
        return content is None or mime_type(node) == content

    return wanted


def _files(request: Request, ids: list[int]) -> list[dict[str, Any]]:
    nodes = request.account.nodes
    return [file_object(request.api, nodes[i], request.params) for i in ids if i in nodes]


@route("GET", r"files/list", "files.list")
def files_list(request: Request) -> dict[str, Any]:
    params = request.params
    parent = node_of(request, params.integer("parent_id", ROOT_ID))
    sort_by = (params.text("sort_by") or params.text("sort") or "NAME_ASC").upper()
    if sort_by.rpartition("_")[0] not in SORTS or sort_by.rpartition("_")[2] not in ("ASC",
                                                                                    "DESC"):
        raise bad_request("Invalid sort_by")
    children = [request.account.nodes[c] for c in parent.children]
    children = [n for n in children if _filters(params)(n)]
    children.sort(key=sort_key(request, sort_by), reverse=sort_by.endswith("_DESC"))
    ids = [n.id for n in children]
    size = len(ids) if params.flag("no_cursor") else per_page(params, DEFAULT_PER_PAGE, clamp=True)
    first, cursor = request.api.cursors.page("files", ids, max(size, 1))
    answer: dict[str, Any] = {
        "files": _files(request, first),
        "parent": file_object(request.api, parent, params, "_parent"),
        "cursor": cursor,
    }
    if params.flag("total"):
        answer["total"] = len(ids)
    if params.flag("breadcrumbs"):
        answer["breadcrumbs"] = _breadcrumbs(request, parent)
    return ok(**answer)


def _breadcrumbs(request: Request, node: Node) -> list[list[Any]]:
    """``[[id, name], ...]`` of the folders above ``node``, the topmost first, root left out."""
    crumbs = []
    current = node.parent_id
    while current not in (ROOT_ID, -1):
        ancestor = request.account.nodes[current]
        crumbs.append([ancestor.id, ancestor.name])
        current = ancestor.parent_id
    return crumbs[::-1]


def _resume(request: Request, kind: str) -> dict[str, Any]:
    """The next page of a ``files`` or ``search`` cursor (a search's with its ``total``)."""
    total = request.api.cursors.take(kind, request.params.raw("cursor")).extra.get("total")
    first, token = request.api.cursors.resume(kind, request.params, request.account.nodes,
                                              DEFAULT_PER_PAGE, clamp=True, extra={"total": total})
    answer = ok(files=_files(request, first), cursor=token)
    if total is not None:
        answer["total"] = total
    return answer


@route("POST", r"files/list/continue", "files.list_continue")
def files_list_continue(request: Request) -> dict[str, Any]:
    return _resume(request, "files")


def _query_words(query: str) -> list[str]:
    """The case-folded words of a search query; 400 for an empty one or one over
    :data:`MAX_QUERY` characters."""
    if not query:
        raise bad_request("Missing query")
    if len(query) > MAX_QUERY:
        raise bad_request("Search query is too long", "SEARCH_TOO_LONG_QUERY")
    return query.casefold().split()


def _search(request: Request, words: list[str], types: set[str]) -> list[int]:
    """The ids of the items whose names hold every one of ``words`` (case-folded) and whose
    ``file_type`` is one of ``types`` (any when empty), newest first."""
    return sorted((n.id for n in request.account.descendants()
                   if all(w in n.name.casefold() for w in words)
                   and (not types or file_type(n) in types)), reverse=True)


@route("GET", r"files/search", "files.search")
def files_search(request: Request) -> dict[str, Any]:
    params = request.params
    words = _query_words((params.text("query") or "").strip())
    types = {t.strip().upper() for t in (params.text("type") or "").split(",") if t.strip()}
    found = _search(request, words, types)
    size = per_page(params, DEFAULT_PER_PAGE, clamp=True)
    first, cursor = request.api.cursors.page("search", found, size, {"total": len(found)})
    return ok(files=_files(request, first), cursor=cursor, total=len(found))


@route("POST", r"files/search/continue", "files.search_continue")
def files_search_continue(request: Request) -> dict[str, Any]:
    return _resume(request, "search")


@route("GET", r"files/search/(?P<query>[^/]+)/page/(?P<page>-?\d+)", "files.search")
def files_search_pages(request: Request) -> dict[str, Any]:
    """The older search form go-putio 2021 uses: ``/files/search/{query}/page/{n}``, 50 a
    page, page -1 for everything; ``next`` is the next page's URL or null."""
    query = unquote(request.match.group("query")).strip()
    found = _search(request, _query_words(query), set())
    page = int(request.match.group("page"))
    if page == -1:
        return ok(files=_files(request, found), next=None, total=len(found))
    if page < 1:
        raise bad_request("Invalid page")
    first = (page - 1) * LEGACY_SEARCH_PAGE
    more = len(found) > first + LEGACY_SEARCH_PAGE
    following = (f"{request.root_url}/v2/files/search/{quote(query, safe='')}/page/{page + 1}"
                 if more else None)
    return ok(files=_files(request, found[first:first + LEGACY_SEARCH_PAGE]), next=following,
              total=len(found))


@route("POST", r"files/create-folder", "files.create_folder")
def files_create_folder(request: Request) -> dict[str, Any]:
    params = request.params
    parent = folder_of(request, params.integer("parent_id", ROOT_ID))
    path = params.text("path")
    name = params.text("name")
    if path is None and name is None:
        raise bad_request("Missing name", "EMPTY_NAME")
    segments = [s for s in (path or "").split("/") if s]
    for segment in segments[:-1] if name is None else segments:
        names.check(segment)
        existing = [request.account.nodes[c] for c in parent.children
                    if request.account.nodes[c].name == segment]
        folder = next((n for n in existing if n.is_dir), None)
        parent = folder or request.account.create(parent.id, segment, True)
    final = name if name is not None else segments[-1] if segments else ""
    names.check(final)
    names.check_free(request.account, parent, final)
    return ok(file=file_object(request.api, request.account.create(parent.id, final, True)))


@route("POST", r"files/rename", "files.rename")
def files_rename(request: Request) -> dict[str, Any]:
    node = node_of(request, request.params.integer("file_id"))
    name = request.params.text("name") or ""
    names.check(name)
    if node.id == ROOT_ID:
        raise bad_request("The root folder cannot be renamed")
    names.check_free(request.account, request.account.nodes[node.parent_id], name, node.id)
    node.name = name
    request.account.changed("update", node)
    return ok(file=file_object(request.api, node))


@route("POST", r"files/move", "files.move")
def files_move(request: Request) -> dict[str, Any]:
    """Batch ``file_ids`` with per-item ``errors``, or one ``file_id`` (+ ``name``) moved and
    renamed at once, whose failure is the request's."""
    params = request.params
    parent = folder_of(request, params.required_integer("parent_id"))
    single = params.integer("file_id")
    ids = selected_ids(request)
    if single is not None and ids is None:
        node = node_of(request, single)
        new_name = params.text("name")
        if new_name is not None:
            names.check(new_name)
        _relocate(request, node.id, parent.id)
        if new_name is not None:
            node.name = new_name
            request.account.changed("update", node)
        return ok(errors=[])
    if not ids:
        raise bad_request("Missing file_ids")
    errors = []
    for item_id in ids:
        try:
            _relocate(request, item_id, parent.id)
        except V2Error as exc:
            item = request.account.nodes.get(item_id)
            errors.append({"error_type": exc.error_type, "id": item_id,
                           "name": item.name if item else None, "status_code": exc.status})
    return ok(errors=errors)


def _relocate(request: Request, item_id: int, parent_id: int) -> None:
    if item_id == ROOT_ID:
        raise bad_request("The root folder cannot be moved")
    node_of(request, item_id)
    try:
        request.account.relocate(item_id, parent_id)
    except ApiError as exc:
        raise bad_request(exc.message, "CANNOT_MOVE_INTO_ITSELF") from None


@route("POST", r"files/delete", "files.delete")
def files_delete(request: Request) -> dict[str, Any]:
    params = request.params
    account = request.account
    ids = params.ids("file_ids")
    if ids is None and params.integer("file_id") is not None:
        ids = [params.required_integer("file_id")]
    if ids is None:
        ids = selected_ids(request)
    if ids is None:
        raise bad_request("Missing file_ids")
    if ROOT_ID in ids:
        raise bad_request("The root folder cannot be deleted")
    missing = [i for i in ids if i not in account.nodes]
    if missing and not params.flag("skip_nonexistents"):
        raise not_found("File not found")
    to_trash = account.trash_enabled and not params.flag("skip_trash")
    for item_id in ids:
        if item_id not in account.nodes:
            continue  # skipped, or already gone with a folder deleted before it
        if to_trash:
            account.trash.put(item_id)
        else:
            account.remove(item_id)
    return ok(cursor=None, skipped=len(missing))


@route("POST", r"files/touch", "files.touch")
def files_touch(request: Request) -> dict[str, Any]:
    params = request.params
    ids = params.ids("file_ids") or ([params.required_integer("file_id")]
                                     if params.raw("file_id") is not None else None)
    if not ids:
        raise bad_request("Missing file_id")
    text = params.text("updated_at")
    when = parse_stamp(text, "updated_at") if text else float(int(request.account.clock()))
    nodes = [node_of(request, i) for i in ids]
    for node in nodes:
        node.updated = when
        request.account.changed("update", node)
    return ok()


@route("POST", r"files/copy", "files.copy")
def files_copy(request: Request) -> dict[str, Any]:
    params = request.params
    node = node_of(request, params.required_integer("file_id"))
    if node.id == ROOT_ID:
        raise bad_request("The root folder cannot be copied")
    parent = folder_of(request, params.integer("parent_id", node.parent_id))
    name = params.text("name") or node.name
    names.check(name)
    names.check_free(request.account, parent, name)
    try:
        copy = request.account.copy_tree(node.id, parent.id, name)
    except ApiError as exc:
        raise bad_request(exc.message, "CANNOT_COPY_INTO_ITSELF") from None
    return ok(file=file_object(request.api, copy))


@route("GET", r"files/(?P<id>\d+)", "files.get")
def files_get(request: Request) -> dict[str, Any]:
    node = node_of(request, request.path_id())
    return ok(file=file_object(request.api, node, request.params))


@route("GET", r"files/(?P<id>\d+)/child", "files.child")
def files_child(request: Request) -> dict[str, Any]:
    """The child called exactly ``name``; of several, the newest (highest id)."""
    parent = folder_of(request, request.path_id())
    name = request.params.required_text("name")
    matches = [c for c in parent.children if request.account.nodes[c].name == name]
    if not matches:
        raise not_found("File not found")
    return ok(file=file_object(request.api, request.account.nodes[max(matches)],
                               request.params))


@route("GET", r"files/(?P<id>\d+)/url", "files.url")
def files_url(request: Request) -> dict[str, Any]:
    return ok(url=request.api.storage.url_for(_file_of(request)))


@route("GET", r"files/(?P<id>\d+)/(?:download(?:/[^/]*)?|stream|stream\.mp3)", "files.download")
def files_redirect(request: Request) -> Redirect:
    return Redirect(request.api.storage.url_for(_file_of(request)))


@route("GET", r"files/(?P<id>\d+)/mp4/(?:download(?:/[^/]*)?|stream)", "files.mp4_download")
def files_mp4_redirect(request: Request) -> Redirect:
    node = _file_of(request)
    if request.api.mp4.status(node)["status"] != "COMPLETED":
        raise not_found("MP4 not found", "MP4_NOT_FOUND")
    return Redirect(request.api.storage.url_for(node))


@route("GET POST DELETE", r"files/(?P<id>\d+)/mp4", "files.mp4")
def files_mp4(request: Request) -> dict[str, Any]:
    node = _file_of(request)
    if request.method == "POST":
        if node.type != "movie":
            raise bad_request("Not a video", "INVALID_MEDIA")
        request.api.mp4.start(node)
    elif request.method == "DELETE":
        request.api.mp4.delete(node)
        return ok()
    return ok(mp4=request.api.mp4.status(node))


@route("GET", r"files/(?P<id>\d+)/subtitles", "files.subtitles")
def files_subtitles(request: Request) -> dict[str, Any]:
    """The subtitles put.io found for a file (see :mod:`..subtitles`); a folder 400."""
    node = _file_of(request)
    return ok(**subtitles.listing(request.account, node, request.api.emulator.root_url))


@route("GET", r"files/(?P<id>\d+)/subtitles/(?P<key>[^/]+)", "files.subtitle")
def files_subtitle(request: Request) -> Document:
    """One subtitle file, ``format=srt`` (the default) or ``webvtt``; 404 for a key the file
    has no subtitle for, 400 for another format."""
    node = _file_of(request)
    fmt = (request.params.text("format") or "srt").lower()
    if fmt not in subtitles.FORMATS:
        raise bad_request("Invalid format")
    text = subtitles.text_of(request.account, node, unquote(request.match.group("key")))
    if text is None:
        raise not_found("Subtitle not found")
    return Document(subtitles.rendered(text, fmt), subtitles.FORMATS[fmt])
