"""The ``hubsr`` command line. Each subcommand is a module here with ``register(subparsers)``."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import sys

from ..errors import HubSRError

# One module per subcommand, in the order ``hubsr --help`` lists them.
COMMANDS = ("upscale", "models", "benchmark", "card", "report", "export", "push")

DESCRIPTION = "hubsr: single-image super-resolution models you can train, evaluate, share and demo."
EPILOG = """examples:
  hubsr upscale photo.png -o out/            upscale with the best bundled x3 model
  hubsr upscale data/reference_lr_x3/Set5/edsr_benchmark/LR_bicubic/X3 -o results/
                                             every image in a folder, same file names
  hubsr models                               list architectures and bundled models
  hubsr COMMAND --help                       options of one command
  hubsr --version                            the installed version"""


def _version() -> str:
    try:
        return importlib.metadata.version("hubsr")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout that is not installed
        return "(not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hubsr",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``hubsr`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code.

    0: success; 1: some inputs failed (each reported on stderr); 2: a usage error or a
    :class:`HubSRError`, printed as ``hubsr: error: <message>`` without a traceback; 130:
    stopped by Ctrl-C (also without a traceback).
    """
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except HubSRError as exc:
        print(f"hubsr: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # a command that has nothing more to say (upscale has)
        print("\nhubsr: interrupted", file=sys.stderr)
        return 130
