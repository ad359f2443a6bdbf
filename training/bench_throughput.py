"""Images per second of the training step: the data pipeline alone vs the whole step.

    python training/bench_throughput.py --arch abpn --batch 16 --patch 24

Runs on CUDA when available (fused AdamW), else CPU. The full step is train.py's: draw (and
rank, with --detail-oversample), forward, L1, backward, gradient clipping, Muon and AdamW (or
AdamW alone), EMA. The step is timed in float32 and under bf16 autocast (``--precision``), the
two choices of train.py's ``--mixed-precision``; bf16 pays on CUDA and on CPUs with bf16 units
(``hubsr.precision.cpu_bf16_units``). Prints one line per measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from timm.utils import ModelEmaV3

import hubsr
from hubsr.precision import cpu_precision_note

from data import (
    PairSampler,
    build_dataset,
    keep_detailed,
    make_pyramid,
    to_rgb_uint8,
)
from train import Settings, make_optimizers

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
    parser.add_argument(
        "--precision",
        nargs="+",
        choices=("fp32", "bf16"),
        default=["fp32", "bf16"],
        help="precisions of the full step to time (default: both)",
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

    def draw():
        lr, hr = sampler.sample(args.batch * args.detail_oversample, generator)
        if args.detail_oversample > 1:
            lr, hr = keep_detailed(args.batch, lr, hr)
        if args.channels_last:  # as train.py
            lr = lr.contiguous(memory_format=torch.channels_last)
        return lr, hr

    def make_step(bf16: bool):
        """train.py's step, on a fresh model, in float32 or under bf16 autocast."""
        model = hubsr.get_architecture(args.arch)(**json.loads(args.model_args), scale=args.scale)
        model = model.to(device).train()
        if args.channels_last:
            model = model.to(memory_format=torch.channels_last)
        settings = Settings(optimizer=args.optimizer, lr=1e-4)
        optimizers = make_optimizers(model, settings, fused=device.type == "cuda")
        ema = ModelEmaV3(model, decay=0.999)
        forward = torch.compile(model) if args.compile else model

        def full_step():
            lr, hr = draw()
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                sr = forward(lr)
            loss = F.l1_loss(sr.float(), hr)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            for optimizer in optimizers:
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            ema.update(model)

        return full_step, sum(p.numel() for p in model.parameters())

    name = (
        torch.cuda.get_device_name() if device.type == "cuda" else f"cpu x{torch.get_num_threads()}"
    )
    units = cpu_precision_note() if device.type == "cpu" else "cuda"
    print(f"device: {name}, torch {torch.__version__}, {units}")
    layout = "channels_last" if args.channels_last else "NCHW"
    print(f"{args.arch} {args.model_args}, batch {args.batch} x LR {args.patch}px, {layout}")
    print("compile: yes (the first steps compile)" if args.compile else "compile: no")
    print(f"optimizer: {args.optimizer}, detail oversampling x{args.detail_oversample}")
    steps = [("data pipeline alone", draw)]
    for precision in args.precision:
        step, params = make_step(precision == "bf16")
        steps.append((f"full step, {precision}", step))
    print(f"params: {params:,}")
    rates = {}
    for label, fn in steps:
        seconds = timed(fn, args.steps, device)
        rates[label] = args.batch / seconds
        print(f"{label:>20}: {rates[label]:9.1f} patches/s  ({seconds * 1e3:7.1f} ms/step)")
    if len(args.precision) == 2:
        ratio = rates["full step, bf16"] / rates["full step, fp32"]
        print(f"{'bf16 / fp32':>20}: {ratio:9.2f}x")


if __name__ == "__main__":
    main()
