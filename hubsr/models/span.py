"""SPAN: Swift Parameter-free Attention Network, the efficient CPU-friendly hubsr model.

Paper: C. Wan, H. Yu, Z. Li, Y. Chen, Y. Zou, Y. Liu, X. Yin, K. Zuo, "Swift Parameter-free
Attention Network for Efficient Super-Resolution", CVPR Workshops (NTIRE) 2024.
https://arxiv.org/abs/2311.12770

Each block is three 3x3 convolutions followed by a *parameter-free* attention map
``sigmoid(out) - 0.5`` that gates ``out + x``: attention without any extra weights or memory
traffic, which is why SPAN is fast on CPUs. Differences from the paper, both for speed on CPU:

- plain 3x3 convolutions instead of the re-parameterisable Conv3XC (which only changes training);
- an ABPN-style anchor (Du et al., CVPRW 2021): the input, upsampled by nearest neighbour, is
  added to the output, so the network learns only the residual from its first step.

@inproceedings{wan2024swift,
  title={Swift Parameter-free Attention Network for Efficient Super-Resolution},
  author={Wan, Cheng and Yu, Hongyuan and Li, Zhiqi and Chen, Yihang and Zou, Yajun and
          Liu, Yuqing and Yin, Xuanwu and Zuo, Kunlong},
  booktitle={CVPR Workshops}, year={2024}}
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..hub import HubSR
from ..layers import PixelShuffleUpsampler
from ..registry import register, register_variants

__all__ = ["SPAN"]


class SPAB(nn.Module):
    """Parameter-free attention block: three convs, then ``(out + x) * (sigmoid(out) - .5)``."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv3 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = nn.SiLU(inplace=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out1 = self.conv1(x)
        out = self.conv3(self.act(self.conv2(self.act(out1))))
        attention = torch.sigmoid(out) - 0.5
        return (out + x) * attention, out1


@register
class SPAN(HubSR):
    """SPAN for x2/x3/x4 super-resolution.

    Args:
        scale: upscaling factor (2, 3 or 4).
        in_channels: image channels (3 for RGB).
        feature_channels: width of every block.
        num_blocks: number of SPAB blocks (at least 2).
        anchor: add the nearest-neighbour upsampled input to the output.
    """

    architecture = "span"

    def __init__(
        self,
        *,
        scale: int = 3,
        in_channels: int = 3,
        feature_channels: int = 48,
        num_blocks: int = 6,
        anchor: bool = True,
    ):
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"SPAN supports scales 2, 3 and 4, got {scale}")
        if num_blocks < 2:
            raise ValueError(f"SPAN needs at least 2 blocks, got {num_blocks}")
        self.scale = scale
        self.in_channels = in_channels
        self.anchor = anchor
        self.head = nn.Conv2d(in_channels, feature_channels, 3, padding=1)
        self.blocks = nn.ModuleList(SPAB(feature_channels) for _ in range(num_blocks))
        self.body_tail = nn.Conv2d(feature_channels, feature_channels, 3, padding=1)
        # Fuse shallow, first-block and deep features, as in the paper's conv_cat.
        self.fuse = nn.Conv2d(4 * feature_channels, feature_channels, 1)
        self.upsampler = PixelShuffleUpsampler(feature_channels, in_channels, scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.head(x - 0.5)
        out, _ = self.blocks[0](shallow)
        first = out
        for block in self.blocks[1:]:
            out, last_inner = block(out)
        deep = self.body_tail(out)
        out = self.upsampler(self.fuse(torch.cat([shallow, deep, first, last_inner], dim=1)))
        if self.anchor:
            return out + F.interpolate(x, scale_factor=self.scale, mode="nearest")
        return out + 0.5  # undo the input centring


# -- variants: the name is the registry key, the bundled folder and the Hub repo -----------------
register_variants(
    SPAN,
    {
        "span-x3": dict(scale=3, feature_channels=48, num_blocks=4),
    },
)
