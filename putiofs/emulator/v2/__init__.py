"""The put.io v2 API (OAuth token, cursor paging, uploads), written from the v2 reference.

One port serves the API under ``/v2/...``, TUS uploads at ``/files/`` (put.io's
``upload.put.io/files/``), multipart uploads at ``/v2/files/upload`` and storage URLs under
``/_storage/...``. Every success is HTTP 200 (or 201/204/302 where put.io answers so) with
``"status": "OK"``; every error the full envelope ``{error_id, error_message, error_type,
error_uri, extra, status: "ERROR", status_code}`` with ``Content-Type: application/json``
exactly. Timestamps are ``YYYY-MM-DDTHH:MM:SS`` (UTC, no zone), ids integers, the root 0.

:class:`V2Api` (here) routes and dispatches. An endpoint sees a ``request.Request`` and answers
by the conventions of ``wire``; the endpoints are ``files_api``, ``account_api``,
``transfers_api``, ``manage_api`` (trash, zips), ``shares_api`` and the multipart upload of
``uploads``, with ``render`` (the JSON objects) and ``names`` (the name rules). What the v2 API
keeps beside the account: ``auth``, ``cursors``, ``shares``, ``media`` (mp4s, zips),
``uploads`` (TUS), ``storage`` (storage URLs) and ``realtime`` (the websocket).

Real clients nobody here wrote run against it in the test suite, unmodified: put.io's Python
SDK (putio.py 8.8.0 with tus.py; ``tests/emulator/test_v2_sdk.py``), put.io's JavaScript SDK
(``@putdotio/api-client`` 8.49.0; ``tests/emulator/test_v2_js_sdk.py``) and Debian's rclone
1.60.1 through the loopback TLS front (``tests/emulator/test_v2_rclone.py``).

Decisions where the reference is silent (ours, stated so clients can rely on them):

* Auth: ``Authorization: Bearer|token|Token <t>`` (scheme in any case) or ``?oauth_token=``.
  A missing or unknown token: 401 ``Unauthorized``. Tokens never expire; ``oauth/grants/logout``
  revokes the one used (even the configured one, until a restart). Device codes are 6
  characters, live 10 minutes (then 404), and earn a new token once approved (by
  ``POST /_emulator/approve?code=`` or an authenticated ``POST /v2/oauth2/oob/code``);
  ``qr_code_url`` is that approve URL. ``oauth2/validate`` answers 200 with ``result`` false
  for a bad token. The authorization-code flow is not emulated (400 ``invalid_grant``).
* Parameters come from the query and the body (form or JSON; the body wins); "" is absent;
  booleans 1/0/true/false in any case; id lists comma-joined or JSON lists. Unknown
  parameters are ignored. A malformed value: 400 ``BadRequest``.
* Paging: ``per_page`` defaults to 100 (files, search, trash) and 50 (events); above 1000 it is
  clamped, except ``transfers/list``, which refuses 1001 (400, as put.io does) and lists every
  transfer when no ``per_page`` is given. 0 or less: 400 ``INVALID_PER_PAGE``. Cursors are
  opaque server-side tokens naming the ids still to show (items gone since are skipped); a
  cursor stays valid for repeated continue calls until 10,000 newer ones evict it. A continue
  call without ``per_page`` (putio.py sends only ``cursor``) keeps the page size of the call
  that made the cursor. ``cursor`` is always present, null on the last page. A bad cursor:
  400 ``INVALID_CURSOR``.
* Listing: sorted ``NAME_ASC`` unless ``sort_by`` says otherwise (ties by id). Search matches
  names containing every word of the query (case-folded), newest first; a query over 255
  characters is 400 ``SEARCH_TOO_LONG_QUERY``; the older ``/files/search/{q}/page/{n}`` form
  (50 a page, ``next`` URL) is served too. ``/files/{id}/child?name=`` of duplicate names
  answers the newest (highest id), as a sync client would want.
* Names: create-folder, rename and copy refuse a name a sibling has (``NAME_ALREADY_EXIST``);
  uploads, transfers and moves may create duplicates (put.io allows them). ``EMPTY_NAME``,
  ``SLASH_IN_NAME``, ``INVALID_NAME`` (a NUL) and ``NAME_TOO_LONG`` (over 255 UTF-8 bytes).
* Missing items are 404 ``NotFound``; a parent that is a file 400 ``NotAFolder``; a folder
  where a file is needed 400 ``NotFile``. ``rename`` answers ``{file, status}`` (rclone reads
  ``file``). Batch ``move`` reports per-item ``errors`` (``NotFound`` 404,
  ``CANNOT_MOVE_INTO_ITSELF`` 400) at HTTP 200; the single ``file_id`` form fails the request.
  Moves and renames keep ``updated_at``; copies and uploads are new items with new times;
  ``touch`` keeps whole seconds (``updated_at`` without a value: now).
* Delete: without ``skip_nonexistents`` a missing id fails the whole request (nothing is
  deleted); with it, it is counted in ``skipped``. Items go to the trash when the setting
  ``trash_enabled`` is on (the default, ``EmulatorOptions.trash_enabled``) and
  ``skip_trash`` is off. Trash restores into the original folder, or the root when it is gone;
  ``expiration_date`` is 30 days after deletion. ``disk.used`` counts the trash too.
* Storage URLs (``/files/{id}/url``, the 302 of ``/download``, ``/stream``, ``/mp4/...``) are
  ``/_storage/<signed id>/<name>``: no auth, GET and HEAD, one Range (206, or 416 with
  ``Content-Range: bytes */size``; a malformed or multi-range header gets 200), valid for
  ``url_ttl`` seconds (default 3600), then 403 ``LinkExpired``. ``icon`` is null.
* Screenshots: a video's ``screenshot`` is ``/screenshots/<id>.jpg``, served without
  credentials (as put.io's image host does): one frame of the demo video for every video
  (the emulator decodes no video), 404 once the item is gone or not a video
  (:class:`.media.Screenshots`); other items' ``screenshot`` is null.
* Uploads: TUS 1.0.0 creation + termination; ``Upload-Metadata`` keys ``name`` (or
  ``filename``), ``parent_id`` (default: the ``default_download_folder`` setting, the root),
  ``updated-at``, ``overwrite`` (true: same-named files in the folder are deleted, not
  trashed) and ``no-torrent`` (a TUS upload is always a file). Location is absolute. PATCH
  takes ``Content-Length`` or chunked bodies; a body beyond ``Upload-Length`` is 400, a wrong
  ``Upload-Offset`` or a second PATCH at once 409 (with the server's ``Upload-Offset``). A
  finished upload answers a repeated final PATCH with the same ``Putio-File-Id``. A multipart
  ``.torrent`` becomes a transfer (``{transfer}``). A multipart part's ``filename`` is taken
  as sent: urllib3 (so putio.py) and browsers write a ``"`` in it as ``%22``, and that is not
  decoded back, since a name may hold a literal ``%22``. CRC-32 is computed once per file, lazily
  (a ``--data`` file is read once, when first listed).
* Disk quota: an upload larger than ``disk.avail`` less what unfinished uploads reserve fails
  at TUS creation (or multipart) with HTTP 413 ``NOT_ENOUGH_DISK_SPACE`` (the status TUS
  servers use for an upload that cannot fit; not retried by clients, unlike a 5xx); so does
  a PATCH once the account's files and unfinished uploads no longer fit (the quota was
  lowered, or other files took the space).
* Transfers (links as in v1: ``.invalid`` hosts and unknown schemes fail): ``IN_QUEUE`` for
  the first 10% of ``transfer_seconds``, then ``DOWNLOADING`` to ``COMPLETED`` (a file of 2-6
  KiB in ``save_parent_id``, or the root if it is gone) or ``ERROR`` with ``error_message``.
  Listed newest first until cleaned or removed; ``callback_url`` is kept but never called
  (the emulator makes no outgoing requests). Uploads, finished and failed transfers post
  history events (``upload``, ``transfer_completed``, ``transfer_error``); event times use
  the same ``T`` format.
* Zips finish after ``transfer_seconds`` (``zip_status`` NEW, PROCESSING, DONE); ``GET
  /zips/{id}`` is flat with the envelope's ``status``; the URL serves a stored zip of the items.
  MP4: ``NOT_AVAILABLE`` until ``POST /files/{id}/mp4`` (videos only, else 400
  ``INVALID_MEDIA``), then ``IN_QUEUE``, ``CONVERTING``, ``COMPLETED`` over
  ``transfer_seconds``; the mp4 URLs serve the original bytes.
* Subtitles (:mod:`.subtitles`): a video's are the ``.srt`` files beside it with its stem
  (source ``folder``) and what an OpenSubtitles-like search found (source ``opensubtitles``:
  the demo video has English and French); ``/subtitles/{key}?format=srt|webvtt`` serves one
  (key ``default``: the first folder one, else the first search one), an unknown key 404,
  a folder 400 ``NotFile``; other files have none.
* put.io's web-app endpoints (friends and requests, the config store, playback and HLS,
  extraction, download links, sharing clones, public shares) are :mod:`.webapp`'s, served as
  put.io's JavaScript SDK declares them (``tests/emulator/test_v2_js_sdk.py`` runs it).
* Realtime events: put.io's websocket is served on a port of its own
  (:mod:`putiofs.emulator.v2.realtime` records its decisions); ``EmulatorServer.socket_url``
  says where.
* Shares (the reference names ``share``, ``shared``, ``shared-with``, ``unshare`` and no
  shapes; these follow put.io's SDKs): ``POST /files/share`` with ``file_ids`` and ``friends``
  = ``everyone`` or comma-joined friend names (every id and name is checked first: an unknown
  friend 400 ``FRIEND_NOT_FOUND``, the root 400 ``CANNOT_SHARE_ROOT``, a missing item 404;
  sharing twice with one friend keeps one share). ``GET /files/shared`` answers ``{shared:
  [{file_id, file_name, shared_with}]}`` by file id, ``shared_with`` being ``"everyone"`` or
  the number of friends; ``GET /files/{id}/shared-with`` the named shares, ``{"shared-with":
  [{share_id, user_name, user_avatar_url}]}``; ``POST /files/{id}/unshare`` takes ``shares``
  = ``everyone`` (stop sharing the item at all) or comma-joined share ids (an unknown one
  404 ``SHARE_NOT_FOUND``, nothing removed). A shared item's ``is_shared`` is true. A
  trashed item's shares are not listed until it is restored.
* The demo library's ``Music/AC/DC - Live.txt`` holds a ``/``, which put.io refuses in every
  name it is given (``SLASH_IN_NAME``). It is kept from the v1 library so that clients'
  handling of such a name can be tested; rclone lists it (as ``AC／DC``) but cannot open it
  by that name.
* Faults: the same hook as v1, named ``files.list``-style per endpoint (``upload.tus_post``,
  ``upload.tus_patch``, ``upload.tus_head``, ``upload.tus_delete`` for TUS, ``data`` for
  storage URLs); a 429 also carries ``x-ratelimit-*`` headers with ``x-ratelimit-reset`` in
  epoch seconds. On TUS requests a status fault is answered after the body is read; 409
  carries the upload's ``Upload-Offset``, 413 is the quota error. A PATCH's ``drop_after``
  keeps that many body bytes (HEAD then reports them, as TUS servers keep what arrived) and
  closes the connection without an answer. ``/_emulator/stats`` counts the same names.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from putiofs.emulator.account.state import ROOT_ID
from putiofs.emulator.http.faults import Fault
from putiofs.emulator.http.httpd import Emulator, Handler, Route, redact_query
from putiofs.emulator.v2 import (
    account_api,
    files_api,
    manage_api,
    shares_api,
    transfers_api,
    uploads,
)
from putiofs.emulator.v2.auth import Auth
from putiofs.emulator.v2.cursors import Cursors
from putiofs.emulator.v2.media import Mp4, Screenshots, Zips
from putiofs.emulator.v2.realtime import Realtime
from putiofs.emulator.v2.request import Request, Rule
from putiofs.emulator.v2.shares import Shares
from putiofs.emulator.v2.storage import Storage
from putiofs.emulator.v2.webapp import RULES as WEBAPP_RULES
from putiofs.emulator.v2.webapp.state import WebApp
from putiofs.emulator.v2.wire import Document, Params, Redirect, V2Error, error_payload

log = logging.getLogger("putiofs.emulator")

_ERROR_TYPES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                405: "MethodNotAllowed", 411: "LengthRequired", 413: "RequestTooLarge",
                416: "RangeNotSatisfiable", 429: "RateLimited", 500: "InternalError",
                501: "NotImplemented", 503: "ServiceUnavailable"}


class V2Api:
    """The v2 API of one emulator: the routes, the token check and the v2 envelopes."""

    json_type = "application/json"
    prefix = "/v2"

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        emulator.account.transfers.forget_failed = False
        self.auth = Auth(emulator.options.token, emulator.account.clock)
        self.cursors = Cursors()
        self.storage = Storage(self)
        self.mp4 = Mp4(emulator.account)
        self.zips = Zips(emulator.account)
        self.screenshots = Screenshots(emulator.account)
        self.uploads = uploads.Uploads(self)
        self.shares = Shares()
        self.realtime = Realtime(self)
        #: What put.io's web-app endpoints keep (:mod:`putiofs.emulator.v2.webapp`).
        self.web = WebApp.of(emulator.account, demo=emulator.options.demo)
        #: The account setting ``default_download_folder`` (uploads and transfers without a
        #: parent go there).
        self.default_folder = ROOT_ID
        #: ``account/info?download_token=1``: an opaque token (nothing takes it in v2 here).
        self.download_token = secrets.token_urlsafe(18)
        #: Every module's rules, tried in this order (see :class:`~.request.Routes`).
        self.rules: list[Rule] = [
            *files_api.route.rules, *account_api.route.rules, *transfers_api.route.rules,
            *manage_api.route.rules, *uploads.route.rules, *shares_api.route.rules,
            *WEBAPP_RULES,
        ]
        self._routes: dict[str, Route] = {
            "v2": self._call,
            "files": self.uploads.tus,
            "_storage": self.storage.serve,
            Screenshots.PREFIX: self.screenshots.serve,
        }

    # ------------------------------------------------------------------ WireApi protocol

    def route(self, head: str) -> Route | None:
        return self._routes.get(head)

    def error_payload(self, status: int, message: str) -> Any:
        return error_payload(status, _ERROR_TYPES.get(status, "Error"), message)

    def fault_headers(self, fault: Fault) -> dict[str, str]:
        if fault.status != 429:
            return {}
        wait = int(fault.retry_after or 1)
        return {"x-ratelimit-limit": "100", "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": str(int(time.time()) + wait),
                "x-ratelimit-id": "emulator", "x-ratelimit-action": "wait"}

    def control(self, handler: Handler, path: str) -> bool:
        """``POST /_emulator/approve?code=CODE``: approve a device code as the user would;
        ``/_emulator/socket...``: the realtime feed's test hooks."""
        if path.startswith("/_emulator/socket"):
            return self.realtime.control(handler, path)
        if path != "/_emulator/approve" or handler.command != "POST":
            return False
        handler.read_body()
        code = (parse_qs(urlsplit(handler.path).query).get("code") or [""])[0]
        if self.auth.approve(code) is None:
            handler.send_json(404, error_payload(404, "NotFound", "Unknown or expired code"))
        else:
            handler.send_json(200, {"status": "OK"})
        return True

    def redact(self, path: str) -> str:
        path = redact_query(path)
        path = re.sub(r"^/_storage/.*", "/_storage/<redacted>", path)
        return re.sub(r"^(/v2/oauth2/oob/code/)[^/]+", r"\1<redacted>", path)

    # ------------------------------------------------------------------------ API calls

    def _call(self, handler: Handler, path: str) -> None:
        sub = path[len("/v2/"):] if path.startswith("/v2/") else ""
        matched = [(rule, m) for rule in self.rules if (m := rule.pattern.fullmatch(sub))]
        allowed = [(rule, m) for rule, m in matched if handler.command in rule.methods
                   or (handler.command == "HEAD" and "GET" in rule.methods)]
        if not allowed:
            handler.read_body(chunked=True)
            if matched:
                methods = sorted({m for rule, _ in matched for m in rule.methods})
                handler.send_json(405, error_payload(405, "MethodNotAllowed",
                                                     "Method not allowed"),
                                  {"Allow": ", ".join(methods)})
            else:
                handler.send_json(404, error_payload(404, "NotFound", "Not found"))
            return
        rule, match = allowed[0]
        body = handler.read_body(chunked=True, limit=rule.body_limit)
        fault = handler.begin_call(rule.name)
        if handler.started:
            return
        try:
            params = Params(urlsplit(handler.path).query, body,
                            handler.headers.get("Content-Type", ""))
            token = self.auth.token_of(handler, params)
            if rule.auth:
                self.auth.require(token)
            request = Request(self, handler, handler.command, params, match, token, body)
            account = self.emulator.account
            with account.lock:
                account.advance()
                self.web.advance()
                answer = rule.endpoint(request)
        except V2Error as exc:
            handler.send_json(exc.status, error_payload(exc.status, exc.error_type, exc.message),
                              exc.headers, fault=fault)
            return
        if isinstance(answer, Redirect):
            handler.send_empty(302, {"Location": answer.location, "Cache-Control": "no-store"})
            return
        if isinstance(answer, Document):
            handler.send_document(200, answer.body, answer.content_type,
                                  {"Cache-Control": "no-store"}, fault=fault)
            return
        handler.send_json(200, answer, fault=fault)
