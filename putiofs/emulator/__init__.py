"""put.io API emulators (v1 and v2), written from the API references and standing apart from
the client: nothing here imports from outside ``putiofs.emulator``.

``EmulatorServer(EmulatorOptions(...)).start()`` serves an in-memory account on a local port.
The packages, each using only those above it:

* :mod:`~putiofs.emulator.account`: the account model, the same for every API version (the
  tree, the trash, transfers, history, messages, and the seeds that fill it); no wire format.
* :mod:`~putiofs.emulator.http`: the HTTP plumbing every version shares (the threaded server,
  request bodies, Range and signed data URLs, fault injection, request counters).
* :mod:`~putiofs.emulator.v1`, :mod:`~putiofs.emulator.v2`: one package per API version, whose
  docstring records its wire-format decisions.
* :mod:`~putiofs.emulator.server` puts an account, a version and the plumbing together, as
  :mod:`~putiofs.emulator.options` says; :mod:`~putiofs.emulator.command` is ``putiofs
  emulator`` (and ``python -m putiofs.emulator``).

Beside them, :mod:`~putiofs.emulator.tls` is the loopback TLS CONNECT front through which
unmodified clients (rclone, put.io's SDKs) reach a running v2 emulator as ``api.put.io``.
"""

from putiofs.emulator.account.state import Account, ApiError
from putiofs.emulator.http.faults import Fault, Faults, RequestInfo
from putiofs.emulator.options import EmulatorOptions
from putiofs.emulator.server import EmulatorServer

__all__ = [
    "Account",
    "ApiError",
    "EmulatorOptions",
    "EmulatorServer",
    "Fault",
    "Faults",
    "RequestInfo",
]
