"""hubsr: single-image super-resolution models you can train, evaluate, share and demo."""

from . import models  # noqa: F401  (registers every architecture and its variants)
from .errors import HubSRError
from .hub import HubSR
from .loading import load
from .metrics import psnr, ssim
from .registry import (
    create_model,
    get_architecture,
    get_variant,
    list_architectures,
    list_variants,
)
from .resize import imresize

__all__ = [
    "HubSR",
    "HubSRError",
    "create_model",
    "get_architecture",
    "get_variant",
    "imresize",
    "list_architectures",
    "list_variants",
    "load",
    "psnr",
    "ssim",
]
