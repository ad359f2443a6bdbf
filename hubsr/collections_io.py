"""Collections of images for ``hubsr upscale``: folder trees, output formats, EXIF, and the split
of the inputs between processes started by ``accelerate launch``.

Nothing here decodes pixels: a collection is a list of paths, and the command decodes, upscales
and writes one file at a time. What the files leave behind in the process is bounded here
(:func:`bound_shape_caches`, :func:`release_memory`), so memory stays flat over any number
of files of many sizes.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import re
import sys
from pathlib import Path

from PIL import ExifTags, Image

from .errors import HubSRError
from .imageio import scan_folder
from .video import is_video, video_output_name

__all__ = [
    "OUTPUT_FORMATS",
    "ProcessShare",
    "bound_shape_caches",
    "exif_for_output",
    "folder_inputs",
    "output_name",
    "process_share",
    "release_memory",
    "remove_stale_temporaries",
    "save_params",
    "walk_tree",
]

# Lossless formats that can hold what the pipeline makes of their own images: by default
# written back under the same name and format. Anything else (JPEG, WebP: lossy; GIF:
# palette) becomes PNG.
KEEP_FORMAT_SUFFIXES = (".png", ".bmp", ".tif", ".tiff")
# --format NAME: the suffixes that name it (an input that already has one keeps its own, so
# scan.tiff stays scan.tiff), the first being the one given to other inputs.
OUTPUT_FORMATS = {
    "png": (".png",),
    "jpg": (".jpg", ".jpeg"),
    "webp": (".webp",),
    "tiff": (".tif", ".tiff"),
}
LOSSY_FORMATS = ("jpg", "webp")  # those that take --quality
# Pillow formats whose writer takes EXIF (``exif=``); BMP has no place for it.
_EXIF_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF")
# A TIFF's "EXIF" (Pillow reads its first IFD) also holds the layout of its own pixels (size,
# bits, compression, strips, tiles, colour map) and its ICC profile: those describe the input
# file, not the photo, and a writer given them writes a broken file or fails.
_LAYOUT_TAGS = {254, 255, 256, 257, 258, 259, 262, 266, 273, 277, 278, 279, 280, 281, 284}
_LAYOUT_TAGS |= {317, 320, 322, 323, 324, 325, 338, 339, 340, 341, 530, 531, 532, 34675}
# A temporary file of hubsr.atomic: the result's name, 8 hex digits.
_TEMPORARY = re.compile(r"\.(.+)\.[0-9a-f]{8}\.tmp")
# On the CPU, oneDNN compiles the kernels of a convolution for each input shape and keeps them
# in two caches of 1,024 entries each (oneDNN's own primitives, and PyTorch's ideep cache in
# front of it); a collection of many sizes has a new shape at nearly every file, and the
# process grew with them. Each cache reads its size from the environment once, at the first
# convolution: nothing resizes it later (oneDNN's dnnl_set_primitive_cache_capacity is not
# exported by PyTorch). Measured (training/measure/collection_memory.py, abpn-x2, the first 160
# files of collection_bench.py's tree, one thread; model_cards/results/collection-memory.json):
# the RSS rose 3.7% from the first 32 files to the last 32 as it was, 3.5% with malloc_trim
# alone, 0.1% with both caches at 64 entries and malloc_trim; and over collection_bench.py rss's
# 2,000 files (hubsr upscale, abpn-x2), from 766 to 912 MiB (first 100 files, last 100) before,
# 743 to 744 MiB with both (collection-rss.json). 64 holds every convolution of
# one shape of each bundled model (edsr24-x3, the deepest, has 52), so a video's frames compile
# their kernels once; a tiled image's edge tiles may compile theirs again (not measured).
SHAPE_CACHE_CAPACITY = 64
_SHAPE_CACHES = ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "LRU_CACHE_CAPACITY")


def output_name(src: Path, fmt: str | None = None) -> str:
    """``src``'s result name: in format ``fmt`` (a key of :data:`OUTPUT_FORMATS`) if given;
    otherwise ``src``'s own name for PNG/BMP/TIFF and the same stem with ``.png`` for others.
    A video keeps its name whatever ``fmt`` (:func:`hubsr.video.video_output_name`)."""
    if is_video(src):
        return video_output_name(src)
    suffix = src.suffix.lower()
    if fmt is None:
        return src.name if suffix in KEEP_FORMAT_SUFFIXES else src.stem + ".png"
    suffixes = OUTPUT_FORMATS[fmt]
    return src.name if suffix in suffixes else src.stem + suffixes[0]


def folder_inputs(folder: Path, recursive: bool = False) -> tuple[list[Path], list[Path]]:
    """The inputs of the folder named, and its other files: the images (any format Pillow
    reads) and videos (:data:`hubsr.video.VIDEO_SUFFIXES`) directly inside it, or with
    ``recursive`` anywhere under it (:func:`walk_tree`)."""
    if recursive:
        return walk_tree(folder)
    files = [p for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")]
    if not any(is_video(p) for p in files):
        found = scan_folder(folder, any_format=True)  # its own words for a folder of no image
        return found.images, found.others
    images = set(Image.registered_extensions())
    inputs = [p for p in files if is_video(p) or p.suffix.lower() in images]
    return inputs, [p for p in files if p not in inputs]


def walk_tree(folder: Path) -> tuple[list[Path], list[Path]]:
    """The image files (any format Pillow reads) and videos anywhere under ``folder``, and its
    other files; both sorted by path. Hidden files and folders (``.NAME``) are neither, as for
    a flat folder (:func:`hubsr.imageio.scan_folder`); symbolic links to folders are not
    followed (a link cycle would never end)."""
    suffixes = set(Image.registered_extensions())
    images: list[Path] = []
    others: list[Path] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            path = Path(root, name)
            if name.startswith(".") or not path.is_file():
                continue
            taken = is_video(path) or path.suffix.lower() in suffixes
            (images if taken else others).append(path)
    if not images:
        raise HubSRError(f"{folder} holds no image files, in any of its folders")
    # Sorted by path parts, so that a/b.png comes before a-c.png whatever the separator sorts as.
    return sorted(images, key=lambda p: p.parts), sorted(others, key=lambda p: p.parts)


def remove_stale_temporaries(results: list[Path]) -> int:
    """Remove the temporary files a killed run left beside ``results`` (``.NAME.<8 hex>.tmp``,
    :mod:`hubsr.atomic`'s names), before they are written again; returns how many. Only
    those of ``results``: each is this process's to write (see :class:`ProcessShare`), so no
    other writer's file is touched. One listing per folder, not per result."""
    wanted: dict[Path, set[str]] = {}
    for result in results:
        wanted.setdefault(result.parent, set()).add(result.name)
    removed = 0
    for folder, names in wanted.items():
        try:
            entries = list(os.scandir(folder))
        except OSError:  # not made yet: nothing was left there
            continue
        for entry in entries:
            found = _TEMPORARY.fullmatch(entry.name)
            if found and found.group(1) in names and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed += 1
    return removed


def exif_for_output(img) -> bytes | None:
    """The EXIF block for the result of ``img`` (the decoded input, as
    :func:`hubsr.imageio.read_image` returns it), or None if it has none. Taken from the decoded
    image, not the file: a PNG's EXIF may follow its pixels, and reading it from the file would
    decode them a second time. The orientation tag is removed: the pixels are already upright,
    and a viewer that read the tag again would turn them a second time. (A 16-bit colour array
    carries none: its PNG and TIFF writers write no EXIF.)"""
    if not isinstance(img, Image.Image):
        return None
    try:
        exif = img.getexif()
    except Exception:  # read_image has already read the orientation; a bad block is left out
        return None
    for tag in (ExifTags.Base.Orientation, *_LAYOUT_TAGS):
        exif.pop(tag, None)
    return exif.tobytes() if len(exif) else None


def save_params(dst: Path, exif: bytes | None, quality: int | None) -> dict:
    """The Pillow writer's options for ``dst``: the EXIF block where its format holds one, and
    ``quality`` for JPEG and WebP."""
    fmt = Image.registered_extensions().get(dst.suffix.lower())
    params: dict = {}
    if exif and fmt in _EXIF_FORMATS:
        params["exif"] = exif
    if quality is not None and fmt in ("JPEG", "WEBP"):
        params["quality"] = quality
    return params


def bound_shape_caches(capacity: int = SHAPE_CACHE_CAPACITY) -> None:
    """Cap oneDNN's caches of compiled kernels at ``capacity`` entries each, unless the user's
    environment sizes them. Takes effect only if called before the process's first CPU
    convolution (the caches read their size then); harmless after, and on other devices."""
    for name in _SHAPE_CACHES:
        os.environ.setdefault(name, str(capacity))


def release_memory() -> bool:
    """Hand the memory the last file freed back to the system; whether anything was asked.

    glibc keeps freed memory in its heaps for reuse; what the kernels evicted from the caches
    that :func:`bound_shape_caches` bounds leave there is in pieces the next file's new shape
    does not reuse. ``malloc_trim(0)`` returns every free page of every heap (alone it did not
    flatten the RSS: with the caches bounded it did; see :data:`SHAPE_CACHE_CAPACITY`). Only
    glibc has it: elsewhere (macOS, Windows, musl) this does nothing."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library has none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library this process already runs on
    except (OSError, AttributeError):  # musl, or a static build
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


class ProcessShare:
    """Which inputs this process upscales: file ``i`` of the full sorted list goes to process
    ``i % count``. The split is made over every input, before results that exist are skipped,
    so each file belongs to the same process in a resumed run and no file is done twice."""

    def __init__(self, index: int = 0, count: int = 1, state=None):
        self.index, self.count, self.state = index, count, state
        self.device = state.device if state is not None else None  # None: --device decides

    @property
    def is_main(self) -> bool:
        return self.index == 0

    def take(self, items: list) -> list:
        return items[self.index :: self.count]

    def wait_for_everyone(self) -> None:
        if self.state is not None:
            self.state.wait_for_everyone()

    def gather(self, value) -> list:
        """``value`` from every process, in process order (every process must call this)."""
        if self.state is None:
            return [value]
        from accelerate.utils import gather_object

        return gather_object([value])

    def __str__(self) -> str:
        return f"process {self.index + 1}/{self.count}"


def process_share() -> ProcessShare:
    """This process's share: all inputs, unless started by ``accelerate launch --multi_gpu``
    (or ``torchrun``) with several processes; then Accelerate's process index and count, and
    its device (``PartialState().device``: one GPU per process, or the CPU on a machine
    without GPUs).
    Accelerate is imported only then, so a plain run needs no process group."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return ProcessShare()
    try:
        from accelerate import PartialState
    except ImportError:
        raise HubSRError(
            "several processes (WORLD_SIZE > 1) need Accelerate: pip install accelerate"
        ) from None
    import torch

    # Without a GPU, ask for CPU processes: Accelerate would otherwise see no accelerator and
    # fall back to a single process (and `accelerate launch --cpu` starts only one).
    state = PartialState(cpu=not torch.cuda.is_available())
    return ProcessShare(state.process_index, state.num_processes, state)
