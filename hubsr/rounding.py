"""Float pixels to integers as MATLAB rounds them: the one place hubsr does it.

MATLAB's ``uint8()`` and ``uint16()`` round half away from zero and saturate; for pixel values
that is ``floor(x + 0.5)`` clipped to the integer range. The benchmark protocol is bit-exact
against MATLAB's ``imresize`` and ``im2uint8``, so every float-to-integer conversion of pixels
(the resize passes, the LR images, the pipeline's output, 16-bit TIFF alpha) goes through
:func:`round_half_up`.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["round_half_up", "to_uint8"]


def round_half_up(x, max_value: int = 255, *, scale: float = 1):
    """``floor(x * scale + 0.5)`` saturated to ``[0, max_value]``, still as floats.

    Args:
        x: a numpy array (integers are computed in float64) or a floating torch tensor
            (computed in its own dtype, on its device).
        max_value: the largest value of the integer type: 255 (uint8) or 65535 (uint16).
        scale: what ``x`` is multiplied by first: ``max_value`` for an image in [0, 1], 1 for
            values already on the integer scale.

    Returns:
        A new array or tensor of ``x``'s kind and float dtype, holding integers in
        ``[0, max_value]``; cast it with ``.astype`` or ``.to``. ``x`` is not modified.
    """
    if isinstance(x, torch.Tensor):
        return x.mul(scale).add_(0.5).floor_().clamp_(0, max_value)  # one new tensor
    scaled = x if scale == 1 else np.multiply(x, scale)
    return np.clip(np.floor(scaled + 0.5), 0, max_value)


def to_uint8(img):
    """A float image in [0, 1] as uint8, like MATLAB's ``im2uint8`` (half away from zero).

    A numpy array is computed in float64 and comes back as a numpy array; a torch tensor is
    computed in its own dtype and comes back as a ``torch.uint8`` tensor on its device.
    """
    if isinstance(img, torch.Tensor):
        return round_half_up(img, 255, scale=255).to(torch.uint8)
    return round_half_up(np.asarray(img, dtype=np.float64), 255, scale=255).astype(np.uint8)
