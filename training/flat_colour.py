"""Flat colour in, flat colour out: train it, and measure it where no border reaches.

A model trained on natural patches only may map a flat colour to another one: saturated colours
are rare in the 291 images, and nothing in the loss asks a wide flat area to stay as it is.
The user path pads the image's edge with mirrored pixels (``hubsr.pipeline.BORDER``), which
settles the edge; the interior is the model's own business. This module sees the interior as an
endless flat image: every convolution pads circularly, so a tiny flat input stands for the
middle of a large one at the cost of a few pixels.

``flat_colour_loss`` is ``train.py --flat-colours N``'s extra term (N random colours a step, half
of their channels at 0 or 255); ``worst_flat_error`` is what the tests hold every bundled model
to (2 levels, issue #47) and what this script prints for each, in float32 and (where the model is
bf16-safe) bf16, on the 343 grid colours and on ``--random`` colours drawn as training draws
them (another seed): ``python training/flat_colour.py [--models photo-x3] [--random 4096]``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

import hubsr
from hubsr.bundled import bundled_models

# Side of the flat LR input: circular padding needs the input at least as wide as the padding,
# and the widest of the bundled models is SRCNN's 9x9 (4 pixels) on the bicubic-upscaled input
# (12 pixels or more). Endless is endless: 4 and 8 give the same outputs, 4 at a quarter of the
# work.
FLAT_SIZE = 4
# The measuring grid: 7 levels per channel, 0 and 255 included (343 colours).
GRID_LEVELS = (0, 43, 85, 128, 170, 213, 255)


@contextmanager
def endless(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` with every padded convolution padding circularly, as it was afterwards."""
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and any(m.padding)]
    before = [m.padding_mode for m in convs]
    for conv in convs:
        conv.padding_mode = "circular"
    try:
        yield model
    finally:
        for conv, mode in zip(convs, before, strict=True):
            conv.padding_mode = mode


def colour_grid(levels=GRID_LEVELS) -> torch.Tensor:
    """Every colour of ``levels`` per channel, ``N x 3`` in [0, 1]."""
    return torch.tensor(list(itertools.product(levels, repeat=3)), dtype=torch.float32) / 255


def random_colours(n: int, generator: torch.Generator) -> torch.Tensor:
    """``n x 3`` colours in [0, 1], on the CPU: each channel uniform, or (half of
    them) 0 or 1, where the models were found furthest off."""
    uniform = torch.rand(n, 3, generator=generator)
    extreme = torch.randint(0, 2, (n, 3), generator=generator).float()
    pick = torch.rand(n, 3, generator=generator) < 0.5
    return torch.where(pick, extreme, uniform)


def flat_images(colours: torch.Tensor, size: int = FLAT_SIZE) -> torch.Tensor:
    return colours[:, :, None, None].expand(-1, -1, size, size).contiguous()


def flat_colour_loss(model: nn.Module, colours: torch.Tensor, loss_fn) -> torch.Tensor:
    """``loss_fn`` between ``model``'s output on endless flat images of ``colours`` and those
    colours."""
    lr = flat_images(colours)
    with endless(model):
        sr = model(lr).float()
    return loss_fn(sr, colours[:, :, None, None].expand_as(sr))


@torch.no_grad()
def worst_flat_error(model: nn.Module, colours: torch.Tensor | None = None, dtype=None):
    """The largest error, in 8-bit levels after rounding, of ``model`` on endless flat images
    of ``colours`` (default: :func:`colour_grid`), and the colour (0-255) where it is; ``dtype``
    (e.g. ``torch.bfloat16``) runs the model under CPU autocast as the user path does."""
    colours = colour_grid() if colours is None else colours
    was_training = model.training
    model.eval()
    try:
        with endless(model), torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
            sr = model(flat_images(colours)).float()
    finally:
        model.train(was_training)
    out = (sr.clamp(0, 1) * 255).round()
    error = (out - (colours * 255).round()[:, :, None, None]).abs().amax(dim=(1, 2, 3))
    worst = int(error.argmax())
    return float(error[worst]), tuple(int(v) for v in (colours[worst] * 255).round())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=sorted(bundled_models()))
    parser.add_argument("--random", type=int, default=4096, help="random colours (0: none)")
    args = parser.parse_args(argv)
    samples = {"343 grid colours": colour_grid()}
    if args.random:
        drawn = random_colours(args.random, torch.Generator().manual_seed(12345))
        samples[f"{args.random} random colours"] = drawn
    print(f"| Model | Precision | {' | '.join(f'Worst of {s}' for s in samples)} |")
    print("|---|---|" + "---:|" * len(samples))
    for name in args.models:
        model = hubsr.load(name)
        precisions = {"float32": None, **({"bf16": torch.bfloat16} if model.bf16_safe else {})}
        for label, dtype in precisions.items():
            cells = []
            for colours in samples.values():
                worst, colour = worst_flat_error(model, colours, dtype=dtype)
                cells.append(f"{worst:.0f} at {colour}")
            print(f"| {name} | {label} | {' | '.join(cells)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
