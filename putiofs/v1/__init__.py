"""put.io's v1 API (JSON over POST, api_key + api_secret): the client, its models, and the
adapters the version-free core talks to (:class:`V1Backend` for the tree, :class:`V1Services` for
the rest of the account). Only :mod:`putiofs.connect` picks this package."""

from putiofs.v1.account import V1Services
from putiofs.v1.backend import V1Backend, entry_from_item
from putiofs.v1.client import V1Client

__all__ = ["V1Client", "V1Backend", "V1Services", "entry_from_item"]
