"""Upscale batches of images from other pipelines (Ray Data ``map_batches``, a Spark UDF, a
PyTorch ``DataLoader``): load the model once, then call with a batch of arrays.

    from hubsr.batch import Upscaler

    upscaler = Upscaler("abpn-x2")            # loaded once, here
    big = upscaler([small_a, small_b])        # a list of HxWxC uint8/uint16 arrays -> a list
    big = upscaler(stack)                     # or an NxHxWxC array -> an array

Each image goes through :func:`hubsr.pipeline.upscale` on its own, with the same model,
precision, tiles and rounding as ``hubsr upscale``: a result never depends on which batch the
image came in, nor on its neighbours' sizes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .bundled import default_model
from .errors import HubSRError
from .loading import load
from .pipeline import resolve_device, upscale

__all__ = ["Upscaler"]


class Upscaler:
    """A model loaded once, and a call that upscales a batch of images with it.

    Args:
        model: anything :func:`hubsr.load` takes (a bundled name such as ``"abpn-x2"``, a
            folder, a Hub repo id, ``"bicubic"``); ``None``: the best bundled model of
            ``scale`` (3 if not given), as ``hubsr upscale`` without ``--model``.
        scale: the scale wanted (a check against ``model``'s, or picks the default model).
        device, dtype, tile, tile_overlap, tta, max_pixels: as for
            :func:`hubsr.pipeline.upscale` (``device`` default: the CPU).
        offline: never download a Hub model (it must be cached).
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        scale: int | None = None,
        device=None,
        dtype=None,
        tile: int | None = None,
        tile_overlap: int = 32,
        tta: bool = False,
        max_pixels: int | None = None,
        offline: bool = False,
    ):
        if model is None:
            model = default_model(3 if scale is None else scale)
            if model is None:
                raise HubSRError(f"no bundled x{scale} model; name one with model=")
        self.device = resolve_device(device or "cpu")
        self.model = load(model, scale=scale, offline=offline).to(self.device)
        self.scale = self.model.scale
        self.options = dict(tile=tile, tile_overlap=tile_overlap, tta=tta, dtype=dtype)
        self.max_pixels = max_pixels

    def __call__(self, images: Sequence | np.ndarray) -> list | np.ndarray:
        """Upscale each image of ``images``: a sequence of arrays (``HxW`` or ``HxWxC``,
        ``uint8`` or ``uint16``) or PIL images, any sizes, gives a list in the same order; an
        ``NxHxWxC`` (or ``NxHxW``) array gives an array of the results, stacked."""
        results = [self.one(image) for image in images]
        if isinstance(images, np.ndarray):
            return np.stack(results) if results else np.empty((0,), images.dtype)
        return results

    def one(self, image):
        """One image (an array or a PIL image), upscaled; the same kind comes back."""
        return upscale(
            self.model, image, device=self.device, max_pixels=self.max_pixels, **self.options
        )
