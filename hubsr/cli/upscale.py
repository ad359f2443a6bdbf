"""``hubsr upscale``: upscale image files and folders into an output folder, keeping file names."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from .. import load
from .. import precision as _precision
from ..bundled import DEFAULT_MODELS, PHOTO_MODELS, default_model, find_bundled_model
from ..collections_io import (
    KEEP_FORMAT_SUFFIXES,  # noqa: F401  (re-exported: the default naming rule's formats)
    LOSSY_FORMATS,
    OUTPUT_FORMATS,
    ProcessShare,
    bound_shape_caches,
    folder_inputs,
    output_name,
    process_share,
    release_memory,
    remove_stale_temporaries,
)
from ..errors import (
    HubSRError,
    ScaleError,
    TooManyPixelsError,
    UnknownModelError,
    without_a_bundled_model,
)
from ..imageio import DEFAULT_MAX_PIXELS, name_some, read_header
from ..memory import is_out_of_memory, more_memory, parse_bytes
from ..pipeline import check_tiling, resolve_amp_dtype, resolve_device
from ..precision import DTYPE_CHOICES, precision_name
from ..registry import bicubic_refusal
from ..upscale_file import upscale_file
from ..video import add_video_arguments, check_video, is_video, upscale_video_file

_DEFAULTS = ", ".join(f"x{s}: {name}" for s, name in DEFAULT_MODELS.items())
_PHOTO = ", ".join(f"x{s}: {name}" for s, name in PHOTO_MODELS.items())

DESCRIPTION = f"""Upscale images with a hubsr model and write them into OUT_DIR.

Photos (JPEG, noise, a soft lens): add --photo. The default models learned clean, bicubic-
downscaled images (the benchmark's); on a JPEG or a noisy photo they sharpen its blocks and
grain. --photo picks the photo model of --scale ({_PHOTO}), trained on the same 291 images
with random blur, noise and JPEG.

Each INPUT is an image file or a folder; a folder contributes the image files directly inside it
(not subfolders, not hidden files), in sorted order; its files in other formats (.heic, .txt,
...) are counted and named in one line. With --recursive, a folder contributes the images of
its whole tree (hidden folders left out), and OUT_DIR mirrors it: in/a/b/x.png ->
OUT_DIR/a/b/x.png.

Output names: PNG, BMP and TIFF inputs are written under the same file name in the same format,
so results line up with their inputs (e.g. for a benchmark submission). Lossy or palette formats
(JPEG, WebP, GIF, ...) are written losslessly as PNG under the same stem: photo.jpg -> photo.png.
--format png|jpg|webp|tiff writes every result in that format instead (--quality N for jpg and
webp). The colour profile (ICC) and the EXIF data are carried over where the format holds them
(EXIF: not BMP; neither for 16-bit colour); the pixels are turned upright by the EXIF
orientation once, so the result's EXIF has no orientation tag.
Each file is written atomically (a temporary file, then a rename), so OUT_DIR never holds a
partial image. OUT_DIR is checked (and created) before any work; if nothing is written, a folder
the command created is removed again.

Existing files are never replaced unless asked: if any result's name already exists in OUT_DIR,
the command stops before any work (exit code 2) and names them. --overwrite replaces them;
--skip-existing keeps them and upscales the rest, which is also how to resume a run that was
stopped or killed (results are written atomically, so one that exists is complete, and a rerun
writes none twice; the hidden temporary file a killed run leaves, .NAME.<8 hex>.tmp, is
removed). A file that another program writes under a result's name while the command
works is kept as well (unless --overwrite), and that input counted as failed.

Many processes: `accelerate launch --multi_gpu --num_processes N -m hubsr.cli upscale ...`
splits the inputs between N processes, each on its own device (one GPU each; on a machine
without GPUs, N CPU processes):
file i of the sorted inputs goes to process i % N, so each file is written once and by the same
process in a resumed run; the results are the same bytes as one process's. Several machines:
Accelerate's own configuration (accelerate config; --num_machines, --machine_rank,
--main_process_ip) with OUT_DIR on a shared file system.

Failures are per file: an input that cannot be read, decoded or upscaled (out of memory: try
--tile) is reported by name and the run goes on (every header is read first, so an oversized or
non-image file is refused at once). The last line counts them: written N, skipped N, failed N.
Exit code 0: all done; 1: some inputs failed; 2: nothing done (a usage error, existing
results); 130: stopped by Ctrl-C (no partial file is left).

Videos (.mp4 .m4v .mov .mkv .webm .avi, named or in folders; needs pip install hubsr[video]):
every frame through the same model, --tile and --dtype, encoded as H.264 (yuv420p, --crf),
each frame at its own timestamp (frame rate, count and duration kept), the audio copied as it
is. MP4, MOV and MKV keep their container; others become .mkv. One file, written atomically.

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
  hubsr upscale photo.png -o out4/ --photo --scale 4          a camera or web photo, x4
  hubsr upscale photo.png -o best4/ --scale 4                 the best bundled x4 model
  hubsr upscale lr/ -o results/ --model span-x3                a folder, another bundled model
  hubsr upscale scan.tif -o out/ --tile 256 --device auto     large image, bounded memory
  hubsr upscale lr/ -o baseline/ --model bicubic --scale 4
  hubsr upscale photos/ -o big/ --recursive --format jpg --quality 92
  hubsr upscale photos/ -o big/ -r --format jpg --quality 92 --skip-existing   finish a stopped run
  hubsr upscale clip.mp4 -o big/ --model abpn-x2 --crf 20     a video x2, its audio copied

many processes, GPUs or machines (Accelerate; each file once, same bytes as one process):
  accelerate launch --multi_gpu --num_processes 2 -m hubsr.cli upscale albums/ -o big/ -r"""


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
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument(
        "--overwrite", action="store_true", help="replace results that already exist in OUT_DIR"
    )
    existing.add_argument(
        "--skip-existing",
        action="store_true",
        help="keep results that already exist in OUT_DIR and upscale the rest (resumes a run)",
    )
    parser.add_argument(
        "-r",
        "--recursive",
        action="store_true",
        help="take the images of each folder's whole tree and mirror it in OUT_DIR",
    )
    parser.add_argument(
        "--format",
        choices=tuple(OUTPUT_FORMATS),
        help="write every result in this format (default: PNG, BMP and TIFF keep theirs, "
        "others become PNG)",
    )
    parser.add_argument(
        "--quality",
        type=int,
        metavar="Q",
        help="JPEG/WebP quality, 1-100 (with --format jpg or webp; default: Pillow's, 75)",
    )
    parser.add_argument(
        "--model",
        metavar="PATH_OR_NAME",
        help="model to use (default: the best bundled model of --scale)",
    )
    parser.add_argument(
        "--photo",
        action="store_true",
        help="for photos (JPEG, noise, blur): the bundled photo model of --scale "
        f"({_PHOTO}) instead of the benchmark default",
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
        "--memory-budget",
        metavar="SIZE",
        help="memory one pass may use, e.g. 2GB or 500MB; larger images are tiled to fit "
        "(default: half the free memory, at most 1.5 GB on the CPU, or $HUBSR_MEMORY_BUDGET; "
        "0: no limit; --tile overrides it)",
    )
    parser.add_argument(
        "--tta", action="store_true", help="x8 self-ensemble (flips and rotations): 8x slower"
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="never download: a Hub repo id must be in the local cache (as HF_HUB_OFFLINE=1)",
    )
    parser.add_argument(
        "--device",
        help="cpu (default), cuda, cuda:N, mps or auto; under accelerate launch: each "
        "process's own device",
    )
    parser.add_argument(
        "--dtype",
        default="auto",
        choices=DTYPE_CHOICES,
        help="compute precision (default: auto = bf16 on CUDA and on CPUs with bf16 matrix "
        "units for models that are bf16-safe, else fp32; 16-bit inputs: fp32)",
    )
    parser.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        metavar="N",
        help=f"refuse inputs with more pixels (default: {DEFAULT_MAX_PIXELS:,}; 0: no limit)",
    )
    add_video_arguments(parser)
    parser.set_defaults(func=run)


@dataclass
class Tally:
    """What became of the inputs: the run's last line."""

    written: int = 0
    skipped: int = 0  # results that existed already (--skip-existing)
    failed: int = 0

    def __str__(self) -> str:
        return f"written {self.written}, skipped {self.skipped}, failed {self.failed}"


def run(args: argparse.Namespace) -> int:
    check_flags(args)
    bound_shape_caches()  # before the first convolution: the model's checks run some
    share = process_share()  # all inputs, or this process's share under accelerate launch
    device = resolve_device(args.device or share.device or "cpu")
    files, others = collect_inputs(args.inputs, recursive=args.recursive)
    jobs = list(
        zip([f for f, _ in files], output_paths(files, args.output, args.format), strict=True)
    )
    existing = [dst for _, dst in jobs if os.path.lexists(dst)]  # a broken link counts too
    if existing and not (args.overwrite or args.skip_existing):
        raise HubSRError(existing_results(existing, args.output))
    created = prepare_output_dir(args.output)  # before any work: a bad OUT_DIR fails first
    # Every process has looked for existing results before any writes one of its own.
    share.wait_for_everyone()
    if share.count > 1 and device.type == "cpu":
        same_cpu_precision(share)
    jobs = share.take(jobs)  # the split is over all inputs, before skipping: see ProcessShare
    if args.skip_existing:  # complete: each result was renamed into place whole
        done = set(existing)
        jobs = [(src, dst) for src, dst in jobs if dst not in done]
        remove_stale_temporaries([dst for _, dst in jobs])  # a killed run's unfinished files
    tally = Tally(skipped=len(share.take(files)) - len(jobs))
    try:
        model = None
        if jobs:  # none left: every result exists already (--skip-existing), no model needed
            model, description = load_model(
                args.model, args.scale, offline=args.offline, photo=args.photo
            )
            print(f"hubsr: model {description}", file=sys.stderr)
        if others:  # after the refusals above, which are one line each
            print(f"hubsr: note: {left_out(others)}", file=sys.stderr)
        if model is not None:
            _upscale_all(model, args, device, jobs, tally, share)
    except KeyboardInterrupt:  # Ctrl-C: the file being written was never renamed into place
        left = len(jobs) - tally.written - tally.failed
        print(
            f"\nhubsr: interrupted; {tally}, not done {left}: the same command with "
            "--skip-existing does the rest",
            file=sys.stderr,
        )
        return 130
    finally:
        if not tally.written and share.count == 1:  # leave no empty folder of ours behind
            remove_folders(created)
    if share.count > 1:
        return _gather_tallies(share, tally, created, args.output)
    print(f"hubsr: {tally} (into {args.output})", file=sys.stderr)
    return 1 if tally.failed else 0


def same_cpu_precision(share: ProcessShare) -> None:
    """Every process takes the main process's verdict on CPU bf16. It is timed
    (:mod:`hubsr.precision`), and processes timed under different loads could disagree, and
    then write different bytes for the same input (--dtype auto only: other values decide)."""
    pays = share.gather(_precision.cpu_bf16_pays())[0]
    os.environ["HUBSR_CPU_BF16"] = "1" if pays else "0"  # the override, read by every check
    _precision.cpu_bf16_units.cache_clear()


def _gather_tallies(share: ProcessShare, tally: Tally, created: list[Path], out: Path) -> int:
    """Each process's line, then the main process's line for the whole run; every process
    returns the run's exit code."""
    print(f"hubsr: {share}: {tally}", file=sys.stderr)
    shares = share.gather((tally, created))
    total = Tally(
        *(sum(getattr(t, f) for t, _ in shares) for f in ("written", "skipped", "failed"))
    )
    if share.is_main:
        if not total.written:  # every process has finished: no one is writing into them
            folders = {folder for _, mine in shares for folder in mine}
            remove_folders(sorted(folders, key=lambda f: len(f.parts), reverse=True))
        print(f"hubsr: {total} by {share.count} processes (into {out})", file=sys.stderr)
    return 1 if total.failed else 0


def _upscale_all(
    model, args, device, jobs: list[tuple[Path, Path]], tally: Tally, share: ProcessShare
) -> None:
    max_pixels = args.max_pixels or None
    # From the headers alone: an oversized or non-image file is refused at once.
    checked = [job for job in jobs if _attempt(job[0], args, check_header, job[0], max_pixels)]
    tally.failed += len(jobs) - len(checked)
    if not checked:
        return
    precision = _precisions(args.dtype, device, model, [src for src, _ in checked])
    where = f" ({share})" if share.count > 1 else ""
    print(f"hubsr: running on {device} in {precision}{_units_note(device)}{where}", file=sys.stderr)
    desc = f"upscale {share.index + 1}/{share.count}" if share.count > 1 else "upscale"
    # tqdm shows files done, files per second and the time left.
    for src, dst in tqdm(checked, desc=desc, unit="image", position=share.index):
        if _attempt(src, args, _upscale_file, model, src, dst, args, device, max_pixels):
            tally.written += 1
        else:
            tally.failed += 1
        if share.count == 1:  # flat memory over any number of files: see bound_shape_caches
            # (not beside gloo's threads: with 2 processes, 1 exit in 3 died in "terminate called")
            release_memory()


def _attempt(src: Path, args, work, *work_args) -> bool:
    """``work(*work_args)`` for the input ``src``; whether it succeeded. Each warning it gives
    becomes a note, and its failure an error, each on one line that names ``src``: every
    failure is this input's own (a corrupt file, a model out of memory), and the run goes on."""
    failure = None
    with warnings.catch_warnings(record=True) as caught:
        try:
            work(*work_args)
        except Exception as exc:
            failure = exc
    for warning in caught:
        tqdm.write(f"hubsr: note: {_describe(src, warning.message, args)}", file=sys.stderr)
    if failure is not None:
        tqdm.write(f"hubsr: error: {_describe(src, failure, args)}", file=sys.stderr)
    return failure is None


def _upscale_file(model, src: Path, dst: Path, args, device, max_pixels: int | None) -> None:
    if is_video(src):  # every frame through the same pipeline, the audio copied
        return upscale_video_file(model, src, dst, args, device, max_pixels)
    upscale_file(
        model,
        src,
        dst,
        max_pixels=None,  # checked from the header before any work (check_header): not again
        quality=args.quality,
        # Not over a file another program made meanwhile (the check before the work saw none).
        overwrite=args.overwrite,
        make_parents=True,  # a subfolder of a --recursive tree
        tile=args.tile,
        tile_overlap=args.tile_overlap,
        tta=args.tta,
        device=device,
        dtype=args.dtype,
        progress=True,  # a bar over the tiles when there are several (--tile or planned)
        memory_budget=args.memory_budget,
    )


def check_flags(args: argparse.Namespace) -> None:
    """Refuse bad numbers with the flag's name, before anything is read or created."""
    check_tiling(args.tile, args.tile_overlap, flags=True)
    if args.max_pixels < 0:
        raise HubSRError(f"--max-pixels must be 0 (no limit) or more, got {args.max_pixels}")
    check_memory_budget(args.memory_budget)
    if args.scale is not None and args.scale < 1:
        raise HubSRError(f"--scale must be a positive integer, got {args.scale}")
    if args.quality is not None and args.format not in LOSSY_FORMATS:
        raise HubSRError("--quality is for lossy results: add --format jpg or --format webp")
    if args.quality is not None and not 1 <= args.quality <= 100:
        raise HubSRError(f"--quality must be 1 to 100, got {args.quality}")


def check_memory_budget(budget: str | None) -> None:
    """Refuse a ``--memory-budget`` that is not a size, in the flag's words."""
    if budget is None:
        return
    try:
        parse_bytes(budget)  # the one parser, which upscale() applies again
    except HubSRError:
        raise HubSRError(
            f"--memory-budget must be a size such as 2GB or 500MB (0: no limit), got {budget!r}"
        ) from None


def _precisions(dtype: str, device, model, sources: list[Path]) -> str:
    """The precision the inputs run in, for the status line. Under --dtype auto a 16-bit input
    runs in float32 where an 8-bit one may run in bfloat16 (which would leave 16-bit results
    only 9-11 bits right), so a batch can have two: each is named with its inputs."""
    by_depth: dict[str, list[int]] = {}
    for depth in sorted({_bit_depth(src) for src in sources}):
        name = precision_name(resolve_amp_dtype(dtype, device, model, bit_depth=depth))
        by_depth.setdefault(name, []).append(depth)
    if len(by_depth) == 1:
        return next(iter(by_depth))
    return ", ".join(
        f"{name} for {' and '.join(map(str, depths))}-bit inputs"
        for name, depths in by_depth.items()
    )


def _bit_depth(src: Path) -> int:
    """16 for 16-bit grey or colour, from the header (already read once: it opens); else 8."""
    try:
        header = read_header(src)
    except HubSRError:  # no image header (a video): its frames are 8-bit
        return 8
    return 16 if header.deep_colour or header.mode.startswith("I") else 8


def check_header(src: Path, max_pixels: int | None) -> None:
    """Refuse ``src`` if its header says it is not an image or has more than ``max_pixels``."""
    if is_video(src):
        return check_video(src, max_pixels)
    try:
        read_header(src, max_pixels=max_pixels)
    except TooManyPixelsError as exc:
        raise HubSRError(exc.describe(flag="--max-pixels")) from None


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


def _describe(src: Path, problem: BaseException, args) -> str:
    """One line about ``src``'s error or warning (a Warning is an exception too) that names
    the file."""
    if is_out_of_memory(problem):  # outside upscale(), which words its own as a HubSRError
        smaller = f"a --tile smaller than {args.tile}" if args.tile else "--tile 512 (or smaller)"
        return f"{src}: out of memory; try {smaller}, or {more_memory()}"
    message = str(problem)
    if not isinstance(problem, (HubSRError, Warning)):  # not ours: say what it is
        message = f"{type(problem).__name__}: {message}"
    message = message.strip().splitlines()[0] if message.strip() else type(problem).__name__
    return message if str(src) in message else f"{src}: {message}"


def collect_inputs(
    inputs: list[str], recursive: bool = False
) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """The files named, plus the image files directly inside each folder named (any format
    Pillow reads; with ``recursive``, anywhere in its tree), sorted; each with the subfolder of
    OUT_DIR its result goes into (its folder relative to the folder named). And the folders'
    other files, which are left out."""
    files: list[tuple[Path, Path]] = []
    others: list[Path] = []
    for name in inputs:
        path = Path(name)
        if path.is_dir():
            images, left = folder_inputs(path, recursive)  # videos too
            files += [(image, image.parent.relative_to(path)) for image in images]
            others += left
        elif path.exists():
            files.append((path, Path()))
        else:
            raise HubSRError(f"{path} does not exist")
    return files, others


def left_out(others: list[Path]) -> str:
    """The line that names the files of a folder left out (.heic photos, notes): none silently."""
    noun = "file" if len(others) == 1 else "files"
    return f"left out {len(others)} {noun} in a format hubsr cannot read: {name_some(others)}"


def output_paths(
    files: list[tuple[Path, Path]], out_dir: Path, fmt: str | None = None
) -> list[Path]:
    """Where each ``(file, subfolder)`` goes; an error if two inputs share an output (all such
    pairs are counted), or one would replace its own input or a folder (which no flag allows)."""
    targets = [out_dir / sub / output_name(f, fmt) for f, sub in files]
    seen: dict[Path, Path] = {}
    clashes = []
    for (src, _), dst in zip(files, targets, strict=True):
        if dst in seen:
            clashes.append(f"{seen[dst]} and {src} would both be written to {dst}")
        if dst.resolve() == src.resolve():
            raise HubSRError(f"writing {dst} would overwrite its input; choose another OUT_DIR")
        if dst.is_dir():
            raise HubSRError(f"the result of {src} would replace the folder {dst}")
        seen.setdefault(dst, src)
    if clashes:
        more = f" (and {len(clashes) - 1} more such pairs)" if len(clashes) > 1 else ""
        raise HubSRError(
            f"{clashes[0]}{more}; rename one of each pair, or upscale them into different folders"
        )
    return targets


def existing_results(existing: list[Path], out_dir: Path) -> str:
    """The one line that stops a run whose results already exist in part, and its way on."""
    count = (
        "1 result already exists"
        if len(existing) == 1
        else f"{len(existing)} results already exist"
    )
    return (
        f"{count} in {out_dir} ({name_some(existing)}); nothing was written: --overwrite "
        "replaces them, --skip-existing keeps them and upscales the rest (e.g. to finish a "
        "stopped run)"
    )


def load_model(name: str | None, scale: int | None, offline: bool = False, photo: bool = False):
    """The model for ``--model``/``--scale``/``--photo`` and a one-line description of it; a
    Hub repo id downloads unless ``offline`` (or ``HF_HUB_OFFLINE=1``)."""
    note = ""
    if photo:
        wanted = 3 if scale is None else scale
        if name is not None:
            raise HubSRError("--photo picks the photo model of --scale; leave out --model")
        if find_bundled_model(PHOTO_MODELS.get(wanted, "")) is None:
            have = ", ".join(f"x{s}" for s, n in PHOTO_MODELS.items() if find_bundled_model(n))
            raise HubSRError(
                f"--photo: no bundled x{wanted} photo model (photo models: {have or 'none'})"
            )
        name, note = PHOTO_MODELS[wanted], f" (the bundled x{wanted} photo model)"
    if name is None:
        wanted = 3 if scale is None else scale
        name = default_model(wanted)
        if name is None:  # a broken install must not pass bicubic off as super-resolution
            raise HubSRError(
                f"no bundled x{wanted} model found (hubsr models lists what this install has); "
                + without_a_bundled_model(wanted, bicubic_refusal(wanted))
            )
        note = f" (the best bundled x{wanted} model)"
    try:
        model = load(name, scale=scale, offline=offline)
    except UnknownModelError as exc:
        raise HubSRError(exc.describe(flag="--model ")) from None
    except ScaleError as exc:
        raise HubSRError(exc.describe(flag="--scale ")) from None
    params = sum(p.numel() for p in model.parameters())
    if getattr(model, "weightless", False):
        return model, f"{name} x{model.scale}: {type(model).__name__}, no weights{note}"
    return model, f"{name}: {type(model).__name__} x{model.scale}, {params:,} parameters{note}"
