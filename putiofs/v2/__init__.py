"""put.io's v2 API (OAuth tokens, JSON answers with ``"status": "OK"``, typed errors, cursor
paging, per-file storage URLs) behind the core's interfaces. Only :mod:`putiofs.connect` picks
this package; the reference is ``putio-api-v2.md`` in the shared notes.

Its modules have the roles of their namesakes in :mod:`putiofs.v1`:

- ``wire.py``: one request on the wire (:class:`~putiofs.v2.wire.V2Wire`): the token, the
  body, answer checking, retries, and cursor paging;
- ``errors.py``: which exception of :mod:`putiofs.api.errors` an answer means;
- ``models.py``: the typed results read from the answers (``parse.py``: their single values);
- ``client.py``: one method per endpoint (:class:`~putiofs.v2.client.V2Client`);
- ``backend.py``: the filesystem's Backend (:class:`~putiofs.v2.backend.V2Backend`);
- ``account.py``: the AccountServices adapter (:class:`~putiofs.v2.account.V2Services`).

And what only v2 has: ``tus.py``, resumable uploads (TUS) to the upload host; ``realtime.py``,
put.io's websocket of changes made elsewhere; ``signin.py``, the device flow and tokens.
"""

from putiofs.v2.account import V2Services
from putiofs.v2.backend import V2Backend, entry_from_file
from putiofs.v2.client import V2Client
from putiofs.v2.wire import V2Wire

__all__ = ["V2Backend", "V2Client", "V2Services", "V2Wire", "entry_from_file"]
