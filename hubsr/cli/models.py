"""``hubsr models``: the registered architectures, the bundled model folders and the variants."""

from __future__ import annotations

import argparse
import json

from safetensors import safe_open

from .. import get_architecture, list_architectures, list_variants
from ..bundled import bundled_models, models_dir
from ..registry import find_variant, get_variant

DESCRIPTION = """List what hubsr can run.

Architectures are the model classes hubsr knows (the "architecture" entry of a config.json).
Bundled models are the model folders shipped under model_cards/ (or $HUBSR_MODELS_DIR): pass
their name to `hubsr upscale --model NAME` or to HubSR.from_pretrained(NAME). Their scale and
parameter count are read from config.json and the safetensors header, without loading weights;
"variant" names the variant whose arguments the folder's config.json holds.

Variants are named constructor arguments of an architecture (e.g. abpn-x3: ABPN, 64 channels,
7 convolutions, x3), written in the architecture's module. The variant name is also the bundled
folder's name, the Hub repo's and `train.py --model NAME`'s; hubsr.create_model(NAME) builds one
untrained. A weightless one (bicubic-x2) loads by its name alone, like a bundled model."""

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
        print(f"  {name:<16} {_summary(name, folder)}")
    print("\nvariants:")
    for name in list_variants():
        variant = get_variant(name)
        if variant.cls.weightless:
            status = "weightless"
        else:
            status = "bundled" if name in folders else "no weights bundled"
        args = ", ".join(f"{k}={v}" for k, v in variant.args.items() if k != "scale")
        line = f"  {name:<16} {variant.architecture:<10} x{variant.scale}  {status:<18} {args}"
        print(line.rstrip())
    return 0


def _summary(name: str, folder) -> str:
    try:
        config = json.loads((folder / "config.json").read_text())
        with safe_open(str(folder / "model.safetensors"), framework="pt") as weights:
            params = sum(_numel(weights.get_slice(key).get_shape()) for key in weights.keys())
    except Exception as exc:  # a broken folder is listed as such, the others still are
        return f"unreadable: {type(exc).__name__}: {exc}"
    return (
        f"{config.get('architecture', '?'):<10} x{config.get('scale', '?')}  {params:,} parameters"
        f"  variant {_variant_of(name, config)}"
    )


def _variant_of(name: str, config: dict) -> str:
    """The variant whose arguments ``config`` holds: the folder's own name if it is that
    variant, else the first variant that matches; ``none`` if no variant does."""
    for candidate in (name, *list_variants()):
        variant = find_variant(candidate)
        if variant is not None and variant.config == config:
            return candidate
    return "none (its own config.json)"


def _numel(shape) -> int:
    count = 1
    for dim in shape:
        count *= dim
    return count
