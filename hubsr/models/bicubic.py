"""Bicubic: MATLAB-exact bicubic upsampling as a weightless model, the baseline of every SR paper.

Every super-resolution benchmark (Set5, Set14, BSD100, Urban100, ...) makes its low-resolution
inputs with MATLAB's ``imresize(hr, 1/scale, 'bicubic')`` and reports "Bicubic" as the first row
of its tables, i.e. ``imresize(lr, scale, 'bicubic')``. This model is exactly that upsampling
(:func:`hubsr.resize.imresize` on the float tensor, never rounded), so the baseline goes through
the same pipeline, evaluation and Hub round trip as the learned models. Its ``model.safetensors``
holds no tensors.

Kernel: R. Keys, "Cubic Convolution Interpolation for Digital Image Processing", IEEE Transactions
on Acoustics, Speech, and Signal Processing 29(6), 1981. https://doi.org/10.1109/TASSP.1981.1163711

@article{keys1981cubic,
  title={Cubic convolution interpolation for digital image processing},
  author={Keys, Robert},
  journal={IEEE Transactions on Acoustics, Speech, and Signal Processing},
  volume={29}, number={6}, pages={1153--1160}, year={1981}}
"""

from __future__ import annotations

import torch

from ..hub import HubSR
from ..layers import bicubic_upsample
from ..registry import register, register_variants

__all__ = ["Bicubic"]


@register
class Bicubic(HubSR):
    """MATLAB ``imresize(x, scale, 'bicubic')`` on a float batch; no parameters.

    Args:
        scale: upscaling factor (2, 3 or 4).
        in_channels: image channels (any count works; recorded for callers).
    """

    architecture = "bicubic"
    # bf16 would round the interpolation itself and buys no speed; run it in float32.
    bf16_safe = False
    weightless = True  # nothing to load: the variant name alone builds it

    def __init__(self, *, scale: int = 3, in_channels: int = 3):
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"Bicubic supports scales 2, 3 and 4, got {scale}")
        self.scale = scale
        self.in_channels = in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return bicubic_upsample(x, self.scale)


# -- variants: weightless, so they load by name alone (``hubsr.load("bicubic-x2")``) -------------
register_variants(
    Bicubic,
    {
        "bicubic-x2": dict(scale=2),
        "bicubic-x3": dict(scale=3),
        "bicubic-x4": dict(scale=4),
    },
)
