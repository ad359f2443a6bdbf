"""RCAN: Residual Channel Attention Networks.

Paper: Y. Zhang, K. Li, K. Li, L. Wang, B. Zhong, Y. Fu, "Image Super-Resolution Using Very Deep
Residual Channel Attention Networks", ECCV 2018. https://arxiv.org/abs/1807.02758

Residual-in-residual structure: residual groups (RG) of residual channel attention blocks (RCAB),
each group with a short skip, and a long skip over all groups. An RCAB is conv-ReLU-conv followed
by channel attention: global average pooling, a 1x1 bottleneck (channels / reduction) with ReLU,
a 1x1 expansion and a sigmoid that rescales each channel. The paper's model has 10 groups of 20
blocks (about 16M parameters); the defaults here are smaller (5 groups of 10 blocks, 64 channels,
reduction 16) with the same structure. Module names follow the authors' code (``head``,
``body``, ``tail``); input and output are in [0, 1] rather than [0, 255].

@inproceedings{zhang2018image,
  title={Image Super-Resolution Using Very Deep Residual Channel Attention Networks},
  author={Zhang, Yulun and Li, Kunpeng and Li, Kai and Wang, Lichen and Zhong, Bineng and
          Fu, Yun},
  booktitle={ECCV}, pages={286--301}, year={2018}}
"""

from __future__ import annotations

import torch
from torch import nn

from ..hub import HubSR
from ..layers import MeanShift, ProgressiveUpsampler, dataset_mean
from ..registry import register

__all__ = ["RCAN"]


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation style channel attention (the paper's CA layer)."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv_du = nn.Sequential(
            nn.Conv2d(channels, channels // reduction, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels // reduction, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.conv_du(self.avg_pool(x))


class RCAB(nn.Module):
    """Residual channel attention block: ``x + CA(conv(relu(conv(x))))``."""

    def __init__(self, channels: int, reduction: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1),
            ChannelAttention(channels, reduction),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResidualGroup(nn.Module):
    """Residual group: RCABs and a closing conv, with a short skip connection."""

    def __init__(self, channels: int, reduction: int, num_blocks: int):
        super().__init__()
        self.body = nn.Sequential(
            *(RCAB(channels, reduction) for _ in range(num_blocks)),
            nn.Conv2d(channels, channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@register
class RCAN(HubSR):
    """RCAN for x2/x3/x4 super-resolution.

    Args:
        scale: upscaling factor (2, 3 or 4).
        in_channels: image channels (3 for RGB).
        feature_channels: width of every block.
        num_groups: number of residual groups (10 in the paper).
        num_blocks: RCABs per group (20 in the paper).
        reduction: channel-attention bottleneck ratio (16 in the paper).
    """

    architecture = "rcan"

    def __init__(
        self,
        *,
        scale: int = 3,
        in_channels: int = 3,
        feature_channels: int = 64,
        num_groups: int = 5,
        num_blocks: int = 10,
        reduction: int = 16,
    ):
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"RCAN supports scales 2, 3 and 4, got {scale}")
        if not 1 <= reduction <= feature_channels:
            raise ValueError(
                f"RCAN reduction must be between 1 and feature_channels ({feature_channels}), "
                f"got {reduction}"
            )
        self.scale = scale
        self.in_channels = in_channels
        mean = dataset_mean(in_channels)
        self.sub_mean = MeanShift(mean, sign=-1)
        self.add_mean = MeanShift(mean, sign=1)
        self.head = nn.Sequential(nn.Conv2d(in_channels, feature_channels, 3, padding=1))
        self.body = nn.Sequential(
            *(ResidualGroup(feature_channels, reduction, num_blocks) for _ in range(num_groups)),
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
