"""hubsr: single-image super-resolution models you can train, evaluate, share and demo."""

# numpy before torch: its OpenBLAS allocates buffers on import and ends the process (no
# exception) if it cannot; before torch's libraries take their gigabytes of address space, it can.
import numpy  # noqa: F401

from . import address_space
from .errors import HubSRError

try:
    with address_space.headroom():  # freed before the except below, which needs room
        from . import models  # noqa: F401  (registers every architecture and its variants)
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
except Exception as exc:  # noqa: BLE001 - re-raised unless memory ran out
    # Under a small address-space limit (ulimit -v) torch cannot even be loaded. The command
    # line imports this package before it can say so in one line (hubsr.cli.main), so that
    # failure, and only that one, is kept and raised by the first use of a name it left out.
    if not address_space.is_memory_failure(exc):
        raise
    address_space.import_failure = exc

    def __getattr__(name: str):
        raise address_space.import_failure


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
