"""Small building blocks shared by several architectures. Never imports the models."""

from __future__ import annotations

import torch
from torch import nn

from .resize import imresize

# Mean RGB of the DIV2K training images in [0, 1], as used by EDSR, RCAN and SwinIR.
DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)


def dataset_mean(channels: int) -> list[float]:
    """DIV2K's RGB mean for 3-channel models, 0.5 per channel otherwise (e.g. Y-only models)."""
    return list(DIV2K_RGB_MEAN) if channels == 3 else [0.5] * channels


def bicubic_upsample(x: torch.Tensor, scale: int) -> torch.Tensor:
    """MATLAB-exact bicubic upsampling of a float batch, never rounded (for pre-upsampling nets).

    Differentiable with respect to ``x``; computed in the input's dtype on the input's device.
    """
    return imresize(x, float(scale))


class PixelShuffleUpsampler(nn.Sequential):
    """A 3x3 conv to ``out_channels * scale**2`` channels, then pixel shuffle (ESPCN, Shi 2016)."""

    def __init__(self, in_channels: int, out_channels: int, scale: int):
        super().__init__(
            nn.Conv2d(in_channels, out_channels * scale**2, 3, padding=1),
            nn.PixelShuffle(scale),
        )


class ProgressiveUpsampler(nn.Sequential):
    """EDSR/RCAN's upsampler: x2 pixel-shuffle stages for powers of two, one x3 stage for 3."""

    def __init__(self, channels: int, scale: int):
        layers: list[nn.Module] = []
        if scale in (2, 4):
            for _ in range(scale // 2):
                layers += [nn.Conv2d(channels, 4 * channels, 3, padding=1), nn.PixelShuffle(2)]
        elif scale == 3:
            layers += [nn.Conv2d(channels, 9 * channels, 3, padding=1), nn.PixelShuffle(3)]
        else:
            raise ValueError(f"upsampler supports scales 2, 3 and 4, got {scale}")
        super().__init__(*layers)


class MeanShift(nn.Module):
    """Subtract (or add back) the dataset RGB mean, scaled to ``value_range`` (EDSR's MeanShift)."""

    def __init__(self, rgb_mean: list[float], value_range: float = 1.0, sign: int = -1):
        super().__init__()
        mean = torch.tensor(rgb_mean, dtype=torch.float32).view(1, -1, 1, 1)
        self.register_buffer("shift", sign * value_range * mean, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.shift
