"""hubsr: single-image super-resolution models you can train, evaluate, share and demo."""

from . import models  # noqa: F401  (registers every architecture)
from .errors import HubSRError
from .hub import HubSR
from .metrics import psnr, ssim
from .registry import get_architecture, list_architectures
from .resize import imresize

__all__ = [
    "HubSR",
    "HubSRError",
    "get_architecture",
    "imresize",
    "list_architectures",
    "psnr",
    "ssim",
]
