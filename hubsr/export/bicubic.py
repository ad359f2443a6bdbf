"""MATLAB bicubic upsampling by an integer factor, written so ``torch.onnx`` can export it.

:func:`hubsr.layers.bicubic_upsample` computes its taps in numpy for the input's size, so an
exported graph would hold the taps of the size it was traced at. For an integer factor ``s``
the taps repeat with period ``s``: output row ``s * i + r`` is a fixed 1-D filter (phase ``r``)
around input row ``i``. So each pass here is the input padded by MATLAB's mirror (edge pixel
repeated), one grouped convolution with ``s`` filters per channel, and an interleave of the
phases; height first, as MATLAB does for equal factors. The filters come from
:func:`hubsr.resize._contributions`, so the result equals ``bicubic_upsample`` up to float
rounding (about 1e-7), for any input size, in one exported graph.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..resize import _contributions

__all__ = ["BicubicUpsample", "phase_filters"]


def phase_filters(scale: int) -> tuple[np.ndarray, int]:
    """``(filters, pad)``: ``filters[r, t]`` weighs input row ``i + t - pad`` for output row
    ``scale * i + r``; ``pad`` is the largest tap offset."""
    reach = 8  # rows far enough from both borders that no tap is mirrored
    length = 4 * reach
    indices, weights = _contributions(length, scale * length, float(scale))
    rows = [scale * reach + r for r in range(scale)]
    offsets = indices[rows] - reach
    pad = int(np.abs(offsets).max())
    filters = np.zeros((scale, 2 * pad + 1))
    for r, row in enumerate(rows):
        for offset, weight in zip(offsets[r], weights[row], strict=True):
            filters[r, offset + pad] += weight
    return filters, pad


def _mirror_pad(x: torch.Tensor, pad: int, dim: int) -> torch.Tensor:
    """Pad ``dim`` by ``pad`` (1 or 2) on both sides with MATLAB's symmetric mirror.

    The mirror of rows ``x0 .. x(n-1)`` is ``x1 x0 | x0 .. x(n-1) | x(n-1) x(n-2)``, and
    ``x0 x0 | x0 | x0 x0`` for one row. Both are slices of the edge-replicated rows
    ``r = x0 x0 .. x(n-1) x(n-1)``: ``r[2]``, ``r``, ``r[-3]``. Slices and an edge pad export
    with symbolic sizes, where index arithmetic on the size does not.
    """
    pads = [0, 0, 0, 0]
    pads[2 * (3 - dim) : 2 * (3 - dim) + 2] = [1, 1]  # F.pad lists the last dimension first
    replicated = F.pad(x, pads, mode="replicate")
    if pad == 1:
        return replicated
    left = replicated.narrow(dim, 2, 1)
    right = replicated.narrow(dim, replicated.shape[dim] - 3, 1)
    return torch.cat([left, replicated, right], dim=dim)


class BicubicUpsample(nn.Module):
    """``imresize(x, scale, 'bicubic')`` on an ``N x C x H x W`` float batch, never rounded."""

    def __init__(self, scale: int, channels: int):
        super().__init__()
        filters, self.pad = phase_filters(scale)
        if self.pad not in (1, 2):  # true for the scales 2, 3 and 4 that hubsr models take
            raise ValueError(f"bicubic taps reach {self.pad} rows for x{scale}; 1 or 2 are handled")
        self.scale, self.channels = scale, channels
        taps = torch.from_numpy(filters).float().repeat(channels, 1)  # (C * s) x taps
        self.register_buffer("height_taps", taps[:, None, :, None].clone(), persistent=False)
        self.register_buffer("width_taps", taps[:, None, None, :].clone(), persistent=False)

    def _pass(self, x: torch.Tensor, dim: int, taps: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        y = F.conv2d(_mirror_pad(x, self.pad, dim), taps.to(x.dtype), groups=c)
        y = y.reshape(n, c, self.scale, h, w)  # phase r of channel c is channel c * s + r
        if dim == 2:
            return y.permute(0, 1, 3, 2, 4).reshape(n, c, h * self.scale, w)
        return y.permute(0, 1, 3, 4, 2).reshape(n, c, h, w * self.scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._pass(x, 2, self.height_taps)
        return self._pass(x, 3, self.width_taps)
