"""``SpandrelModel``: a network of one of spandrel's architectures as a hubsr model.

spandrel (chaiNNer-org/spandrel, MIT) implements 40+ published SR architectures (ESRGAN,
Compact, SwinIR, HAT, DAT, OmniSR, SPAN, SAFMN, PLKSR, ...) and recognises their checkpoints;
:mod:`hubsr.community` reads such a checkpoint into this class. Here the network is spandrel's
own class, built from its constructor arguments, so that a hubsr folder of it rebuilds without
spandrel's detection: ``config.json`` names the spandrel architecture and class and holds the
arguments (``hyperparameters``) that spandrel's ``store_hyperparameters`` recorded, plus what
spandrel's descriptor said of the model (scale, channels, size requirements, precisions, tiling)
and where the weights came from. ``model.safetensors`` holds the network's state dict under
``net.``.

The model honours the descriptor as spandrel's own call does: the input is padded (reflected,
then replicated) to the size requirements and the output cropped back; float16 or bfloat16 is
refused where spandrel says the architecture does not support it. Needs spandrel
(``pip install 'hubsr[spandrel]'``).

Tiles: a network that cuts the image into windows, stripes or patches counts them from the
input's top-left corner, so a tile gives the whole image's result only where it starts on the
same grid: ``tile_multiple`` (derived from the network's settings) is the grid, which tiles and
their overlap must be multiples of. ``image_wide`` names an operation that reads the whole image
(a mean over it, windows that wrap around its edges): tiles of such a network are never
seamless, whatever their size.
"""

from __future__ import annotations

import importlib
import math

import torch
import torch.nn.functional as F
from huggingface_hub import ModelCard

from .errors import HubSRError
from .hub import HubSR
from .registry import register

__all__ = ["SpandrelModel", "import_spandrel"]

# The spandrel version whose architectures hubsr checks (tests/test_community_checkpoints.py);
# pyproject's ``spandrel`` extra pins it.
SPANDREL_VERSION = "0.4.2"
TILING_HINTS = ("supported", "discouraged", "internal")
# Settings that size a grid the network cuts its input into, from the top-left corner: windows
# (shifted ones by half a window, which the same period covers), stripes, patches, and GRL's
# anchors (average-pooled by anchor_window_down_factor).
GRID_SETTINGS = (
    "window_size",
    "split_size",
    "split_size_0",
    "split_size_1",
    "stripe_size",
    "patch_size",
    "anchor_window_down_factor",
)
# Grids fixed in the code rather than a setting: DCTLSA's transformer windows are 16 pixels.
FIXED_GRIDS = {"DCTLSA": 16}
# Operations that read the whole image (spandrel 0.4.2's code): tiles cannot reproduce them.
IMAGE_WIDE = {
    "AuraSR": "it draws a random style for each call, which modulates every convolution, and "
    "its coarsest levels attend over the whole image",
    "CRAFT": "its channel attention weighs every channel by correlations summed over the whole "
    "image, and its shifted windows wrap around the image's edges",
    "DCTLSA": "its shifted windows wrap around the image (unmasked): the pixels at one edge "
    "attend to those at the opposite edge, and its 24 blocks carry that far inside",
    "OmniSR": "its squeeze-excitation takes the mean of the whole image, and its grid attention "
    "mixes pixels spread over the whole image",
}


def import_spandrel(what: str):
    """The spandrel package; a :class:`HubSRError` naming the extra if it is not installed."""
    try:
        import spandrel
    except ImportError:
        raise HubSRError(
            f"{what} needs spandrel, which is not installed: pip install 'hubsr[spandrel]'"
        ) from None
    return spandrel


@register
class SpandrelModel(HubSR):
    """One of spandrel's SR networks (``self.net``) with hubsr's model interface.

    Args:
        spandrel_architecture: spandrel's architecture id (``"SwinIR"``, ``"ESRGAN"``, ...).
        spandrel_class: the network class in ``spandrel.architectures.<id>``.
        hyperparameters: that class's constructor arguments (JSON values; arguments left out
            take the class's defaults).
        scale: upscaling factor, as spandrel's descriptor gives it.
        in_channels: image channels in and out (1 grey or 3 RGB).
        size_minimum, size_multiple, size_square: spandrel's size requirements of the input.
        supports_half, supports_bfloat16: whether spandrel says float16 / bfloat16 work.
        tiling: spandrel's tiling hint: ``"supported"``, ``"discouraged"`` (it relies on
            global image information) or ``"internal"`` (it tiles by itself).
        source: where the weights came from (a file name or ``user/repo/FILE``).
        source_sha256: the SHA-256 of that file, when it was read from one.
        spandrel_version: the spandrel version that recognised the checkpoint.

    Attributes derived from the network (not stored in ``config.json``):
        tile_multiple: LR pixels; tiles and their overlap must be multiples of it for tiles to
            equal the whole image (the network's window or stripe grid then falls on each tile
            as on the image). The overlap must also cover the receptive field, which grows with
            depth: a multiple of ``tile_multiple`` at least once.
        image_wide: ``""``, or the operation that reads the whole image, in words: then no
            tiling equals the whole image.
    """

    architecture = "spandrel"

    def __init__(
        self,
        *,
        spandrel_architecture: str,
        spandrel_class: str,
        hyperparameters: dict,
        scale: int,
        in_channels: int = 3,
        size_minimum: int = 0,
        size_multiple: int = 1,
        size_square: bool = False,
        supports_half: bool = False,
        supports_bfloat16: bool = False,
        tiling: str = "supported",
        source: str = "",
        source_sha256: str = "",
        spandrel_version: str = SPANDREL_VERSION,
    ):
        super().__init__()
        if tiling not in TILING_HINTS:
            raise ValueError(f"tiling must be one of {', '.join(TILING_HINTS)}, got {tiling!r}")
        if in_channels not in (1, 3):
            raise ValueError(f"in_channels must be 1 or 3, got {in_channels}")
        self.spandrel_architecture, self.spandrel_class = spandrel_architecture, spandrel_class
        self.scale, self.in_channels = scale, in_channels
        self.size_minimum, self.size_multiple = size_minimum, max(1, size_multiple)
        self.size_square = size_square
        self.supports_half, self.supports_bfloat16 = supports_half, supports_bfloat16
        # The pipeline's "auto" precision: bf16 (on CUDA or a CPU where it pays) only where
        # spandrel says the architecture supports it.
        self.bf16_safe = supports_bfloat16
        self.tiling = tiling
        self.source, self.source_sha256 = source, source_sha256
        self._build = (_network_class(spandrel_architecture, spandrel_class), hyperparameters)
        self.net = self._build[0](**hyperparameters)
        self.tile_multiple = _tile_multiple(spandrel_architecture, self.net, self.size_multiple)
        self.image_wide = _image_wide(spandrel_architecture, self.net)

    def to(self, *args, **kwargs):
        """As ``nn.Module.to``; channels_last is skipped where a weight has 5 dimensions
        (AuraSR's), which that 4-D layout cannot hold (the pipeline asks for it)."""
        if kwargs.get("memory_format") == torch.channels_last and any(
            p.dim() == 5 for p in self.parameters()
        ):
            kwargs.pop("memory_format")
        return super().to(*args, **kwargs)

    @property
    def name(self) -> str:
        """``SwinIR x2`` and the like: the spandrel architecture and the scale."""
        return f"{self.spandrel_architecture} x{self.scale}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_precision(x)
        height, width = x.shape[-2:]
        net = self.net
        if x.is_meta:
            # hubsr.memory measures the working set with shapes alone (the meta device). Some
            # networks keep tensors made in forward (SwinIR's and HAT's attention masks), which
            # would then be shapes without data in self.net: a throwaway network runs instead.
            with torch.device("meta"):
                net = self._build[0](**self._build[1])
        y = net(self._pad(x))
        if isinstance(y, (tuple, list)):  # MMRealSR also returns its degradation estimate
            y = y[0]
        return y[..., : height * self.scale, : width * self.scale]

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        """Padded at the bottom and right to the size requirements, as spandrel's own call
        pads (reflected as far as the image allows, then replicated)."""
        height, width = x.shape[-2:]
        pad_h, pad_w = _padded(height, self), _padded(width, self)
        if self.size_square:
            pad_h = pad_w = max(pad_h, pad_w)
        pad_h, pad_w = pad_h - height, pad_w - width
        if not pad_h and not pad_w:
            return x
        reflect_h, reflect_w = min(pad_h, height - 1), min(pad_w, width - 1)
        x = F.pad(x, (0, reflect_w, 0, reflect_h), mode="reflect")
        return F.pad(x, (0, pad_w - reflect_w, 0, pad_h - reflect_h), mode="replicate")

    def _check_precision(self, x: torch.Tensor) -> None:
        kind = x.device.type
        dtype = x.dtype
        if kind in ("cpu", "cuda", "mps", "xpu") and torch.is_autocast_enabled(kind):
            dtype = torch.get_autocast_dtype(kind)
        refused = (dtype == torch.float16 and not self.supports_half) or (
            dtype == torch.bfloat16 and not self.supports_bfloat16
        )
        if refused:
            offer = "'bfloat16' or 'float32'" if self.supports_bfloat16 else "'float32'"
            raise HubSRError(
                f"{self.spandrel_architecture} does not support {str(dtype)[6:]} (spandrel "
                f"says so); use dtype={offer}"
            )

    # -- sharing --------------------------------------------------------------------------------
    def generate_model_card(self, *args, **kwargs) -> ModelCard:
        """The card ``save_pretrained`` writes: where the weights came from, that their licence
        is the original's, what spandrel said of the model and how to measure it."""
        parameters = sum(p.numel() for p in self.parameters())
        digest = f" (SHA-256 `{self.source_sha256}`)" if self.source_sha256 else ""
        precisions = ["float32"] + [
            name
            for name, ok in (("bfloat16", self.supports_bfloat16), ("float16", self.supports_half))
            if ok
        ]
        square = ", square" if self.size_square else ""
        if self.image_wide:
            tiles = f"not seamless: {self.image_wide}"
        else:
            tiles = (
                f"seamless where `--tile` and `--tile-overlap` are multiples of "
                f"{self.tile_multiple} and the overlap covers the network's reach"
            )
        text = f"""---
library_name: hubsr
license: other
pipeline_tag: image-to-image
tags:
- super-resolution
- image-to-image
- hubsr
- spandrel
---

# {self.name}: a community checkpoint as a hubsr model

These weights are not hubsr's: they come from `{self.source or "an unnamed checkpoint"}`{digest}
and were converted to a hubsr folder unchanged. **Their licence is the original checkpoint's**:
check it before you use or share them; this folder does not change it.

| | |
|---|---|
| Architecture | spandrel `{self.spandrel_architecture}` (class `{self.spandrel_class}`, \
spandrel {SPANDREL_VERSION}) |
| Scale | x{self.scale} |
| Channels | {"RGB" if self.in_channels == 3 else "grey"} |
| Parameters | {parameters:,} |
| Input size | at least {self.size_minimum} px, a multiple of {self.size_multiple}{square} \
(padded and cropped back by hubsr) |
| Precisions | {", ".join(precisions)} |
| Tiling | {tiles} (spandrel's hint: {self.tiling}) |

```bash
hubsr upscale photo.png -o out/ --model THIS_FOLDER
hubsr benchmark --model THIS_FOLDER --datasets Set5 Set14   # Y-PSNR/SSIM, MATLAB bicubic
```

Compare the benchmark with the table of the architecture's paper at this scale; `config.json`
holds the constructor arguments, so the folder loads without spandrel's detection (spandrel
itself must be installed: `pip install 'hubsr[spandrel]'`).
"""
        return ModelCard(text)

    def extra_repr(self) -> str:
        return f"spandrel={self.spandrel_architecture}, scale={self.scale}"


def _padded(size: int, model: SpandrelModel) -> int:
    size = max(size, model.size_minimum)
    return -(-size // model.size_multiple) * model.size_multiple


def _tile_multiple(architecture: str, net: torch.nn.Module, size_multiple: int) -> int:
    """The least common multiple of spandrel's size multiple and every grid setting of
    ``net``'s constructor arguments (its ``hyperparameters``, defaults included)."""
    settings = getattr(net, "hyperparameters", {})
    sizes = [size_multiple, FIXED_GRIDS.get(architecture, 1)]
    for name in GRID_SETTINGS:
        value = settings.get(name)
        values = value if isinstance(value, (list, tuple)) else [value]
        sizes += [v for v in values if isinstance(v, int) and not isinstance(v, bool) and v > 0]
    return math.lcm(*sizes)


def _image_wide(architecture: str, net: torch.nn.Module) -> str:
    """What of ``net`` reads the whole image, in words; ``""`` if nothing does."""
    groups = getattr(net, "hyperparameters", {}).get("stripe_groups") or []
    if architecture == "GRL" and any(g is not None for g in groups):
        # get_stripe_info: a stripe is then the image's size divided by the group count.
        return "its stripes are a fraction of the image's size (stripe_groups)"
    return IMAGE_WIDE.get(architecture, "")


def _network_class(architecture: str, class_name: str) -> type:
    """spandrel's network class ``class_name`` of ``architecture``; only a class that the
    architecture's module exports, of an architecture spandrel's main registry holds."""
    spandrel = import_spandrel(f"a {architecture} model")
    if architecture not in spandrel.MAIN_REGISTRY:
        raise HubSRError(
            f"spandrel {spandrel.__version__} has no architecture {architecture!r}; "
            f"hubsr checks spandrel {SPANDREL_VERSION}"
        )
    module = importlib.import_module(f"spandrel.architectures.{architecture}")
    cls = getattr(module, class_name, None)
    if class_name not in getattr(module, "__all__", ()) or not (
        isinstance(cls, type) and issubclass(cls, torch.nn.Module)
    ):
        raise HubSRError(f"spandrel's {architecture} has no network class {class_name!r}")
    return cls
