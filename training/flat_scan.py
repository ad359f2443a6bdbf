"""Every 8-bit colour as an endless flat image: where does a model fail to keep it flat?

Random colours miss narrow patches of the cube (round FC found ``edsr24-x3`` 4 levels off on a
patch of grey-greens a few levels wide that 32,768 random colours had missed). This script
measures all 256**3 colours (or every ``--step``-th level a channel) with
:func:`flat_colour.collapsed`, which costs one pixel a colour until the upsampler, then
re-measures the colours found near the limit with the model's own kernels, as the user path
runs them. It prints one table row a model and precision, and writes beside it (``--out``):

- ``<model>-<precision>.png``: the worst error over each axis of the cube (three 256 x 256
  panels: red-green over blue, red-blue over green, green-blue over red), grey where within
  the limit, yellow at it, red beyond;
- ``<model>-<precision>.pt``: the colours (0-255) within one level of the limit or beyond, and
  their errors, for ``train.py --flat-seeds``.

``python training/flat_scan.py --models edsr24-x3 [--precision float32 bf16] [--step 1]``
(all 16.7 M colours: about 6 minutes for a 24-block EDSR in float32 on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from tqdm import tqdm

import hubsr
from hubsr.bundled import bundled_models

from flat_colour import flat_errors

LIMIT = 2  # levels: issue #47's target
# Colours the collapsed emulation puts at the limit or within this of it are measured again on
# the kernels: float32 agrees to 1e-3 levels, bf16's emulation only within about half a level,
# and rounding can move either by one.
RECHECK_BELOW = 1
RECHECK_MAX = 8192  # the worst of them, at most: bf16 kernels are slow where emulated
PRECISIONS = {"float32": None, "bf16": torch.bfloat16}
# The picture: error in levels -> colour (LIMIT yellow, beyond it red).
PALETTE = {0: (235, 235, 235), 1: (190, 190, 190), LIMIT: (245, 200, 40)}
BEYOND = (215, 40, 40)


def cube_levels(step: int) -> torch.Tensor:
    """0, step, 2 step, ... and 255."""
    levels = list(range(0, 256, step))
    return torch.tensor(levels if levels[-1] == 255 else [*levels, 255])


def scan(model, levels: torch.Tensor, dtype=None, batch: int = 16384) -> torch.Tensor:
    """Rounded error (levels) of every colour of ``levels`` per channel, collapsed: an
    ``L x L x L`` uint8 tensor indexed by red, green, blue."""
    n = len(levels)
    green, blue = torch.meshgrid(levels, levels, indexing="ij")
    plane = torch.stack([green.flatten(), blue.flatten()], dim=1).float() / 255
    errors = torch.empty(n, n, n, dtype=torch.uint8)
    for i, red in enumerate(tqdm(levels.tolist(), desc="red levels", leave=False)):
        colours = torch.cat([torch.full((n * n, 1), red / 255), plane], dim=1)
        found = flat_errors(model, colours, dtype=dtype, batch=batch, collapse=True)
        errors[i] = found.clamp(max=255).to(torch.uint8).view(n, n)
    return errors


def recheck(model, colours: torch.Tensor, dtype=None) -> torch.Tensor:
    """Rounded errors of ``colours`` (N x 3, 0-255) on the model's own kernels."""
    return flat_errors(model, colours.float() / 255, dtype=dtype, batch=1024)


def picture(errors: torch.Tensor, title: str) -> Image.Image:
    """Three panels, each the worst error along one axis of the cube."""
    n, pad, head = errors.shape[0], 12, 28
    panels = [
        ("red / green, worst over blue", errors.amax(dim=2)),
        ("red / blue, worst over green", errors.amax(dim=1)),
        ("green / blue, worst over red", errors.amax(dim=0)),
    ]
    side = max(n, 200)
    canvas = Image.new("RGB", (3 * side + 4 * pad, side + 2 * head + pad), "white")
    draw = ImageDraw.Draw(canvas)
    legend = f"light grey: 0 levels, grey: 1, yellow: {LIMIT}, red: more; rows, columns 0 -> 255"
    draw.text((pad, 6), f"{title}   ({legend})", fill="black")
    lookup = np.array([PALETTE.get(level, BEYOND) for level in range(256)], dtype=np.uint8)
    for k, (label, worst) in enumerate(panels):
        tile = Image.fromarray(lookup[worst.numpy()]).resize((side, side), Image.NEAREST)
        x = pad + k * (side + pad)
        canvas.paste(tile, (x, 2 * head - 8))
        draw.text((x, head + 2), label, fill="black")
    return canvas


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=sorted(bundled_models()))
    parser.add_argument("--precision", nargs="+", choices=list(PRECISIONS), default=None)
    parser.add_argument("--step", type=int, default=1, help="levels between colours a channel")
    parser.add_argument("--out", type=Path, default=Path("runs/flat-scan"))
    args = parser.parse_args(argv)
    if not 1 <= args.step <= 255:
        parser.error("--step must be between 1 and 255")
    args.out.mkdir(parents=True, exist_ok=True)
    levels = cube_levels(args.step)
    print(
        f"| Model | Precision | Worst of {len(levels) ** 3:,} colours (collapsed) | "
        f"Colours > {LIMIT} | Worst re-measured on the kernels | Colours > {LIMIT} there |"
    )
    print("|---|---|---|---:|---|---:|")
    for name in args.models:
        model = hubsr.load(name).eval()
        for label in args.precision or ["float32", *(["bf16"] if model.bf16_safe else [])]:
            if label == "bf16" and not model.bf16_safe:
                print(f"| {name} | bf16 | runs in float32 only | | | |")
                continue
            dtype = PRECISIONS[label]
            errors = scan(model, levels, dtype)
            index = (errors >= LIMIT - RECHECK_BELOW + 1).nonzero()
            found = errors[tuple(index.T)]
            order = found.argsort(descending=True)[:RECHECK_MAX]
            colours, found = levels[index[order]], found[order]
            kernels = recheck(model, colours, dtype) if len(colours) else torch.empty(0)
            stem = args.out / f"{Path(name).name}-{label}"
            torch.save({"colours": colours, "collapsed": found, "kernels": kernels}, f"{stem}.pt")
            title = f"{Path(name).name} {label}: flat colour error"
            picture(errors, title).save(f"{stem}.png")
            worst = int(errors.argmax())
            at = tuple(levels[list(np.unravel_index(worst, errors.shape))].tolist())
            cells = [f"{errors.max()} at {at}", f"{int((errors > LIMIT).sum()):,}"]
            if len(kernels):
                k = int(kernels.argmax())
                cells += [f"{kernels[k]:.0f} at {tuple(colours[k].tolist())} (of {len(kernels):,})"]
                cells += [f"{int((kernels > LIMIT).sum()):,}"]
            else:
                cells += ["none near the limit", "0"]
            print(f"| {name} | {label} | {' | '.join(cells)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
