"""The teacher's target for distillation (``train.py --teacher``), optionally its self-ensemble.

The x8 self-ensemble (mean of the outputs on the 8 flips/rotations, each turned back) of a
model is worth 0.12-0.24 dB over its plain output on Set5 and Set14 for the bundled EDSR
models (x2, x3, x4), but costs 8 forwards. A student trained towards the teacher's output on
*one* random flip/rotation per batch sees, on average over the steps, the ensemble's mean
(exactly so under L2), for one forward per step: a way to move part of the ensemble's gain into
the plain model.

Or the teacher runs once, before training, on each *whole* LR image of the training pyramid
(:func:`cached_teacher_images`, ``train.py --teacher-on images``): its SR, the x8 ensemble
itself if asked, is then cut into patches alongside the HR image. The targets see each image's
full context rather than a patch's, and a step costs no teacher forward at all, for a one-off
pass over the pyramid (cached on disk, keyed by the teacher's weights).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from hubsr.benchmark import PROTOCOL_BORDER
from hubsr.dihedral import VIEWS, dihedral, undo_dihedral
from hubsr.pipeline import upscale

from data import cached_arrays

TEACHER_TTA = ("none", "random", "x8")
TEACHER_ON = ("patches", "images")  # each batch's LR patches, or each whole LR image once


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


def weights_digest(model: torch.nn.Module) -> str:
    """A short SHA-256 of a model's parameters and buffers (names, shapes, dtypes and values):
    it names the files that cache the model's outputs."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype};".encode())
        digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def teacher_images(teacher: torch.nn.Module, pyramid, mode: str) -> list[np.ndarray]:
    """The teacher's uint8 SR of every LR image of ``pyramid`` ((HR, LR) pairs), each the shape
    of its HR image, by the inference pipeline (:func:`hubsr.pipeline.upscale`, in its default
    precision, with the protocol's zero border): the x8 self-ensemble for ``mode="x8"``, the
    plain output for ``"none"``."""
    if mode not in ("none", "x8"):
        raise ValueError(
            f"the teacher's SR of whole images takes teacher TTA none or x8, got {mode!r} "
            "(random draws a view per batch)"
        )
    return [
        upscale(teacher, lr, tta=mode == "x8", border=PROTOCOL_BORDER)  # as cached images were
        for _, lr in tqdm(pyramid, desc=f"teacher SR ({mode})", unit="image")
    ]


def cached_teacher_images(teacher, pyramid, mode: str, cache_file: Path) -> list[np.ndarray]:
    """:func:`teacher_images`, saved to ``cache_file`` (.npz) and loaded from it when present.
    The caller names the file by the pyramid, the teacher's :func:`weights_digest` and mode."""
    return cached_arrays(cache_file, lambda: teacher_images(teacher, pyramid, mode))
