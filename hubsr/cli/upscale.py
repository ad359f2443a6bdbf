"""``hubsr upscale``: upscale image files and folders into an output folder, keeping file names."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .. import load
from .. import precision as _precision
from ..bundled import DEFAULT_MODELS, default_model
from ..errors import HubSRError, ScaleError, UnknownModelError
from ..imageio import DEFAULT_MAX_PIXELS, list_images, read_header, read_image, save_image_atomic
from ..pipeline import check_tiling, resolve_amp_dtype, resolve_device, upscale
from ..precision import DTYPE_CHOICES, precision_name

# Lossless formats that can hold what the pipeline makes of their own images: written back
# under the same name and format. Anything else (JPEG, WebP: lossy; GIF: palette) becomes PNG.
KEEP_FORMAT_SUFFIXES = (".png", ".bmp", ".tif", ".tiff")

_DEFAULTS = ", ".join(f"x{s}: {name}" for s, name in DEFAULT_MODELS.items())

DESCRIPTION = f"""Upscale images with a hubsr model and write them into OUT_DIR.

Each INPUT is an image file or a folder; a folder contributes the image files directly inside it
(not subfolders, not hidden files), in sorted order.

Output names: PNG, BMP and TIFF inputs are written under the same file name in the same format,
so results line up with their inputs (e.g. for a benchmark submission). Lossy or palette formats
(JPEG, WebP, GIF, ...) are written losslessly as PNG under the same stem: photo.jpg -> photo.png.
Each file is written atomically (a temporary file, then a rename), so OUT_DIR never holds a
partial image. OUT_DIR is checked (and created) before any work; if nothing is written, a folder
the command created is removed again. An input that fails is reported and skipped (every header
is read first, so an oversized or non-image file is refused at once); the exit code is then 1.

Bit depth: 16-bit inputs give 16-bit results, grey or colour (PNG and TIFF; 16-bit colour TIFF
with LZW or JPEG compression needs the imagecodecs package).

Model: --model takes a model folder, the name of a bundled model (see `hubsr models`), a Hub repo
id (user/repo: downloaded once, then cached; --offline or HF_HUB_OFFLINE=1 keeps it local),
"bicubic" (MATLAB bicubic, the baseline, at --scale) or a weightless variant such as bicubic-x2;
any name means what hubsr.load(NAME) loads. Without --model the
best bundled model of --scale (default 3) is used ({_DEFAULTS}); an error when none is
bundled."""

EPILOG = """examples:
  hubsr upscale photo.png -o out/
  hubsr upscale photo.png -o out/ --scale 4                   the best bundled x4 model
  hubsr upscale data/reference_lr_x3/Set5/edsr_benchmark/LR_bicubic/X3 -o results/ --model span-x3
  hubsr upscale scan.tif -o out/ --tile 256 --device auto     large image, bounded memory
  hubsr upscale lr/ -o baseline/ --model bicubic --scale 4"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "upscale",
        help="upscale image files or folders",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    parser.add_argument(
        "-o", "--output", required=True, type=Path, metavar="OUT_DIR", help="output folder"
    )
    parser.add_argument(
        "--model",
        metavar="PATH_OR_NAME",
        help="model to use (default: the best bundled model of --scale)",
    )
    parser.add_argument(
        "--scale",
        type=int,
        help="upscaling factor (default 3): without --model, picks the best bundled model of "
        "that scale; with --model, a check that the model has it",
    )
    parser.add_argument(
        "--tile", type=int, metavar="N", help="process N x N input tiles (bounds the memory)"
    )
    parser.add_argument(
        "--tile-overlap",
        type=int,
        default=32,
        metavar="M",
        help="context pixels around each tile, cropped after the model (default: 32)",
    )
    parser.add_argument(
        "--tta", action="store_true", help="x8 self-ensemble (flips and rotations): 8x slower"
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="never download: a Hub repo id must be in the local cache (as HF_HUB_OFFLINE=1)",
    )
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N, mps or auto")
    parser.add_argument(
        "--dtype",
        default="auto",
        choices=DTYPE_CHOICES,
        help="compute precision (default: auto = bf16 on CUDA and on CPUs with bf16 matrix "
        "units for models that are bf16-safe, else fp32)",
    )
    parser.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        metavar="N",
        help=f"refuse inputs with more pixels (default: {DEFAULT_MAX_PIXELS:,}; 0: no limit)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_flags(args)
    device = resolve_device(args.device)
    files = collect_inputs(args.inputs)
    targets = output_paths(files, args.output)
    created = prepare_output_dir(args.output)  # before any work: a bad OUT_DIR fails first
    written: list[Path] = []
    try:
        return _upscale_all(args, device, files, targets, written)
    finally:
        if not written:  # leave no empty folder of ours behind
            remove_folders(created)


def _upscale_all(args, device, files: list[Path], targets: list[Path], written: list) -> int:
    model, description = load_model(args.model, args.scale, offline=args.offline)
    print(f"hubsr: model {description}", file=sys.stderr)
    max_pixels = args.max_pixels or None
    failed, jobs = 0, []
    for src, dst in zip(files, targets, strict=True):
        try:  # from the header alone: an oversized or non-image file is refused at once
            check_header(src, max_pixels)
            jobs.append((src, dst))
        except HubSRError as exc:
            failed += 1
            print(f"hubsr: error: {_describe(src, exc)}", file=sys.stderr)
    if jobs:
        precision = precision_name(resolve_amp_dtype(args.dtype, device, model))
        print(f"hubsr: running on {device} in {precision}{_units_note(device)}", file=sys.stderr)
        for src, dst in tqdm(jobs, desc="upscale", unit="image"):
            try:
                _upscale_file(model, src, dst, args, device, max_pixels)
                written.append(dst)
            except (HubSRError, OSError, MemoryError, torch.OutOfMemoryError) as exc:
                failed += 1
                tqdm.write(f"hubsr: error: {_describe(src, exc)}", file=sys.stderr)
    if failed:
        print(f"hubsr: {failed} of {len(files)} images failed", file=sys.stderr)
        return 1
    noun = "image" if len(files) == 1 else "images"
    print(f"hubsr: wrote {len(files)} {noun} to {args.output}", file=sys.stderr)
    return 0


def _upscale_file(model, src: Path, dst: Path, args, device, max_pixels: int | None) -> None:
    pixels, icc_profile = read_image(src, max_pixels=max_pixels)  # 16-bit colour: uint16 array
    out = upscale(
        model,
        pixels,
        tile=args.tile,
        tile_overlap=args.tile_overlap,
        tta=args.tta,
        device=device,
        dtype=args.dtype,
        max_pixels=max_pixels,
        progress=args.tile is not None,
    )
    # A PIL result carries the profile itself (unless its mode conversion invalidated it).
    save_image_atomic(out, dst, icc_profile=icc_profile if isinstance(out, np.ndarray) else None)


def check_flags(args: argparse.Namespace) -> None:
    """Refuse bad numbers with the flag's name, before anything is read or created."""
    if args.tile is not None and args.tile < 1:
        raise HubSRError(
            f"--tile must be a positive number of pixels, got {args.tile}; "
            "leave --tile out to process each image whole"
        )
    if args.tile_overlap < 0:
        raise HubSRError(f"--tile-overlap must be 0 or more, got {args.tile_overlap}")
    if args.tile is not None and args.tile <= args.tile_overlap:
        raise HubSRError(
            f"--tile ({args.tile}) must be larger than --tile-overlap ({args.tile_overlap}): "
            "otherwise the context around each tile costs more than the tile itself"
        )
    if args.max_pixels < 0:
        raise HubSRError(f"--max-pixels must be 0 (no limit) or more, got {args.max_pixels}")
    if args.scale is not None and args.scale < 1:
        raise HubSRError(f"--scale must be a positive integer, got {args.scale}")
    check_tiling(args.tile, args.tile_overlap)


def check_header(src: Path, max_pixels: int | None) -> None:
    """Refuse ``src`` if its header says it is not an image or has more than ``max_pixels``."""
    header = read_header(src)
    if max_pixels is not None and header.pixels > max_pixels:
        raise HubSRError(
            f"{src} has {header.width}x{header.height} = {header.pixels:,} pixels, more than "
            f"--max-pixels {max_pixels:,}; raise --max-pixels (0: no limit) if you trust it"
        )


def prepare_output_dir(out: Path) -> list[Path]:
    """Make sure results can be written into ``out``, creating it (and missing parents).

    Returns the folders it created, deepest first, so that they can be removed again if
    nothing gets written. Raises :class:`HubSRError` naming the problem: ``out`` is a file,
    a parent is a file, no permission, a read-only file system.
    """
    if out.exists() and not out.is_dir():
        raise HubSRError(f"-o {out} is a file, not a folder; name the folder for the results")
    missing, existing = [], out
    while not existing.exists():
        if existing.is_symlink():
            raise HubSRError(f"cannot create {out}: {existing} is a broken symbolic link")
        missing.append(existing)
        existing = existing.parent
    if not existing.is_dir():
        raise HubSRError(f"cannot create {out}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        if existing == out:
            raise HubSRError(f"cannot write into {out}: permission denied")
        raise HubSRError(f"cannot create {out}: no permission to write in {existing}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HubSRError(f"cannot create {out}: {exc.strerror or exc}") from None
    try:  # what os.access cannot see: a read-only mount, a full disk, ACLs, root squash
        with tempfile.TemporaryFile(dir=out, prefix=".hubsr-write-test-"):
            pass
    except OSError as exc:
        remove_folders(missing)
        raise HubSRError(f"cannot write into {out}: {exc.strerror or exc}") from None
    return missing


def remove_folders(folders: list[Path]) -> None:
    """Remove ``folders`` (deepest first) while they are empty; never anything inside them."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _units_note(device) -> str:
    if device.type != "cpu":
        return ""
    return f" ({_precision.cpu_precision_note()})"  # looked up here, so tests can force it


def _describe(src: Path, exc: BaseException) -> str:
    if isinstance(exc, (MemoryError, torch.OutOfMemoryError)):
        return f"{src}: out of memory; try --tile 512 (or smaller)"
    message = str(exc)
    return message if str(src) in message else f"{src}: {message}"


def collect_inputs(inputs: list[str]) -> list[Path]:
    """The files named, plus the image files directly inside each folder named (any format
    Pillow reads), sorted."""
    files: list[Path] = []
    for name in inputs:
        path = Path(name)
        if path.is_dir():
            files += list_images(path, any_format=True, unique_stems=False)
        elif path.exists():
            files.append(path)
        else:
            raise HubSRError(f"{path} does not exist")
    return files


def output_name(src: Path) -> str:
    """``src``'s name for PNG/BMP/TIFF; otherwise the same stem with ``.png``."""
    return src.name if src.suffix.lower() in KEEP_FORMAT_SUFFIXES else src.stem + ".png"


def output_paths(files: list[Path], out_dir: Path) -> list[Path]:
    """Where each file goes; an error if two inputs share an output or one would be overwritten."""
    targets = [out_dir / output_name(f) for f in files]
    seen: dict[Path, Path] = {}
    for src, dst in zip(files, targets, strict=True):
        if dst in seen:
            raise HubSRError(f"{seen[dst]} and {src} would both be written to {dst}")
        if dst.resolve() == src.resolve():
            raise HubSRError(f"writing {dst} would overwrite its input; choose another OUT_DIR")
        if dst.is_dir():
            raise HubSRError(f"the result of {src} would replace the folder {dst}")
        seen[dst] = src
    return targets


def load_model(name: str | None, scale: int | None, offline: bool = False):
    """The model for ``--model``/``--scale`` and a one-line description of it; a Hub repo id
    downloads unless ``offline`` (or ``HF_HUB_OFFLINE=1``)."""
    note = ""
    if name is None:
        wanted = 3 if scale is None else scale
        name = default_model(wanted)
        if name is None:  # a broken install must not pass bicubic off as super-resolution
            raise HubSRError(
                f"no bundled x{wanted} model found (hubsr models lists what this install has); "
                f"name one with --model PATH|REPO_ID, or --model bicubic for the baseline"
            )
        note = f" (the best bundled x{wanted} model)"
    try:
        model = load(name, scale=scale, offline=offline)
    except UnknownModelError as exc:
        raise HubSRError(exc.describe(flag="--model ")) from None
    except ScaleError as exc:  # the same facts, in the command line's words
        if exc.model_scale is None:
            raise HubSRError(f"--scale {scale}: {exc.reason}") from None
        offer = (
            f"bundled x{scale} models: {', '.join(exc.others)}"
            if exc.others
            else f"no bundled model upscales x{scale}; --model bicubic does"
        )
        raise HubSRError(
            f"--scale {scale} does not match {name}, which upscales x{exc.model_scale}; {offer} "
            f"(or leave out --model to get the best x{scale} one)"
        ) from None
    params = sum(p.numel() for p in model.parameters())
    if getattr(model, "weightless", False):
        return model, f"{name} x{model.scale}: {type(model).__name__}, no weights{note}"
    return model, f"{name}: {type(model).__name__} x{model.scale}, {params:,} parameters{note}"
