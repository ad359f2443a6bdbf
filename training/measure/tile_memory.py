"""Tiled upscaling keeps memory flat: peak RSS, buffer sizes and time of a x3 upscale on the CPU.

For each ``--sizes`` entry a fresh child process (so ``ru_maxrss`` is its own) upscales a
synthetic ``WxH`` RGB image x3 with ``--tile`` and prints its peak RSS next to the sizes of the
uint8 input and output buffers. The working set (peak minus the RSS before the call minus the
output buffer) should not grow with the image. Then the parent checks the tile seams: the max
absolute difference, in grey levels, between tiled and untiled output on a 768x768 image.

Allocator note: glibc raises its mmap threshold as large blocks are freed, after which freed tile
tensors stay in the heap; the peak then varies by up to ~300 MB from run to run, more with more
tiles. ``MALLOC_MMAP_THRESHOLD_=1048576`` (inherited by the children) fixes the threshold and
shows the pipeline's own working set.

The model is the bundled ``span-x3`` if present, else SPAN's default config with a seeded random
init (random weights cost the same time and memory as trained ones).

Run: ``nice -n 19 python training/measure/tile_memory.py [--sizes 1000x750,4000x3000] [--tile 256]``
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

import numpy as np
import torch

from hubsr import HubSR, get_architecture
from hubsr.bundled import DEFAULT_MODEL, bundled_models
from hubsr.pipeline import upscale

MB = 1024 * 1024


def load_model():
    if DEFAULT_MODEL in bundled_models():
        return HubSR.from_pretrained(DEFAULT_MODEL), DEFAULT_MODEL
    torch.manual_seed(0)
    return get_architecture("span")(scale=3).eval(), "span (default config, random init)"


def test_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth colour waves plus noise: structure for the model, no compression tricks.

    Made 64 rows at a time, so that no full-size float temporary raises the peak RSS.
    """
    rng = np.random.default_rng(seed)
    img = np.empty((height, width, 3), dtype=np.uint8)
    xx = np.arange(width, dtype=np.float32)[None, :]
    for y0 in range(0, height, 64):
        yy = np.arange(y0, min(y0 + 64, height), dtype=np.float32)[:, None]
        for c in range(3):
            wave = 128 + 90 * np.sin(xx / 37 + c) * np.cos(yy / 23 - c)
            img[y0 : y0 + 64, :, c] = np.clip(wave + rng.normal(0, 20, wave.shape), 0, 255)
    return img


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / MB


def measure(size: str, tile: int, overlap: int) -> None:
    """Child process: one tiled upscale, one greppable result line."""
    width, height = (int(v) for v in size.split("x"))
    model, _ = load_model()
    img = test_image(height, width)
    rss_before, peak_before = current_rss_mb(), peak_rss_mb()
    start = time.perf_counter()
    out = upscale(model, img, tile=tile, tile_overlap=overlap)
    wall = time.perf_counter() - start
    peak = peak_rss_mb()
    working = peak - rss_before - out.nbytes / MB
    print(
        f"size:{width}x{height} out:{out.shape[1]}x{out.shape[0]} tile:{tile} "
        f"input_mb:{img.nbytes / MB:.1f} output_mb:{out.nbytes / MB:.1f} "
        f"rss_before_mb:{rss_before:.0f} peak_before_mb:{peak_before:.0f} "
        f"peak_rss_mb:{peak:.0f} working_set_mb:{working:.0f} "
        f"time:{wall:.1f}s mpix_per_s:{width * height / wall / 1e6:.3f}",
        flush=True,
    )


def seam_error(tile: int, overlap: int) -> None:
    model, _ = load_model()
    img = test_image(768, 768, seed=1)
    start = time.perf_counter()
    whole = upscale(model, img)
    tiled = upscale(model, img, tile=tile, tile_overlap=overlap)
    diff = np.abs(whole.astype(np.int16) - tiled.astype(np.int16))
    print(
        f"seams: 768x768 tile:{tile} overlap:{overlap} max_abs_diff:{diff.max()} "
        f"pixels_differing:{np.count_nonzero(diff)} of {diff.size} "
        f"time:{time.perf_counter() - start:.1f}s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000x750,4000x3000", help="comma-separated WxH")
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--tile-overlap", type=int, default=32)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child mode: measure one size
    parser.add_argument("--skip-seams", action="store_true", help="skip the 768x768 check")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.one:
        measure(args.one, args.tile, args.tile_overlap)
        return
    malloc = os.environ.get("MALLOC_MMAP_THRESHOLD_", "glibc default")
    print(
        f"model: {load_model()[1]}  threads: {args.threads}  torch {torch.__version__}  "
        f"MALLOC_MMAP_THRESHOLD_: {malloc}"
    )
    for size in args.sizes.split(","):
        child = [sys.executable, __file__, "--one", size, "--tile", str(args.tile)]
        child += ["--tile-overlap", str(args.tile_overlap), "--threads", str(args.threads)]
        subprocess.run(child, check=True)
    if not args.skip_seams:
        seam_error(args.tile, args.tile_overlap)


if __name__ == "__main__":
    main()
