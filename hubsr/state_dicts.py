"""Checks of a state dict against a model, shared by every loader (folders, spandrel layouts,
community checkpoints): which keys are missing, unexpected or mis-shaped, and NaN weights.

It imports nothing of hubsr but the errors, so every module that loads weights can use it
without importing another loader.
"""

from __future__ import annotations

import torch

from .errors import HubSRError

__all__ = ["listing", "refuse_non_finite", "state_dict_problems"]


def state_dict_problems(expected: dict, given: dict) -> list[str]:
    """What keeps ``given`` from loading strictly where ``expected`` is the model's own state
    dict: missing, unexpected and mis-shaped keys, one readable line each; empty if it fits."""
    missing = expected.keys() - given.keys()
    unexpected = given.keys() - expected.keys()
    shapes = [
        f"{k} {tuple(given[k].shape)} vs {tuple(expected[k].shape)}"
        for k in sorted(expected.keys() & given.keys())
        if given[k].shape != expected[k].shape
    ]
    problems = []
    if missing:
        problems.append(f"missing keys: {listing(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {listing(unexpected)}")
    if shapes:
        problems.append(f"mis-shaped keys (file vs model): {listing(shapes)}")
    return problems


def refuse_non_finite(state: dict, path) -> None:
    """Raise :class:`HubSRError` if a floating-point tensor of ``state`` holds NaN or infinity:
    such weights give a black image, not an error, so they are refused when read."""
    bad = [
        k
        for k, v in state.items()
        if isinstance(v, torch.Tensor) and v.is_floating_point() and not v.isfinite().all()
    ]
    if bad:
        raise HubSRError(
            f"{path} holds NaN or infinite weights ({listing(bad)}): the file is damaged or "
            "its training diverged"
        )


def listing(keys, show: int = 5) -> str:
    """The first ``show`` of ``keys``, sorted, and how many more there are."""
    keys = sorted(keys)
    more = f" and {len(keys) - show} more" if len(keys) > show else ""
    return ", ".join(keys[:show]) + more
