"""Playback: where to start a video again (start-from), watch status, the next file or video
of a folder, the HLS playlist, and the MP4 conversions put.io's web app starts in bulk
(``files/convert_mp4``) or saves beside the original (``put-mp4-to-my-folders``).

* start-from: ``GET files/{id}/start-from`` answers ``{start_from}`` (0 when none is set);
  setting takes ``time`` (whole seconds, not negative) by ``POST files/{id}/start-from/set``
  (the JS SDK) or ``POST files/{id}/start-from`` (go-putio, the reference); ``start-from/delete``
  by GET (the JS SDK) or POST (the others) forgets it. A listing or get with ``start_from=1``
  adds ``start_from`` to each file.
* watch status: ``POST files/watch-status`` with ``file_ids`` (or a listing's ``cursor``) and
  ``watched``; ``sort_by=WATCH_ASC`` lists unwatched items first.
* next file / next video: the sibling after the file in its folder's listing order (the
  ``sort_by`` account setting, ``NAME_ASC`` at start), of ``file_type`` (VIDEO or AUDIO, the
  file's own type when none is named) or a VIDEO; none: 404 ``NEXT_FILE_NOT_FOUND``.
* HLS: ``files/{id}/hls/media.m3u8`` (a video; the token may be ``oauth_token``) is a VOD
  playlist of one segment, the file's storage URL, with the MP4's duration when its ``mvhd``
  box says it (else 1 s is written: the emulator does not probe media).
"""

from __future__ import annotations

import struct
from typing import Any

from putiofs.emulator.account.state import Node
from putiofs.emulator.v2.files_api import node_of, selected_ids, sort_key
from putiofs.emulator.v2.render import file_type
from putiofs.emulator.v2.request import Request, Routes
from putiofs.emulator.v2.wire import Document, bad_request, not_found, ok

HLS_TYPE = "application/vnd.apple.mpegurl"

route = Routes()


def _file(request: Request) -> Node:
    node = node_of(request, request.path_id())
    if node.is_dir:
        raise bad_request("Not a file", "NotFile")
    return node


@route("GET POST", r"files/(?P<id>\d+)/start-from", "files.start_from")
def start_from(request: Request) -> dict[str, Any]:
    """GET: the position; POST: set it (go-putio's and the reference's form)."""
    if request.method == "POST":
        return start_from_set(request)
    node = _file(request)
    return ok(start_from=request.api.web.playback.start_from.get(node.id, 0))


@route("POST", r"files/(?P<id>\d+)/start-from/set", "files.start_from_set")
def start_from_set(request: Request) -> dict[str, Any]:
    node = _file(request)
    time = request.params.required_integer("time")
    if time < 0:
        raise bad_request("Invalid time")
    request.api.web.playback.start_from[node.id] = time
    return ok()


@route("GET POST", r"files/(?P<id>\d+)/start-from/delete", "files.start_from_delete")
def start_from_delete(request: Request) -> dict[str, Any]:
    request.api.web.playback.start_from.pop(_file(request).id, None)
    return ok()


@route("POST", r"files/watch-status", "files.watch_status")
def watch_status(request: Request) -> dict[str, Any]:
    ids = selected_ids(request)
    if not ids:
        raise bad_request("Missing file_ids")
    if request.params.raw("watched") is None:
        raise bad_request("Missing watched")
    watched = request.params.flag("watched")
    nodes = [node_of(request, i) for i in ids]
    marks = request.api.web.playback.watched
    for node in nodes:
        (marks.add if watched else marks.discard)(node.id)
    return ok()


def _next(request: Request, node: Node, kinds: set[str]) -> dict[str, Any]:
    account = request.account
    order = (request.api.web.profile.settings.get("sort_by") or "NAME_ASC").upper()
    siblings = sorted((account.nodes[c] for c in account.nodes[node.parent_id].children),
                      key=sort_key(request, order), reverse=order.endswith("_DESC"))
    after = siblings[siblings.index(node) + 1:]
    found = next((n for n in after if not n.is_dir and file_type(n) in kinds), None)
    if found is None:
        raise not_found("No next file", "NEXT_FILE_NOT_FOUND")
    return {"id": found.id, "name": found.name, "parent_id": found.parent_id,
            "file_type": file_type(found)}


@route("GET", r"files/(?P<id>\d+)/next-file", "files.next_file")
def next_file(request: Request) -> dict[str, Any]:
    node = _file(request)
    kind = (request.params.text("file_type") or file_type(node)).upper()
    return ok(next_file=_next(request, node, {kind}))


@route("GET", r"files/(?P<id>\d+)/next-video", "files.next_video")
def next_video(request: Request) -> dict[str, Any]:
    node = _file(request)
    return ok(next_video=_next(request, node, {"VIDEO"}))


def mp4_duration(data: bytes) -> float | None:
    """The duration an MP4's ``mvhd`` box gives, in seconds; None without one."""
    at = data.find(b"mvhd")
    if at < 0 or len(data) < at + 32:
        return None
    version = data[at + 4]
    if version == 1:
        scale, duration = struct.unpack(">IQ", data[at + 24:at + 36])
    else:
        scale, duration = struct.unpack(">II", data[at + 16:at + 24])
    return duration / scale if scale else None


@route("GET", r"files/(?P<id>\d+)/hls/media\.m3u8", "files.hls")
def hls_playlist(request: Request) -> Document:
    node = _file(request)
    if file_type(node) != "VIDEO":
        raise bad_request("Not a video", "INVALID_MEDIA")
    source = request.account.file_source(node.id)
    head = b"".join(source.chunks(0, min(source.size, 1 << 20) - 1)) if source.size else b""
    seconds = mp4_duration(head) or 1.0
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-PLAYLIST-TYPE:VOD",
             f"#EXT-X-TARGETDURATION:{max(1, int(seconds + 0.999))}", "#EXT-X-MEDIA-SEQUENCE:0",
             f"#EXTINF:{seconds:.3f},", request.api.storage.url_for(node), "#EXT-X-ENDLIST"]
    return Document(("\n".join(lines) + "\n").encode(), HLS_TYPE)


# ---------------------------------------------------------------------------------- MP4


@route("POST", r"files/convert_mp4", "files.convert_mp4")
def convert_mp4(request: Request) -> dict[str, Any]:
    """Start the conversion of every video among the items (folders: their videos below);
    ``count`` is how many were started or already under way."""
    ids = selected_ids(request)
    if not ids:
        raise bad_request("Missing file_ids")
    account = request.account
    videos = []
    for node in (node_of(request, i) for i in ids):
        below = account.descendants(node.id) if node.is_dir else iter([node])
        videos.extend(n for n in below if not n.is_dir and n.type == "movie")
    for video in videos:
        request.api.mp4.start(video)
    return ok(count=len(videos))


@route("GET POST", r"files/(?P<id>\d+)/put-mp4-to-my-folders", "files.put_mp4")
def put_mp4_to_my_folders(request: Request) -> dict[str, Any]:
    """Save a finished MP4 as a file of its own beside the original (``<stem>.mp4``, a free
    name); 400 ``MP4_NOT_AVAILABLE`` before the conversion is done."""
    node = _file(request)
    if request.api.mp4.status(node)["status"] != "COMPLETED":
        raise bad_request("The MP4 is not ready", "MP4_NOT_AVAILABLE")
    account = request.account
    parent = account.nodes[node.parent_id]
    taken = {account.nodes[c].name for c in parent.children}
    stem = node.name.rpartition(".")[0] or node.name
    name, n = f"{stem}.mp4", 2
    while name in taken:
        name, n = f"{stem} ({n}).mp4", n + 1
    source = account.file_source(node.id)
    data = b"".join(source.chunks(0, source.size - 1)) if source.size else b""
    copy = account.put_file(parent.id, name, data)
    return ok(file_id=copy.id)
