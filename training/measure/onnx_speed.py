"""onnxruntime against torch, float32, per bundled model: the ratio each model card reports.

    python training/measure/onnx_speed.py                       # every bundled model, Set14
    python training/measure/onnx_speed.py --models abpn-x3 --dataset Set5

Each model is exported with ``hubsr export`` (opset 18, float32) to a temporary file; then every
image of the set is upscaled by ``model.upscale(lr, dtype="float32")`` and by the ONNX file in
onnxruntime (as many threads as torch), one after the other, so that both see the same load.
Writes ``model_cards/results/onnx_speed.json`` (read by ``training/release/generate.py``): per model
the mean seconds per image of each path and ``onnx_over_torch``, onnxruntime's time as a
multiple of torch's (below 1: onnxruntime is faster), with the machine and set it was timed on;
``--models`` re-times those models and keeps the other rows as they were. Run it on an
otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from hubsr import HubSR
from hubsr.atomic import write_bytes_atomic
from hubsr.bundled import bundled_models
from hubsr.export import export_model
from hubsr.export.onnx import OnnxModel
from hubsr.imageio import list_images
from hubsr.protocol import make_lr, modcrop
from hubsr.testsets import dataset_dir, load_rgb

from cpu_speed import cpu_name  # a sibling: a script's folder is importable

REPO = Path(__file__).resolve().parents[2]
DEFAULT_JSON = REPO / "model_cards" / "results" / "onnx_speed.json"


def time_pair(name: str, model, onnx_model, lrs: list[np.ndarray]) -> tuple[float, float, int]:
    """Mean seconds per image of torch and of onnxruntime, alternating image by image, and the
    largest difference between their outputs in grey levels."""
    model.upscale(lrs[0][:16, :16], dtype="float32")  # first-call costs stay out of the timings
    onnx_model.upscale(lrs[0][:16, :16])
    torch_s, onnx_s, worst = [], [], 0
    for lr in tqdm(lrs, desc=name, leave=False, unit="img"):
        start = time.perf_counter()
        ours = model.upscale(lr, dtype="float32")
        torch_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        theirs = onnx_model.upscale(lr)
        onnx_s.append(time.perf_counter() - start)
        worst = max(worst, int(np.abs(ours.astype(int) - theirs.astype(int)).max()))
    return float(np.mean(torch_s)), float(np.mean(onnx_s)), worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", help="bundled model names (default: all)")
    parser.add_argument("--dataset", default="Set14", help="test set to time (default Set14)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="output JSON")
    args = parser.parse_args(argv)

    folders = bundled_models()
    names = args.models or list(folders)
    unknown = sorted(set(names) - set(folders))
    if unknown:
        parser.error(f"not bundled: {', '.join(unknown)} (bundled: {', '.join(folders)})")
    files = list_images(dataset_dir(args.dataset))
    machine = {
        "cpu": cpu_name(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "onnxruntime": version("onnxruntime"),
    }
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            model = HubSR.from_pretrained(folders[name])
            onnx_file = export_model(model, Path(tmp) / f"{name}.onnx", format="onnx")
            onnx_model = OnnxModel(onnx_file)
            lrs = [make_lr(modcrop(load_rgb(f), model.scale), model.scale) for f in files]
            torch_s, onnx_s, worst = time_pair(name, model, onnx_model, lrs)
            rows.append(
                {
                    "model": name,
                    "scale": model.scale,
                    "torch_float32_s": torch_s,
                    "onnxruntime_float32_s": onnx_s,
                    "onnx_over_torch": onnx_s / torch_s,
                    "max_grey_level_difference": worst,
                    "dataset": args.dataset,
                    "machine": machine,  # per row: a partial re-run keeps the others' machine
                }
            )
            print(
                f"{name}: torch {torch_s:.3f} s/img, onnxruntime {onnx_s:.3f} s/img "
                f"({onnx_s / torch_s:.2f}x torch's time), outputs within {worst} grey level(s)"
            )
    old = json.loads(args.json.read_text()) if args.json.is_file() else {}
    kept = [r for r in old.get("models", []) if r["model"] not in names]
    document = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "dataset": args.dataset,
        "machine": machine,
        "models": kept + rows,
    }
    write_bytes_atomic(args.json, (json.dumps(document, indent=2) + "\n").encode())
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
