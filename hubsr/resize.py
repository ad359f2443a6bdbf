"""MATLAB-exact bicubic ``imresize`` for numpy arrays and torch tensors.

MATLAB's ``imresize(img, scale, 'bicubic')`` is the resize every SR benchmark is defined by.
Its details matter to the last grey level, so they are reproduced here exactly:

- cubic kernel with a = -0.5;
- when shrinking, the kernel is stretched by ``1/scale`` (antialiasing);
- output pixel ``x`` (1-based) samples input position ``u = x / scale + 0.5 * (1 - 1 / scale)``;
- symmetric (mirror, edge pixel repeated) padding at the borders;
- the dimension with the smaller scale is resized first, height first on ties;
- **uint8 input is rounded back to uint8 after each 1-D pass; float input is never rounded**
  (the caller rounds once, e.g. with :func:`hubsr.rounding.to_uint8`).

Each 1-D pass is a sum over a handful of taps, done in float64 in the same order as MATLAB, so
the numpy path and the torch path (CPU float64) reproduce published MATLAB LR images bit for bit.
Float32 tensors (e.g. on a GPU in training) agree to about 1e-6.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

from .rounding import round_half_up

__all__ = ["imresize", "output_size"]

_KERNEL_WIDTH = 4.0  # support of the a = -0.5 cubic kernel, in input pixels


def _cubic(x: np.ndarray) -> np.ndarray:
    absx = np.abs(x)
    absx2 = absx**2
    absx3 = absx**3
    near = (1.5 * absx3 - 2.5 * absx2 + 1) * (absx <= 1)
    far = (-0.5 * absx3 + 2.5 * absx2 - 4 * absx + 2) * ((absx > 1) & (absx <= 2))
    return near + far


@lru_cache(maxsize=256)
def _contributions(in_len: int, out_len: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Tap indices (0-based, already mirrored) and weights, each of shape (out_len, taps)."""
    antialias = scale < 1
    width = _KERNEL_WIDTH / scale if antialias else _KERNEL_WIDTH
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    taps = int(math.ceil(width)) + 2
    indices = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]
    distance = u[:, None] - indices
    weights = scale * _cubic(scale * distance) if antialias else _cubic(distance)
    weights = weights / weights.sum(axis=1, keepdims=True)
    # Symmetric padding: index sequence 1..n, n..1 repeated (MATLAB's mirror with edge repeat).
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    indices = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_len)]
    # Drop tap columns whose weight is zero for every output pixel, as MATLAB does.
    keep = np.any(weights != 0, axis=0)
    return np.ascontiguousarray(indices[:, keep]), np.ascontiguousarray(weights[:, keep])


def output_size(in_size: tuple[int, int], scale: float) -> tuple[int, int]:
    """MATLAB's output size for a scale factor: ``ceil(in * scale)`` per dimension."""
    return tuple(int(math.ceil(n * scale)) for n in in_size)


def _resolve(
    in_size: tuple[int, int], scale_or_size
) -> tuple[tuple[float, float], tuple[int, int]]:
    if isinstance(scale_or_size, (int, float)) and not isinstance(scale_or_size, bool):
        if scale_or_size <= 0:
            raise ValueError(f"imresize: scale must be positive, got {scale_or_size}")
        scale = float(scale_or_size)
        return (scale, scale), output_size(in_size, scale)
    try:
        out_h, out_w = (int(v) for v in scale_or_size)
    except (TypeError, ValueError):
        raise ValueError(
            f"imresize: expected a scale factor or an (height, width) size, got {scale_or_size!r}"
        ) from None
    if out_h <= 0 or out_w <= 0:
        raise ValueError(f"imresize: output size must be positive, got {(out_h, out_w)}")
    return (out_h / in_size[0], out_w / in_size[1]), (out_h, out_w)


def _pass_order(scales: tuple[float, float]) -> list[int]:
    # MATLAB resizes the dimension with the smallest scale first; a stable sort keeps height first.
    return sorted(range(2), key=lambda d: scales[d])


def _resize_axis_numpy(img: np.ndarray, axis: int, out_len: int, scale: float) -> np.ndarray:
    indices, weights = _contributions(img.shape[axis], out_len, scale)
    moved = np.moveaxis(img, axis, 0).astype(np.float64, copy=False)
    out = np.zeros((out_len,) + moved.shape[1:], dtype=np.float64)
    expand = (slice(None),) + (None,) * (moved.ndim - 1)
    for k in range(indices.shape[1]):  # accumulate tap by tap, in MATLAB's order
        out += weights[:, k][expand] * moved[indices[:, k]]
    return np.moveaxis(out, 0, axis)


def _resize_axis_torch(img: torch.Tensor, dim: int, out_len: int, scale: float) -> torch.Tensor:
    indices, weights = _contributions(img.shape[dim], out_len, scale)
    idx = torch.from_numpy(indices).to(img.device)
    w = torch.from_numpy(weights).to(device=img.device, dtype=img.dtype)
    shape = [1] * img.ndim
    shape[dim] = out_len
    out = None
    for k in range(idx.shape[1]):
        term = img.index_select(dim, idx[:, k]) * w[:, k].reshape(shape)
        out = term if out is None else out + term
    return out


def imresize(img, scale_or_size):
    """Resize like MATLAB ``imresize(img, scale_or_size, 'bicubic')``.

    Args:
        img: a numpy array ``HxW`` or ``HxWxC`` (uint8 or float), or a torch tensor ``...xHxW``
            (uint8 or float, any leading batch/channel dimensions, any device).
        scale_or_size: a scale factor (``1/3`` shrinks by three) or an output ``(height, width)``.

    Returns:
        The resized image, same type and layout. uint8 in gives uint8 out, rounded after each
        1-D pass as MATLAB does. Float in gives float out, never rounded or clipped, so the
        caller can round once (the BasicSR benchmark convention).
    """
    if isinstance(img, torch.Tensor):
        h_dim, w_dim = img.ndim - 2, img.ndim - 1
        is_uint8 = img.dtype == torch.uint8
        if not (is_uint8 or img.is_floating_point()):
            raise ValueError(f"imresize: unsupported tensor dtype {img.dtype}")
        work = img.double() if is_uint8 else img
    else:
        img = np.asarray(img)
        if img.ndim not in (2, 3):
            raise ValueError(f"imresize: expected HxW or HxWxC array, got shape {img.shape}")
        h_dim, w_dim = 0, 1
        is_uint8 = img.dtype == np.uint8
        if not (is_uint8 or np.issubdtype(img.dtype, np.floating)):
            raise ValueError(f"imresize: unsupported array dtype {img.dtype}")
        work = img
    if img.shape[h_dim] == 0 or img.shape[w_dim] == 0:
        raise ValueError(f"imresize: empty image of shape {tuple(img.shape)}")
    scales, size = _resolve((img.shape[h_dim], img.shape[w_dim]), scale_or_size)
    dims = (h_dim, w_dim)
    for d in _pass_order(scales):
        if isinstance(work, torch.Tensor):
            work = _resize_axis_torch(work, dims[d], size[d], scales[d])
        else:
            work = _resize_axis_numpy(work, dims[d], size[d], scales[d])
        if is_uint8:
            work = round_half_up(work)  # MATLAB's uint8() of each pass
    if isinstance(work, torch.Tensor):
        return work.to(torch.uint8) if is_uint8 else work
    return work.astype(np.uint8) if is_uint8 else work.astype(img.dtype, copy=False)
