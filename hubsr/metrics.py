"""PSNR and SSIM by the SR benchmark protocol (the convention of BasicSR and the papers).

Both take uint8 images (or anything that rounds to them), drop ``crop_border`` pixels on each
side (by convention the scale factor) and, with ``y_channel=True``, compare only the luma of
MATLAB's ``rgb2ycbcr`` (BT.601, studio range 16-235), computed in floating point without
rounding Y. A single-channel image is treated as an RGB image with three equal channels, so its
Y is ``16 + 219/255 * grey``, as when the grayscale Set14 ``bridge`` is stored as RGB.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["psnr", "rgb_to_y", "ssim"]

_Y_WEIGHTS = np.array([65.481, 128.553, 24.966]) / 255.0


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """Y of MATLAB ``rgb2ycbcr`` for an image in [0, 255], as float64 in [16, 235]."""
    img = np.asarray(img, dtype=np.float64)
    if img.ndim == 2:
        return 16.0 + img * _Y_WEIGHTS.sum()
    if img.ndim == 3 and img.shape[2] == 1:
        return 16.0 + img[..., 0] * _Y_WEIGHTS.sum()
    if img.ndim == 3 and img.shape[2] == 3:
        return 16.0 + img @ _Y_WEIGHTS
    raise ValueError(f"expected HxW, HxWx1 or HxWx3 image, got shape {img.shape}")


def _prepare(sr, hr, crop_border: int, y_channel: bool) -> tuple[np.ndarray, np.ndarray]:
    sr, hr = np.asarray(sr), np.asarray(hr)
    if sr.shape != hr.shape:
        raise ValueError(f"image shapes differ: {sr.shape} vs {hr.shape}")
    for name, img in (("sr", sr), ("hr", hr)):
        if img.dtype != np.uint8:
            raise ValueError(
                f"{name} must be uint8 (round SR output before measuring), got {img.dtype}"
            )
    if crop_border < 0 or 2 * crop_border >= min(sr.shape[:2]):
        raise ValueError(f"crop_border {crop_border} does not fit an image of shape {sr.shape}")
    if y_channel:
        sr, hr = rgb_to_y(sr), rgb_to_y(hr)
    else:
        sr, hr = sr.astype(np.float64), hr.astype(np.float64)
    if crop_border:
        sr = sr[crop_border:-crop_border, crop_border:-crop_border]
        hr = hr[crop_border:-crop_border, crop_border:-crop_border]
    return sr, hr


def psnr(sr, hr, crop_border: int, y_channel: bool = True) -> float:
    """Peak signal-to-noise ratio in dB of uint8 ``sr`` against uint8 ``hr`` (peak 255)."""
    sr, hr = _prepare(sr, hr, crop_border, y_channel)
    mse = np.mean((sr - hr) ** 2)
    if mse == 0:
        return float("inf")
    return float(10.0 * np.log10(255.0**2 / mse))


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    ax = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(ax**2) / (2 * sigma**2))
    g = g / g.sum()
    return torch.outer(g, g)[None, None]


def _ssim_plane(x: np.ndarray, y: np.ndarray) -> float:
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    window = _gaussian_window()
    x_t = torch.from_numpy(np.ascontiguousarray(x))[None, None]
    y_t = torch.from_numpy(np.ascontiguousarray(y))[None, None]
    # "valid" filtering, as in Wang et al.'s reference code and BasicSR.
    mu_x, mu_y = F.conv2d(x_t, window), F.conv2d(y_t, window)
    sigma_x = F.conv2d(x_t * x_t, window) - mu_x**2
    sigma_y = F.conv2d(y_t * y_t, window) - mu_y**2
    sigma_xy = F.conv2d(x_t * y_t, window) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * sigma_xy + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (sigma_x + sigma_y + c2)
    )
    return float(ssim_map.mean())


def ssim(sr, hr, crop_border: int, y_channel: bool = True) -> float:
    """Structural similarity (11x11 Gaussian window, sigma 1.5) of uint8 ``sr`` against ``hr``.

    Without ``y_channel`` the SSIM of each channel is averaged.
    """
    sr, hr = _prepare(sr, hr, crop_border, y_channel)
    if sr.ndim == 2:
        return _ssim_plane(sr, hr)
    return float(np.mean([_ssim_plane(sr[..., c], hr[..., c]) for c in range(sr.shape[2])]))
