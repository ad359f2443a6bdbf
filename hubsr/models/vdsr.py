"""VDSR: Very Deep Super-Resolution, a 20-layer residual network on the bicubic-upsampled image.

Paper: J. Kim, J. K. Lee, K. M. Lee, "Accurate Image Super-Resolution Using Very Deep
Convolutional Networks", CVPR 2016. https://arxiv.org/abs/1511.04587

Twenty 3x3 convolutions with 64 channels and ReLU (no activation after the last) predict the
residual between the bicubic-upsampled input and the high-resolution image; one global skip adds
the bicubic image back. As in the paper the bicubic upsampling (MATLAB-exact here) happens first,
inside the model, so callers pass the LR image like for any other hubsr model. Weights use He
initialisation as in the paper. Differences from the paper:

- RGB in and out by default (``in_channels=3``); the paper works on the Y channel only, so its
  PSNR tables (e.g. Set14 x3) are not directly comparable with RGB-trained weights;
- the last convolution starts near zero, so an untrained VDSR is already close to bicubic (the
  paper uses He initialisation there too, with high learning rates and gradient clipping).

@inproceedings{kim2016accurate,
  title={Accurate Image Super-Resolution Using Very Deep Convolutional Networks},
  author={Kim, Jiwon and Lee, Jung Kwon and Lee, Kyoung Mu},
  booktitle={CVPR}, pages={1646--1654}, year={2016}}
"""

from __future__ import annotations

import torch
from torch import nn

from ..hub import HubSR
from ..layers import bicubic_upsample
from ..registry import register, register_variants

__all__ = ["VDSR"]


@register
class VDSR(HubSR):
    """VDSR: ``bicubic(x) + residual(bicubic(x))`` with a plain conv-ReLU stack.

    Args:
        scale: upscaling factor (2, 3 or 4) of the internal bicubic pre-upsampling.
        in_channels: image channels (3 for RGB, 1 for Y as in the paper).
        feature_channels: width of the hidden layers.
        num_layers: number of convolutions, first and last included (at least 2).
    """

    architecture = "vdsr"

    def __init__(
        self,
        *,
        scale: int = 3,
        in_channels: int = 3,
        feature_channels: int = 64,
        num_layers: int = 20,
    ):
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"VDSR supports scales 2, 3 and 4, got {scale}")
        if num_layers < 2:
            raise ValueError(f"VDSR needs at least 2 layers, got {num_layers}")
        self.scale = scale
        self.in_channels = in_channels
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, feature_channels, 3, padding=1),
            nn.ReLU(inplace=True),
        ]
        for _ in range(num_layers - 2):
            layers += [
                nn.Conv2d(feature_channels, feature_channels, 3, padding=1),
                nn.ReLU(inplace=True),
            ]
        layers.append(nn.Conv2d(feature_channels, in_channels, 3, padding=1))
        self.body = nn.Sequential(*layers)
        self._init_weights()

    def _init_weights(self) -> None:
        convs = [m for m in self.body if isinstance(m, nn.Conv2d)]
        for conv in convs[:-1]:
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            nn.init.zeros_(conv.bias)
        nn.init.normal_(convs[-1].weight, std=1e-3)
        nn.init.zeros_(convs[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = bicubic_upsample(x, self.scale)
        return x + self.body(x)


# -- variants: the name is the registry key, the bundled folder and the Hub repo -----------------
register_variants(
    VDSR,
    {
        "vdsr-x3": dict(scale=3, feature_channels=64, num_layers=20),  # the paper's 20 layers
    },
)
