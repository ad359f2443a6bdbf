"""Load images safely and save them atomically: clear errors, never a half file, all 16 bits.

:func:`load_image` turns every way an input can be bad (not an image, truncated, corrupt, empty,
too many pixels, animated) into a :class:`~hubsr.errors.HubSRError` that names the input and
the problem, *before* any large allocation where the header already tells. It decodes the whole
image, so truncation is found now and not halfway through an upscale, and it applies the EXIF
orientation, so the pixels are the way a viewer shows them.

The pixel limit is hubsr's alone: ``max_pixels`` (0 or ``None``: no limit) is checked against
the header (:class:`~hubsr.errors.TooManyPixelsError`, which carries the size), and Pillow's
own decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``) never refuses an image that
``max_pixels`` allows, nor speaks for it. Nor does Pillow's 1 MiB limit on a PNG's text and ICC
chunks: a valid PNG with a large colour profile is read (up to the 16.7 MB a JPEG can carry).
(For an image above Pillow's limits, those process-wide settings are lifted while the header is
read and, if ``max_pixels`` allows the image, while it is decoded; under a lock, and put back
afterwards.) Every bad file raises :class:`~hubsr.errors.HubSRError`,
whatever Pillow raised (SyntaxError, IndexError, TypeError, ...), so a batch can go on.

16 bits per colour channel: a PIL image holds 8 bits per channel for RGB, RGBA and grey with
alpha, so Pillow keeps only the top 8 bits of such PNG and TIFF files. :func:`read_image` reads
them with pypng (PNG) and tifffile (TIFF) instead and returns a ``uint16`` array, which
:func:`hubsr.pipeline.upscale` and :func:`save_image_atomic` take as it is; :func:`load_image`,
which always returns a PIL image, warns when it has to drop the low 8 bits. 16-bit grey
(``I;16``) is a PIL mode and loads with all its bits either way.

:func:`save_image_atomic` writes to a hidden temporary file beside the target and renames it
over the target (:mod:`hubsr.atomic`), so a reader sees the old file or the complete new one,
never a partial one. :func:`list_images` lists the images of a folder, for the benchmark sets,
the training folders and the upscale command alike.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import ExifTags, Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from .atomic import write_atomic
from .errors import HubSRError, TooManyPixelsError
from .rounding import round_half_up

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "FolderImages",
    "IMAGE_SUFFIXES",
    "ImageHeader",
    "LoadedImage",
    "list_images",
    "load_image",
    "name_some",
    "read_header",
    "read_image",
    "result_icc_profile",
    "save_image_atomic",
    "scan_folder",
]

DEFAULT_MAX_PIXELS = 50_000_000  # 50 MP: a large camera photo; x4 of it is already 2.4 GB RGB
# What a folder of images holds: the files list_images takes (any_format: all Pillow reads).
IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff", ".webp")

# Pillow decodes these PNG raw modes (16 bits per channel, with colour or alpha) to 8 bits.
_PNG_DEEP_RAWMODES = {"RGB;16B": 3, "RGBA;16B": 4, "LA;16B": 2}
_TIFF_RGB = 2  # PhotometricInterpretation
_TIFF_ASSOCIATED_ALPHA = 1  # ExtraSamples: premultiplied alpha
# Only one thread at a time lifts Pillow's process-wide limits, and puts them back.
_PILLOW_LIMIT_LOCK = threading.Lock()
# Pillow refuses a PNG whose ICC profile (or text chunk) inflates past PngImagePlugin's
# MAX_TEXT_CHUNK (1 MiB): hubsr reads profiles up to the 16.7 MB a JPEG can carry
# (255 segments of 65,519 bytes), so a valid PNG with a large profile is not "corrupt".
_MAX_ICC_BYTES = 255 * 65_519
# The largest profile each format can hold *and Pillow read back* with its default settings;
# save_image_atomic leaves a larger one out (with a warning) rather than write a file that Pillow
# cannot reopen (PNG) or cannot write at all (JPEG). Other formats have no such limit.
_ICC_LIMITS = {"PNG": PngImagePlugin.MAX_TEXT_CHUNK, "JPEG": _MAX_ICC_BYTES}


@dataclass(frozen=True)
class ImageHeader:
    """What an image file's header says, read without decoding its pixels."""

    width: int
    height: int
    format: str | None  # Pillow's format name: "PNG", "TIFF", "JPEG", ...
    mode: str  # the PIL mode Pillow decodes to (8-bit for 16-bit colour: see deep_colour)
    deep_colour: bool  # 16 bits per channel with colour or alpha: read_image keeps all 16
    frames: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


class FolderImages(NamedTuple):
    """What :func:`scan_folder` finds directly inside a folder, each list sorted by name."""

    images: list[Path]  # the files whose suffix names an image format read here
    others: list[Path]  # every other file (not hidden): what a folder run leaves out


class LoadedImage(NamedTuple):
    """What :func:`read_image` returns: the pixels and the colour profile to write back."""

    pixels: Image.Image | np.ndarray  # a PIL image, or HxWxC uint16 for 16-bit colour
    icc_profile: bytes | None


def read_header(src, *, max_pixels: int | None = None) -> ImageHeader:
    """Open ``src`` (a path or the file's bytes) and read its header only; no pixel is decoded.

    Raises:
        HubSRError: the file is missing, empty, not an image or has a corrupt header (a
            truncated animated GIF or multi-page TIFF too: counting frames reads every one).
        TooManyPixelsError: the image has more than ``max_pixels`` pixels (None or 0: no
            limit), the check :func:`read_image` makes.
    """
    max_pixels = _check_limit(max_pixels)
    with _opened(src) as (img, name, _):
        _check_pixel_count(img, name, max_pixels)
        frames = getattr(img, "n_frames", 1)
        return ImageHeader(img.width, img.height, img.format, img.mode, _deep_colour(img), frames)


def load_image(src, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open, check and fully decode an image, with its EXIF orientation applied.

    Args:
        src: a path (``str`` or ``Path``), the encoded file as ``bytes``, or a PIL image.
        max_pixels: refuse images with more pixels than this; ``None`` or 0: no limit. The
            limit is checked from the header, before decoding, and it is the only one:
            Pillow's decompression-bomb limit is lifted for images this limit allows.

    Returns:
        A loaded PIL image in its own mode (no mode conversion), upright. A PNG or TIFF with
        16 bits per colour channel comes back with the top 8 bits of each (PIL has no 16-bit
        colour mode) and a :class:`UserWarning`; :func:`read_image` keeps all 16.

    Animated images (GIF, APNG, WebP, multi-page TIFF) are refused: upscaling the first frame
    alone would silently drop the others. Multi-picture JPEGs (MPO, written by many cameras
    next to a preview or depth map) are still photographs, and their primary image is used.

    Raises:
        HubSRError: the input is missing, unreadable, not an image, corrupt or truncated, has
            zero width or height, has too many pixels, is animated, or has EXIF metadata too
            corrupt to tell its orientation. Never another type (Pillow's plugins raise
            SyntaxError, IndexError, TypeError, ... on bad data): only ``MemoryError`` passes.
    """
    return _read(src, _check_limit(max_pixels), keep_deep=False).pixels


def read_image(src, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """:func:`load_image`, except that 16-bit colour keeps its 16 bits.

    A PNG or TIFF with 16 bits per channel and colour or alpha (RGB, RGBA, grey + alpha) comes
    back as an ``HxWxC`` ``uint16`` array (C = 3, 4 or 2), upright, with straight (not
    premultiplied) alpha; everything else as the PIL image :func:`load_image` returns. The
    embedded ICC profile, if any, comes along for :func:`save_image_atomic`.

    Raises:
        HubSRError: as :func:`load_image`; also for a 16-bit colour TIFF whose compression
            (LZW, JPEG, ...) tifffile decodes only with the ``imagecodecs`` package.
    """
    return _read(src, _check_limit(max_pixels), keep_deep=True)


def result_icc_profile(image: LoadedImage, result) -> bytes | None:
    """The colour profile to save ``result``, the upscaled ``image``, with (the argument of
    :func:`save_image_atomic`): the input's for an array, which carries none; None for a PIL
    image, which carries its own (:func:`hubsr.pipeline.upscale` leaves it out where a mode
    conversion changed the colour space)."""
    return image.icc_profile if isinstance(result, np.ndarray) else None


def list_images(
    folder: str | os.PathLike, *, any_format: bool = False, unique_stems: bool = True
) -> list[Path]:
    """The image files directly inside ``folder``, sorted by name (:func:`scan_folder`).

    Raises:
        HubSRError: ``folder`` is not a folder or holds no image; with ``unique_stems``, two
            images share a stem (``baby.png``, ``baby.bmp``), which results named by stem cannot
            tell apart.
    """
    files = scan_folder(folder, any_format=any_format).images
    if unique_stems:
        stems = [p.stem for p in files]
        duplicates = sorted({s for s in stems if stems.count(s) > 1})
        if duplicates:
            raise HubSRError(f"{folder} holds several files named {', '.join(duplicates)}")
    return files


def scan_folder(folder: str | os.PathLike, *, any_format: bool = False) -> FolderImages:
    """The files directly inside ``folder``, split into images and others. Images are those
    whose suffix is one of :data:`IMAGE_SUFFIXES` (any case), or with ``any_format`` any that
    Pillow reads. Hidden files (``.NAME``) and subfolders are neither.

    Raises:
        HubSRError: ``folder`` is not a folder or holds no image (the others are named).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise HubSRError(f"image folder {folder} does not exist")
    suffixes = set(Image.registered_extensions()) if any_format else IMAGE_SUFFIXES
    found = FolderImages([], [])
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            (found.images if path.suffix.lower() in suffixes else found.others).append(path)
    if not found.images:
        listed = "" if any_format else f" ({', '.join(IMAGE_SUFFIXES)})"
        others = f"; its other files: {name_some(found.others)}" if found.others else ""
        raise HubSRError(f"{folder} holds no image files{listed}{others}")
    return found


def name_some(paths, limit: int = 3) -> str:
    """``a.png, b.png, c.png and 4 more``: the names of the first ``limit`` paths, for one line."""
    names = [Path(p).name for p in paths]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


# -- reading --------------------------------------------------------------------------------------
def _check_limit(max_pixels) -> int | None:
    if max_pixels is None:
        return None
    if not isinstance(max_pixels, (int, np.integer)) or isinstance(max_pixels, bool):
        raise HubSRError(f"max_pixels must be an integer or None, got {max_pixels!r}")
    if max_pixels < 0:
        raise HubSRError(f"max_pixels must be 0 or more (0: no limit), got {max_pixels}")
    return int(max_pixels) or None


def _read(src, max_pixels: int | None, keep_deep: bool) -> LoadedImage:
    if isinstance(src, Image.Image):
        with _bad_data_as_error("image"):
            _check_size(src, "image", max_pixels)
            return _decode(src, "image", None, keep_deep)
    with _opened(src) as (img, name, file):
        _check_size(img, name, max_pixels)
        return _decode(img, name, file, keep_deep)


@contextlib.contextmanager
def _opened(src):
    """``(image, name, file)`` for a path or bytes: the file opened by Pillow, header read."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        file, name = io.BytesIO(src), "image data"
    elif isinstance(src, (str, os.PathLike)):
        name = str(src)
        try:
            file = open(src, "rb")  # noqa: SIM115  (closed by the with block below)
        except OSError as exc:
            raise HubSRError(f"cannot read {src}: {exc.strerror or exc}") from None
    else:
        raise HubSRError(f"cannot load an image from a {type(src).__name__}")
    with file:
        if file.seek(0, io.SEEK_END) == 0:
            raise HubSRError(f"{name} is empty (0 bytes)")
        file.seek(0)
        with warnings.catch_warnings():
            # Pillow warns above MAX_IMAGE_PIXELS; hubsr checks its own limit instead.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            try:
                img, lifted = _open(file, name), contextlib.nullcontext
            except _OverPillowLimit:
                # Above one of Pillow's limits: read the header without them, so that hubsr's
                # decide (max_pixels; _MAX_ICC_BYTES).
                file.seek(0)
                with _pillow_limits_lifted():
                    img = _open(file, name, limits_lifted=True)
                lifted = _pillow_limits_lifted  # decoding checks Pillow's limits again (GIF)
            with img, lifted(), _bad_data_as_error(name):
                yield img, name, file


@contextlib.contextmanager
def _bad_data_as_error(name: str):
    """Whatever bad data makes Pillow raise after the header (SyntaxError, IndexError,
    TypeError, struct.error, ... from counting the frames of a truncated GIF or TIFF, say)
    becomes one HubSRError that names the input. Memory errors pass: they are not the file's."""
    try:
        yield
    except (HubSRError, MemoryError):
        raise
    except Exception as exc:
        raise HubSRError(f"{name} is truncated or corrupt ({type(exc).__name__}: {exc})") from None


class _OverPillowLimit(Exception):
    """The file is over one of Pillow's process-wide limits, which hubsr replaces by its own."""


@contextlib.contextmanager
def _pillow_limits_lifted():
    with _PILLOW_LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS, PngImagePlugin.MAX_TEXT_CHUNK
        Image.MAX_IMAGE_PIXELS, PngImagePlugin.MAX_TEXT_CHUNK = None, _MAX_ICC_BYTES
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS, PngImagePlugin.MAX_TEXT_CHUNK = saved


def _open(file, name: str, *, limits_lifted: bool = False) -> Image.Image:
    try:
        return Image.open(file)
    except UnidentifiedImageError:
        raise HubSRError(f"{name} is not an image file that Pillow can read") from None
    except MemoryError:
        raise
    except Exception as exc:  # Pillow's plugins raise many types on a corrupt header
        # Pillow names its PNG text limit in the message only (a ValueError).
        over_limit = isinstance(exc, Image.DecompressionBombError) or "MAX_TEXT_CHUNK" in str(exc)
        if over_limit and not limits_lifted:
            raise _OverPillowLimit from None
        raise HubSRError(f"{name} is corrupt ({type(exc).__name__}: {exc})") from None


def _check_size(img: Image.Image, name: str, max_pixels: int | None) -> None:
    width, height = img.size
    if width == 0 or height == 0:
        raise HubSRError(f"{name} has zero width or height ({width}x{height})")
    _check_pixel_count(img, name, max_pixels)
    if getattr(img, "is_animated", False) and img.format != "MPO":
        raise HubSRError(
            f"{name} is animated ({img.n_frames} frames); hubsr upscales still images only, "
            "extract the frames first"
        )


def _check_pixel_count(img: Image.Image, name: str, max_pixels: int | None) -> None:
    if max_pixels is not None and img.width * img.height > max_pixels:
        raise TooManyPixelsError(name, img.width, img.height, max_pixels)


def _decode(img: Image.Image, name: str, file, keep_deep: bool) -> LoadedImage:
    icc = img.info.get("icc_profile") or None
    if _deep_colour(img):
        if keep_deep and file is not None:
            decode = _decode_png16 if img.format == "PNG" else _decode_tiff16
            pixels = decode(file, name)
            return LoadedImage(_orient(pixels, _orientation(img, name)), icc)
        warnings.warn(
            f"{name} has 16 bits per colour channel; a PIL image holds 8, so only the top 8 "
            "bits are kept: use hubsr.imageio.read_image (or a uint16 array) to keep all 16",
            stacklevel=4,
        )
    try:
        img.load()  # decode everything now: truncated data fails here, not later
    except MemoryError:
        raise
    except Exception as exc:
        raise HubSRError(f"{name} is truncated or corrupt ({type(exc).__name__}: {exc})") from None
    return LoadedImage(_apply_orientation(img, name), icc)


def _deep_colour(img: Image.Image) -> bool:
    """Whether the (not yet decoded) image has 16-bit channels that PIL would cut to 8 bits."""
    if img.format == "PNG":
        tile = getattr(img, "tile", None)
        if not tile:
            return False
        args = tile[0].args
        return (args if isinstance(args, str) else args[0]) in _PNG_DEEP_RAWMODES
    if img.format == "TIFF":
        tags = img.tag_v2
        bits = tags.get(258) or ()
        return (
            tags.get(262) == _TIFF_RGB
            and len(bits) >= 3
            and all(b == 16 for b in bits)
            and all(f == 1 for f in tags.get(339) or (1,))  # unsigned integers
        )
    return False


def _decode_png16(file, name: str) -> np.ndarray:
    import png  # pypng

    file.seek(0)
    try:
        width, height, rows, info = png.Reader(file=file).read()
        planes = info["planes"]
        pixels = np.empty((height, width * planes), dtype=np.uint16)
        for y, row in enumerate(rows):
            pixels[y] = np.frombuffer(row, dtype=np.uint16)
    except MemoryError:
        raise
    except Exception as exc:
        raise HubSRError(f"{name} is truncated or corrupt ({type(exc).__name__}: {exc})") from None
    pixels = pixels.reshape(height, width, planes)
    key = info.get("transparent")
    if key is not None:  # a tRNS colour key becomes a real alpha channel, as for 8-bit images
        opaque = np.any(pixels != np.asarray(key, dtype=np.uint16), axis=2, keepdims=True)
        pixels = np.concatenate([pixels, opaque.astype(np.uint16) * 65535], axis=2)
    return pixels


def _decode_tiff16(file, name: str) -> np.ndarray:
    import tifffile

    file.seek(0)
    try:
        with tifffile.TiffFile(file) as tif:
            page = tif.pages[0]
            pixels = page.asarray()
            axes, extra = page.axes, tuple(page.extrasamples)
    except MemoryError:
        raise
    except Exception as exc:
        if "imagecodecs" in str(exc):
            raise HubSRError(
                f"{name} is a 16-bit colour TIFF whose compression needs the imagecodecs package "
                "to be read with all 16 bits: pip install imagecodecs (or save it uncompressed "
                "or with Deflate/ZIP compression)"
            ) from None
        raise HubSRError(f"{name} is truncated or corrupt ({type(exc).__name__}: {exc})") from None
    pixels = np.moveaxis(pixels, axes.index("S"), -1) if "S" in axes else pixels
    # Native byte order, RGB and the first extra sample (alpha) only.
    pixels = np.array(pixels.reshape(pixels.shape[-3:])[:, :, :4], dtype=np.uint16)
    if pixels.shape[2] == 4 and extra and extra[0] == _TIFF_ASSOCIATED_ALPHA:
        alpha = pixels[:, :, 3:].astype(np.float64)
        rgb = np.where(alpha > 0, pixels[:, :, :3] * 65535.0 / np.maximum(alpha, 1), 0)
        pixels[:, :, :3] = round_half_up(rgb, 65535)
    return pixels


def _orientation(img: Image.Image, name: str) -> int:
    try:
        return img.getexif().get(ExifTags.Base.Orientation, 1)
    except MemoryError:
        raise
    except Exception as exc:  # e.g. a bad byte-order mark: Pillow's TIFF reader, SyntaxError
        raise HubSRError(
            f"{name} has EXIF metadata too corrupt to tell which way up it is "
            f"({type(exc).__name__}: {exc}); save it again without EXIF data"
        ) from None


def _orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """The array as a viewer shows it: what ``ImageOps.exif_transpose`` does to a PIL image."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.rot90(a, 2).transpose(1, 0, 2),
        8: lambda a: np.rot90(a, 1),
    }
    return np.ascontiguousarray(ops[orientation](pixels)) if orientation in ops else pixels


def _apply_orientation(img: Image.Image, name: str) -> Image.Image:
    # exif_transpose copies the image even when there is nothing to do; only call it if needed.
    if _orientation(img, name) in range(2, 9):
        return ImageOps.exif_transpose(img)
    return img


# -- saving ---------------------------------------------------------------------------------------
def save_image_atomic(
    img, path, *, icc_profile: bytes | None = None, overwrite: bool = True, **params
) -> Path:
    """Save ``img`` to ``path`` all at once: a hidden temporary file in the same folder, then
    ``os.replace``. On any error the temporary file is removed and ``path`` is left as it was.

    ``img`` is a PIL image or a numpy ``uint8``/``uint16`` array ``HxW`` or ``HxWxC`` (C = 1
    grey, 2 grey + alpha, 3 RGB, 4 RGBA); 16-bit arrays keep their 16 bits: grey in any format
    Pillow writes 16-bit grey to (PNG, TIFF), colour as 16-bit PNG (pypng) or TIFF (tifffile,
    Deflate-compressed). ``icc_profile`` embeds a colour profile (default: the PIL image's own);
    one larger than the format can carry for Pillow to read back (over 1 MiB in a PNG) is left
    out with a :class:`UserWarning`, so the file written always opens.

    The format follows the extension (``.png``, ``.bmp``, ``.tif``, ...); ``params`` go to
    ``PIL.Image.save`` (e.g. ``compress_level=1``). Returns ``path`` as a ``Path``.
    ``overwrite=False``: a file that appears at ``path`` meanwhile is left as it is
    (:class:`hubsr.atomic.TargetExistsError`).

    Raises:
        HubSRError: unknown extension, a mode the format cannot store (RGBA as JPEG, 16-bit
            colour as BMP), or an OS error (missing folder, no space, no permission).
    """
    path = Path(path)
    fmt = _format_for(path)
    write = _writer(img, fmt, path, icc_profile, params)

    def write_or_explain(file) -> None:
        try:
            write(file)
        except (OSError, ValueError, KeyError) as exc:  # e.g. a mode the format cannot store
            raise HubSRError(f"cannot save {path}: {exc}") from None

    return write_atomic(path, write_or_explain, make_parents=False, overwrite=overwrite)


def _writer(img, fmt: str, path: Path, icc: bytes | None, params: dict):
    """A function that writes ``img`` to an open binary file in format ``fmt``."""
    if isinstance(img, np.ndarray):
        arr = _check_array(img, path)
        if arr.dtype == np.uint16 and arr.shape[2] > 1:
            icc = _fitting_icc(icc, fmt, path)
            if fmt == "PNG":
                return lambda file: _write_png16(file, arr, icc)
            if fmt == "TIFF":
                return lambda file: _write_tiff16(file, arr, icc)
            raise HubSRError(
                f"cannot save {path}: {fmt} cannot hold 16 bits per colour channel; "
                "use .png or .tif"
            )
        img = Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)  # uint16: I;16
    if not isinstance(img, Image.Image):
        raise HubSRError(f"cannot save a {type(img).__name__}; pass a PIL image or a numpy array")
    # Always passed, None included: Pillow's writers otherwise take the image's own profile.
    icc = _fitting_icc(icc or img.info.get("icc_profile"), fmt, path)
    return lambda file: img.save(file, format=fmt, **{**params, "icc_profile": icc})


def _fitting_icc(icc: bytes | None, fmt: str, path: Path) -> bytes | None:
    """``icc`` if a ``fmt`` file can carry it correctly (:data:`_ICC_LIMITS`), else None and a
    one-line warning: a colour profile is worth less than an output that opens."""
    limit = _ICC_LIMITS.get(fmt)
    if icc and limit is not None and len(icc) > limit:
        warnings.warn(
            f"the ICC colour profile ({len(icc):,} bytes) is left out of {path}: a {fmt} file "
            f"carries at most {limit:,} bytes of profile that Pillow reads back",
            stacklevel=4,
        )
        return None
    return icc or None


def _check_array(arr: np.ndarray, path: Path) -> np.ndarray:
    if arr.dtype not in (np.uint8, np.uint16):
        raise HubSRError(f"cannot save {path}: array dtype {arr.dtype}; pass uint8 or uint16")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4) or 0 in arr.shape:
        raise HubSRError(
            f"cannot save {path}: array shape {arr.shape}; expected HxW or HxWxC, C in 1..4"
        )
    return arr


def _write_png16(file, arr: np.ndarray, icc: bytes | None) -> None:
    import png  # pypng

    class Writer(png.Writer):
        def write_preamble(self, outfile):
            super().write_preamble(outfile)  # signature and IHDR, then our iCCP before IDAT
            if icc:
                png.write_chunk(outfile, b"iCCP", b"ICC Profile\0\0" + zlib.compress(icc))

    height, width, channels = arr.shape
    writer = Writer(width, height, greyscale=channels <= 2, alpha=channels in (2, 4), bitdepth=16)
    big_endian = arr.astype(">u2", copy=False).reshape(height, width * channels)
    writer.write_packed(file, (row.tobytes() for row in big_endian))


def _write_tiff16(file, arr: np.ndarray, icc: bytes | None) -> None:
    import tifffile

    tifffile.imwrite(
        file,
        arr,
        photometric="rgb" if arr.shape[2] >= 3 else "minisblack",
        extrasamples=("unassalpha",) if arr.shape[2] in (2, 4) else None,
        compression="zlib",
        predictor=True,
        iccprofile=icc,
        metadata=None,
    )


def _format_for(path: Path) -> str:
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None or fmt not in Image.SAVE:
        raise HubSRError(
            f"cannot save {path}: no image format Pillow can write has the extension "
            f"{path.suffix!r}"
        )
    return fmt
