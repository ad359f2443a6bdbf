"""Export-friendly stand-ins for models whose ``forward`` only traces at one input size.

VDSR, SRCNN and the bicubic baseline upsample inside ``forward`` with
:func:`hubsr.layers.bicubic_upsample`, whose taps are numpy arrays computed for the input's
size. Their stand-in runs the model's own layers after :class:`BicubicUpsample`, which computes
the same MATLAB bicubic for any size inside the graph. Every other architecture traces as it is.
The ONNX tests compare each exported file with the model itself, so a stand-in that drifts from
its model's ``forward`` fails them.
"""

from __future__ import annotations

import torch
from torch import nn

from .bicubic import BicubicUpsample

__all__ = ["traceable"]

# What each pre-upsampling architecture does after its bicubic upsampling (see its forward).
_AFTER_BICUBIC = {
    "bicubic": lambda model, x: x,
    "srcnn": lambda model, x: model.reconstruct(model.act(model.map(model.act(model.extract(x))))),
    "vdsr": lambda model, x: x + model.body(x),
}


class _PreUpsampled(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.upsample = BicubicUpsample(model.scale, model.in_channels)
        self.after = _AFTER_BICUBIC[model.architecture]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.after(self.model, self.upsample(x))


def traceable(model: nn.Module) -> nn.Module:
    """``model`` itself, or a module computing the same function for any input size."""
    if model.architecture in _AFTER_BICUBIC:
        return _PreUpsampled(model)
    return model
