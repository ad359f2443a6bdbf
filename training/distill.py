"""The teacher's target for distillation (``train.py --teacher``), optionally its self-ensemble.

The x8 self-ensemble (mean of the outputs on the 8 flips/rotations, each turned back) of a
model is worth 0.12-0.24 dB over its plain output on Set5 and Set14 for the bundled EDSR
models (x2, x3, x4), but costs 8 forwards. A student trained towards the teacher's output on
*one* random flip/rotation per batch sees, on average over the steps, the ensemble's mean
(exactly so under L2), for one forward per step: a way to move part of the ensemble's gain into
the plain model.
"""

from __future__ import annotations

import torch

from hubsr.dihedral import VIEWS, dihedral, undo_dihedral

TEACHER_TTA = ("none", "random", "x8")


def teacher_target(
    teacher: torch.nn.Module, lr: torch.Tensor, mode: str, generator: torch.Generator
) -> torch.Tensor:
    """The teacher's SR of the ``(B, 3, h, w)`` batch ``lr`` under ``mode`` (see TEACHER_TTA);
    ``generator`` draws the flip/rotation of ``random``."""
    if mode == "none":
        return teacher(lr)
    if mode == "random":
        k = int(torch.randint(len(VIEWS), (), generator=generator))
        return _turned_back(teacher, lr, k)
    if mode == "x8":
        return sum(_turned_back(teacher, lr, k).float() for k in VIEWS) / len(VIEWS)
    raise ValueError(f"teacher TTA must be one of {', '.join(TEACHER_TTA)}, got {mode!r}")


def _turned_back(teacher: torch.nn.Module, lr: torch.Tensor, k: int) -> torch.Tensor:
    # Keep the batch's memory layout (channels_last or not, as train.py chose) for the teacher.
    channels_last = lr.is_contiguous(memory_format=torch.channels_last)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    turned = dihedral(lr, k).contiguous(memory_format=layout)
    return undo_dihedral(teacher(turned), k)
