"""``hubsr upscale``: upscale image files and folders into an output folder, keeping file names."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from PIL import Image
from tqdm import tqdm

from .. import HubSR, get_architecture
from ..bundled import DEFAULT_MODEL, bundled_models
from ..errors import HubSRError
from ..imageio import DEFAULT_MAX_PIXELS, load_image, save_image_atomic
from ..pipeline import check_tiling, resolve_device, upscale

# Lossless formats that can hold what the pipeline makes of their own images: written back
# under the same name and format. Anything else (JPEG, WebP: lossy; GIF: palette) becomes PNG.
KEEP_FORMAT_SUFFIXES = (".png", ".bmp", ".tif", ".tiff")

DESCRIPTION = f"""Upscale images with a hubsr model and write them into OUT_DIR.

Each INPUT is an image file or a folder; a folder contributes the image files directly inside it
(not subfolders, not hidden files), in sorted order.

Output names: PNG, BMP and TIFF inputs are written under the same file name in the same format,
so results line up with their inputs (e.g. for a benchmark submission). Lossy or palette formats
(JPEG, WebP, GIF, ...) are written losslessly as PNG under the same stem: photo.jpg -> photo.png.
Each file is written atomically (a temporary file, then a rename), so OUT_DIR never holds a
partial image. An input that fails is reported and skipped; the exit code is then 1.

Model: --model takes a model folder, the name of a bundled model (see `hubsr models`), a Hub repo
id already in the local cache, or "bicubic" (MATLAB bicubic, the baseline). Without --model the
bundled {DEFAULT_MODEL!r} is used, or bicubic when it is not bundled."""

EPILOG = """examples:
  hubsr upscale photo.png -o out/
  hubsr upscale data/Set5/LR data/Set14/LR -o results/ --model span-x3
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
        help=f"model to use (default: {DEFAULT_MODEL} if bundled, else bicubic)",
    )
    parser.add_argument(
        "--scale",
        type=int,
        help="factor of the bicubic model (default 3); with a trained model, only a check "
        "that it has this scale",
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
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N, mps or auto")
    parser.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        metavar="N",
        help=f"refuse inputs with more pixels (default: {DEFAULT_MAX_PIXELS:,}; 0: no limit)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_tiling(args.tile, args.tile_overlap)
    device = resolve_device(args.device)
    files = collect_inputs(args.inputs)
    targets = output_paths(files, args.output)
    model, description = load_model(args.model, args.scale)
    print(f"hubsr: model {description}", file=sys.stderr)
    try:
        args.output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HubSRError(f"cannot create {args.output}: {exc.strerror or exc}") from None
    failed = 0
    for src, dst in tqdm(list(zip(files, targets, strict=True)), desc="upscale", unit="image"):
        try:
            _upscale_file(model, src, dst, args, device)
        except (HubSRError, OSError, MemoryError, torch.OutOfMemoryError) as exc:
            failed += 1
            tqdm.write(f"hubsr: error: {_describe(src, exc)}", file=sys.stderr)
    if failed:
        print(f"hubsr: {failed} of {len(files)} images failed", file=sys.stderr)
        return 1
    noun = "image" if len(files) == 1 else "images"
    print(f"hubsr: wrote {len(files)} {noun} to {args.output}", file=sys.stderr)
    return 0


def _upscale_file(model, src: Path, dst: Path, args: argparse.Namespace, device) -> None:
    max_pixels = args.max_pixels or None
    img = load_image(src, max_pixels=max_pixels)
    out = upscale(
        model,
        img,
        tile=args.tile,
        tile_overlap=args.tile_overlap,
        tta=args.tta,
        device=device,
        max_pixels=max_pixels,
        progress=args.tile is not None,
    )
    save_image_atomic(out, dst)


def _describe(src: Path, exc: BaseException) -> str:
    if isinstance(exc, (MemoryError, torch.OutOfMemoryError)):
        return f"{src}: out of memory; try --tile 512 (or smaller)"
    message = str(exc)
    return message if str(src) in message else f"{src}: {message}"


def collect_inputs(inputs: list[str]) -> list[Path]:
    """The files named, plus the image files directly inside each folder named, sorted."""
    suffixes = set(Image.registered_extensions())
    files: list[Path] = []
    for name in inputs:
        path = Path(name)
        if path.is_dir():
            found = sorted(
                p
                for p in path.iterdir()
                if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in suffixes
            )
            if not found:
                raise HubSRError(f"{path} holds no image files")
            files += found
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
        seen[dst] = src
    return targets


def load_model(name: str | None, scale: int | None):
    """The model for ``--model``/``--scale`` and a one-line description of it."""
    note = ""
    if name is None:
        name = DEFAULT_MODEL if DEFAULT_MODEL in bundled_models() else "bicubic"
        note = "" if name == DEFAULT_MODEL else f" (bundled model {DEFAULT_MODEL!r} not found)"
    if name == "bicubic":
        try:
            model = get_architecture("bicubic")(scale=3 if scale is None else scale)
        except ValueError as exc:
            raise HubSRError(str(exc)) from None
        return model, f"bicubic x{model.scale}: MATLAB bicubic, no weights{note}"
    model = HubSR.from_pretrained(name)
    if scale is not None and scale != model.scale:
        raise HubSRError(
            f"--scale {scale} does not match {name}, which upscales x{model.scale}; "
            "--scale chooses the factor of the bicubic model only"
        )
    params = sum(p.numel() for p in model.parameters())
    return model, f"{name}: {type(model).__name__} x{model.scale}, {params:,} parameters"
