"""The photo models' published results: degraded benchmarks, comparison sheets, README table.

For each scale that has a photo model (:data:`hubsr.bundled.PHOTO_MODELS`):

1. ``hubsr benchmark --degradation`` (every name of :mod:`hubsr.degradations`, float32) of
   bicubic, the scale's bicubic-trained default and its photo model, on Set5 and Set14 (and
   BSD100 at x3 for bicubic and the photo model, with the targets' degradations) ->
   ``model_cards/results/degraded-x{scale}.json``.
   Rows already there are kept (``--remeasure`` measures them again), so an interrupted run
   continues where it stopped;
2. ``model_cards/<photo model>/on_photos.png``: crops of Set14 images under JPEG 50, noise 10
   and the mixed recipe: HR, the degraded LR input, bicubic, the default and the photo model.
   A sheet whose pixels did not change is left alone (no new blob in git);
3. the README's table for picking a model, between ``<!-- photo:start -->`` and
   ``<!-- photo:end -->``: photo, default and fast model of each scale, with Set14 PSNR on
   clean and degraded inputs and the CPU time (from ``training/release/generate.py``'s JSON).

Run it after ``python training/release/generate.py --models photo-x2 photo-x3 photo-x4`` (which
measures the photo models on clean inputs), then ``python training/release/generate.py
--skip-benchmark`` writes the cards with their section "On photos". Run from anywhere.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from hubsr.atomic import write_bytes_atomic
from hubsr.benchmark import PROTOCOL_BORDER, benchmark, load_benchmark_model
from hubsr.bundled import DEFAULT_MODELS, PHOTO_MODELS, find_bundled_model
from hubsr.degradations import DEGRADATIONS, degrade
from hubsr.protocol import make_lr, modcrop, score
from hubsr.testsets import dataset_dir, load_rgb

from generate import crop_sheet, results_json, save_if_changed  # this script's folder

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "model_cards" / "results"
README = REPO / "README.md"
START, END = "<!-- photo:start -->", "<!-- photo:end -->"
README_SCALES = (3, 4, 2)  # the homework's scale first, then the one photo upscalers use most
FAST_MODELS = {2: "abpn-x2", 3: "abpn-x3", 4: "abpn-x4"}

# (Set14 image, left, top) of each 96x96 HR crop (a multiple of 2, 3 and 4), and what it gets.
SHEET_ROWS = (
    ("zebra", 230, 90, "jpeg50"),
    ("comic", 90, 50, "noise10"),
    ("baboon", 280, 0, "mixed"),
)
CROP, ZOOM = 96, 2


# The targets' degradations; BSD100 (100 images, x3 only) is measured on these to save time.
TARGETED = ("clean", "jpeg75", "jpeg50", "noise10", "mixed")


def sets_of(scale: int, model: str | None = None) -> list[str]:
    """Set5 and Set14; BSD100 too at x3 for bicubic and the photo model (the targets' gains
    are checked there; the bicubic-trained model's rows would double the script's time)."""
    bsd100 = scale == 3 and (model is None or model in ("bicubic", PHOTO_MODELS[3]))
    return ["Set5", "Set14", "BSD100"] if bsd100 else ["Set5", "Set14"]


def degradations_of(dataset: str) -> tuple[str, ...]:
    return TARGETED if dataset == "BSD100" else tuple(DEGRADATIONS)


def degraded_json(scale: int) -> Path:
    return RESULTS / f"degraded-x{scale}.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--remeasure", action="store_true", help="measure every row again")
    parser.add_argument("--skip-sheets", action="store_true", help="leave the pictures alone")
    args = parser.parse_args(argv)
    scales = [s for s, name in PHOTO_MODELS.items() if find_bundled_model(name) is not None]
    for scale in scales:
        models = ["bicubic", DEFAULT_MODELS[scale], PHOTO_MODELS[scale]]
        measure(models, scale, remeasure=args.remeasure)
        if not args.skip_sheets:
            sheet = find_bundled_model(PHOTO_MODELS[scale]) / "on_photos.png"
            print(f"{draw_sheet(models, scale, sheet)}")
    update_readme(readme_section([s for s in README_SCALES if s in scales]))
    return 0


def measure(models: list[str], scale: int, remeasure: bool = False, path: Path | None = None):
    """Every (model, set, degradation) row of ``degraded-x{scale}.json`` (or ``path``) that is
    missing, each written as soon as it is measured."""
    path = path or degraded_json(scale)
    document = {"scale": scale, "tta": False, "results": []}
    if path.is_file() and not remeasure:
        document = json.loads(path.read_text())
    done = {(r["model"], r["dataset"], r["degradation"]) for r in document["results"]}
    for name in models:
        model = load_benchmark_model(name, scale)[1]
        for dataset in sets_of(scale, name):
            for d in degradations_of(dataset):
                if (name, dataset, d) in done:
                    continue
                row = benchmark(model, dataset, scale, degradation=d, progress=False)
                document["results"].append({"model": name, "model_source": name, **row})
                write_bytes_atomic(path, (json.dumps(document, indent=2) + "\n").encode())
                print(f"{name} {dataset} x{scale} {d}: {row['psnr']:.2f} dB")
    return path


def draw_sheet(models: list[str], scale: int, path: Path) -> Path:
    """One row a crop: HR, the degraded LR input (enlarged), then each model's SR of it."""
    loaded = [load_benchmark_model(n, scale)[1] for n in models]
    rows = []
    for image, left, top, d in tqdm(SHEET_ROWS, desc=f"sheet x{scale}"):
        hr = modcrop(load_rgb(dataset_dir("Set14") / f"{image}.png"), scale)
        lr = degrade(make_lr(hr, scale), d, key=image)  # the benchmark's pixels
        input_view = np.kron(lr, np.ones((scale, scale, 1), np.uint8))  # nearest, HR-sized
        cells = [(f"{image}: HR", hr), (f"{d} input", input_view)]
        for name, model in zip(models, loaded, strict=True):
            sr = model.upscale(lr, dtype="float32", border=PROTOCOL_BORDER)  # the cards' PSNR
            cells.append((f"{name}: {score(sr, hr, scale)['psnr']:.2f} dB", sr))
        rows.append((left, top, cells))
    return save_if_changed(crop_sheet(rows, CROP, ZOOM), path)


def readme_section(scales: list[int]) -> str:
    """The README's table for picking a model: at each of ``scales``, the photo model, the
    bicubic-trained default, the fast model and bicubic, with Set14 PSNR on clean and degraded
    inputs (``degraded-x{scale}.json``) and the CPU time of the default precision on BSD100
    (``training/release/generate.py``'s JSON)."""
    shown = ("clean", "jpeg50", "noise10", "mixed")
    header = (
        "| Model | For | Set14 PSNR: clean | JPEG 50 | noise 10 | mixed | "
        "CPU s/img (BSD100, default precision) |"
    )
    lines = [header, "|---|---|---:|---:|---:|---:|---:|"]
    for scale in scales:
        degraded = json.loads(degraded_json(scale).read_text())["results"]
        fast = json.loads(results_json(scale, "auto").read_text())["results"]
        plain = json.loads(results_json(scale).read_text())["results"]
        for name, use in (
            (PHOTO_MODELS[scale], f"photos x{scale}: JPEG, noise (`--photo`)"),
            (DEFAULT_MODELS[scale], f"clean images x{scale}, the benchmark (default)"),
            (FAST_MODELS[scale], f"clean images x{scale}, fast"),
            ("bicubic", "the baseline"),
        ):
            psnr = {
                (r.get("degradation", "clean")): r["psnr"]
                for r in degraded + plain
                if r["model"] == name and r["dataset"] == "Set14" and not r["tta"]
            }
            cells = " | ".join(f"{psnr[d]:.2f}" if d in psnr else "—" for d in shown)
            timed = [r for r in fast if r["model"] == name and r["dataset"] == "BSD100"]
            seconds = f"{timed[0]['seconds_per_image']:.3f}" if timed else "—"
            label = f"`{name}`" if name == "bicubic" else f"[`{name}`](model_cards/{name})"
            lines.append(f"| {label} | {use} | {cells} | {seconds} |")
    return (
        "<!-- Generated by training/release/photo.py from model_cards/results/*.json. -->\n\n"
        + "\n".join(lines)
    )


def update_readme(section: str) -> None:
    text = README.read_text()
    if START not in text or END not in text:
        print(f"{README} has no {START} ... {END} markers; the photo table was not written")
        return
    head, rest = text.split(START, 1)
    updated = f"{head}{START}\n{section}\n{END}{rest.split(END, 1)[1]}"
    if updated != text:
        write_bytes_atomic(README, updated.encode())
        print(f"wrote the photo section of {README}")


if __name__ == "__main__":
    sys.exit(main())
