"""A put.io v1 API emulator, written from the API document and standing apart from the client.

``EmulatorServer(EmulatorOptions(...)).start()`` serves an in-memory account on a local port;
see :mod:`putiofs.emulator.server` for the wire format decisions.
"""

from putiofs.emulator.faults import Fault, Faults, RequestInfo
from putiofs.emulator.server import EmulatorOptions, EmulatorServer
from putiofs.emulator.state import Account, ApiError

__all__ = [
    "Account",
    "ApiError",
    "EmulatorOptions",
    "EmulatorServer",
    "Fault",
    "Faults",
    "RequestInfo",
]
