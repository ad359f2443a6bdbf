"""Named, fixed-seed degradations of a benchmark LR image: how a model copes with real photos.

The clean protocol gives every model the same MATLAB-bicubic LR image. A photo is something
else: JPEG-compressed, noisy, a little soft. Each degradation here is applied to the protocol's
uint8 LR image, once, with a seed made of its own name and the image's name, so anyone gets the
same pixels; the SR result is still scored against the clean HR by the same protocol
(:func:`hubsr.protocol.score`).

- ``clean``: the protocol's LR image itself.
- ``jpeg90``, ``jpeg75``, ``jpeg50``: Pillow (libjpeg) at that quality, 4:2:0 chroma
  subsampling, as cameras and the web save photos.
- ``noise10``: Gaussian noise of sigma 10 (of 255), independent in R, G and B.
- ``noise5-jpeg75``: sensor noise of sigma 5, then JPEG 75 (noise comes before compression).
- ``mixed``: Gaussian blur of sigma 0.5 LR pixels (a soft lens; 1.5 HR pixels at x3), then
  noise of sigma 5, then JPEG 60.

Example::

    from hubsr.degradations import degrade
    lr_jpeg = degrade(lr, "jpeg50", key="baby")  # uint8 HxWx3 in, uint8 HxWx3 out
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .errors import HubSRError

__all__ = ["DEGRADATIONS", "Degradation", "degrade", "gaussian_blur", "jpeg"]


@dataclass(frozen=True)
class Degradation:
    """One recipe, applied in this order: blur (sigma in LR pixels), Gaussian noise (sigma of
    255), JPEG (quality; 0 = none). Each step is skipped when its value is 0."""

    blur: float = 0.0
    noise: float = 0.0
    jpeg: int = 0

    def describe(self) -> str:
        steps = [
            f"Gaussian blur sigma {self.blur:g} LR px" if self.blur else "",
            f"Gaussian noise sigma {self.noise:g}/255 per channel" if self.noise else "",
            f"JPEG quality {self.jpeg} (Pillow, 4:2:0)" if self.jpeg else "",
        ]
        return ", then ".join(step for step in steps if step) or "none (the protocol's LR)"


DEGRADATIONS = {
    "clean": Degradation(),
    "jpeg90": Degradation(jpeg=90),
    "jpeg75": Degradation(jpeg=75),
    "jpeg50": Degradation(jpeg=50),
    "noise10": Degradation(noise=10.0),
    "noise5-jpeg75": Degradation(noise=5.0, jpeg=75),
    "mixed": Degradation(blur=0.5, noise=5.0, jpeg=60),
}


def degrade(lr: np.ndarray, name: str, key: str) -> np.ndarray:
    """``lr`` (uint8 ``HxWx3``) degraded by the recipe ``name``; ``key`` (the image's name)
    seeds the noise, so a set's degraded images are the same on every run and machine."""
    try:
        recipe = DEGRADATIONS[name]
    except KeyError:
        raise HubSRError(
            f"unknown degradation {name!r}; choose from {', '.join(DEGRADATIONS)}"
        ) from None
    if lr.dtype != np.uint8 or lr.ndim != 3 or lr.shape[2] != 3:
        raise HubSRError(f"degrade takes a uint8 HxWx3 image, got {lr.dtype} {lr.shape}")
    img = lr.astype(np.float64)
    if recipe.blur:
        img = gaussian_blur(img, recipe.blur)
    if recipe.noise:
        rng = np.random.default_rng([zlib.crc32(name.encode()), zlib.crc32(key.encode())])
        img = img + rng.normal(0.0, recipe.noise, img.shape)
    out = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return jpeg(out, recipe.jpeg) if recipe.jpeg else out


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """``img`` (uint8 ``HxWx3``) saved as a JPEG of ``quality`` (4:2:0) and decoded again."""
    buffer = io.BytesIO()
    Image.fromarray(img).save(buffer, format="JPEG", quality=int(quality), subsampling="4:2:0")
    return np.asarray(Image.open(buffer).convert("RGB"))


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """``HxWxC`` float image blurred by a normalised Gaussian of ``sigma`` pixels (radius
    3 sigma), separably, with mirrored borders (the edge pixel repeated, as MATLAB's
    ``imfilter(..., 'symmetric')``)."""
    radius = max(1, int(np.ceil(3 * sigma)))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    padded = np.pad(img, ((radius, radius), (radius, radius), (0, 0)), mode="symmetric")
    rows = sum(t * padded[i : i + img.shape[0]] for i, t in enumerate(taps))
    return sum(t * rows[:, i : i + img.shape[1]] for i, t in enumerate(taps))
