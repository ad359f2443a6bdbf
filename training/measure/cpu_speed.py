"""How close each bundled model runs to this CPU's limit, in float32 and in the default precision.

    python training/measure/cpu_speed.py                    # every bundled model, 256x256 LR input
    python training/measure/cpu_speed.py --models abpn-x3 edsr-x3 --size 256 --repeats 5

One run measures, on the same machine and load:

1. the matmul peaks of float32 and bf16 (the best of a few square sizes), in GFLOP/s;
2. per bundled model, its GFLOPs on one ``size x size`` LR image (torch's FlopCounterMode,
   which counts a multiply-add as 2 FLOPs), the seconds of the forward pass alone and of
   ``upscale()`` end to end (uint8 in, uint8 out), in float32 and in the precision
   ``upscale()`` picks by default here (:func:`hubsr.pipeline.resolve_amp_dtype`), and
   ``before``: the float32 forward in the NCHW layout that hubsr used before channels_last;
3. the achieved TFLOP/s of each forward pass and its fraction of the peak of the same precision.

Prints a table and writes ``model_cards/results/speed/cpu_speed-<machine>.json``. Times are medians.
Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from hubsr import HubSR
from hubsr.atomic import write_bytes_atomic
from hubsr.bundled import bundled_models
from hubsr.pipeline import resolve_amp_dtype
from hubsr.precision import cpu_bf16_speedup, cpu_bf16_units, precision_name

# Beside the other published results, which the cards and the README cite.
RESULTS = Path(__file__).resolve().parents[2] / "model_cards" / "results" / "speed"
CPU = torch.device("cpu")


def median_seconds(fn, repeats: int) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_peak(dtype: torch.dtype, repeats: int) -> float:
    """The best GFLOP/s of square matmuls of a few sizes in ``dtype``."""
    best = 0.0
    for n in (1024, 2048, 3072):
        a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
        seconds = median_seconds(lambda a=a, b=b: torch.mm(a, b), repeats)
        best = max(best, 2 * n**3 / seconds / 1e9)
    return best


def forward_flops(model, x: torch.Tensor) -> int:
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops()


def forward_seconds(model, x: torch.Tensor, amp_dtype, repeats: int) -> float:
    enabled = amp_dtype is not None

    def run():
        with torch.inference_mode(), torch.autocast("cpu", dtype=amp_dtype, enabled=enabled):
            model(x)

    return median_seconds(run, repeats)


def measure_model(name: str, size: int, repeats: int, peaks: dict[str, float]) -> dict:
    model = HubSR.from_pretrained(name).eval()
    lr = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    x = torch.from_numpy(lr).permute(2, 0, 1)[None].float() / 255
    default = resolve_amp_dtype(None, CPU, model)
    gflops = forward_flops(model, x) / 1e9
    row = {
        "model": name,
        "params": sum(p.numel() for p in model.parameters()),
        "gflops": gflops,
        "default_precision": precision_name(default),
        # The NCHW float32 forward: what hubsr ran before it moved to channels_last.
        "before_forward_s": forward_seconds(model, x, None, repeats),
    }
    model = model.to(memory_format=torch.channels_last)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    for label, amp in (("fp32", None), ("default", default)):
        forward = forward_seconds(model, x_cl, amp, repeats)
        dtype = amp or "float32"
        end_to_end = median_seconds(lambda d=dtype: model.upscale(lr, dtype=d), repeats)
        peak = peaks["bf16" if amp is torch.bfloat16 else "fp32"]
        row[f"{label}_forward_s"] = forward
        row[f"{label}_upscale_s"] = end_to_end
        row[f"{label}_tflops"] = gflops / forward / 1e3
        row[f"{label}_peak_fraction"] = gflops / forward / peak
    return row


def format_table(rows: list[dict], peaks: dict[str, float]) -> str:
    lines = [
        f"matmul peak: fp32 {peaks['fp32']:.0f} GFLOP/s, bf16 {peaks['bf16']:.0f} GFLOP/s",
        "",
        "| model | GFLOPs | default | before fwd (fp32 NCHW) | fp32 fwd | fp32 upscale | "
        "default fwd | default upscale | default TFLOP/s | % of peak | upscale / fwd |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['gflops']:.1f} | {r['default_precision']} | "
            f"{r['before_forward_s']:.3f} s | {r['fp32_forward_s']:.3f} s | "
            f"{r['fp32_upscale_s']:.3f} s | {r['default_forward_s']:.3f} s | "
            f"{r['default_upscale_s']:.3f} s | {r['default_tflops']:.2f} | "
            f"{100 * r['default_peak_fraction']:.0f}% | "
            f"{r['default_upscale_s'] / r['default_forward_s']:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", help="bundled model names (default: all)")
    parser.add_argument("--size", type=int, default=256, help="LR side in pixels (default 256)")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per figure")
    parser.add_argument(
        "--json", type=Path, help="output JSON (default: model_cards/results/speed/)"
    )
    args = parser.parse_args(argv)
    names = args.models or list(bundled_models())
    peaks = {"fp32": matmul_peak(torch.float32, 3), "bf16": matmul_peak(torch.bfloat16, 3)}
    rows = [measure_model(name, args.size, args.repeats, peaks) for name in names]
    print(format_table(rows, peaks))
    document = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "cpu": cpu_name(),
            "cpu_bf16_units": cpu_bf16_units(),
            "cpu_bf16_speedup": cpu_bf16_speedup(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
        },
        "lr_size": args.size,
        "matmul_peak_gflops": peaks,
        "models": rows,
    }
    path = args.json or RESULTS / f"cpu_speed-{_slug(cpu_name())}.json"
    write_bytes_atomic(path, (json.dumps(document, indent=2) + "\n").encode())
    print(f"wrote {path}")
    return 0


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


if __name__ == "__main__":
    sys.exit(main())
