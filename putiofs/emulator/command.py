"""The ``putiofs emulator`` command: serve the emulator until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from putiofs.emulator.server import EmulatorOptions, EmulatorServer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's options to ``parser``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8765, help="port (0: any free port)")
    seed = parser.add_mutually_exclusive_group()
    seed.add_argument("--data", type=Path, metavar="DIR",
                      help="seed the account from this directory (bytes read lazily)")
    seed.add_argument("--demo", action="store_true", help="seed the built-in demo library")
    parser.add_argument("--dialect", choices=("doc", "legacy"), default="doc",
                        help="doc: as the API document says; legacy: as the live v1 server did")
    parser.add_argument("--token-ttl", type=float, default=3600.0, metavar="S",
                        help="seconds a stream token stays valid")
    parser.add_argument("--redirect", action="store_true",
                        help="download and stream URLs answer 302 to a separate data path")
    parser.add_argument("--transfer-seconds", type=float, default=3.0, metavar="S",
                        help="how long a transfer takes from Waiting to Completed")


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; 0 on a clean stop."""
    try:
        options = EmulatorOptions(
            host=args.host,
            port=args.port,
            api_key=os.environ.get("PUTIO_API_KEY", "demo"),
            api_secret=os.environ.get("PUTIO_API_SECRET", "demo"),
            dialect=args.dialect,
            token_ttl=args.token_ttl,
            redirect=args.redirect,
            data_dir=args.data,
            demo=args.demo,
            transfer_seconds=args.transfer_seconds,
        )
        server = EmulatorServer(options)
        server.start()
    except (OSError, ValueError) as exc:
        print(f"putiofs emulator: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"put.io v1 emulator ({options.dialect} dialect) listening on {server.base_url}",
              flush=True)
        print(f"PUTIO_API_URL={server.base_url}", flush=True)
        print(f"api_key={options.api_key} api_secret={options.api_secret}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("emulator stopped", flush=True)
    return 0
