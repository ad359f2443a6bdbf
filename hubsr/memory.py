"""Memory is planned, not hoped for: what a model needs on an image, and what there is to spend.

:func:`bytes_per_pixel` measures a model's working set instead of guessing it: it runs the model
once on a 64x64 input on torch's ``meta`` device (shapes only: no arithmetic and no memory, about
10 ms) and counts the bytes of the tensors alive at the worst moment of the forward pass. The
count grows with the pixels and nothing else, so it is a number of bytes per input pixel
(float32, batch 1): 644 for ``abpn-x3``, 2,316 for ``edsr-x2``, 4,876 for ``edsr24-x3``, 8,460
for ``edsr-x4``. Peak RSS measured on a 384x384 input was 1.00 to 1.23 times the count on every
bundled model (CPU, float32; the rest is oneDNN's scratch and the pipeline's own copies), so
:func:`working_set` adds :data:`MARGIN` on top.

:func:`resolve_budget` is what one pass may use: half of the memory available now (the smallest
of the system's free memory, the cgroup's limit and the address-space limit; on CUDA the GPU's
free memory), at most :data:`DEFAULT_BUDGET` on the CPU, unless the caller or
``HUBSR_MEMORY_BUDGET`` says otherwise. :func:`hubsr.pipeline.upscale` tiles an image whose
working set exceeds it (:func:`plan_tiles`).
"""

from __future__ import annotations

import math
import os
import weakref
from pathlib import Path

import psutil
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from . import address_space
from .errors import HubSRError

__all__ = [
    "DEFAULT_BUDGET",
    "MARGIN",
    "bytes_per_pixel",
    "is_out_of_memory",
    "more_memory",
    "parse_bytes",
    "plan_tiles",
    "resolve_budget",
    "working_set",
]

# Peak RSS over the counted tensors: 1.00-1.23 measured on the bundled models (see above).
MARGIN = 1.3
# The CPU's default working set at most: a 12 MP photo with edsr24-x3 then peaks at about
# 2.5 GB of RSS in all (torch itself is 0.8 GB, the 8-bit input and output 0.4 GB), and its
# tiles are ~450 LR pixels wide, which costs (1 + 2 * 32 / 450)^2 = 1.3x the arithmetic of
# one pass for the 32-pixel overlap; larger tiles would save less than they risk.
DEFAULT_BUDGET = 1536 * 2**20
# A model the probe cannot run (an ONNX file, a forward that needs real numbers): twice the
# largest bundled model's count (edsr-x4, 8,460 bytes per pixel).
_UNKNOWN_BYTES_PER_PIXEL = 2 * 8460
_PROBE_SIZE = 64
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
# What torch's allocators say when they run out (CPU, CUDA, MPS); MemoryError is numpy's.
_OOM_MESSAGES = ("not enough memory", "DefaultCPUAllocator", "out of memory")

_measured: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def bytes_per_pixel(model) -> float:
    """The most bytes of tensors alive at once in ``model``'s float32 forward pass, per input
    pixel; measured once per model on the ``meta`` device (see the module docstring)."""
    if model not in _measured:
        _measured[model] = _probe(model)
    return _measured[model]


def _probe(model) -> float:
    multiple = getattr(model, "size_multiple", 1) or 1
    size = math.ceil(_PROBE_SIZE / multiple) * multiple
    try:
        meta = {n: t.to("meta") for n, t in (*model.named_parameters(), *model.named_buffers())}
        x = torch.empty(1, model.in_channels, size, size, device="meta")
        with torch.inference_mode(), _LiveBytes() as count:
            torch.func.functional_call(model, meta, (x.to(memory_format=torch.channels_last),))
    except Exception:  # noqa: BLE001 - any model the probe cannot run gets the safe figure
        return float(_UNKNOWN_BYTES_PER_PIXEL)
    return count.peak / size**2


class _LiveBytes(TorchDispatchMode):
    """Counts the bytes of the tensors each operation creates until they are freed: the
    storage of every new (non-view, not in-place) result, released when its tensor dies."""

    def __init__(self):
        super().__init__()
        self.live = self.peak = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {id(t) for t in tree_flatten((args, kwargs))[0]}
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and id(t) not in inputs and not t._is_view():
                size = t.untyped_storage().nbytes()
                self.live += size
                self.peak = max(self.peak, self.live)
                weakref.finalize(t, self._free, size)
        return out

    def _free(self, size: int) -> None:
        self.live -= size


def working_set(model, height: int, width: int) -> int:
    """Bytes one pass of ``model`` on a ``height x width`` input needs, margin included."""
    return int(MARGIN * bytes_per_pixel(model) * height * width)


def plan_tiles(
    model, height: int, width: int, context: int, budget: int, *, multiple: int = 1
) -> tuple[int, int]:
    """The tile ``(rows, columns)`` that fits ``budget`` with ``context`` pixels on each side:
    the whole image when it fits, else as many tiles as the largest square that fits needs,
    evened out over the image. Never smaller than ``context + 1`` (a tile must outweigh its
    context), even if that does not fit: the budget is then exceeded, not ignored silently
    (an allocation that fails is reported by :func:`hubsr.pipeline.upscale`).

    ``multiple``: the model's ``tile_multiple``, to which the pipeline rounds tiles up; the
    square is a multiple of it, so that the rounded tiles still fit."""
    if not budget or working_set(model, height + 2 * context, width + 2 * context) <= budget:
        return height, width
    window = math.isqrt(budget // max(1, working_set(model, 1, 1)))  # the square that fits
    side = window - 2 * context
    side = max(side - side % multiple, context + 1)
    rows, cols = math.ceil(height / side), math.ceil(width / side)
    return math.ceil(height / rows), math.ceil(width / cols)


def resolve_budget(device: torch.device, budget: int | str | None = None) -> int:
    """Bytes one pass may use on ``device``; 0 means no limit (never tile automatically).

    ``budget``: bytes, or a string such as ``"800M"`` or ``"4G"``; None reads
    ``HUBSR_MEMORY_BUDGET``, and without it gives half the memory available now, at most
    :data:`DEFAULT_BUDGET` on the CPU.
    """
    if budget is None:
        budget = os.environ.get("HUBSR_MEMORY_BUDGET") or None
    if budget is not None:
        return parse_bytes(budget)
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0] // 2
    return min(_available_cpu_bytes() // 2, DEFAULT_BUDGET)


def parse_bytes(value: int | str) -> int:
    """``1500000``, ``"1500000"``, ``"800M"``, ``"1.5G"`` (powers of 1024) as bytes; >= 0."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    text = str(value).strip().upper().removesuffix("B").removesuffix("I")
    unit = text[-1:] if text[-1:] in _UNITS else ""
    try:
        number = float(text[: len(text) - len(unit)])
    except ValueError:
        number = -1.0
    if not math.isfinite(number) or number < 0:
        raise HubSRError(
            f"memory budget {value!r} is not a size; give bytes or e.g. '800M', '4G' (0: no limit)"
        )
    return int(number * _UNITS[unit])


_MALLOC_ARENA_BYTES = 64 * 2**20


def _available_cpu_bytes() -> int:
    """Free memory now: the system's, the cgroup's (containers) and the address space's."""
    limits = [psutil.virtual_memory().available]
    cgroup = Path("/sys/fs/cgroup")
    try:
        limit = (cgroup / "memory.max").read_text().strip()
        if limit != "max":
            limits.append(int(limit) - int((cgroup / "memory.current").read_text()))
    except (OSError, ValueError):
        pass
    cap = address_space.limit()
    if cap is not None:
        # glibc reserves 64 MiB of address space for each malloc arena it opens, lazily, when
        # threads allocate at once: leave room for one a thread, or a plan that fit fails mid-way.
        arenas = _MALLOC_ARENA_BYTES * torch.get_num_threads()
        limits.append(cap - psutil.Process().memory_info().vms - arenas)
    return max(0, min(limits))


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an allocation failure (numpy's MemoryError, torch's CPU or GPU)."""
    if isinstance(exc, (MemoryError, torch.OutOfMemoryError)):
        return True
    return isinstance(exc, RuntimeError) and any(m in str(exc) for m in _OOM_MESSAGES)


def more_memory() -> str:
    """How to get more memory, for a message: free some, and raise the address-space limit if
    one is set (under ``ulimit -v`` freeing memory elsewhere does not help)."""
    limit = address_space.describe_limit()
    return f"raise {limit}" if limit else "free some memory"
