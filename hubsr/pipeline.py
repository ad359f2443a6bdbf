"""Upscale one image with any hubsr model: image modes, bit depths, tiles, self-ensemble, devices.

This module only needs the model's interface (``scale``, ``in_channels``, ``size_multiple``,
``bf16_safe`` and ``forward`` on a float ``N x C x H x W`` batch in [0, 1]); it never imports
:mod:`hubsr.models` or :mod:`hubsr.hub`, so any module with those attributes works, nor which
models ship (:mod:`hubsr.bundled`; tests/test_lint.py holds it to that).

Memory: the input stays on the CPU as integers; each tile is cut from it, sent to the device,
run, cropped, rounded and written into a preallocated integer output (a numpy array, or the
output PIL image itself). Peak memory is the input, the output and a working set that depends
on the tile size only, not on the image size; without ``tile``, the tile is planned from the
model's measured working set and a memory budget (:mod:`hubsr.memory`).

Numbers: around the image the model sees :data:`BORDER` mirrored pixels, not the zeros of its
own convolutions (the benchmark keeps the zeros, see there); colour with alpha goes through the
model premultiplied;
16-bit images run in float32 by default; a NaN or infinite output is an error.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm import tqdm

from .dihedral import VIEWS, dihedral, undo_dihedral
from .errors import ExpectedScaleError, HubSRError, TooManyPixelsError
from .imageio import DEFAULT_MAX_PIXELS, LoadedImage, read_image
from .memory import is_out_of_memory, more_memory, plan_tiles, resolve_budget
from .precision import default_amp_dtype
from .resize import imresize
from .rounding import round_half_up

__all__ = [
    "BORDER",
    "check_tiling",
    "output_mode",
    "resolve_amp_dtype",
    "resolve_device",
    "upscale",
]

# LR pixels mirrored outward around the image (numpy's "symmetric": MATLAB imresize's padding)
# before the model runs, so that its convolutions never see zeros at the image's edge. Worst
# flat-colour error of the bundled models on 40x40, 2x2 and 1x1 images (5 colours, float32 and
# bf16): with the zeros up to 58 levels off at the edge (1x1: 123); with 4 pixels within 2
# but photo-x2/x3/x4 (3/3/4, at the edge); with 8 the edge comes out as the interior does. No
# border reaches the interior: there the model alone decides, and six models mapped saturated
# flat colours 3 to 14 levels off until they were fine-tuned with --flat-colours
# (training/flat_colour.py; tests/test_trustworthy.py holds every bundled model to 2 levels on
# 343 colours there). Set5 in float32 against the zeros (measured before that fine-tune):
# -0.030/-0.025/-0.030 dB for the x2/x3/x4 defaults, +0.003 to -0.033 for the others (the
# models were trained with zero padding at patch edges), 4 pixels within 0.004 dB of that; at 4
# pixels "reflect" lost 0.06-0.07 dB and "edge" 0.14-0.20 (on flat colour every mode is the
# same), and the extra work is the border's share of the pixels. Published numbers keep the
# papers' zeros: the benchmark passes border=0 (hubsr.benchmark.PROTOCOL_BORDER).
BORDER = 8
BORDER_MODE = "symmetric"
# Bicubic taps reach 2 LR pixels beyond an output pixel; 4 makes tiled alpha match untiled alpha.
_ALPHA_CONTEXT = 4
# Alpha below which straight colour is taken from bicubic, not the model (see _upscale_box).
_COVERED = 1 / 16
_VISIBLE = 0.5 / 65535

# PIL modes converted before upscaling (output mode = converted mode); modes absent are refused.
_PIL_CONVERSIONS = {
    "1": "L",
    "P": "RGB",
    "PA": "RGBA",
    "La": "LA",
    "RGBa": "RGBA",
    "RGBX": "RGB",
    "CMYK": "RGB",
    "YCbCr": "RGB",
}
# A "transparency" entry (a palette index or a colour key) becomes a real alpha channel.
_PIL_TRANSPARENT = {"L": "LA", "P": "RGBA", "RGB": "RGBA"}
_PIL_8BIT = ("L", "LA", "RGB", "RGBA")
_PIL_16BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I")
# Mode changes after which an embedded ICC profile no longer describes the pixels.
_ICC_INVALIDATING = ("CMYK", "YCbCr")

_AMP_DTYPES = {
    "float32": None,
    "fp32": None,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
    "half": torch.float16,
}


def upscale(
    model,
    img,
    *,
    tile: int | None = None,
    tile_overlap: int = 32,
    tta: bool = False,
    device=None,
    dtype=None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    progress: bool = False,
    scale: int | None = None,
    memory_budget: int | str | None = None,
    border: int = BORDER,
):
    """Upscale ``img`` by ``model.scale``; the output is exactly ``scale*W x scale*H``.

    Args:
        model: a hubsr model (or any ``nn.Module`` with ``scale``, ``in_channels``,
            ``size_multiple`` and ``bf16_safe``). It is put in eval mode for the call (its mode
            is restored afterwards) and moved to ``device`` if it is elsewhere.
        img: a PIL image, a path (``str``/``Path``), or a numpy ``uint8``/``uint16`` array
            ``HxW`` or ``HxWxC`` with ``C`` in 1 (grey), 2 (grey + alpha), 3 (RGB), 4 (RGBA);
            or what :func:`hubsr.imageio.read_image` returned, taken as it is (decoded,
            upright and size-checked there: ``max_pixels`` does not apply again).
        tile: if set, the image is processed in ``tile x tile`` LR tiles, each run with
            ``tile_overlap`` extra LR pixels of context on every side that are cropped away
            after the model (each output pixel comes from exactly one tile: no blending and no
            seams when the overlap covers the model's receptive field). ``None``: one pass if
            the model's working set on the image fits ``memory_budget``, else the fewest
            tiles that fit (:func:`hubsr.memory.plan_tiles`), cut the same way. With several
            tiles, the tile and overlap are rounded up to multiples of the model's
            ``tile_multiple`` (if it has one), as is ``border``; a model whose ``image_wide``
            says why its tiles cannot be seamless gives one warning.
        tile_overlap: context pixels per side; must be smaller than ``tile``.
        tta: x8 self-ensemble (4 rotations x horizontal flip, outputs averaged); 8x slower,
            composes with tiling.
        device: ``None`` (the device the model is on: the CPU for a loaded model), ``"cpu"``,
            ``"cuda"``, ``"cuda:1"``, ``"mps"``, ``"auto"`` (CUDA, else MPS, else CPU) or a
            ``torch.device``.
        dtype: compute precision. ``None`` or ``"auto"``: bf16 autocast when
            ``model.bf16_safe`` and the device multiplies bf16 natively (CUDA, or a CPU with
            bf16 matrix units: :func:`hubsr.precision.cpu_bf16_units`) and the image has 8
            bits per channel; float32 otherwise (16-bit images included). Or
            ``"float32"``, ``"bfloat16"``, ``"float16"`` (or the torch dtype) to force autocast
            to that precision on any device. :func:`resolve_amp_dtype` says what ``None`` gives.
        max_pixels: refuse inputs with more pixels than this (``None`` or 0: no limit); a
            file is refused from its header, before decoding.
        progress: show a tqdm progress bar over tiles (on stderr) when there are several.
        scale: if given, the scale the caller expects; a model with another scale is an error.
        memory_budget: bytes one pass may use (or ``"800M"``, ``"4G"``; 0: no limit, never tile
            unasked); ``None``: ``HUBSR_MEMORY_BUDGET`` if set, else half the free memory, at
            most 1.5 GiB on the CPU (:func:`hubsr.memory.resolve_budget`). Ignored with ``tile``.
        border: LR pixels mirrored outward around the image before the model runs, so that
            flat colour stays flat up to the edge (:data:`BORDER`, see there); 0 leaves the
            model's own zero padding, the protocol every published number was measured with
            (:func:`hubsr.benchmark.benchmark` passes 0).

    Returns:
        The same kind as the input: a PIL image for a PIL image or a path, a numpy array of the
        same dtype and layout for an array. A path to a 16-bit colour PNG or TIFF (which PIL
        cannot hold) gives an ``HxWxC`` ``uint16`` array, all 16 bits kept
        (:func:`hubsr.imageio.save_image_atomic` writes it back as 16-bit).

    Mode policy (PIL modes; arrays follow the same rules by channel count):

    - ``RGB`` stays ``RGB``.
    - ``L`` stays ``L``: it runs as three equal channels on an RGB model and the output is the
      mean of the three output channels.
    - ``LA``/``RGBA``: the colour goes through the model premultiplied by alpha (so the hidden
      colour of transparent pixels cannot bleed into visible ones) and is divided by the output
      alpha afterwards; alpha is upscaled separately with MATLAB bicubic
      (:func:`hubsr.resize.imresize`, float path, rounded once) and kept.
    - ``P`` becomes ``RGB``, or ``RGBA`` if it has transparency (as do ``L``/``RGB`` with a
      transparent colour key, to ``LA``/``RGBA``); ``PA`` becomes ``RGBA``.
    - ``CMYK`` and ``YCbCr`` become ``RGB`` (Pillow's conversion, no colour management);
      ``RGBX`` becomes ``RGB``; ``1`` (bilevel) becomes ``L``; premultiplied ``La``/``RGBa``
      become ``LA``/``RGBA``.
    - 16-bit grey (``I;16`` and its byte orders, and ``I`` clipped to 0..65535) runs in float
      and comes back with 16-bit precision as ``I;16`` (``I`` stays ``I``); ``uint16`` arrays
      come back as ``uint16``.
    - ``F`` (32-bit float) and other modes are refused: float images have no defined white
      level, so convert them to ``I;16`` or ``L`` yourself.

    The EXIF orientation of a PIL image or file is applied first (the output is upright and has
    no orientation tag); an embedded ICC profile is carried over unless the mode conversion
    changed the colour space. The model's output is clamped to [0, 1] and rounded half up
    (MATLAB's ``im2uint8``) to 8 or 16 bits.

    Raises:
        HubSRError: bad arguments, an unsupported image, a model whose output has the wrong
            shape or is not finite, or memory that ran out all the same (the message names
            ``--tile``).
    """
    _check_model(model, scale)
    check_tiling(tile, tile_overlap)
    if not isinstance(tta, bool):
        raise HubSRError(f"tta must be True or False, got {tta!r}")
    if not _is_int(border) or border < 0:
        raise HubSRError(f"border must be an integer >= 0, got {border!r}")
    dev = resolve_device(device) if device is not None else _model_device(model)
    resolve_budget(dev, memory_budget)  # a budget that is no size is refused before decoding
    try:
        src, sink = _ingest(img, max_pixels, model.scale)
    except Exception as exc:
        if not is_out_of_memory(exc):
            raise
        raise HubSRError(
            f"out of memory reading the image and making room for its {model.scale**2}x larger "
            f"output (tiles cannot shrink that); {more_memory()}"
        ) from None
    amp_dtype = resolve_amp_dtype(dtype, dev, model, bit_depth=8 * src.dtype.itemsize)
    runner = _Runner(model, dev, amp_dtype, tta, src.shape[2])
    multiple = getattr(model, "tile_multiple", 1)
    # On the model's grid: a border off it moves the windows of the whole image (see _on_grid),
    # and away from the edges the output would no longer be the architecture's own.
    border = _round_up(border, multiple)
    if tile is None:
        # Read once the output has taken its share: under an address-space limit, a budget read
        # before planned 134x131 tiles for a 12 MP photo that then did not fit (ulimit -v 4.1 GiB).
        budget = resolve_budget(dev, memory_budget)
        # An RGB image on a grey model runs as a batch of three.
        batch = runner.colour_channels // min(runner.colour_channels, runner.model_channels)
        context = max(_round_up(tile_overlap, multiple), border)
        tiles = plan_tiles(model, *src.shape[:2], context, budget // batch, multiple=multiple)
    else:
        tiles = (tile, tile)
    tiles, tile_overlap = _on_grid(tiles, tile_overlap, multiple, src.shape[:2])
    if not _one_tile(tiles, src.shape[:2]):
        _warn_if_not_seamless(model, asked=tile is not None)
    try:
        _run(runner, src, sink, tiles, tile_overlap, border, progress)
    except Exception as exc:
        if not is_out_of_memory(exc):
            raise
        raise _out_of_memory(src.shape[:2], tiles, tile_overlap) from None
    return sink.result()


def _run(
    runner: _Runner, src: np.ndarray, sink, tiles, tile_overlap: int, border: int, progress: bool
):
    model, scale = runner.model, runner.scale
    was_training = model.training
    # channels_last: oneDNN's and cuDNN's fast convolutions are NHWC; a no-op for 2-D weights.
    model.to(runner.device, memory_format=torch.channels_last).eval()
    try:
        boxes = list(_boxes(src.shape[0], src.shape[1], tiles))
        with torch.inference_mode():
            quiet = not progress or len(boxes) == 1  # one pass needs no bar
            for box in tqdm(boxes, disable=quiet, desc="tiles", unit="tile", leave=False):
                hr = _upscale_box(runner, src, box, tile_overlap, border)
                sink.write(box[0] * scale, box[2] * scale, hr)
    finally:
        model.train(was_training)


def _out_of_memory(size, tiles, tile_overlap: int) -> HubSRError:
    """The one line for memory that ran out all the same: what ran, and a smaller tile."""
    whole = tuple(tiles) == tuple(size)
    how = "in one pass" if whole else f"in {tiles[1]}x{tiles[0]} tiles"
    smaller = 512 if whole else max(min(tiles) // 2, tile_overlap + 1)
    return HubSRError(
        f"out of memory upscaling a {size[1]}x{size[0]} image {how}: retry with --tile "
        f"{smaller} (tile={smaller} in Python) or a smaller --memory-budget, or {more_memory()}"
    )


# -- arguments ------------------------------------------------------------------------------------
def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_model(model, scale) -> None:
    model_scale = getattr(model, "scale", None)
    if not _is_int(model_scale) or model_scale < 1:
        raise HubSRError(f"the model has no valid integer 'scale' attribute (got {model_scale!r})")
    if scale is not None and scale != model_scale:
        raise ExpectedScaleError(scale, model_scale)  # it names the bundled models of scale


def check_tiling(tile, tile_overlap, *, flags: bool = False) -> None:
    """Raise :class:`HubSRError` unless ``tile`` (``None`` or > 0) and ``tile_overlap`` (>= 0,
    smaller than ``tile``) are valid. ``flags``: the message names the command line's
    ``--tile`` and ``--tile-overlap`` (whose values are integers) rather than the arguments."""
    tile_name, overlap_name = ("--tile", "--tile-overlap") if flags else ("tile", "tile_overlap")
    if not _is_int(tile_overlap) or tile_overlap < 0:
        wanted = "0 or more" if flags else "an integer >= 0"
        raise HubSRError(f"{overlap_name} must be {wanted}, got {tile_overlap!r}")
    if tile is None:
        return
    if not _is_int(tile) or tile < 1:
        if flags:
            raise HubSRError(
                f"--tile must be a positive number of pixels, got {tile}; leave --tile out to "
                "process each image whole"
            )
        raise HubSRError(f"tile must be a positive integer or None, got {tile!r}")
    if tile <= tile_overlap:
        raise HubSRError(
            f"{tile_name} ({tile}) must be larger than {overlap_name} ({tile_overlap}): "
            "otherwise the context around each tile costs more than the tile itself"
        )


def resolve_device(device) -> torch.device:
    """A ``torch.device`` for ``"auto"``, a device string or a device; errors if unavailable."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if torch.backends.mps.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise HubSRError(
            f"unknown device {device!r}; use 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto'"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise HubSRError("device 'cuda' was requested but CUDA is not available")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise HubSRError("device 'mps' was requested but MPS is not available")
    return dev


def _model_device(model) -> torch.device:
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def resolve_amp_dtype(
    dtype, device: torch.device, model, *, bit_depth: int = 8
) -> torch.dtype | None:
    """The autocast dtype :func:`upscale` uses for ``dtype`` on ``device`` and an image of
    ``bit_depth`` bits per channel; None for float32."""
    if dtype is None or (isinstance(dtype, str) and dtype.lower() == "auto"):
        return default_amp_dtype(device, getattr(model, "bf16_safe", False), bit_depth)
    if isinstance(dtype, str) and dtype.lower() in _AMP_DTYPES:
        return _AMP_DTYPES[dtype.lower()]
    if dtype == torch.float32:
        return None
    if dtype in (torch.bfloat16, torch.float16):
        return dtype
    raise HubSRError(
        f"unsupported dtype {dtype!r}; use None ('auto'), 'float32', 'bfloat16' or 'float16'"
    )


# -- input and output -----------------------------------------------------------------------------
def _ingest(img, max_pixels, scale):
    """The input as an ``HxWxC`` uint8/uint16 array, and the sink its output is written to."""
    if isinstance(img, np.ndarray):
        return _array_input(img, max_pixels, scale)
    if isinstance(img, (str, os.PathLike, Image.Image, LoadedImage)):
        if isinstance(img, LoadedImage):  # read_image's result: read and checked there
            pixels, max_pixels = img.pixels, None
        else:
            pixels = read_image(img, max_pixels=max_pixels).pixels
        if isinstance(pixels, np.ndarray):  # 16-bit colour, which PIL cannot hold
            return _array_input(pixels, max_pixels, scale)
        return _pil_input(pixels, scale)
    raise HubSRError(
        f"cannot upscale a {type(img).__name__}; pass a PIL image, a path or a numpy array"
    )


def _array_input(arr: np.ndarray, max_pixels, scale):
    if arr.dtype not in (np.uint8, np.uint16):
        raise HubSRError(f"unsupported array dtype {arr.dtype}; pass uint8 or uint16 pixels")
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 2, 3, 4)):
        raise HubSRError(
            f"unsupported array shape {arr.shape}; expected HxW or HxWxC with C in 1, 2, 3, 4"
        )
    _check_pixels(arr.shape[0], arr.shape[1], max_pixels)
    src = arr if arr.ndim == 3 else arr[:, :, None]
    out_shape = (arr.shape[0] * scale, arr.shape[1] * scale, *arr.shape[2:])
    return src, _ArraySink(out_shape, arr.dtype)


def _check_pixels(height: int, width: int, max_pixels) -> None:
    if height == 0 or width == 0:
        raise HubSRError(f"the image is empty ({width}x{height})")
    if max_pixels and height * width > max_pixels:  # None or 0: no limit
        raise TooManyPixelsError("the image", width, height, max_pixels)


def output_mode(img: Image.Image) -> str:
    """The mode of :func:`upscale`'s result for the PIL image ``img`` (the mode policy there:
    ``P`` gives ``RGB``, 16-bit grey ``I;16``, ...); an error for a mode it refuses."""
    if "transparency" in img.info and img.mode in _PIL_TRANSPARENT:
        mode = _PIL_TRANSPARENT[img.mode]
    else:
        mode = _PIL_CONVERSIONS.get(img.mode, img.mode)
    if mode in _PIL_8BIT or mode == "I":
        return mode
    if mode in _PIL_16BIT:
        return "I;16"
    raise HubSRError(
        f"unsupported image mode {img.mode!r}; hubsr reads 1, L, LA, P, PA, RGB, RGBA, "
        "RGBX, CMYK, YCbCr, I;16 and I (convert float 'F' images to 'I;16' or 'L' first)"
    )


def _pil_input(img: Image.Image, scale):
    original, mode = img.mode, output_mode(img)  # a mode it refuses fails here
    if "transparency" in img.info and img.mode in _PIL_TRANSPARENT:
        img = img.convert(_PIL_TRANSPARENT[img.mode])
    elif img.mode in _PIL_CONVERSIONS:
        img = img.convert(_PIL_CONVERSIONS[img.mode])
    if img.mode in _PIL_8BIT:
        src = np.asarray(img)
    else:  # 16-bit grey: I;16B and friends arrive as big-endian uint16, I as int32
        src = np.clip(np.asarray(img), 0, 65535).astype(np.uint16)
    if src.ndim == 2:
        src = src[:, :, None]
    width, height = img.size
    sink = _ImageSink(mode, (width * scale, height * scale))
    icc = img.info.get("icc_profile")
    if icc and original not in _ICC_INVALIDATING:
        sink.image.info["icc_profile"] = icc
    return src, sink


class _ArraySink:
    """Output into a preallocated numpy array, in the input's dtype and layout."""

    def __init__(self, shape: tuple[int, ...], dtype):
        self.array = np.empty(shape, dtype=dtype)

    def write(self, y: int, x: int, tile: np.ndarray) -> None:
        view = self.array[y : y + tile.shape[0], x : x + tile.shape[1]]
        view[...] = tile.reshape(view.shape)

    def result(self) -> np.ndarray:
        return self.array


class _ImageSink:
    """Output pasted tile by tile into the result PIL image (no second full-size copy)."""

    def __init__(self, mode: str, size: tuple[int, int]):
        self.image = Image.new(mode, size)
        self.dtype = np.int32 if mode == "I" else (np.uint16 if mode == "I;16" else np.uint8)

    def write(self, y: int, x: int, tile: np.ndarray) -> None:
        if tile.shape[2] == 1:
            tile = tile[:, :, 0]
        self.image.paste(Image.fromarray(tile.astype(self.dtype, copy=False)), (x, y))

    def result(self) -> Image.Image:
        return self.image


# -- tiles ----------------------------------------------------------------------------------------
def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _one_tile(tiles, size) -> bool:
    return tiles[0] >= size[0] and tiles[1] >= size[1]


def _on_grid(tiles, overlap: int, multiple: int, size) -> tuple[tuple[int, int], int]:
    """``tiles`` (rows, columns) and ``overlap`` rounded up to multiples of the model's
    ``tile_multiple`` when the image is cut into more than one tile; whole, as they are.

    Attention models cut their input into windows (and stripes) counted from its top-left
    corner. A tile's windows fall where the whole image's do only if the tile's window starts
    on that grid: its corner is a multiple of the tile, less the overlap, plus the mirrored
    border (which :func:`upscale` rounds the same way, as it moves the whole image's grid too).
    Off the grid every tile sees other windows than the whole image does, and the seams show.
    """
    if _one_tile(tiles, size):  # no grid to match
        return tiles, overlap
    overlap = _round_up(overlap, multiple)
    least = overlap + multiple  # a tile must outweigh its overlap
    return tuple(max(_round_up(t, multiple), least) for t in tiles), overlap


def _warn_if_not_seamless(model, *, asked: bool) -> None:
    """One warning when a model whose operations read the whole image runs in tiles."""
    reason = getattr(model, "image_wide", "")
    if reason:
        cure = "use a larger --tile or none" if asked else "raise --memory-budget to run it whole"
        warnings.warn(f"tiles of this model are not seamless: {reason}; {cure}", stacklevel=3)


def _boxes(height: int, width: int, tiles) -> Iterator[tuple[int, int, int, int]]:
    """``(y0, y1, x0, x1)`` LR boxes of ``tiles = (rows, columns)`` covering the image."""
    step_y, step_x = tiles
    for y0 in range(0, height, step_y):
        for x0 in range(0, width, step_x):
            yield y0, min(y0 + step_y, height), x0, min(x0 + step_x, width)


def _grow(box, context: int, height: int, width: int) -> tuple[int, int, int, int]:
    y0, y1, x0, x1 = box
    return (
        max(0, y0 - context),
        min(height, y1 + context),
        max(0, x0 - context),
        min(width, x1 + context),
    )


def _upscale_box(runner: _Runner, src: np.ndarray, box, overlap: int, border: int) -> np.ndarray:
    """The HR pixels of one LR box, ``sh x sw x C``, rounded to the input's integer dtype; the
    model's windows get ``border`` mirrored pixels where they touch the image's edge."""
    k, scale = runner.colour_channels, runner.scale
    if src.shape[2] == k:
        return _to_integers(_crop_run(src, box, overlap, scale, runner, border), src.dtype)
    # Colour with alpha goes through the model premultiplied, so that a transparent pixel's
    # hidden colour weighs nothing, and is divided by the model's output for alpha alone (per
    # channel), so that a one-colour shape keeps its colour up to its edge. Dividing by the
    # stored alpha instead left a grey fringe down to 147/255 inside a white shape on
    # transparent black (the model's edges are sharper than bicubic's), and the mean of the
    # channels down to 245. Where the model's alpha is small (its edges ring, and a ratio of
    # two small outputs is noise), bicubic divides instead: linear, so exact for one colour.
    colour = _crop_run(src, box, overlap, scale, runner.premultiplied, border)
    coverage = _crop_run(src[:, :, k:], box, overlap, scale, runner.coverage, border)
    linear = _crop_run(src, box, _ALPHA_CONTEXT, scale, runner.bicubic_premultiplied)
    # The stored alpha: MATLAB bicubic, with just the context its taps need (imresize pads).
    alpha = _crop_run(src[:, :, k:], box, _ALPHA_CONTEXT, scale, runner.bicubic)
    # Bicubic is linear, so its ratio is exact for one colour at any visible alpha (a shape's
    # faint outer edge keeps its colour; 16-bit colour under alpha 255/65535 keeps every bit).
    # Alpha that rounds to 0 even in 16 bits gets colour 0: there the ratio is float noise.
    linear = torch.where(alpha > _VISIBLE, linear / alpha.clamp(min=_VISIBLE), 0.0).float()
    colour = torch.where(coverage > _COVERED, colour / coverage, linear)
    return np.concatenate([_to_integers(colour, src.dtype), _to_integers(alpha, src.dtype)], 2)


def _crop_run(src: np.ndarray, box, context: int, scale: int, fn, border: int = 0):
    """``fn`` on the box grown by ``context`` pixels (clipped to the image) and, on each side
    where that reaches the image's edge, by ``border`` pixels of padding; cropped to the box.

    A tile at an edge is thus padded exactly as the whole image is, which keeps tiles seamless.
    """
    height, width = src.shape[:2]
    wy0, wy1, wx0, wx1 = _grow(box, context, height, width)
    top, bottom = border * (wy0 == 0), border * (wy1 == height)
    left, right = border * (wx0 == 0), border * (wx1 == width)
    window = src[wy0:wy1, wx0:wx1]
    if top or bottom or left or right:
        window = np.pad(window, ((top, bottom), (left, right), (0, 0)), mode=BORDER_MODE)
    out = fn(window)
    y0 = (box[0] - wy0 + top) * scale
    x0 = (box[2] - wx0 + left) * scale
    return out[y0 : y0 + (box[1] - box[0]) * scale, x0 : x0 + (box[3] - box[2]) * scale]


def _to_integers(img: torch.Tensor, dtype) -> np.ndarray:
    """Scale to the dtype's maximum, round half up and saturate (MATLAB's ``im2uint8``).

    In torch, on all cores: the HR output is ``scale**2`` times the input, so single-threaded
    numpy here would cost a sizeable fraction of a fast model's forward pass.
    """
    max_value = np.iinfo(dtype).max
    rounded = round_half_up(img, max_value, scale=max_value)
    if dtype == np.uint8:
        return rounded.to(torch.uint8).numpy()
    return rounded.to(torch.int32).numpy().astype(dtype)


class _Runner:
    """The model on one integer ``h x w x C`` window: float conversion, channel adaptation
    (``C`` is 1 or 3 on a grey or RGB model), padding to ``size_multiple``, self-ensemble and
    autocast. Returns ``sh x sw x C`` floats (a CPU tensor)."""

    def __init__(self, model, device: torch.device, amp_dtype, tta: bool, channels: int):
        self.model, self.device, self.amp_dtype, self.tta = model, device, amp_dtype, tta
        self.scale = model.scale
        self.multiple = getattr(model, "size_multiple", 1)
        self.colour_channels = 1 if channels <= 2 else 3
        self.model_channels = getattr(model, "in_channels", 3)
        if self.model_channels not in (1, 3):
            raise HubSRError(
                f"the model takes {self.model_channels} channels; the pipeline feeds grey (1) "
                "or RGB (3) models"
            )

    def __call__(self, window: np.ndarray, premultiply: bool = False) -> torch.Tensor:
        # HWC in memory is NHWC, i.e. channels_last: the layout the model's weights are in.
        x = torch.from_numpy(window.astype(np.float32) / np.iinfo(window.dtype).max)
        if premultiply:  # the last channel is alpha
            x = x[:, :, :-1] * x[:, :, -1:]
        x = x.permute(2, 0, 1)[None].to(self.device, memory_format=torch.channels_last)
        k, m = x.shape[1], self.model_channels
        if k == m:
            y = self._ensemble(x)
        elif k == 1:  # grey on an RGB model: three equal channels in, their mean out
            y = self._ensemble(x.repeat(1, m, 1, 1)).mean(dim=1, keepdim=True)
        else:  # RGB on a grey model: the channels go through as a batch
            y = self._ensemble(x.transpose(0, 1)).transpose(0, 1)
        return y[0].permute(1, 2, 0).cpu()

    def premultiplied(self, window: np.ndarray) -> torch.Tensor:
        """The model on colour times alpha (the window's last channel)."""
        return self(window, premultiply=True)

    def coverage(self, alpha: np.ndarray) -> torch.Tensor:
        """The model on alpha alone, once per colour channel (``h x w x 1`` in)."""
        return self(np.repeat(alpha, self.colour_channels, axis=2))

    def bicubic(self, window: np.ndarray, premultiply: bool = False) -> torch.Tensor:
        x = window.astype(np.float64) / np.iinfo(window.dtype).max
        if premultiply:  # the last channel is alpha
            x = x[:, :, :-1] * x[:, :, -1:]
        return torch.from_numpy(np.ascontiguousarray(imresize(x, self.scale)))

    def bicubic_premultiplied(self, window: np.ndarray) -> torch.Tensor:
        return self.bicubic(window, premultiply=True)

    def _ensemble(self, x: torch.Tensor) -> torch.Tensor:
        if not self.tta:
            return self._forward(x)
        total = None
        for k in VIEWS:  # the x8 geometric self-ensemble
            y = undo_dihedral(self._forward(dihedral(x, k)), k)
            total = y if total is None else total.add_(y)
        return total / len(VIEWS)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        pad_h, pad_w = -h % self.multiple, -w % self.multiple
        if pad_h or pad_w:  # reflect needs the padding smaller than the image
            mode = "reflect" if pad_h < h and pad_w < w else "replicate"
            x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
        if self.amp_dtype is None:
            y = self.model(x)
        else:
            with torch.autocast(self.device.type, dtype=self.amp_dtype):
                y = self.model(x)
        expected = (x.shape[0], x.shape[1], x.shape[2] * self.scale, x.shape[3] * self.scale)
        if tuple(y.shape) != expected:
            raise HubSRError(
                f"the model returned shape {tuple(y.shape)} for input {tuple(x.shape)}, expected "
                f"{expected}: its scale ({self.scale}) or in_channels attribute is wrong"
            )
        if not torch.isfinite(y).all():  # clamping would turn it into a plausible black image
            raise HubSRError(
                "the model returned NaN or infinite values: its weights are damaged, or "
                "float16/bfloat16 overflowed (try dtype='float32')"
            )
        return y[..., : h * self.scale, : w * self.scale].float()
