"""Regenerate every published result from the bundled models: JSON, cards, figures, README table.

For every bundled model folder in model_cards/ (a folder with config.json and model.safetensors)
plus bicubic, at each scale the bundled models have:

1. ``hubsr benchmark`` on Set5, Set14 and BSD100 in float32 -> results/benchmark.json (x3;
   benchmark-x2.json for x2 and so on), again with x8 TTA (bundled models only, not the
   reproduced baselines of ``NO_TTA``; TTA does not change bicubic) -> benchmark-tta.json, and
   again in the precision ``upscale`` picks by default on this machine (``--dtype auto``: bf16
   on a CPU with bf16 units) -> benchmark-auto.json;
2. each folder's README.md (``hubsr card``), with the default precision's PSNR and speed, the
   ONNX speed ratio of results/onnx_speed.json (``python training/measure/onnx_speed.py``) and the
   published references of ``published.py``, which also go to results/published.json (read by
   ``hubsr report``);
3. results/psnr_vs_time.png (Set14 PSNR against CPU seconds per image, float32, a panel a
   scale);
4. results/comparison.png: the same 80x80 HR crops of Set14 baboon, comic, zebra and ppt3,
   enlarged 3x with nearest neighbour, for HR, bicubic and each x3 model, with whole-image
   PSNR;
5. the results section of the repository README.md, between ``<!-- results:start -->`` and
   ``<!-- results:end -->`` (the markers are added if README.md has none): one table a scale.

Run from anywhere: ``python training/release/generate.py`` (``--skip-benchmark`` reuses the JSON;
``--models abpn-x3`` re-measures only that model and keeps the others' results; with
``--keep-times`` too, its rows keep the times, precision and machine they record and only
their quality is measured again: for new weights of the same network, e.g. a fine-tune).
Timings depend on the machine and its load: run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from hubsr.atomic import write_bytes_atomic
from hubsr.benchmark import PROTOCOL_BORDER, load_benchmark_model, plot_psnr_vs_time
from hubsr.bundled import PHOTO_MODELS, bundled_models, bundled_scale
from hubsr.cards import load_benchmark_json, write_card
from hubsr.cards.measured import row_precision
from hubsr.cli import main as hubsr_main
from hubsr.imageio import save_image_atomic
from hubsr.protocol import make_lr, modcrop, score
from hubsr.testsets import BENCHMARK_SETS, dataset_dir, load_rgb

from published import PUBLISHED, published_json  # a sibling: a script's folder is importable
from readme_table import render_readme_section, replace_readme_section

REPO = Path(__file__).resolve().parents[2]
CARDS = REPO / "model_cards"
RESULTS = CARDS / "results"
README = REPO / "README.md"
EXPERIMENT_LOG = REPO / "training" / "ablations"
SCALE = 3  # the homework's scale: the plot, the comparison sheet and the first README table
KINDS = ("plain", "tta", "auto")


def results_json(scale: int, kind: str = "plain") -> Path:
    """results/benchmark[-x{scale}][-tta|-auto].json; x3 keeps the names it always had."""
    name = "benchmark" + ("" if scale == SCALE else f"-x{scale}")
    return RESULTS / (name + ("" if kind == "plain" else f"-{kind}") + ".json")


BENCHMARK_JSON = results_json(SCALE)
# onnxruntime against torch per model, from training/measure/onnx_speed.py (run apart: it exports).
ONNX_SPEED_JSON = RESULTS / "onnx_speed.json"
TTA_JSON = results_json(SCALE, "tta")
PUBLISHED_JSON = RESULTS / "published.json"

# Reproductions of published baselines: their papers report no self-ensemble, and x8 TTA of the
# networks that run at HR resolution (VDSR, SRCNN) would take most of this script's time. The
# photo models are measured on degraded inputs instead (training/release/photo.py).
NO_TTA = ("vdsr-x3", "srcnn-x3", "espcn-x3", *PHOTO_MODELS.values())

# The round of the experiment log (a folder of EXPERIMENT_LOG) that made each shipped model, which
# its card links to. abpn-x2 ran round 3's recipe at its scale (abpn-x4 too, before round FC); the
# other models the GPU made in one call (training/plans/gpu-15min.json) have no round.
ROUND_OF = {
    "abpn-x3": "KS-skip-distilled",
    "abpn-x2": "3-muon-detail",
    "abpn-x4": "FC-flat-colour",
    "edsr-x2": "SE-self-ensemble-x2-x4",
    # Round FC fine-tuned these to keep flat colour flat; their round links the earlier one.
    "edsr-x3": "FC-flat-colour",
    "edsr24-x3": "FC-flat-colour",
    "edsr-x4": "FC-flat-colour",
    "photo-x2": "FC-flat-colour",
    "photo-x3": "FC-flat-colour",
    "photo-x4": "FC-flat-colour",
    "espcn-x3": "FC-flat-colour",
    "srcnn-x3": "FC-flat-colour",
    "abpn-plain-x3": "FC-flat-colour",
}


def experiment_log_link(name: str) -> str | None:
    """The link from ``name``'s card (model_cards/NAME/README.md) to its round's README."""
    if name not in ROUND_OF:
        return None
    round_readme = EXPERIMENT_LOG / ROUND_OF[name] / "README.md"
    return Path(os.path.relpath(round_readme, CARDS / name)).as_posix()


# (Set14 image, left, top) of each 80x80 HR crop in the comparison sheet.
CROPS = (("baboon", 280, 0), ("comic", 90, 50), ("zebra", 230, 90), ("ppt3", 35, 240))
CROP, ZOOM = 80, 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-benchmark", action="store_true", help="reuse results/*.json")
    parser.add_argument(
        "--no-tta", action="store_true", help="skip the x8 TTA benchmark (its JSON is kept)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument(
        "--models",
        nargs="+",
        metavar="NAME",
        help="re-measure only these bundled models (e.g. one just retrained; 'bicubic': the x3 "
        "baseline); the others' results are kept from results/*.json",
    )
    parser.add_argument(
        "--keep-times",
        action="store_true",
        help="with --models: measure PSNR/SSIM again in each row's recorded precision and keep "
        "its time and machine (new weights of the same network run as fast as the old ones; "
        "this machine is recorded as the row's quality_environment)",
    )
    args = parser.parse_args(argv)
    if args.keep_times and not args.models:
        parser.error("--keep-times re-measures the rows of the models named by --models")

    models = bundled_models()
    names = list(models)
    unknown = sorted(set(args.models or []) - set(names) - {"bicubic"})
    if unknown:
        parser.error(f"not bundled model folders: {', '.join(unknown)} (bundled: {names})")
    if not names:
        print(f"no bundled model folders in {CARDS}; measuring bicubic only")
    scale_of = {n: bundled_scale(n) for n in models}
    scales = sorted(bundled_scales(), key=lambda s: (s != SCALE, s))
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.skip_benchmark:
        for scale in scales:
            asked = [n for n in (args.models or names) if n != "bicubic"]
            chosen = [n for n in asked if scale_of[n] == scale]
            if args.models and not chosen and not (scale == SCALE and "bicubic" in args.models):
                continue
            # bicubic is the baseline of every table: measured with a full run, or when new.
            again = "bicubic" in (args.models or []) and scale == SCALE
            if not args.models or again or not _has_model(results_json(scale), "bicubic"):
                chosen = ["bicubic", *chosen]
            merge = bool(args.models) and results_json(scale).is_file()
            quiet, keep = args.quiet, args.keep_times
            measure(chosen, results_json(scale), scale, False, quiet, merge, keep_times=keep)
            auto = results_json(scale, "auto")
            for dtype, group in precision_groups(chosen, auto, keep):
                measure(group, auto, scale, False, quiet, merge, dtype, keep_times=keep)
            tta_names = [n for n in chosen if n in names and n not in NO_TTA]
            if tta_names and not args.no_tta:
                merge_tta = bool(args.models) and results_json(scale, "tta").is_file()
                tta = results_json(scale, "tta")
                measure(tta_names, tta, scale, True, quiet, merge_tta, keep_times=keep)

    jsons = {scale: _load_jsons(scale) for scale in scales}
    onnx_speed = ONNX_SPEED_JSON if ONNX_SPEED_JSON.is_file() else None
    print(f"wrote {write_bytes_atomic(PUBLISHED_JSON, published_json().encode())}")
    for name, folder in models.items():
        plain, tta, fast = jsons[scale_of[name]]
        degraded = RESULTS / f"degraded-x{scale_of[name]}.json"  # from training/release/photo.py
        card = write_card(
            folder,
            plain,
            tta,
            fast_benchmark=fast,
            onnx_speed=onnx_speed,
            published=PUBLISHED,
            degraded=degraded if degraded.is_file() else None,
            experiment_log=experiment_log_link(name),
        )
        print(f"wrote {card}")
    x3 = [n for n in names if scale_of[n] == SCALE]
    every_scale = [row for scale in sorted(scales) for row in jsons[scale][0]["results"]]
    print(f"wrote {plot_psnr_vs_time(every_scale, RESULTS / 'psnr_vs_time.png')}")
    print(f"wrote {comparison_sheet(['bicubic', *x3], RESULTS / 'comparison.png')}")
    update_readme(readme_results(scales))
    return 0


def readme_results(scales: list[int]) -> str:
    """The README's results section from results/*.json: the x3 table first, then the others."""
    others = [_load_jsons(scale) for scale in sorted(scales) if scale != SCALE]
    return render_readme_section(*_load_jsons(SCALE), other_scales=others)


def bundled_scales() -> list[int]:
    """The scales of the bundled models, x3 always among them."""
    return sorted({bundled_scale(n) for n in bundled_models()} | {SCALE})


def _has_model(path: Path, model: str) -> bool:
    return path.is_file() and any(r["model"] == model for r in load_benchmark_json(path)["results"])


def _load_jsons(scale: int) -> tuple[dict, dict | None, dict | None]:
    """The plain, TTA and default-precision benchmark JSON of one scale (None where absent)."""
    plain, tta, fast = (results_json(scale, kind) for kind in KINDS)
    return (
        load_benchmark_json(plain),
        load_benchmark_json(tta) if tta.is_file() else None,
        load_benchmark_json(fast) if fast.is_file() else None,
    )


def precision_groups(names: list[str], json_path: Path, keep_times: bool):
    """``(dtype, names)`` for the default-precision JSON: ``auto`` for all, or with
    ``keep_times`` each model in the precision its rows there record (bf16 where the machine
    that timed them had bf16 units), so that a row's quality and time share one precision."""
    if not keep_times or not json_path.is_file():
        return [("auto", names)]
    recorded = {r["model"]: row_precision(r) for r in load_benchmark_json(json_path)["results"]}
    groups: dict[str, list[str]] = {}
    for name in names:
        dtype = "bf16" if recorded.get(name) == "bfloat16" else "fp32"
        groups.setdefault(dtype, []).append(name)
    return list(groups.items())


def measure(
    names: list[str],
    json_path: Path,
    scale: int,
    tta: bool,
    quiet: bool,
    merge: bool,
    dtype: str = "fp32",
    keep_times: bool = False,
) -> None:
    """``hubsr benchmark`` of ``names`` into ``json_path``; with ``merge``, only their rows of an
    existing JSON are replaced (in place, so tables keep their order) and the rest are kept;
    with ``keep_times`` too, the replaced rows' times and machine stay (:func:`merge_results`)."""
    merge = merge and json_path.is_file()
    target = json_path.with_suffix(".partial.json") if merge else json_path
    command = ["benchmark", *[a for n in names for a in ("--model", n)]]
    command += ["--datasets", *BENCHMARK_SETS, "--scale", str(scale), "--json", str(target)]
    command += ["--dtype", dtype]
    command += ["--tta"] * tta + ["--quiet"] * quiet
    _check(hubsr_main(command))
    if merge:
        old, new = load_benchmark_json(json_path), load_benchmark_json(target)
        write_bytes_atomic(json_path, merge_results(old, new, keep_times).encode())
        target.unlink()


def merge_results(old: dict, new: dict, keep_times: bool = False) -> str:
    """``old`` with every row of the models in ``new`` replaced by ``new``'s rows; with
    ``keep_times``, each new row that replaces an old one keeps the old one's seconds (of the
    set and of each image) and ``environment`` (where they were timed), its own machine going
    to ``quality_environment``."""
    fresh = {(r["model"], r["dataset"]): r for r in new["results"]}
    if keep_times:
        previous = {(r["model"], r["dataset"]): r for r in old["results"]}
        fresh = {k: kept_times(r, previous[k]) if k in previous else r for k, r in fresh.items()}
    models = {r["model"] for r in new["results"]}
    rows = [fresh.get((r["model"], r["dataset"]), r) for r in old["results"]]
    rows = [r for r in rows if r["model"] not in models or (r["model"], r["dataset"]) in fresh]
    known = {(r["model"], r["dataset"]) for r in rows}
    rows += [r for r in new["results"] if (r["model"], r["dataset"]) not in known]
    return json.dumps({**old, "created": new["created"], "results": rows}, indent=2) + "\n"


def kept_times(row: dict, timed: dict) -> dict:
    """``row`` (quality measured now) with the times and the machine of ``timed``."""
    seconds = {i["name"]: i["seconds"] for i in timed.get("images", [])}
    images = [{**i, "seconds": seconds.get(i["name"], i["seconds"])} for i in row["images"]]
    return {
        **row,
        "seconds_per_image": timed["seconds_per_image"],
        "images": images,
        "environment": timed["environment"],
        "quality_environment": row["environment"],
    }


def _check(code: int) -> None:
    if code != 0:
        sys.exit(code)


def comparison_sheet(model_names: list[str], path: Path) -> Path:
    """One row per crop: HR, then each model's SR, each cell labelled with name and PSNR."""
    models = [load_benchmark_model(n, SCALE)[1] for n in model_names]
    rows = []
    for image, left, top in CROPS:
        hr = modcrop(load_rgb(dataset_dir("Set14") / f"{image}.png"), SCALE)
        lr = make_lr(hr, SCALE)
        cells = [(f"{image}: HR", hr)]
        for name, model in zip(model_names, models, strict=True):
            sr = model.upscale(lr, dtype="float32", border=PROTOCOL_BORDER)  # the cards' PSNR
            cells.append((f"{name}: {score(sr, hr, SCALE)['psnr']:.2f} dB", sr))
        rows.append((left, top, cells))
    return save_if_changed(crop_sheet(rows, CROP, ZOOM), path)


def crop_sheet(rows: list[tuple[int, int, list[tuple[str, np.ndarray]]]], crop: int, zoom: int):
    """A grid of ``crop x crop`` crops enlarged ``zoom`` times with nearest neighbour: each row
    is ``(left, top, [(label, image), ...])``, every image of a row cropped at the same place
    and labelled under its cell."""
    font = ImageFont.load_default(size=14)
    cell, label_h, pad = crop * zoom, 22, 6
    columns = max(len(cells) for *_, cells in rows)
    sheet = Image.new(
        "RGB", (columns * (cell + pad) + pad, len(rows) * (cell + label_h + pad) + pad), "white"
    )
    draw = ImageDraw.Draw(sheet)
    for row, (left, top, cells) in enumerate(rows):
        y = pad + row * (cell + label_h + pad)
        for col, (text, img) in enumerate(cells):
            x = pad + col * (cell + pad)
            part = Image.fromarray(np.ascontiguousarray(img[top : top + crop, left : left + crop]))
            sheet.paste(part.resize((cell, cell), Image.Resampling.NEAREST), (x, y))
            draw.text((x + 2, y + cell + 3), text, fill="black", font=font)
    return sheet


def save_if_changed(image: Image.Image, path: Path) -> Path:
    """Write ``image`` to ``path`` unless the file there has the same pixels already: a figure
    that did not change leaves the file (and git's history) alone."""
    if path.is_file() and np.array_equal(np.asarray(Image.open(path)), np.asarray(image)):
        return path
    return save_image_atomic(image, path)


def update_readme(section: str) -> None:
    if not README.is_file():
        print(f"{README} does not exist; the results section was not written:\n{section}")
        return
    text = README.read_text()
    updated = replace_readme_section(text, section)
    if updated != text:
        write_bytes_atomic(README, updated.encode())
        print(f"wrote the results section of {README}")
    else:
        print(f"{README} results section is up to date")


if __name__ == "__main__":
    sys.exit(main())
