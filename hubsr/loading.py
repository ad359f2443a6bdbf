"""One resolver: :func:`load` turns anything that names a hubsr model into the model.

The command line (``hubsr upscale``, ``hubsr benchmark``, ``hubsr export``), the benchmark and
the Space all load through it, so a name means the same everywhere::

    import hubsr
    model = hubsr.load("edsr-x3")             # a bundled model: its folder, never the network
    base = hubsr.load("bicubic", scale=4)     # the weightless baseline, = hubsr.load("bicubic-x4")
    mine = hubsr.load("runs/abpn-x3")         # a model folder (config.json + model.safetensors)
    hub = hubsr.load("user/repo", offline=True)  # the Hub cache only; an error if not there
    esrgan = hubsr.load("4x-UltraSharp.pth")   # a community checkpoint spandrel recognises
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from . import community  # noqa: F401  (reads checkpoint files for HubSR.from_pretrained)
from .bundled import models_of_scale
from .errors import ScaleError
from .hub import HubSR
from .registry import alias_variant, bicubic_refusal, current_name

__all__ = ["load", "scale_error"]


def load(
    name_or_path: str | os.PathLike,
    *,
    scale: int | None = None,
    offline: bool = False,
    revision: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    token: str | bool | None = None,
    map_location: str | torch.device = "cpu",
):
    """The model ``name_or_path`` names, in eval mode. Tried in this order:

    - ``bicubic``: the weightless baseline at ``scale`` (3 if not given), i.e. ``bicubic-xN``;
    - an ``.onnx`` file: run by onnxruntime as :class:`hubsr.export.OnnxModel` (CPU; needs
      ``pip install 'hubsr[export]'``);
    - a checkpoint file, ``.pth`` or ``.safetensors`` (a path, or ``user/repo/FILE`` in a Hub
      repo): hubsr's own spandrel-layout exports and any single-image SR checkpoint spandrel
      recognises (:mod:`hubsr.community`; needs ``pip install 'hubsr[spandrel]'``);
    - an existing path: a model folder;
    - a bundled model name (``hubsr models``): its folder; never touches the network; the
      old name of a renamed model (:data:`hubsr.registry.RENAMED`) loads it, with a FutureWarning;
    - a weightless variant name (``bicubic-x2``): built, nothing is read;
    - a Hub repo id ``user/repo``: downloaded as huggingface_hub does (the local cache first),
      unless ``offline=True`` or ``HF_HUB_OFFLINE=1``, which keep it to the cache.

    Anything else raises :class:`~hubsr.errors.UnknownModelError` listing the known names (a
    variant without bundled weights says so). With ``scale``, a model of another scale raises
    :class:`~hubsr.errors.ScaleError` naming the bundled models of that scale. Both are
    :class:`~hubsr.HubSRError`, as is every other failure (see :meth:`HubSR.from_pretrained`).
    """
    name = str(name_or_path)
    if not Path(name).expanduser().exists():  # here, so that the warning names the caller's line
        name = current_name(name)
    name = alias_variant(name, scale) or name
    path = Path(name).expanduser()
    if path.suffix.lower() == ".onnx":
        from .export.onnx import OnnxModel  # onnxruntime only when an ONNX file is asked for

        model = OnnxModel(path)
    else:
        model = HubSR.from_pretrained(
            name,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=offline,
            token=token,
            map_location=map_location,
        )
    if scale is not None and model.scale != scale:
        raise scale_error(str(name_or_path), scale, model.scale)
    return model


def scale_error(name: str, scale: int, model_scale: int) -> ScaleError:
    """The error for the model ``name`` of ``model_scale`` asked for ``scale``: it names the
    bundled models of ``scale``, and bicubic where bicubic has that scale."""
    return ScaleError(
        name, scale, model_scale, models_of_scale(scale), bicubic_refusal=bicubic_refusal(scale)
    )
