"""SRCNN: the first convolutional network for single-image super-resolution.

Paper: C. Dong, C. C. Loy, K. He, X. Tang, "Image Super-Resolution Using Deep Convolutional
Networks", IEEE TPAMI 38(2), 2016 (first version: "Learning a Deep Convolutional Network for
Image Super-Resolution", ECCV 2014). https://arxiv.org/abs/1501.00092

Three convolutions read as patch extraction, non-linear mapping and reconstruction: the paper's
9-5-5 network with 64 and 32 filters. As in the paper, the low-resolution input is first
upsampled with bicubic interpolation (here MATLAB-exact, inside the model, so callers pass the LR
image like for any other hubsr model). Differences from the paper:

- zero padding keeps every layer's size, so the output is exactly ``scale`` times the input
  (the paper used unpadded convolutions and scored the smaller centre);
- RGB in and out by default (``in_channels=3``; the paper's main models work on Y only, and its
  TPAMI version also trains on RGB).

@article{dong2016image,
  title={Image Super-Resolution Using Deep Convolutional Networks},
  author={Dong, Chao and Loy, Chen Change and He, Kaiming and Tang, Xiaoou},
  journal={IEEE Transactions on Pattern Analysis and Machine Intelligence},
  volume={38}, number={2}, pages={295--307}, year={2016}}
"""

from __future__ import annotations

import torch
from torch import nn

from ..hub import HubSR
from ..layers import bicubic_upsample
from ..registry import register, register_variants

__all__ = ["SRCNN"]


@register
class SRCNN(HubSR):
    """SRCNN (f1-f2-f3 = 9-5-5, n1/n2 = 64/32) on the bicubic-upsampled input.

    Args:
        scale: upscaling factor (2, 3 or 4) of the internal bicubic pre-upsampling.
        in_channels: image channels (3 for RGB, 1 for Y).
        channels: filters of the first two layers (the paper's n1, n2).
        kernel_sizes: kernel sizes of the three layers (the paper's f1, f2, f3), odd numbers.
    """

    architecture = "srcnn"

    def __init__(
        self,
        *,
        scale: int = 3,
        in_channels: int = 3,
        channels: tuple[int, int] = (64, 32),
        kernel_sizes: tuple[int, int, int] = (9, 5, 5),
    ):
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"SRCNN supports scales 2, 3 and 4, got {scale}")
        if len(channels) != 2 or len(kernel_sizes) != 3:
            raise ValueError(
                f"SRCNN needs 2 channel counts and 3 kernel sizes, got {channels}, {kernel_sizes}"
            )
        if any(k % 2 == 0 for k in kernel_sizes):
            raise ValueError(f"SRCNN kernel sizes must be odd to keep the size, got {kernel_sizes}")
        self.scale = scale
        self.in_channels = in_channels
        n1, n2 = channels
        f1, f2, f3 = kernel_sizes
        self.extract = nn.Conv2d(in_channels, n1, f1, padding=f1 // 2)
        self.map = nn.Conv2d(n1, n2, f2, padding=f2 // 2)
        self.reconstruct = nn.Conv2d(n2, in_channels, f3, padding=f3 // 2)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = bicubic_upsample(x, self.scale)
        return self.reconstruct(self.act(self.map(self.act(self.extract(x)))))


# -- variants: the name is the registry key, the bundled folder and the Hub repo -----------------
register_variants(
    SRCNN,
    {
        "srcnn-x3": dict(scale=3, channels=(64, 32), kernel_sizes=(9, 5, 5)),  # 9-5-5 of the paper
    },
)
