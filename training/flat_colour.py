"""Flat colour in, flat colour out: train it, and measure it where no border reaches.

A model trained on natural patches only may map a flat colour to another one: saturated colours
are rare in the 291 images, and nothing in the loss asks a wide flat area to stay as it is.
The user path pads the image's edge with mirrored pixels (``hubsr.pipeline.BORDER``), which
settles the edge; the interior is the model's own business. This module sees the interior as an
endless flat image: every convolution pads circularly, so a tiny flat input stands for the
middle of a large one at the cost of a few pixels.

``flat_colour_loss`` is ``train.py --flat-colours N``'s extra term (N colours a step, half of
their channels at 0 or 255; ``FlatColours`` draws them, with ``--flat-hard K`` K of them among the
colours the model is furthest off); ``worst_flat_error`` is what the tests hold every bundled model
to (2 levels, issue #47) and what this script prints for each, in float32 and (where the model is
bf16-safe) bf16, on the 343 grid colours, on ``--random`` colours drawn as training draws
them (another seed) and on ``--uniform`` colours:
``python training/flat_colour.py [--models photo-x3] [--random 4096] [--uniform 0]``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

import hubsr
from hubsr.bundled import bundled_models

# Side of the flat LR input: circular padding needs the input at least as wide as the padding,
# and the widest of the bundled models is SRCNN's 9x9 (4 pixels) on the bicubic-upscaled input
# (12 pixels or more). Endless is endless: 4 and 8 give the same outputs, 4 at a quarter of the
# work.
FLAT_SIZE = 4
# collapsed(): an input whose pixels differ by at most this is constant (a bicubic upsampling of a
# flat image differs from it by float rounding, ~1e-7).
CONSTANT_SPREAD = 1e-6
# ...and one whose pattern repeats every few pixels (after an upsampler: scale x scale) is one
# matrix product over its period, up to this many pixels (x4: 16) a period.
PERIOD_PIXELS = 16
# The measuring grid: 7 levels per channel, 0 and 255 included (343 colours).
GRID_LEVELS = (0, 43, 85, 128, 170, 213, 255)
# --flat-hard: the hard colours are the worst of this many random ones (and of the last hard
# ones, their neighbours and any --flat-seeds), found again every MINING_EVERY steps: a worst
# colour seen in 1 of 4,096 random ones was missed by 32 random colours a step (round FC's
# photo-x4); collapsed (see collapsed()), 16,384 flat images cost less than one training step
# of a 64-channel model.
MINING_POOL = 16384
MINING_EVERY = 25
# Each step a hard colour moves by up to this many levels per channel: the neighbourhood of a
# worst colour is off too, and the model should learn the neighbourhood, not one point.
MINING_JITTER = 2 / 255
# ...and the miner looks this far around each hard colour (this many neighbours each): a patch
# of bad colours a few levels wide moves as the model learns, and random colours rarely land in
# one (round FC: edsr24-x3's grey-greens, found only by a dense scan).
NEIGHBOURHOOD = 8 / 255
NEIGHBOURS = 8


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


def _is_same_size(conv: nn.Conv2d) -> bool:
    """Stride 1, one group, odd kernel, padding that keeps the size: on a spatially constant
    input such a convolution (away from any border) is one matrix product with its taps summed."""
    shape = zip(conv.kernel_size, conv.padding, conv.dilation, strict=True)
    return (
        conv.stride == (1, 1)
        and conv.groups == 1
        and all(k % 2 == 1 and p == d * (k - 1) // 2 for k, p, d in shape)
    )


def _periodic_matrix(conv: nn.Conv2d, height: int, width: int, weight: torch.Tensor):
    """``conv`` (with ``weight``) on an input that repeats every ``height x width`` pixels, as
    one matrix from the ``C x height x width`` period in to the one out: the convolution of
    each basis image, padded circularly."""
    n = conv.in_channels * height * width
    basis = torch.eye(n, device=weight.device).view(n, conv.in_channels, height, width)
    pad_h, pad_w = conv.padding
    basis = F.pad(basis, (pad_w, pad_w, pad_h, pad_h), mode="circular")
    return F.conv2d(basis, weight, dilation=conv.dilation).flatten(1)


def _collapsed_forward(conv: nn.Conv2d):
    padded = conv.forward

    def forward(x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        if not _is_same_size(conv):
            return padded(x)
        constant = height * width == 1
        if not constant:
            spread = x.amax(dim=(2, 3)) - x.amin(dim=(2, 3))
            constant = float(spread.max()) <= CONSTANT_SPREAD
        wraps_once = conv.padding[0] <= height and conv.padding[1] <= width
        if not constant and (height * width > PERIOD_PIXELS or not wraps_once):
            return padded(x)
        low = torch.get_autocast_dtype(x.device.type)
        autocast = torch.is_autocast_enabled(x.device.type)
        # Under autocast, as the low-precision kernels do: inputs and each tap rounded to the
        # low precision, products summed in float32, the output rounded once.
        weight = conv.weight.to(low).float() if autocast else conv.weight
        bias = conv.bias
        if autocast and bias is not None:
            bias = bias.to(low).float()
        with torch.autocast(x.device.type, enabled=False):
            values = x[..., :1, :1] if constant else x
            values = values.flatten(1).to(low if autocast else weight.dtype).to(weight.dtype)
            if constant:
                out = F.linear(values, weight.sum(dim=(2, 3)), bias)[:, :, None, None]
                out = out.expand(-1, -1, height, width)
            else:
                out = values @ _periodic_matrix(conv, height, width, weight)
                out = out.view(len(x), conv.out_channels, height, width)
                if bias is not None:
                    out = out + bias[:, None, None]
        return (out.to(low) if autocast else out).contiguous()

    return forward


@contextmanager
def collapsed(model: nn.Module) -> Iterator[nn.Module]:
    """:func:`endless`, and each convolution whose input is spatially constant computed on one
    pixel with its taps summed, and one whose input repeats every few pixels (after the
    upsampler: ``scale x scale``) as one matrix product over the period: an endless flat image
    costs one pixel until the upsampler, tens of times less work than :data:`FLAT_SIZE`.
    Float32 agrees with :func:`endless` to 1e-3 levels; under autocast it emulates the
    low-precision kernels (within about half a level of them on this CPU's), so what it finds
    is checked with them."""
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    for conv in convs:
        conv.forward = _collapsed_forward(conv)
    try:
        with endless(model):
            yield model
    finally:
        for conv in convs:
            del conv.forward  # the class's forward again


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


class FlatColours:
    """Each training step's flat colours: ``n`` colours, of which ``hard`` are (jittered) colours
    the model is furthest off, found again every ``every`` steps among ``pool`` fresh random
    colours, the last hard ones and their neighbours, and ``seeds`` (e.g. the colours a
    ``flat_scan.py`` found off); the rest are fresh random colours."""

    def __init__(
        self,
        n: int,
        hard: int = 0,
        pool: int = MINING_POOL,
        every: int = MINING_EVERY,
        seeds: torch.Tensor | None = None,
    ):
        if not 0 <= hard <= n:
            raise ValueError(f"hard colours ({hard}) must be between 0 and all of them ({n})")
        self.n, self.hard, self.pool, self.every = n, hard, pool, every
        self.seeds = torch.empty(0, 3) if seeds is None else seeds.float().cpu()
        self.hardest = torch.empty(0, 3)
        self.steps_since = every  # mine at the first step

    def sample(self, model: nn.Module, generator: torch.Generator) -> torch.Tensor:
        """The next step's ``n x 3`` colours in [0, 1], on the CPU."""
        fresh = random_colours(self.n - self.hard, generator)
        if not self.hard:
            return fresh
        if self.steps_since >= self.every:
            around = self.hardest.repeat_interleave(NEIGHBOURS, dim=0)
            offsets = (torch.rand(around.shape, generator=generator) * 2 - 1) * NEIGHBOURHOOD
            candidates = torch.cat(
                [
                    self.hardest,
                    (around + offsets).clamp(0, 1),
                    self.seeds,
                    random_colours(self.pool, generator),
                ]
            )
            errors = flat_errors(model, candidates, rounded=False, collapse=True)
            self.hardest = candidates[errors.topk(self.hard).indices]
            self.steps_since = 0
        self.steps_since += 1
        jitter = (torch.rand(self.hard, 3, generator=generator) * 2 - 1) * MINING_JITTER
        return torch.cat([fresh, (self.hardest + jitter).clamp(0, 1)])


def load_flat_seeds(path) -> torch.Tensor:
    """The colours (``N x 3`` in [0, 1]) of a ``flat_scan.py`` file."""
    try:
        colours = torch.load(path, weights_only=True)["colours"]
    except Exception as error:  # any unreadable file: say which, and why
        raise ValueError(f"{path} is not a flat_scan.py colour file: {error}") from error
    return colours.float().reshape(-1, 3) / 255


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
def flat_errors(
    model: nn.Module,
    colours: torch.Tensor,
    dtype=None,
    rounded: bool = True,
    batch: int = 4096,
    collapse: bool = False,
) -> torch.Tensor:
    """Each colour's largest error in 8-bit levels (after rounding to 8 bits, or before with
    ``rounded=False``) at any output pixel of ``model`` on an endless flat image of it; ``dtype``
    (e.g. ``torch.bfloat16``) runs the model under autocast as the user path does; ``collapse``
    computes it with :func:`collapsed` (scans, mining) instead of the model's own kernels."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    errors = []
    try:
        for chunk in colours.split(batch):
            chunk = chunk.to(device)
            autocast = torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)
            size = 1 if collapse else FLAT_SIZE
            with (collapsed if collapse else endless)(model), autocast:
                sr = model(flat_images(chunk, size)).float().clamp(0, 1) * 255
            target = chunk * 255
            if rounded:
                sr, target = sr.round(), target.round()
            errors.append((sr - target[:, :, None, None]).abs().amax(dim=(1, 2, 3)).cpu())
    finally:
        model.train(was_training)
    return torch.cat(errors)


def worst_flat_error(model: nn.Module, colours: torch.Tensor | None = None, dtype=None):
    """The largest of :func:`flat_errors` (default colours: :func:`colour_grid`) and the colour
    (0-255) where it is."""
    colours = colour_grid() if colours is None else colours
    errors = flat_errors(model, colours, dtype)
    worst = int(errors.argmax())
    return float(errors[worst]), tuple(int(v) for v in (colours[worst] * 255).round())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=sorted(bundled_models()))
    parser.add_argument(
        "--random", type=int, default=4096, help="colours drawn as training draws them (0: none)"
    )
    parser.add_argument("--uniform", type=int, default=0, help="colours uniform in the cube")
    parser.add_argument("--seed", type=int, default=12345, help="of the random and uniform draws")
    args = parser.parse_args(argv)
    samples = {"343 grid colours": colour_grid()}
    generator = torch.Generator().manual_seed(args.seed)
    if args.random:
        samples[f"{args.random} random colours"] = random_colours(args.random, generator)
    if args.uniform:
        uniform = torch.rand(args.uniform, 3, generator=generator)
        samples[f"{args.uniform} uniform colours"] = uniform
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
