"""Which of hubsr.collections_io's memory bounds keeps a collection's RSS flat: the files of
``collection_bench.py tree`` (crops of 48..96 px, 1,347 sizes in 2,000 files) upscaled one by
one in this process, as ``hubsr upscale`` does (read, upscale in the default precision, write),
with the RSS read after each file.

    python training/measure/collection_memory.py base       --count 160
    python training/measure/collection_memory.py trim       --count 160   # release_memory()
    python training/measure/collection_memory.py caches     --count 160   # bound_shape_caches()
    python training/measure/collection_memory.py caches+trim --count 160

A quicker, in-process look than ``collection_bench.py rss`` (the command itself, 2,000 files):
one variant per process, since the caches take their size at the first convolution and the
heap keeps its history. Prints ``file:N rss_mib:R`` every 20 files, then the peak of the
first and the last fifth. Timings depend on the load: say which machine and what else ran.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from hubsr import collections_io

TREE = Path("/tmp/hubsr-bench/tree")


def rss_mib() -> float:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variant", choices=("base", "trim", "caches", "caches+trim"))
    parser.add_argument("--count", type=int, default=160, help="the first COUNT files")
    parser.add_argument("--capacity", type=int, default=64, help="caches: entries each")
    parser.add_argument("--tree", type=Path, default=TREE, help="collection_bench.py tree's")
    parser.add_argument("--out", type=Path, default=Path("/tmp/hubsr-memory"))
    args = parser.parse_args()
    if "caches" in args.variant:  # before torch's first convolution: they read it then
        collections_io.bound_shape_caches(args.capacity)
    from hubsr.cli.upscale import load_model
    from hubsr.imageio import read_image, save_image_atomic
    from hubsr.pipeline import upscale
    from hubsr.precision import cpu_bf16_pays

    model, _ = load_model("abpn-x2", None, offline=True)
    cpu_bf16_pays()  # the command's precision probe runs before its first file too
    files = sorted(args.tree.rglob("img*"), key=lambda p: p.parts)[: args.count]
    out = args.out / args.variant
    out.mkdir(parents=True, exist_ok=True)
    start, samples = time.perf_counter(), []
    for i, path in enumerate(files, 1):
        result = upscale(model, read_image(path, max_pixels=None))
        save_image_atomic(result, out / f"{path.stem}.png", overwrite=True)
        if "trim" in args.variant:
            collections_io.release_memory()
        samples.append(rss_mib())
        if i % 20 == 0:
            print(f"file:{i} rss_mib:{samples[-1]:.1f} s:{time.perf_counter() - start:.0f}")
    fifth = max(1, len(samples) // 5)
    first, last = max(samples[:fifth]), max(samples[-fifth:])
    print(f"variant:{args.variant} files:{len(samples)} first{fifth}_peak_mib:{first:.1f}", end=" ")
    print(f"last{fifth}_peak_mib:{last:.1f} last_over_first:{last / first:.3f}")


if __name__ == "__main__":
    main()
