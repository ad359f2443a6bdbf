"""``hubsr models``: the registered architectures and the bundled model folders."""

from __future__ import annotations

import argparse
import json

from safetensors import safe_open

from .. import get_architecture, list_architectures
from ..bundled import bundled_models, models_dir

DESCRIPTION = """List what hubsr can run.

Architectures are the model classes hubsr knows (the "architecture" entry of a config.json).
Bundled models are the model folders shipped under model_cards/ (or $HUBSR_MODELS_DIR): pass
their name to `hubsr upscale --model NAME` or to HubSR.from_pretrained(NAME). Their scale and
parameter count are read from config.json and the safetensors header, without loading weights."""

EPILOG = """examples:
  hubsr models
  HUBSR_MODELS_DIR=runs/exported hubsr models"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "models",
        help="list architectures and bundled models",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print("architectures:")
    for name in list_architectures():
        doc = (get_architecture(name).__doc__ or "").strip().replace("``", "").splitlines()
        print(f"  {name:<12} {doc[0] if doc else ''}")
    folders = bundled_models()
    print(f"\nbundled models in {models_dir()}:")
    if not folders:
        print("  (none)")
    for name, folder in folders.items():
        print(f"  {name:<16} {_summary(folder)}")
    return 0


def _summary(folder) -> str:
    try:
        config = json.loads((folder / "config.json").read_text())
        with safe_open(str(folder / "model.safetensors"), framework="pt") as weights:
            params = sum(_numel(weights.get_slice(key).get_shape()) for key in weights.keys())
    except Exception as exc:  # a broken folder is listed as such, the others still are
        return f"unreadable: {type(exc).__name__}: {exc}"
    return (
        f"{config.get('architecture', '?'):<10} x{config.get('scale', '?')}  {params:,} parameters"
    )


def _numel(shape) -> int:
    count = 1
    for dim in shape:
        count *= dim
    return count
