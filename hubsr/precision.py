"""Which compute precision is fast here: bf16 matrix units on the CPU, detected once.

bf16 only pays on a CPU whose cores multiply bf16 natively: Intel's AMX tiles (Sapphire Rapids
and later) and AVX-512 BF16 dot products (Cooper Lake, AMD Zen 4 and 5), or Arm's BF16 extension.
Elsewhere oneDNN emulates it and bf16 is *slower* than float32, so hubsr stays in float32.

The environment variable ``HUBSR_CPU_BF16`` overrides the detection: ``1`` claims the units,
``0`` denies them (to compare, or on a machine whose detection is wrong).
"""

from __future__ import annotations

import functools
import os
import platform

import torch

__all__ = ["DTYPE_CHOICES", "cpu_bf16_units", "default_amp_dtype", "precision_name"]

# What ``--dtype`` takes on the command line (the pipeline also takes the long names).
DTYPE_CHOICES = ("auto", "fp32", "bf16", "fp16")

# /proc/cpuinfo flags of bf16 matrix or dot-product units (x86: "flags", Arm: "Features").
_CPUINFO_BF16_FLAGS = {"amx_bf16", "avx512_bf16", "bf16"}


@functools.cache
def cpu_bf16_units() -> str | None:
    """The name of this CPU's bf16 units (``"amx"``, ``"avx512_bf16"``, ``"arm_bf16"``), or None.

    Asked once per process: torch's own CPU checks first, then ``/proc/cpuinfo``.
    """
    override = os.environ.get("HUBSR_CPU_BF16", "").strip()
    if override in ("0", "1"):
        return "forced" if override == "1" else None
    checks = (("amx", "_is_amx_tile_supported"), ("avx512_bf16", "_is_avx512_bf16_supported"))
    for name, check in checks:
        if getattr(torch.cpu, check, lambda: False)():
            return name
    return _cpuinfo_bf16()


def _cpuinfo_bf16(path: str = "/proc/cpuinfo") -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            found = _CPUINFO_BF16_FLAGS.intersection(value.split())
            if found:
                arm = platform.machine().lower() in ("aarch64", "arm64")
                return "arm_bf16" if arm else sorted(found)[0]
    return None


def default_amp_dtype(device: torch.device, bf16_safe: bool) -> torch.dtype | None:
    """bf16 for a ``bf16_safe`` model on CUDA or on a CPU with bf16 units; None (float32)
    otherwise (MPS and CPUs without the units included)."""
    if not bf16_safe:
        return None
    if device.type == "cuda" or (device.type == "cpu" and cpu_bf16_units()):
        return torch.bfloat16
    return None


def precision_name(amp_dtype: torch.dtype | None) -> str:
    """``"float32"``, ``"bfloat16"`` or ``"float16"``, as the CLI prints it."""
    return "float32" if amp_dtype is None else str(amp_dtype).removeprefix("torch.")
