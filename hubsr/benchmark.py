"""Benchmark a model on Set5 / Set14 / BSD100 by the protocol of :mod:`hubsr.protocol`.

For each HR image: crop it to a multiple of the scale, make its LR image with MATLAB bicubic
(or read it from ``lr_dir``), upscale the uint8 LR with ``model.upscale`` and the papers' zero
padding at the edge (:data:`PROTOCOL_BORDER`; timed, nothing else is), and score the uint8 SR
against the HR on Y with ``crop_border = scale``. The result is a plain dict, JSON-ready:
per-image PSNR/SSIM/seconds, their means, the parameter count and a protocol record with the
dataset checksum, so that a number can always be traced to what it measured.

Example::

    from hubsr import get_architecture
    from hubsr.benchmark import benchmark
    result = benchmark(get_architecture("bicubic")(scale=3), "Set5", 3)
    result["psnr"]  # 30.40
"""

from __future__ import annotations

import io
import os
import platform
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from .atomic import write_bytes_atomic
from .degradations import DEGRADATIONS, degrade
from .errors import HubSRError
from .imageio import list_images, save_image_atomic
from .pipeline import resolve_amp_dtype
from .precision import cpu_bf16_speedup, cpu_bf16_units, precision_name
from .protocol import PROTOCOL, make_lr, modcrop, score
from .testsets import dataset_checksum, dataset_dir, load_rgb

__all__ = [
    "PROTOCOL_BORDER",
    "benchmark",
    "count_params",
    "format_table",
    "load_benchmark_model",
    "match_lr_files",
    "plot_psnr_vs_time",
]

# The papers' protocol, with which every published number was measured: the model sees the LR
# image with its own zero padding, not the mirrored border that hubsr.pipeline.upscale adds for
# users (which keeps flat colour flat but moves PSNR by a few hundredths of a dB).
PROTOCOL_BORDER = 0

# Suffixes that LR files commonly add to the HR name ({s} is the scale), tried after the
# exact stem: EDSR "babyx3", "baby_x3", "baby_LR", BasicSR "baby_LRbicx3", SelfExSR "_SRF_3_LR".
_LR_SUFFIXES = (
    "x{s}",
    "_x{s}",
    "-x{s}",
    "_lr",
    "-lr",
    "_lr_x{s}",
    "_x{s}_lr",
    "x{s}_lr",
    "_lrbicx{s}",
    "_bicubic_x{s}",
    "_srf_{s}_lr",
)


def benchmark(
    model,
    dataset: str | os.PathLike,
    scale: int,
    *,
    tta: bool = False,
    tile: int | None = None,
    lr_dir: str | os.PathLike | None = None,
    save_dir: str | os.PathLike | None = None,
    progress: bool = True,
    data_dir: str | os.PathLike | None = None,
    dtype: str = "float32",
    degradation: str = "clean",
) -> dict:
    """Measure ``model`` on one test set at ``scale``; see the module docstring for the protocol.

    Args:
        model: a hubsr model (anything with ``scale`` and ``upscale(img, tile=, tta=)``).
        dataset: a set name (``"Set5"``, ``"Set14"``, ``"BSD100"``, or any folder under the
            data root) or a path to a folder of HR images.
        scale: the benchmark scale; a model with another scale is an error.
        tta: x8 self-ensemble.
        tile: upscale in LR tiles of this size (``None``: whole images).
        lr_dir: read LR images from this folder instead of making them; files are matched to
            HR images by name (``baby.png``, ``babyx3.png``, ``baby_x3.png``, ``baby_LR.png``
            ...); an LR file without HR, an HR image without LR, or an LR of the wrong size is
            an error.
        save_dir: if set, write each SR image there as ``<name>.png`` (atomic writes).
        progress: show a tqdm bar over images (stderr).
        data_dir: the data root (default ``$HUBSR_DATA_DIR`` or the repo's ``data/``).
        dtype: compute precision, as :func:`hubsr.pipeline.upscale` takes it. float32 by
            default, so that numbers compare with the published ones; ``"bfloat16"`` (or
            ``"auto"``, the upscale default) measures the fast path.
        degradation: a name from :data:`hubsr.degradations.DEGRADATIONS` (``"jpeg50"``,
            ``"noise10"``, ``"mixed"``, ...): each LR image is degraded so, seeded by its name,
            before the model sees it; SR is still scored against the clean HR.

    Returns:
        A JSON-ready dict: ``dataset``, ``scale``, ``tta``, ``tile``, ``num_images``, mean
        ``psnr``/``ssim``, ``seconds_per_image``, ``params``, ``architecture``, ``protocol``
        (:data:`hubsr.protocol.PROTOCOL` plus dataset name, checksum, scale, TTA, LR source and
        the border the model saw),
        ``environment`` and ``images`` (per image ``name``, ``psnr``, ``ssim``, ``seconds``,
        ``hr_size``).

    Raises:
        HubSRError: scale mismatch, missing or empty dataset, unmatched LR files, a bad image.
    """
    if degradation not in DEGRADATIONS:
        raise HubSRError(
            f"unknown degradation {degradation!r}; choose from {', '.join(DEGRADATIONS)}"
        )
    model_scale = getattr(model, "scale", None)
    if model_scale != scale:
        raise HubSRError(
            f"the model upscales x{model_scale}, but the benchmark scale is x{scale}; "
            f"benchmark it at x{model_scale}"
        )
    folder = dataset_dir(dataset, data_dir)
    files = list_images(folder)
    name = folder.name
    lr_files = match_lr_files(files, lr_dir, scale) if lr_dir is not None else None
    if save_dir is not None:
        save_dir = Path(save_dir)
        save_dir.mkdir(parents=True, exist_ok=True)

    protocol = {
        **PROTOCOL,
        "dataset": name,
        "dataset_checksum": dataset_checksum(files),
        "num_images": len(files),
        "scale": scale,
        "crop_border_pixels": scale,
        "border": "none: the model's own zero padding at the image's edge, as in the papers "
        "(hubsr.pipeline.upscale with border=0)",
        "border_pixels": PROTOCOL_BORDER,
        "tta": tta,
        "grayscale": "replicated to 3 equal channels (Set14 bridge)",
        "mean": "mean over images of per-image PSNR and SSIM",
        "lr_source": "hubsr.protocol.make_lr",
        "precision": precision_name(resolve_amp_dtype(dtype, _model_device(model), model)),
        "degradation": degradation,
        "degradation_recipe": DEGRADATIONS[degradation].describe()
        + " (hubsr.degradations, seeded by the image's name)",
    }
    if lr_files is not None:
        protocol["lr_source"] = f"files in {lr_dir}"
        protocol["lr_checksum"] = dataset_checksum(lr_files)

    images = []
    warmed_up = False
    bar = tqdm(files, desc=f"{name} x{scale}", unit="img", disable=not progress, leave=False)
    for i, path in enumerate(bar):
        hr = load_rgb(path)
        if min(hr.shape[:2]) < _min_side(scale):
            raise HubSRError(
                f"{path}: {hr.shape[1]}x{hr.shape[0]} is too small to score at x{scale}; the "
                f"protocol crops {scale} border pixels and SSIM needs an 11x11 window, so each "
                f"side must be at least {_min_side(scale)} pixels"
            )
        hr = modcrop(hr, scale)
        if lr_files is None:
            lr = make_lr(hr, scale)
        else:
            lr = load_rgb(lr_files[i])
            expected = (hr.shape[0] // scale, hr.shape[1] // scale)
            if lr.shape[:2] != expected:
                raise HubSRError(
                    f"{lr_files[i]} is {lr.shape[1]}x{lr.shape[0]}, but {path.name} cropped to "
                    f"a multiple of {scale} needs a {expected[1]}x{expected[0]} LR image"
                )
        lr = degrade(lr, degradation, key=path.stem)
        if not warmed_up:  # first-call costs (allocator, kernels) stay out of the timings
            warm_up = np.ascontiguousarray(lr[:16, :16])
            model.upscale(warm_up, tile=tile, tta=tta, dtype=dtype, border=PROTOCOL_BORDER)
            warmed_up = True
        start = time.perf_counter()
        sr = model.upscale(lr, tile=tile, tta=tta, dtype=dtype, border=PROTOCOL_BORDER)
        seconds = time.perf_counter() - start
        metrics = score(sr, hr, scale)
        images.append(
            {
                "name": path.stem,
                "psnr": metrics["psnr"],
                "ssim": metrics["ssim"],
                "seconds": seconds,
                "hr_size": [int(hr.shape[1]), int(hr.shape[0])],
            }
        )
        if save_dir is not None:
            save_image_atomic(Image.fromarray(sr), save_dir / f"{path.stem}.png")
        bar.set_postfix(psnr=f"{np.mean([r['psnr'] for r in images]):.2f}")

    return {
        "dataset": name,
        "scale": scale,
        "tta": tta,
        "tile": tile,
        "degradation": degradation,
        "num_images": len(images),
        "psnr": float(np.mean([r["psnr"] for r in images])),
        "ssim": float(np.mean([r["ssim"] for r in images])),
        "seconds_per_image": float(np.mean([r["seconds"] for r in images])),
        "params": count_params(model),
        "architecture": getattr(model, "architecture", type(model).__name__),
        "model_config": dict(getattr(model, "config", {}) or {}),
        "protocol": protocol,
        "environment": _environment(model),
        "images": images,
    }


def _min_side(scale: int) -> int:
    """The smallest HR side the protocol can score: after cropping to a multiple of the
    scale and removing ``scale`` border pixels on each side, SSIM's 11x11 window must fit."""
    side = 2 * scale + 11
    return side + (-side) % scale


def count_params(model) -> int:
    """Number of parameters (0 for bicubic)."""
    return int(sum(p.numel() for p in model.parameters()))


def match_lr_files(hr_files: list[Path], lr_dir: str | os.PathLike, scale: int) -> list[Path]:
    """The LR file for each HR file, in the same order, matched by file stem.

    An LR stem matches an HR stem exactly, or after removing one common suffix (``x3``,
    ``_x3``, ``_LR``, ``_LRbicx3``, ...; case-insensitive). Raises :class:`HubSRError` naming
    every HR image without LR, every LR file without HR, and any HR image with several LR files.
    """
    lr_dir = Path(lr_dir)
    if not lr_dir.is_dir():
        raise HubSRError(f"LR folder {lr_dir} does not exist")
    by_stem = {p.stem: p for p in hr_files}
    found: dict[str, list[Path]] = {}
    orphans = []
    for lr in list_images(lr_dir):
        key = next((k for k in _lr_keys(lr.stem, scale) if k in by_stem), None)
        if key is None:
            orphans.append(lr.name)
        else:
            found.setdefault(key, []).append(lr)
    problems = []
    missing = [p.name for p in hr_files if p.stem not in found]
    if missing:
        problems.append(f"no LR image for {', '.join(missing)}")
    if orphans:
        problems.append(f"no HR image for the LR files {', '.join(orphans)}")
    several = {k: v for k, v in found.items() if len(v) > 1}
    for key, paths in sorted(several.items()):
        problems.append(f"several LR files for {key}: {', '.join(p.name for p in paths)}")
    if problems:
        hr_dir = hr_files[0].parent if hr_files else "?"
        raise HubSRError(
            f"LR files in {lr_dir} do not match the HR images in {hr_dir}: " + "; ".join(problems)
        )
    return [found[p.stem][0] for p in hr_files]


def _lr_keys(stem: str, scale: int) -> list[str]:
    keys = [stem]
    for suffix in _LR_SUFFIXES:
        suffix = suffix.format(s=scale)
        if stem.lower().endswith(suffix) and len(stem) > len(suffix):
            keys.append(stem[: -len(suffix)])
    return keys


def _model_device(model) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def _environment(model) -> dict:
    device = str(_model_device(model))
    try:
        hubsr_version = version("hubsr")
    except PackageNotFoundError:
        hubsr_version = "not installed"
    return {
        "device": device,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "cpu_bf16_units": cpu_bf16_units(),
        "cpu_bf16_speedup": cpu_bf16_speedup(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "hubsr": hubsr_version,
    }


# -- loading models by name --------------------------------------------------------------------
def load_benchmark_model(spec: str, scale: int):
    """``(name, model)``: :func:`hubsr.load` of ``spec`` at ``scale`` (``"bicubic"``, a variant,
    a model folder, a bundled model name, a Hub repo id or an ``.onnx`` file), and the name its
    results go under: a folder's or file's own name, else ``spec``. A model of another scale is
    a :class:`HubSRError` in the benchmark's words."""
    from .errors import ScaleError
    from .loading import load

    try:
        model = load(spec, scale=scale)
    except ScaleError as exc:
        if exc.model_scale is None:
            raise HubSRError(f"--scale {scale}: {exc.reason}") from None
        raise HubSRError(
            f"model {spec} upscales x{exc.model_scale}, but --scale is {scale}; the benchmark "
            f"protocol needs them equal (use --scale {exc.model_scale})"
        ) from None
    path = Path(spec).expanduser()
    if path.suffix.lower() == ".onnx":
        return path.name, model
    return (path.resolve().name if path.is_dir() else spec), model


# -- presenting results ------------------------------------------------------------------------
def format_table(results: list[dict], per_image: bool = False) -> str:
    """A fixed-width text table: model, dataset, PSNR, SSIM, params, s/img (one row a result)."""
    header = ("model", "dataset", "PSNR", "SSIM", "params", "s/img")
    rows = []
    for r in results:
        label = (r.get("model") or r["architecture"]) + (" +TTA" if r["tta"] else "")
        rows.append(
            (
                label,
                f"{r['dataset']} x{r['scale']}"
                + ("" if r.get("degradation", "clean") == "clean" else f" {r['degradation']}"),
                f"{r['psnr']:.2f}",
                f"{r['ssim']:.4f}",
                f"{r['params']:,}",
                f"{r['seconds_per_image']:.3f}",
            )
        )
        if per_image:
            for im in r["images"]:
                rows.append(
                    (
                        "",
                        f"  {im['name']}",
                        f"{im['psnr']:.2f}",
                        f"{im['ssim']:.4f}",
                        "",
                        f"{im['seconds']:.3f}",
                    )
                )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row):
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(w) for cell, w in zip(row[2:], widths[2:], strict=True)]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *map(line, rows)])


def plot_psnr_vs_time(
    results: list[dict], path: str | os.PathLike, *, dataset: str | None = None
) -> Path:
    """PSNR on ``dataset`` against seconds per image (log x), marker area by parameter count,
    one labelled point per model (results without TTA only), one panel per scale in ``results``
    (stacked, smallest scale first). Written atomically as PNG.

    ``dataset`` defaults to Set14 if measured, else the first dataset in ``results``.
    Needs matplotlib (the ``train`` or ``dev`` extra).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise HubSRError(
            "plotting needs matplotlib: pip install 'hubsr[train]' (or pip install matplotlib)"
        ) from None
    plain = [r for r in results if not r["tta"]]
    datasets = [r["dataset"] for r in plain]
    if dataset is None:
        dataset = "Set14" if "Set14" in datasets else (datasets[0] if datasets else None)
    points = [r for r in plain if r["dataset"] == dataset]
    if not points:
        where = f" on {dataset}" if dataset else ""
        raise HubSRError(f"no results without TTA{where} to plot")
    scales = sorted({r["scale"] for r in points})

    fig = Figure(figsize=(7, 4.5 * len(scales)), dpi=120)
    FigureCanvasAgg(fig)
    # One colour per architecture in every panel, so that a family reads the same at each scale.
    architectures = sorted({r["architecture"] for r in points})
    colours = {a: f"C{i % 10}" for i, a in enumerate(architectures)} | {"bicubic": "grey"}
    for row, scale in enumerate(scales, start=1):
        ax = fig.add_subplot(len(scales), 1, row)
        _plot_panel(ax, [r for r in points if r["scale"] == scale], dataset, colours)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return write_bytes_atomic(path, buffer.getvalue())


def _plot_panel(ax, points: list[dict], dataset: str, colours: dict[str, str]) -> None:
    """One scale's points on ``ax``: PSNR against log seconds, labelled, area by parameters."""
    biggest = max(max(r["params"] for r in points), 1)
    placed = []  # (log10 seconds, PSNR) of the labels drawn so far, highest PSNR first
    for r in sorted(points, key=lambda r: -r["psnr"]):
        label = r.get("model") or r["architecture"]
        size = 30 + 600 * np.sqrt(r["params"] / biggest)
        seconds = max(r["seconds_per_image"], 1e-4)
        colour = colours[r["architecture"]]
        ax.scatter(
            seconds, r["psnr"], s=size, c=colour, alpha=0.6, edgecolors="black", linewidths=0.5
        )
        params = f"{r['params'] / 1e3:.0f}K" if r["params"] else "0"
        # Models close in time and PSNR would print their labels on top of each other: the
        # labels of such neighbours alternate between the right and the left of their points,
        # a line lower at each turn.
        here = (np.log10(seconds), r["psnr"])
        crowd = sum(abs(here[0] - x) < 0.45 and abs(here[1] - y) < 0.15 for x, y in placed)
        placed.append(here)
        left = crowd % 2 == 1
        ax.annotate(
            f"{label} ({params})",
            (seconds, r["psnr"]),
            textcoords="offset points",
            xytext=(-8 if left else 8, 6 - 11 * (crowd // 2) - (12 if left else 0)),
            ha="right" if left else "left",
            fontsize=8,
        )
    ax.set_xscale("log")
    device = points[0].get("environment", {}).get("device", "cpu").upper()
    ax.set_xlabel(f"{device} seconds per image (log scale)")
    ax.set_ylabel(f"PSNR (dB, Y) on {dataset} x{points[0]['scale']}")
    ax.set_title(f"{dataset} x{points[0]['scale']}: quality vs. time (marker area ~ parameters)")
    ax.grid(True, which="both", alpha=0.3)
    ax.margins(x=0.25, y=0.15)
