"""Random photo degradations of training patches, on the fly: what a camera and the web do.

The order is a camera's, one pass (BSRGAN shuffles the steps and Real-ESRGAN runs two passes
to cover more of the world; the fixed order was kept untested against them, see the round's
record): the HR patch is blurred by a random Gaussian lens, down-scaled by a random kernel,
noise is added, the result is rounded to 8 bits and saved as a JPEG of random quality. Each
step happens with its own probability, so some patches stay the protocol's clean LR.

Everything is drawn from one ``torch.Generator`` (CPU), so a seed gives the same batches. JPEG
is the test sets' own (:func:`hubsr.degradations.jpeg`, Pillow), the blur and down-scaling go
through torch on the batch's device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from hubsr.degradations import jpeg

DOWN_MODES = ("bicubic", "bilinear", "area")


@dataclass(frozen=True)
class PhotoRecipe:
    """Probabilities and ranges of each step (sigmas in HR pixels for the lens, of 255 for
    noise). ``kernel`` is the chance that a patch gets a random lens and down-scaling kernel
    instead of the protocol's MATLAB-bicubic LR."""

    kernel: float = 0.5
    blur_sigma: tuple[float, float] = (0.2, 1.0)  # times the scale
    anisotropic: float = 0.5
    noise: float = 0.6
    noise_sigma: tuple[float, float] = (1.0, 20.0)
    poisson: float = 0.25  # of the noisy patches: shot noise instead of Gaussian
    grey_noise: float = 0.4  # of the noisy patches: the same noise in R, G and B
    jpeg: float = 0.7
    jpeg_quality: tuple[int, int] = (30, 95)


RECIPES = {
    "none": None,
    "photo": PhotoRecipe(),
    # Fewer and milder lenses, a little less noise and JPEG: 15% of patches stay clean (6%
    # with photo), closer to what a phone's photo gets (round PA of the experiment log).
    "photo-narrow": PhotoRecipe(kernel=0.25, blur_sigma=(0.2, 0.6), noise=0.5, jpeg=0.6),
    # Round PB's diagnostic: JPEG alone (15% of patches clean), to measure what the model's
    # capacity gives one degradation when it need not hedge against the others.
    "jpeg-only": PhotoRecipe(kernel=0.0, noise=0.0, jpeg=0.85),
}


def degrade_batch(
    hr: torch.Tensor, lr: torch.Tensor, scale: int, recipe: PhotoRecipe, generator: torch.Generator
) -> torch.Tensor:
    """A degraded LR batch (same shape as ``lr``, float in [0, 1], on 8-bit levels) for the HR
    patches ``hr`` (``B x 3 x sH x sW``) and their protocol LR patches ``lr``."""
    batch = hr.shape[0]
    draws = torch.rand(batch, 8, generator=generator)
    out = lr.clone()
    lens = (draws[:, 0] < recipe.kernel).nonzero().flatten().tolist()
    for i in lens:  # per patch: each has its own kernel
        out[i] = _lens_and_down(hr[i], scale, recipe, draws[i], generator)
    noisy = draws[:, 2] < recipe.noise
    if noisy.any():
        out = torch.where(noisy[:, None, None, None], _noise(out, recipe, draws, generator), out)
    out = (out.clamp(0, 1) * 255).round()
    for i in (draws[:, 3] < recipe.jpeg).nonzero().flatten().tolist():
        lo, hi = recipe.jpeg_quality
        quality = lo + int(draws[i, 4] * (hi - lo + 1))
        out[i] = _jpeg(out[i], min(quality, hi))
    return out / 255


def _lens_and_down(
    hr: torch.Tensor, scale: int, recipe: PhotoRecipe, draw: torch.Tensor, generator
) -> torch.Tensor:
    lo, hi = (s * scale for s in recipe.blur_sigma)
    sigma_x = lo + float(draw[1]) * (hi - lo)
    sigma_y, angle = sigma_x, 0.0
    if float(draw[5]) < recipe.anisotropic:
        sigma_y = lo + float(torch.rand(1, generator=generator)) * (hi - lo)
        angle = float(torch.rand(1, generator=generator)) * math.pi
    kernel = gaussian_kernel(sigma_x, sigma_y, angle).to(hr)
    pad = kernel.shape[-1] // 2
    blurred = F.conv2d(
        F.pad(hr[None], (pad,) * 4, mode="reflect"), kernel.expand(3, 1, -1, -1), groups=3
    )
    mode = DOWN_MODES[int(draw[6] * len(DOWN_MODES)) % len(DOWN_MODES)]
    size = (hr.shape[-2] // scale, hr.shape[-1] // scale)
    if mode == "area":
        return F.interpolate(blurred, size=size, mode="area")[0]
    return F.interpolate(blurred, size=size, mode=mode, antialias=True, align_corners=False)[0]


def gaussian_kernel(sigma_x: float, sigma_y: float, angle: float) -> torch.Tensor:
    """A normalised ``k x k`` Gaussian (``k`` odd, radius 3 of the larger sigma, at most 10)
    with axes of ``sigma_x`` and ``sigma_y`` pixels, turned by ``angle`` radians."""
    radius = min(10, max(1, math.ceil(3 * max(sigma_x, sigma_y))))
    grid = torch.arange(-radius, radius + 1, dtype=torch.float64)
    y, x = torch.meshgrid(grid, grid, indexing="ij")
    cos, sin = math.cos(angle), math.sin(angle)
    u, v = cos * x + sin * y, -sin * x + cos * y
    kernel = torch.exp(-0.5 * ((u / sigma_x) ** 2 + (v / sigma_y) ** 2))
    return (kernel / kernel.sum()).float()


def _noise(lr: torch.Tensor, recipe: PhotoRecipe, draws: torch.Tensor, generator) -> torch.Tensor:
    """``lr`` with Gaussian or Poisson noise (per patch; colour or grey) of random strength."""
    batch = lr.shape[0]
    lo, hi = recipe.noise_sigma
    sigma = (lo + draws[:, 7] * (hi - lo)).to(lr)[:, None, None, None] / 255
    grey = (torch.rand(batch, generator=generator) < recipe.grey_noise).to(lr.device)
    poisson = (torch.rand(batch, generator=generator) < recipe.poisson).to(lr.device)
    colour_n = torch.randn(lr.shape, generator=generator).to(lr)
    grey_n = torch.randn((batch, 1, *lr.shape[2:]), generator=generator).to(lr)
    unit = torch.where(grey[:, None, None, None], grey_n.expand_as(lr), colour_n)
    # Shot noise: its variance grows with the signal; sigma is its size at mid-grey.
    shot = unit * torch.sqrt(lr.clamp(min=0) / 0.5)
    unit = torch.where(poisson[:, None, None, None], shot, unit)
    return lr + sigma * unit


def _jpeg(patch: torch.Tensor, quality: int) -> torch.Tensor:
    """A ``3 x H x W`` patch on 0..255 levels through the test sets' JPEG
    (:func:`hubsr.degradations.jpeg`) at ``quality``."""
    decoded = jpeg(patch.permute(1, 2, 0).to("cpu", torch.uint8).numpy(), quality)
    return torch.from_numpy(decoded.copy()).permute(2, 0, 1).to(patch)
