"""put.io's v2 API: the client (:mod:`~putiofs.v2.client`) and the filesystem's Backend over it
(:mod:`~putiofs.v2.backend`).

v2 is put.io's current API: OAuth tokens (``Authorization: Bearer``), JSON answers with
``"status": "OK"``, typed errors (``error_type``), cursor paging, per-file storage URLs.
The reference is ``putio-api-v2.md`` in the shared notes.
"""

from putiofs.api.errors import NameExistsError
from putiofs.v2.backend import V2Backend, entry_from_file
from putiofs.v2.client import V2Client
from putiofs.v2.wire import DEFAULT_BASE_URL

__all__ = ["DEFAULT_BASE_URL", "NameExistsError", "V2Backend", "V2Client", "entry_from_file"]
