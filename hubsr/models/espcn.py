"""ESPCN: Efficient Sub-Pixel Convolutional Network, the origin of pixel shuffle.

Paper: W. Shi, J. Caballero, F. Huszar, J. Totz, A. P. Aitken, R. Bishop, D. Rueckert, Z. Wang,
"Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel Convolutional
Neural Network", CVPR 2016. https://arxiv.org/abs/1609.05158

All convolutions run at low resolution; the last one produces ``scale**2`` channels per output
channel that the sub-pixel (pixel shuffle) layer rearranges into the high-resolution image. The
paper's network: (f1, n1) = (5, 64), (f2, n2) = (3, 32), f3 = 3, tanh activations. Differences
from the paper: zero padding so the output is exactly ``scale`` times the input; the input is
centred (``x - 0.5``, added back at the output) so tanh starts in its linear range; RGB in and
out by default (the paper works on Y).

@inproceedings{shi2016real,
  title={Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel
         Convolutional Neural Network},
  author={Shi, Wenzhe and Caballero, Jose and Husz{\'a}r, Ferenc and Totz, Johannes and
          Aitken, Andrew P. and Bishop, Rob and Rueckert, Daniel and Wang, Zehan},
  booktitle={CVPR}, pages={1874--1883}, year={2016}}
"""

from __future__ import annotations

import torch
from torch import nn

from ..hub import HubSR
from ..registry import register, register_variants

__all__ = ["ESPCN"]


@register
class ESPCN(HubSR):
    """ESPCN: two tanh convolutions at low resolution, then a sub-pixel convolution layer.

    Args:
        scale: upscaling factor (2, 3 or 4).
        in_channels: image channels (3 for RGB, 1 for Y).
        channels: filters of the first two layers (the paper's n1, n2).
        kernel_sizes: kernel sizes of the three layers (the paper's f1, f2, f3), odd numbers.
    """

    architecture = "espcn"

    def __init__(
        self,
        *,
        scale: int = 3,
        in_channels: int = 3,
        channels: tuple[int, int] = (64, 32),
        kernel_sizes: tuple[int, int, int] = (5, 3, 3),
    ):
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"ESPCN supports scales 2, 3 and 4, got {scale}")
        if len(channels) != 2 or len(kernel_sizes) != 3:
            raise ValueError(
                f"ESPCN needs 2 channel counts and 3 kernel sizes, got {channels}, {kernel_sizes}"
            )
        if any(k % 2 == 0 for k in kernel_sizes):
            raise ValueError(f"ESPCN kernel sizes must be odd to keep the size, got {kernel_sizes}")
        self.scale = scale
        self.in_channels = in_channels
        n1, n2 = channels
        f1, f2, f3 = kernel_sizes
        self.conv1 = nn.Conv2d(in_channels, n1, f1, padding=f1 // 2)
        self.conv2 = nn.Conv2d(n1, n2, f2, padding=f2 // 2)
        self.upsampler = nn.Sequential(
            nn.Conv2d(n2, in_channels * scale**2, f3, padding=f3 // 2), nn.PixelShuffle(scale)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.tanh(self.conv1(x - 0.5))
        x = torch.tanh(self.conv2(x))
        return self.upsampler(x) + 0.5


# -- variants: the name is the registry key, the bundled folder and the Hub repo -----------------
register_variants(
    ESPCN,
    {
        "espcn-x3": dict(scale=3, channels=(64, 32), kernel_sizes=(5, 3, 3)),  # the paper's
    },
)
