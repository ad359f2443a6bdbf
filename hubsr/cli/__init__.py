"""The ``hubsr`` command line. Each subcommand is a module here with ``register(subparsers)``."""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import address_space
from ..errors import HubSRError

# One module per subcommand, in the order ``hubsr --help`` lists them.
COMMANDS = ("upscale", "models", "benchmark", "card", "report", "export", "push")

DESCRIPTION = "hubsr: single-image super-resolution models you can train, evaluate, share and demo."
EPILOG = """examples:
  hubsr upscale photo.png -o out/            upscale with the best bundled x3 model
  hubsr upscale photos/ -o results/          every image in a folder, same file names
  hubsr models                               list architectures and bundled models
  hubsr COMMAND --help                       options of one command
  hubsr --version                            the installed version"""


def _version() -> str:
    import importlib.metadata  # here: a memory limit may leave room for no more than main

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
    :class:`HubSRError`, printed as ``hubsr: error: <message>`` without a traceback, memory too
    small to load torch or to run included; 130: stopped by Ctrl-C (also without a traceback).
    """
    try:
        args = _parse(argv)
        return args.func(args)
    except HubSRError as exc:
        print(f"hubsr: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # a command that has nothing more to say (upscale has)
        print("\nhubsr: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        line = _out_of_memory(exc)
        if line is None:
            raise
        print(f"hubsr: error: {line}", file=sys.stderr)
        return 2


def _parse(argv: list[str] | None) -> argparse.Namespace:
    """The parsed arguments; a HubSRError if torch (which every command imports) cannot load
    for want of memory: under ``ulimit -v`` that is where a run first meets the limit."""
    if address_space.import_failure is not None:  # already met by ``import hubsr``
        raise HubSRError(address_space.startup_message(address_space.import_failure))
    try:
        with address_space.headroom():
            parser = build_parser()
    except Exception as exc:  # noqa: BLE001 - re-raised unless memory ran out
        if not address_space.is_memory_failure(exc):
            raise
        raise HubSRError(address_space.startup_message(exc)) from None
    return parser.parse_args(argv)


def _out_of_memory(exc: BaseException) -> str | None:
    """The one line for an allocation that failed outside the per-file work (loading a model,
    say: no smaller tile helps there; upscale words its own failures per file); None if
    ``exc`` is no such failure."""
    from ..memory import is_out_of_memory, more_memory  # torch is loaded: the parser needs it

    failed_import = isinstance(exc, ImportError) and address_space.is_memory_failure(exc)
    if not (is_out_of_memory(exc) or failed_import):
        return None
    return f"out of memory ({type(exc).__name__}); {more_memory()}"
