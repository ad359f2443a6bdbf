"""Does inference on a GPU give the CPU's answer? Set14 x3 through ``model.upscale`` on the CPU
(float32), on CUDA in float32 and on CUDA with bf16 autocast, for bundled models.

    python training/measure/cuda_check.py --models edsr-x3 abpn-x3 --json cuda_check.json

Prints, per model and mode, the Set14 PSNR by the benchmark protocol, seconds per image, and how
far the uint8 outputs are from the CPU's (largest difference in grey levels, share of values that
differ). Needs a CUDA device; run it through the device tool.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from hubsr import HubSR
from hubsr.imageio import list_images
from hubsr.protocol import make_lr, modcrop, score
from hubsr.testsets import dataset_dir, load_rgb

MODES = {"cpu float32": ("cpu", "float32")}
CUDA_MODES = {"cuda float32": ("cuda", "float32"), "cuda bf16": ("cuda", "bfloat16")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["edsr-x3", "abpn-x3"])
    parser.add_argument("--dataset", default="Set14")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    modes = dict(MODES)
    if torch.cuda.is_available():
        modes.update(CUDA_MODES)
    else:
        print("no CUDA device: measuring the CPU only (a dry run of this script)")

    pairs = []
    for path in list_images(dataset_dir(args.dataset)):
        hr = modcrop(load_rgb(path), 3)
        pairs.append((path.stem, hr, make_lr(hr, 3)))
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    report = {"gpu": gpu, "torch": torch.__version__, "results": []}
    for name in args.models:
        model = HubSR.from_pretrained(name)  # a bundled name or a folder
        outputs = {}
        for mode, (device, dtype) in modes.items():
            model.upscale(pairs[0][2], device=device, dtype=dtype)  # warm-up (CUDA init, cuDNN)
            start, psnrs, outputs[mode] = time.perf_counter(), [], []
            for _, hr, lr in pairs:
                sr = model.upscale(lr, device=device, dtype=dtype)
                outputs[mode].append(sr)
                psnrs.append(score(sr, hr, 3)["psnr"])
            seconds = (time.perf_counter() - start) / len(pairs)
            diffs = [
                np.abs(a.astype(int) - b.astype(int))
                for a, b in zip(outputs[mode], outputs["cpu float32"], strict=True)
            ]
            row = {
                "model": name,
                "mode": mode,
                "psnr": float(np.mean(psnrs)),
                "seconds_per_image": seconds,
                "max_abs_diff_vs_cpu": int(max(d.max() for d in diffs)),
                "share_differing_vs_cpu": float(
                    sum((d > 0).sum() for d in diffs) / sum(d.size for d in diffs)
                ),
            }
            report["results"].append(row)
            differing = row["share_differing_vs_cpu"]
            print(
                f"{name:<12} {mode:<13} {row['psnr']:.3f} dB  {seconds:.3f} s/img  "
                f"max diff {row['max_abs_diff_vs_cpu']}  differing {differing:.2%}",
                flush=True,
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
