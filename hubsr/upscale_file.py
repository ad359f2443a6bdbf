"""An image file in, its upscaled image file out: the one path ``hubsr upscale`` and the Space
both take, so that the same input gives the same bytes in either.

:func:`upscale_file` is the three steps in a row: :func:`hubsr.imageio.read_image` (the header
first, so an oversized or non-image file is refused before any decoding; then every pixel
decoded once, upright, 16-bit colour whole), :func:`hubsr.pipeline.upscale` on the image as read
(neither read nor size-checked again), and :func:`write_result`. The Space, which times the
model and writes a bicubic result beside it, takes the same steps one by one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

from .collections_io import exif_for_output, save_params
from .imageio import (
    DEFAULT_MAX_PIXELS,
    LoadedImage,
    read_image,
    result_icc_profile,
    save_image_atomic,
)
from .pipeline import output_mode, upscale

__all__ = ["ResultKind", "result_kind", "upscale_file", "write_result"]


def upscale_file(
    model,
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    quality: int | None = None,
    overwrite: bool = True,
    make_parents: bool = False,
    **options,
) -> Path:
    """Read ``src``, upscale it with ``model`` and write the result to ``dst``; returns ``dst``.

    ``max_pixels`` is checked from the header (None or 0: no limit; pass None where the header
    was checked already, so the limit is checked once). ``options`` go to
    :func:`hubsr.pipeline.upscale` (``tile``, ``tile_overlap``, ``tta``, ``device``, ``dtype``,
    ``progress``, ``memory_budget``); ``quality``, ``overwrite`` and ``make_parents`` to
    :func:`write_result`.

    Raises:
        HubSRError: ``src`` cannot be read or upscaled, or ``dst`` cannot be written.
    """
    image = read_image(src, max_pixels=max_pixels)  # 16-bit colour: a uint16 array
    result = upscale(model, image, **options)  # as read: upscale() neither reads nor checks it
    return write_result(
        result, image, dst, quality=quality, overwrite=overwrite, make_parents=make_parents
    )


def write_result(
    result,
    image: LoadedImage,
    dst: str | os.PathLike,
    *,
    quality: int | None = None,
    overwrite: bool = True,
    make_parents: bool = False,
) -> Path:
    """Write ``result``, the upscaled ``image``, to ``dst`` atomically, in the format of its
    extension, with what ``image`` carries: its colour profile (unless the pipeline's mode
    conversion changed the colour space: :func:`hubsr.imageio.result_icc_profile`) and its EXIF
    block without the orientation tag (the pixels are upright), where the format holds them.

    ``quality``: JPEG and WebP only (Pillow's default otherwise). ``overwrite=False``: a file
    that appears at ``dst`` meanwhile is left as it is. ``make_parents``: create ``dst``'s
    missing folders first (a subfolder of a mirrored tree).
    """
    dst = Path(dst)
    if make_parents:  # only now: an input that failed leaves no empty folder behind
        dst.parent.mkdir(parents=True, exist_ok=True)
    params = save_params(dst, exif_for_output(image.pixels), quality)
    icc = result_icc_profile(image, result)
    return save_image_atomic(result, dst, icc_profile=icc, overwrite=overwrite, **params)


class ResultKind(NamedTuple):
    """What :func:`hubsr.pipeline.upscale` makes of an image, for a line about it."""

    grey: bool
    deep: bool  # 16 bits per channel (32-bit integer grey is clipped to 16 bits)
    alpha: bool
    converted_from: str | None  # the PIL mode turned into RGB or RGBA (P, CMYK, ...), or None


def result_kind(pixels: Image.Image | np.ndarray) -> ResultKind:
    """The :class:`ResultKind` of ``pixels`` (a PIL image, or an ``HxW``/``HxWxC`` array), by
    the pipeline's own mode policy (:func:`hubsr.pipeline.output_mode`); an error for a mode it
    refuses."""
    if isinstance(pixels, np.ndarray):
        channels = 1 if pixels.ndim == 2 else pixels.shape[2]
        return ResultKind(channels <= 2, pixels.dtype == np.uint16, channels in (2, 4), None)
    mode = output_mode(pixels)
    colour = mode.startswith("RGB")
    converted = pixels.mode if colour and not pixels.mode.startswith("RGB") else None
    return ResultKind(not colour, mode.startswith("I"), "A" in mode, converted)
