"""How long a run trained before its model first reached a PSNR: measured afterwards, on the EMA
snapshots that ``train.py --snapshot-every`` saved, by the benchmark protocol.

    python training/time_to_psnr.py runs/vdsr-x3 --dataset Set14 --threshold 29.77

A test set may be used here because nothing is selected on it: the run has already ended and kept
its best-on-Set5 model; this only reads the clock at which quality first passed a published bar.
Writes ``<run>/time_to_psnr.json`` and prints one line per snapshot.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file

import hubsr
from hubsr.benchmark import benchmark


def snapshot_times(path: Path) -> tuple[float, int]:
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    return float(meta["elapsed_s"]), int(meta["step"])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a train.py output folder with snapshots/")
    parser.add_argument("--dataset", default="Set14", help="set name or folder (default: Set14)")
    parser.add_argument("--threshold", type=float, required=True, help="PSNR to reach, in dB")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--stop-after-pass",
        type=int,
        default=2,
        help="snapshots measured after the first that passes (0: measure all; default: 2)",
    )
    args = parser.parse_args(argv)

    # (elapsed seconds, step, path), in training-time order
    snapshots = sorted(
        (*snapshot_times(path), path) for path in (args.run / "snapshots").glob("*.safetensors")
    )
    if not snapshots:
        raise SystemExit(f"{args.run}/snapshots holds no snapshots: train with --snapshot-every")
    model = hubsr.HubSR.from_pretrained(args.run / "best", map_location=args.device).eval()
    rows, first_pass, after = [], None, 0
    for elapsed, step, path in snapshots:
        model.load_state_dict(load_file(str(path), device=args.device))
        result = benchmark(model, args.dataset, model.scale, progress=False)
        row = {"file": path.name, "elapsed_s": elapsed, "step": step}
        rows.append(row | {"psnr": result["psnr"], "ssim": result["ssim"]})
        print(f"{elapsed:8.1f} s  step {step:7d}  {result['psnr']:.3f} dB", flush=True)
        if first_pass is None and result["psnr"] >= args.threshold:
            first_pass = rows[-1]
        elif first_pass is not None:
            after += 1
            if args.stop_after_pass and after >= args.stop_after_pass:
                break
    report = {
        "dataset": result["protocol"]["dataset"],
        "threshold_db": args.threshold,
        "first_pass": first_pass,
        "snapshots": rows,
        "device": str(args.device),
        "note": "elapsed_s is the training loop's own clock (evaluation and saving excluded)",
    }
    (args.run / "time_to_psnr.json").write_text(json.dumps(report, indent=2))
    if first_pass:
        print(f"first pass of {args.threshold} dB: {first_pass['elapsed_s']:.1f} s of training")
    else:
        print(f"no snapshot reached {args.threshold} dB", file=sys.stderr)
    return report


if __name__ == "__main__":
    main()
