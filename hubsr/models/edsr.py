"""EDSR: Enhanced Deep Super-Resolution network (the baseline model).

Paper: B. Lim, S. Son, H. Kim, S. Nah, K. M. Lee, "Enhanced Deep Residual Networks for Single
Image Super-Resolution", CVPR Workshops (NTIRE) 2017. https://arxiv.org/abs/1707.02921

Residual blocks without batch normalisation (conv-ReLU-conv plus identity), a long skip over the
whole body, and a pixel-shuffle upsampler at the end; the dataset mean is subtracted at the input
and added back at the output. Defaults are the paper's EDSR baseline: 16 blocks, 64 channels,
residual scaling 1 (the large EDSR uses 32 blocks, 256 channels, residual scaling 0.1). Module
names follow the authors' code (``head``, ``body``, ``tail``). Input and output are in [0, 1]
rather than [0, 255]; the mean shift is a fixed buffer, not a frozen convolution.

@inproceedings{lim2017enhanced,
  title={Enhanced Deep Residual Networks for Single Image Super-Resolution},
  author={Lim, Bee and Son, Sanghyun and Kim, Heewon and Nah, Seungjun and Lee, Kyoung Mu},
  booktitle={CVPR Workshops}, pages={136--144}, year={2017}}
"""

from __future__ import annotations

import torch
from torch import nn

from ..hub import HubSR
from ..layers import MeanShift, ProgressiveUpsampler, dataset_mean
from ..registry import register, register_variants

__all__ = ["EDSR"]


class ResBlock(nn.Module):
    """EDSR residual block: ``x + res_scale * conv(relu(conv(x)))``, no batch norm."""

    def __init__(self, channels: int, res_scale: float = 1.0):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1),
        )
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) * self.res_scale


@register
class EDSR(HubSR):
    """EDSR for x2/x3/x4 super-resolution (baseline configuration by default).

    Args:
        scale: upscaling factor (2, 3 or 4).
        in_channels: image channels (3 for RGB).
        feature_channels: width of every residual block.
        num_blocks: number of residual blocks.
        res_scale: scaling of each block's residual branch (0.1 for wide models).
    """

    architecture = "edsr"

    def __init__(
        self,
        *,
        scale: int = 3,
        in_channels: int = 3,
        feature_channels: int = 64,
        num_blocks: int = 16,
        res_scale: float = 1.0,
    ):
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"EDSR supports scales 2, 3 and 4, got {scale}")
        self.scale = scale
        self.in_channels = in_channels
        mean = dataset_mean(in_channels)
        self.sub_mean = MeanShift(mean, sign=-1)
        self.add_mean = MeanShift(mean, sign=1)
        self.head = nn.Sequential(nn.Conv2d(in_channels, feature_channels, 3, padding=1))
        self.body = nn.Sequential(
            *(ResBlock(feature_channels, res_scale) for _ in range(num_blocks)),
            nn.Conv2d(feature_channels, feature_channels, 3, padding=1),
        )
        self.tail = nn.Sequential(
            ProgressiveUpsampler(feature_channels, scale),
            nn.Conv2d(feature_channels, in_channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.sub_mean(x))
        x = x + self.body(x)
        return self.add_mean(self.tail(x))


# -- variants: the name is the registry key, the bundled folder and the Hub repo -----------------
register_variants(
    EDSR,
    {  # the paper's EDSR baseline: 64 channels, 16 blocks
        "edsr-x2": dict(scale=2, feature_channels=64, num_blocks=16),
        "edsr-x3": dict(scale=3, feature_channels=64, num_blocks=16),
        "edsr-x4": dict(scale=4, feature_channels=64, num_blocks=16),
        # the x3 baseline made deeper by training/deepen.py and trained on (round KG)
        "edsr24-x3": dict(scale=3, feature_channels=64, num_blocks=24),
        # the baselines trained on for photos: random blur, noise and JPEG (round PA)
        "photo-x2": dict(scale=2, feature_channels=64, num_blocks=16),
        "photo-x3": dict(scale=3, feature_channels=64, num_blocks=16),
        "photo-x4": dict(scale=4, feature_channels=64, num_blocks=16),
    },
)
