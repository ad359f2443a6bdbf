"""Images per second of the training step: the data pipeline alone vs the whole step.

    python training/bench_throughput.py --arch abpn --batch 16 --patch 24

Runs on CUDA when available (bf16 autocast, fused AdamW), else CPU. The full step is train.py's:
draw (and rank, with --detail-oversample), forward, L1, backward, gradient clipping, Muon and
AdamW (or AdamW alone), EMA. Prints one line per measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from timm.utils import ModelEmaV3

sys.path.insert(0, str(Path(__file__).resolve().parent))

import hubsr  # noqa: E402

from data import (  # noqa: E402
    PairSampler,
    build_dataset,
    keep_detailed,
    make_pyramid,
    to_rgb_uint8,
)
from train import Settings, make_optimizers  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def timed(fn, steps: int, device: torch.device) -> float:
    """Seconds per call of ``fn`` after two warm-up calls (synchronised on CUDA)."""
    for _ in range(2):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="abpn")
    parser.add_argument("--model-args", default='{"channels": 64, "num_convs": 7}')
    parser.add_argument("--scale", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--patch", type=int, default=24)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--train-dirs", default="data/T91,data/BSDS200")
    parser.add_argument(
        "--channels-last", action=argparse.BooleanOptionalAction, default=True, help="as train.py"
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile, as train.py")
    parser.add_argument("--optimizer", default=Settings.optimizer, help="as train.py")
    parser.add_argument(
        "--detail-oversample", type=int, default=Settings.detail_oversample, help="as train.py"
    )
    args = parser.parse_args()

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.benchmark = True  # as train.py
    dataset = build_dataset(
        [REPO / d for d in args.train_dirs.split(",")], REPO / ".cache/datasets"
    )
    images = [to_rgb_uint8(row["image"]) for row in dataset]
    pyramid = make_pyramid(images, args.scale, (1.0,), workers=min(8, os.cpu_count() or 1))
    sampler = PairSampler(pyramid, args.scale, args.patch, device=device)
    generator = torch.Generator().manual_seed(0)
    model = hubsr.get_architecture(args.arch)(**json.loads(args.model_args), scale=args.scale)
    model = model.to(device).train()
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    settings = Settings(optimizer=args.optimizer, lr=1e-4)
    optimizers = make_optimizers(model, settings, fused=device.type == "cuda")
    ema = ModelEmaV3(model, decay=0.999)
    forward = torch.compile(model) if args.compile else model
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")

    def draw():
        lr, hr = sampler.sample(args.batch * args.detail_oversample, generator)
        if args.detail_oversample > 1:
            lr, hr = keep_detailed(lr, hr, args.batch)
        return lr, hr

    def full_step():
        lr, hr = draw()
        with autocast:
            sr = forward(lr)
        loss = F.l1_loss(sr.float(), hr)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        for optimizer in optimizers:
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        ema.update(model)

    name = (
        torch.cuda.get_device_name() if device.type == "cuda" else f"cpu x{torch.get_num_threads()}"
    )
    params = sum(p.numel() for p in model.parameters())
    print(f"device: {name}, torch {torch.__version__}, {args.arch} {params:,} params")
    layout = "channels_last" if args.channels_last else "NCHW"
    print(f"batch {args.batch} x LR {args.patch}px (HR {args.patch * args.scale}px), {layout}")
    print("compile: yes (the first steps compile)" if args.compile else "compile: no")
    print(f"optimizer: {args.optimizer}, detail oversampling x{args.detail_oversample}")
    for label, fn in (("data pipeline alone", draw), ("full training step", full_step)):
        seconds = timed(fn, args.steps, device)
        print(f"{label:>20}: {args.batch / seconds:9.1f} patches/s  ({seconds * 1e3:7.1f} ms/step)")


if __name__ == "__main__":
    main()
