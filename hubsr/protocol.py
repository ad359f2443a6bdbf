"""The x2/x3/x4 benchmark protocol in three small functions, shared by evaluation and training.

HR is cropped to a multiple of the scale; LR is MATLAB ``imresize(im2double(hr), 1/s,
'bicubic')`` rounded once to uint8 (the BasicSR convention); PSNR/SSIM are measured on the Y
channel of uint8 images with ``crop_border = scale``.
"""

from __future__ import annotations

import numpy as np

from .metrics import psnr, ssim
from .resize import imresize
from .rounding import to_uint8

PROTOCOL = {
    "hr": "cropped to a multiple of the scale (top-left)",
    "lr": "MATLAB imresize(im2double(hr), 1/scale, 'bicubic'), rounded once to uint8",
    "resize": "MATLAB bicubic (a=-0.5, antialiased), hubsr.imresize",
    "metric_space": "Y of MATLAB rgb2ycbcr (BT.601, 16-235), float, from uint8 images",
    "crop_border": "scale",
}


def modcrop(img: np.ndarray, scale: int) -> np.ndarray:
    """Crop an ``HxW[xC]`` image at the top-left to a multiple of ``scale`` in both dimensions."""
    h, w = img.shape[0] - img.shape[0] % scale, img.shape[1] - img.shape[1] % scale
    if h == 0 or w == 0:
        raise ValueError(f"image of shape {img.shape} is smaller than the scale {scale}")
    return img[:h, :w]


def make_lr(hr: np.ndarray, scale: int) -> np.ndarray:
    """LR uint8 image of a modcropped uint8 HR image, by the benchmark convention."""
    if hr.dtype != np.uint8:
        raise ValueError(f"HR must be uint8, got {hr.dtype}")
    return to_uint8(imresize(hr.astype(np.float64) / 255.0, 1.0 / scale))


def score(sr: np.ndarray, hr: np.ndarray, scale: int) -> dict[str, float]:
    """PSNR and SSIM (Y channel, crop border = scale) of uint8 SR against uint8 HR."""
    return {"psnr": psnr(sr, hr, crop_border=scale), "ssim": ssim(sr, hr, crop_border=scale)}
