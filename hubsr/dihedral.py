"""The 8 flips/rotations of an image (the dihedral group of the square), and their inverses.

Inference's x8 self-ensemble (``upscale(..., tta=True)``), training's patch augmentation and
the teacher's ensemble in distillation all index the same 8 views the same way: view ``k``
flips horizontally when ``k >= 4``, then turns ``k % 4`` quarter turns anticlockwise.
"""

from __future__ import annotations

import torch

VIEWS = range(8)


def dihedral(t: torch.Tensor, k: int) -> torch.Tensor:
    """View ``k`` (0..7) of a ``...xHxW`` tensor; view 0 is the tensor itself."""
    if k >= 4:
        t = t.flip(-1)
    return torch.rot90(t, k % 4, dims=(-2, -1))


def undo_dihedral(t: torch.Tensor, k: int) -> torch.Tensor:
    """The inverse of ``dihedral(., k)``: ``undo_dihedral(dihedral(t, k), k) == t``."""
    t = torch.rot90(t, -(k % 4), dims=(-2, -1))
    return t.flip(-1) if k >= 4 else t
