"""ABPN: Anchor-Based Plain Net, a plain CNN that only learns the residual over an anchor.

Paper: Z. Du, J. Liu, J. Tang, G. Wu, "Anchor-based Plain Net for Mobile Image
Super-Resolution", CVPR Workshops (MAI) 2021. https://arxiv.org/abs/2105.09750

Every convolution runs at low resolution. The last one produces ``scale**2`` values per output
channel; the *anchor* (the input repeated ``scale**2`` times, i.e. nearest-neighbour upsampling
after the pixel shuffle) is added before the shuffle, so the untrained network already outputs a
blocky upscale and training only has to learn the detail. With no attention, normalisation or
branches, the cost per pixel is just the convolutions, which makes it the fastest design to
train on a CPU per dB gained. Differences from the paper: the width and depth are arguments
(the paper: 28 channels, 7 convolutions, for phones), the input is centred around 0.5, and the
output is not clipped (clipping stops the gradient at saturated pixels; inference clamps later).

@inproceedings{du2021anchor,
  title={Anchor-based Plain Net for Mobile Image Super-Resolution},
  author={Du, Zongcai and Liu, Jie and Tang, Jie and Wu, Gangshan},
  booktitle={CVPR Workshops}, pages={2494--2502}, year={2021}}
"""

from __future__ import annotations

import torch
from torch import nn

from ..hub import HubSR
from ..registry import register, register_variants

__all__ = ["ABPN"]


@register
class ABPN(HubSR):
    """Plain 3x3 conv + ReLU stack at low resolution, anchor residual, pixel-shuffle output.

    Args:
        scale: upscaling factor (2, 3 or 4).
        in_channels: image channels (3 for RGB).
        channels: width of every hidden convolution.
        num_convs: hidden 3x3 convolutions between the head and the output convolution.
        linear_skip: kernel size of a learned linear path from the input straight to the output
            sub-pixels, added to the anchor (0: none, the paper's net). The anchor is only a
            nearest-neighbour upscale, so without it the ReLU body must also carry the smooth
            interpolation through every layer; a 5x5 skip (2K weights, under 1% of the cost)
            can take that over. Zero-initialised, so a warm start from a net without it
            begins with the same output.
    """

    architecture = "abpn"

    def __init__(
        self,
        *,
        scale: int = 3,
        in_channels: int = 3,
        channels: int = 28,
        num_convs: int = 5,
        linear_skip: int = 0,
    ):
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"ABPN supports scales 2, 3 and 4, got {scale}")
        if num_convs < 0:
            raise ValueError(f"ABPN needs num_convs >= 0, got {num_convs}")
        if linear_skip < 0 or (linear_skip and linear_skip % 2 == 0):
            raise ValueError(f"ABPN's linear_skip is 0 or an odd kernel size, got {linear_skip}")
        self.scale = scale
        self.in_channels = in_channels
        layers: list[nn.Module] = [nn.Conv2d(in_channels, channels, 3, padding=1), nn.ReLU(True)]
        for _ in range(num_convs):
            layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(True)]
        layers.append(nn.Conv2d(channels, in_channels * scale**2, 3, padding=1))
        self.body = nn.Sequential(*layers)
        self.shuffle = nn.PixelShuffle(scale)
        self.linear_skip = None
        if linear_skip:
            out = in_channels * scale**2
            self.linear_skip = nn.Conv2d(in_channels, out, linear_skip, padding=linear_skip // 2)
            nn.init.zeros_(self.linear_skip.weight)
            nn.init.zeros_(self.linear_skip.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The anchor: each input pixel repeated scale**2 times, matching the shuffle's layout
        # (channel c * s**2 + k becomes sub-pixel k of output channel c).
        anchor = x.repeat_interleave(self.scale**2, dim=1)
        centred = x - 0.5
        residual = self.body(centred)
        if self.linear_skip is not None:
            residual = residual + self.linear_skip(centred)
        return self.shuffle(residual + anchor)


# -- variants: the name is the registry key, the bundled folder and the Hub repo -----------------
register_variants(
    ABPN,
    {
        "abpn-x2": dict(scale=2, channels=64, num_convs=7),
        # Trained on the CPU, with a 5x5 linear skip (round KS of training/ablations/).
        "abpn-x3": dict(scale=3, channels=64, num_convs=7, linear_skip=5),
        "abpn-x4": dict(scale=4, channels=64, num_convs=7),
        # The paper's plain ABPN, with no linear skip: the x3 ABPN that exports to spandrel's
        # Compact (chaiNNer). Formerly abpn-gpu-x3 (hubsr.registry.RENAMED).
        "abpn-plain-x3": dict(scale=3, channels=64, num_convs=7),
    },
)
