"""Make a deeper EDSR from a trained one, as a warm start that begins as the trained model.

New residual blocks are spread evenly between the trained ones. Each new block's second
convolution is zero, so the block is the identity (``x + 0``) and the deeper network computes
exactly what the trained one does; training then grows the new blocks from there (their first
convolution keeps its random initialisation, so the zeroed one still gets gradients). This is
Net2Net's "deeper" operator for residual networks (Chen, Goodfellow, Shlens, ICLR 2016).

    python training/deepen.py model_cards/edsr-x3 --blocks 24 --output runs/edsr24-x3-init
    python training/train.py --arch edsr --model-args '{"num_blocks": 24}' \
        --init-from runs/edsr24-x3-init ...
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import hubsr
from hubsr.atomic import atomic_folder
from hubsr.models.edsr import EDSR


def placement(trained: int, total: int) -> list[int | None]:
    """For each block of the deeper body, the trained block it copies, or None for a new one;
    the trained blocks keep their order and the new ones are spread evenly between them."""
    if total < trained:
        raise ValueError(f"--blocks {total} is fewer than the model's {trained} blocks")
    new = total - trained
    slots: list[int | None] = []
    inserted = 0
    for index in range(trained):
        slots.append(index)
        due = (index + 1) * new // trained  # new blocks owed after this many trained ones
        slots.extend([None] * (due - inserted))
        inserted = due
    return slots


def deepen(model: EDSR, total: int, seed: int = 0) -> EDSR:
    """A new EDSR with ``total`` blocks that computes what ``model`` computes."""
    trained = len(model.body) - 1  # the body ends with one plain convolution
    arguments = {k: v for k, v in model.config.items() if k != "architecture"}
    with torch.random.fork_rng(devices=[]):  # the new blocks' draws leave the caller's RNG alone
        torch.manual_seed(seed)
        deeper = EDSR(**{**arguments, "num_blocks": total})
    state = deeper.state_dict()  # the new model's own tensors: zero_() below edits its weights
    source = model.state_dict()
    for name, tensor in source.items():
        if not name.startswith("body."):
            state[name] = tensor.clone()
    for new_index, old_index in enumerate(placement(trained, total)):
        prefix = f"body.{new_index}.body."
        if old_index is None:
            state[prefix + "2.weight"].zero_()
            state[prefix + "2.bias"].zero_()
            continue
        for leaf in ("0.weight", "0.bias", "2.weight", "2.bias"):
            state[prefix + leaf] = source[f"body.{old_index}.body.{leaf}"].clone()
    for leaf in ("weight", "bias"):
        state[f"body.{total}.{leaf}"] = source[f"body.{trained}.{leaf}"].clone()
    deeper.load_state_dict(state, strict=True)
    return deeper


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="trained EDSR folder (or bundled name)")
    parser.add_argument("--blocks", type=int, required=True, help="residual blocks of the result")
    parser.add_argument("--output", type=Path, required=True, help="folder to write")
    parser.add_argument("--seed", type=int, default=0, help="seed of the new first convolutions")
    args = parser.parse_args(argv)
    model = hubsr.HubSR.from_pretrained(args.model)
    if not isinstance(model, EDSR):
        raise SystemExit(f"{args.model} is a {type(model).__name__}, not an EDSR")
    try:
        deeper = deepen(model, args.blocks, args.seed)
    except ValueError as error:
        raise SystemExit(str(error)) from None
    deeper.eval()
    probe = torch.rand(1, model.in_channels, 24, 24, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        gap = (deeper(probe) - model.eval()(probe)).abs().max().item()
    with atomic_folder(args.output) as partial:  # a failed write leaves no half folder
        deeper.save_pretrained(partial)
    print(
        f"{args.output}: {args.blocks} blocks, {sum(p.numel() for p in deeper.parameters()):,} "
        f"parameters, max difference from {args.model} on a probe: {gap:.2e}"
    )


if __name__ == "__main__":
    main()
