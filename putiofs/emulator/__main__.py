"""``python -m putiofs.emulator``: the same as ``putiofs emulator``."""

import argparse
import sys

from putiofs.emulator.command import add_arguments, run


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m putiofs.emulator",
                                     description="Serve a put.io API emulator (v1 or v2).")
    add_arguments(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
