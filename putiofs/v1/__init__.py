"""put.io's v1 API (JSON over POST, api_key + api_secret) behind the core's interfaces. Only
:mod:`putiofs.connect` picks this package.

Its modules have the roles of their namesakes in :mod:`putiofs.v2`:

- ``wire.py``: one request on the wire (:class:`~putiofs.v1.wire.V1Wire`): the envelope, the
  credentials, the transport, retries, and the server's dialect;
- ``errors.py``: which exception of :mod:`putiofs.api.errors` an answer means;
- ``models.py``: the typed results read from the answers;
- ``client.py``: one method per endpoint (:class:`~putiofs.v1.client.V1Client`);
- ``backend.py``: the filesystem's Backend (:class:`~putiofs.v1.backend.V1Backend`);
- ``account.py``: the AccountServices adapter (:class:`~putiofs.v1.account.V1Services`).
"""

from putiofs.v1.account import V1Services
from putiofs.v1.backend import V1Backend, entry_from_item
from putiofs.v1.client import V1Client
from putiofs.v1.wire import V1Wire

__all__ = ["V1Backend", "V1Client", "V1Services", "V1Wire", "entry_from_item"]
