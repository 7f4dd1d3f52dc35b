"""The put.io v1 API: the envelope, the handlers, the doc and legacy dialects, the data URLs.

:class:`V1Api` (here) routes by the first path segment to ``wire`` (API calls, data URLs,
pictures); ``api`` finds a call's handler and checks its request, ``call`` is what a handler
sees, ``files_api`` and ``account_api`` are the handlers, ``jsontext`` splices JSON encoded
ahead of time into an answer.

Wire format decisions (where the spec is silent, these are ours):

* API calls are ``/v1/<service>?method=<name>``. The request JSON ``{"api_key", "api_secret",
  "params"}`` is read from the ``request`` query parameter (GET) or from the ``request`` field
  of a form-encoded POST body; both are accepted for every method. ``params`` may be absent or
  null. Unknown parameter names are ignored.
* Dialect "doc" (default) follows the document: success is ``{"user_id", "response":
  {"results": [...]}, "error": null, "error_message": null}`` with HTTP 200, and every error is
  HTTP 200 with ``"error": true``. Dialect "legacy" is the live server as put.io's own v1
  client library saw it: ``"error": false`` plus top-level ``"id"`` and ``"user_name"`` on
  success; an unknown service or method and a missing or invalid parameter answer HTTP 404, a
  server fault HTTP 500, other errors HTTP 200. The error envelope is the same in both:
  ``{"user_id": <int or null>, "response": {"results": []}, "error": true, "error_message"}``;
  ``user_id`` is null when the credentials were not (yet) accepted.
* Error messages are fixed phrases clients may classify on: "Invalid api_key or api_secret",
  "Item not found" (also "Message", "Transfer", "Subscription"), "Missing parameter: <name>",
  "Invalid parameter: <name>", "Unknown service: <s>", "Unknown method: <m>", "Malformed
  request", "Cannot move a folder into itself or its own subtree", "Target is not a folder",
  "Internal server error" (a handler fault), "Not found" (a path outside the API).
* Items carry exactly the spec's ten attributes (``id``, ``size``, ``parent_id`` strings,
  ``is_dir`` boolean); the legacy dialect adds ``stream_url``, ``zip_url`` (not served: it
  answers 501) and ``folder_icon_url``. The root folder is id "0"; ``files?method=info`` with
  id 0 answers it with ``parent_id`` null and name "Your Files". Folder sizes are the sum of
  their subtree (computed without recursion: nesting depth is unlimited).
* ``files?method=dirmap`` in the legacy dialect answers the root folder object itself as
  ``results`` (``{id, name, dirs, shared, default_shared}``, each folder of ``dirs`` alike), as
  put.io's v1 library reads it; ``shared`` marks a folder a friend shares. Legacy
  ``urls?method=analyze`` items carry an integer ``size`` next to ``file_size`` and
  ``paid_bw``, and a multipart item its ``parts`` (one single-url object per part).
* ``--data``: a file or folder name that is not valid UTF-8 is listed with U+FFFD in place of
  each undecodable byte (put.io stores names as text); its bytes are still served from disk.
* ``files?method=list``: ``limit`` defaults to 20 and is clamped to 2000; ``offset`` and
  ``limit`` must be non-negative / positive integers (or digit strings). ``orderby`` sorts by id,
  type code, name (case-folded), extension (folders have none) or creation time; ties are broken
  by id and ``_desc`` reverses the whole order, so every order is total and deterministic.
* Data URLs: ``download_url`` is ``{root}/download-file/{user_id}/{id}``, the stream URL
  ``{root}/stream/{user_id}/{id}``; both serve bytes when followed by ``/atk/<token>`` (from
  ``user?method=acctoken``) or with HTTP Basic auth api_key:api_secret. No or an unknown token
  or bad Basic credentials: 401; an expired token: 403; unknown item: 404; a folder: 400; a
  ``--data`` file gone from disk: 500; methods other than GET/HEAD: 405. Range
  follows RFC 9110 for a single range; a malformed or multi-range header gets the whole body
  (200). With ``redirect`` they answer 302 to ``{root}/_data/<signed id>``, which needs no
  further auth and stays valid for ``token_ttl`` seconds. Error bodies there are the JSON
  error envelope too.
* The account: user id 1001, user name "demo". Files sort and search by an internal creation
  time (``--data``: the files' mtimes). ``files?method=search`` returns matches in id order;
  the doc dialect treats the whole query as a name substring, the legacy dialect also takes
  ``from:``, ``type:`` (video, audio, image, text, pdf, document, archive, ...), ``ext:`` and
  ``time:`` operators (an unknown operator value: "Invalid parameter: query"). The demo seeds
  one friend ("alice", sharing the root folder "alice"), two messages and one subscription;
  an empty or ``--data`` account has none. Legacy ``user?method=info`` quota fields are byte
  strings; ``friends_count`` and ``shared_items`` are integers. Friend ``id`` and ``dir_id``
  are strings (like item ids).
* Transfers: progress is computed from time when read. Waiting for the first 10% of
  ``transfer_seconds``, then Downloading, then Completed (the file appears in the root and a
  dashboard message is posted); completed transfers stay listed until cancelled. A failing
  link lists with ``id`` and ``percent_done`` null (as the spec's sample) and is dropped after
  ``max(transfer_seconds, 1)`` seconds. Fetched files hold 2-6 KiB of bytes derived from the
  link; ``urls?method=analyze`` reports the same sizes.
* Movies and images have ``screenshot_url`` / ``thumb_url`` serving a small JPEG; every item's
  ``file_icon_url`` serves a small PNG. Neither needs credentials.
* ``GET /_emulator/stats`` counts API requests per "service.method" (as requested, even when
  the call failed), ``data_requests`` (GET/HEAD on download, stream and ``/_data`` URLs: a
  redirected read counts twice) and ``bytes_served`` (file body bytes, counted as they are written).
  ``POST /_emulator/reset`` zeroes them.
* Secrets never reach a log: there is no access log, and faults are logged with the path only
  (tokens and signed ids redacted).
* Fault injection goes through one hook, ``EmulatorOptions.faults`` (see
  :mod:`putiofs.emulator.http.faults`), consulted once per request.
"""

from __future__ import annotations

import re
import secrets
from functools import partial
from importlib import resources
from typing import Any

from putiofs.emulator.http.faults import Fault
from putiofs.emulator.http.httpd import Emulator, Handler, Route, redact_query
from putiofs.emulator.v1 import wire


class V1Api:
    """The v1 API of one emulator: routes by first path segment and the v1 error envelope."""

    json_type = "application/json; charset=utf-8"
    prefix = "/v1"

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.signing_key = secrets.token_bytes(32)
        self.thumbnail = resources.files("putiofs.emulator").joinpath(
            "demo_data/thumb.jpg").read_bytes()
        # The routes are handed what they need of this object, so wire.py needs not import it.
        data = partial(wire.data, signing_key=self.signing_key)
        picture = partial(wire.picture, thumbnail=self.thumbnail)
        self._routes: dict[str, Route] = {
            "v1": wire.api_call,
            "download-file": data,
            "stream": data,
            "_data": data,
            "download-zip": wire.zip_download,
            "screenshot": picture,
            "images": picture,
        }

    def route(self, head: str) -> Route | None:
        return self._routes.get(head)

    def error_payload(self, status: int, message: str) -> Any:
        return wire.error_envelope(message, None)

    def fault_headers(self, fault: Fault) -> dict[str, str]:
        return {}

    def control(self, handler: Handler, path: str) -> bool:
        return False

    def redact(self, path: str) -> str:
        return re.sub(r"^/_data/.*", "/_data/<redacted>", redact_query(path))
