"""put.io API emulators (v1 and v2), written from the API references and standing apart from
the client: nothing here imports from outside ``putiofs.emulator``.

``EmulatorServer(EmulatorOptions(...)).start()`` serves an in-memory account on a local port.
The account model (``state``, ``faults``, ``seed``, ``data``) knows no API version; each
version is a package (:mod:`putiofs.emulator.v1`, :mod:`putiofs.emulator.v2`) whose docstring
records its wire-format decisions.
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
