"""A 12 MP camera photo through the default command: peak RSS and time, then the same under a
2 GB address-space limit (#47).

A 4000x3000 JPEG (Set14's ``baboon`` enlarged with Pillow's bicubic and saved at quality 90: a
photo's size and texture, not a photo) goes through ``hubsr upscale PHOTO -o OUT`` in a child
process, with no flags: the default x3 model, automatic tiling from the memory budget. The
child's peak RSS is its ``ru_maxrss``. The second run sets ``RLIMIT_AS`` to 2,000,000 KiB
(``ulimit -v 2000000``) and must end with one line, exit code 2 and no output file.

    nice -n 19 python training/measure/camera_photo.py --json model_cards/results/camera_photo.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from cpu_speed import cpu_name  # a sibling: a script's folder is importable

REPO = Path(__file__).resolve().parents[2]
LIMIT_KIB = 2_000_000


def make_photo(path: Path) -> None:
    source = Image.open(REPO / "data" / "Set14" / "baboon.png").convert("RGB")
    source.resize((4000, 3000), Image.BICUBIC).save(path, quality=90)


def run_child(args: list[str], limit_kib: int | None = None) -> dict:
    """One ``hubsr`` command in a child: its exit code, wall time, peak RSS and output."""

    def limit():
        if limit_kib is not None:
            resource.setrlimit(resource.RLIMIT_AS, (limit_kib * 1024, limit_kib * 1024))

    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "hubsr.cli", "upscale", *args],
        capture_output=True,
        text=True,
        preexec_fn=limit,
    )
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest child so far
    return {
        "exit_code": done.returncode,
        "seconds": round(seconds, 1),
        "peak_rss_children_mib": round(peak_kib / 1024),
        "stderr_last_lines": done.stderr.strip().splitlines()[-3:],
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--note", default="", help="what else ran meanwhile, for the record")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        photo = tmp / "IMG_0001.jpg"
        make_photo(photo)
        limited = run_child([str(photo), "-o", str(tmp / "limited")], limit_kib=LIMIT_KIB)
        limited["outputs"] = sorted(p.name for p in (tmp / "limited").glob("*"))
        whole = run_child([str(photo), "-o", str(tmp / "out")])
        whole["outputs"] = [p.name for p in (tmp / "out").glob("*")]
        with Image.open(tmp / "out" / whole["outputs"][0]) as out:
            whole["output_size"] = list(out.size)
    results = {
        "input": "4000x3000 JPEG (baboon enlarged, quality 90)",
        "command": "hubsr upscale IMG_0001.jpg -o out",
        "default": whole,
        f"ulimit -v {LIMIT_KIB}": limited,
        "machine": f"{cpu_name()}, {os.cpu_count()} cores",
        "note": args.note,
    }
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
