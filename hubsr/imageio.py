"""Load images safely and save them atomically: clear errors, never a warning or a half file.

:func:`load_image` turns every way an input can be bad (not an image, truncated, corrupt, empty,
too many pixels, animated) into a :class:`~hubsr.errors.HubSRError` that names the input and
the problem, *before* any large allocation where the header already tells. It decodes the whole
image, so truncation is found now and not halfway through an upscale, and it applies the EXIF
orientation, so the pixels are the way a viewer shows them.

:func:`save_image_atomic` writes to a hidden temporary file beside the target and renames it
over the target, so a reader sees the old file or the complete new one, never a partial one.
"""

from __future__ import annotations

import io
import os
import secrets
import warnings
from pathlib import Path

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from .errors import HubSRError

__all__ = ["DEFAULT_MAX_PIXELS", "load_image", "save_image_atomic"]

DEFAULT_MAX_PIXELS = 50_000_000  # 50 MP: a large camera photo; x4 of it is already 2.4 GB RGB


def load_image(src, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open, check and fully decode an image, with its EXIF orientation applied.

    Args:
        src: a path (``str`` or ``Path``), the encoded file as ``bytes``, or a PIL image.
        max_pixels: refuse images with more pixels than this (``None``: no limit of ours;
            Pillow's own decompression-bomb limit, ``PIL.Image.MAX_IMAGE_PIXELS``, still holds
            and is reported the same way). The limit is checked from the header, before decoding.

    Returns:
        A loaded PIL image in its own mode (no mode conversion), upright.

    Animated images (GIF, APNG, WebP, multi-page TIFF) are refused: upscaling the first frame
    alone would silently drop the others. Multi-picture JPEGs (MPO, written by many cameras
    next to a preview or depth map) are still photographs, and their primary image is used.

    Raises:
        HubSRError: the input is missing, unreadable, not an image, corrupt or truncated, has
            zero width or height, has too many pixels, or is animated.
    """
    if isinstance(src, Image.Image):
        return _check_and_decode(src, "image", max_pixels)
    if isinstance(src, (bytes, bytearray, memoryview)):
        return _load_file(io.BytesIO(src), "image data", max_pixels)
    if not isinstance(src, (str, os.PathLike)):
        raise HubSRError(f"cannot load an image from a {type(src).__name__}")
    try:
        file = open(src, "rb")  # noqa: SIM115  (closed by the with block below)
    except OSError as exc:
        raise HubSRError(f"cannot read {src}: {exc.strerror or exc}") from None
    with file:
        return _load_file(file, str(src), max_pixels)


def _load_file(file, name: str, max_pixels: int | None) -> Image.Image:
    if file.seek(0, io.SEEK_END) == 0:
        raise HubSRError(f"{name} is empty (0 bytes)")
    file.seek(0)
    with warnings.catch_warnings():
        # Pillow warns above MAX_IMAGE_PIXELS; we check our own limit instead, as an error.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with _open(file, name) as img:
            return _check_and_decode(img, name, max_pixels)


def _open(file, name: str) -> Image.Image:
    try:
        return Image.open(file)
    except Image.DecompressionBombError as exc:
        raise HubSRError(f"{name} is too large: {exc}") from None
    except UnidentifiedImageError:
        raise HubSRError(f"{name} is not an image file that Pillow can read") from None
    except MemoryError:
        raise
    except Exception as exc:  # Pillow's plugins raise many types on a corrupt header
        raise HubSRError(f"{name} is corrupt ({type(exc).__name__}: {exc})") from None


def _check_and_decode(img: Image.Image, name: str, max_pixels: int | None) -> Image.Image:
    width, height = img.size
    if width == 0 or height == 0:
        raise HubSRError(f"{name} has zero width or height ({width}x{height})")
    if max_pixels is not None and width * height > max_pixels:
        raise HubSRError(
            f"{name} has {width}x{height} = {width * height:,} pixels, more than the limit of "
            f"{max_pixels:,}; raise max_pixels (--max-pixels) if you trust this image"
        )
    if getattr(img, "is_animated", False) and img.format != "MPO":
        raise HubSRError(
            f"{name} is animated ({img.n_frames} frames); hubsr upscales still images only, "
            "extract the frames first"
        )
    try:
        img.load()  # decode everything now: truncated data fails here, not later
    except MemoryError:
        raise
    except Exception as exc:
        raise HubSRError(f"{name} is truncated or corrupt ({type(exc).__name__}: {exc})") from None
    return _apply_orientation(img)


def _apply_orientation(img: Image.Image) -> Image.Image:
    # exif_transpose copies the image even when there is nothing to do; only call it if needed.
    if img.getexif().get(ExifTags.Base.Orientation, 1) in range(2, 9):
        return ImageOps.exif_transpose(img)
    return img


def save_image_atomic(img: Image.Image, path, **params) -> Path:
    """Save ``img`` to ``path`` all at once: a hidden temporary file in the same folder, then
    ``os.replace``. On any error the temporary file is removed and ``path`` is left as it was.

    The format follows the extension (``.png``, ``.bmp``, ``.tif``, ...); ``params`` go to
    ``PIL.Image.save`` (e.g. ``compress_level=1``). Returns ``path`` as a ``Path``.

    Raises:
        HubSRError: unknown extension, a mode the format cannot store (RGBA as JPEG), or an
            OS error (missing folder, no space, no permission).
    """
    path = Path(path)
    fmt = _format_for(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        file = open(tmp, "xb")  # noqa: SIM115  (closed below; "x": never reuse an existing file)
    except OSError as exc:
        raise HubSRError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with file:
            img.save(file, format=fmt, **params)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, (OSError, ValueError, KeyError)):
            raise HubSRError(f"cannot save {path}: {exc}") from None
        raise
    return path


def _format_for(path: Path) -> str:
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None or fmt not in Image.SAVE:
        raise HubSRError(
            f"cannot save {path}: no image format Pillow can write has the extension "
            f"{path.suffix!r}"
        )
    return fmt
