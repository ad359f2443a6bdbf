"""Which compute precision is fast here: bf16 on the CPU only where it measurably pays.

bf16 pays on a CPU whose cores multiply bf16 natively and fast: Intel's AMX tiles (Sapphire
Rapids and later; about 5x float32) or AMD Zen 5's AVX-512 BF16 (about 2x on convolutions). The
flags alone do not say it: on a Xeon whose AMX a hypervisor hides, ``avx512_bf16`` is present and
a bf16 convolution runs at 0.7x float32 (measured on one of the project's machines). So where
the flags are present, hubsr times one 3x3 convolution in both precisions once per process
(about 0.05 s, measured) and uses bf16 only if it is at least :data:`BF16_MIN_SPEEDUP` times faster.

The environment variable ``HUBSR_CPU_BF16`` overrides both: ``1`` claims fast units, ``0``
denies them (to compare, for numbers that must not depend on a timing, or where the detection
is wrong).
"""

from __future__ import annotations

import functools
import os
import platform
import time

import torch

__all__ = [
    "BF16_MIN_SPEEDUP",
    "DTYPE_CHOICES",
    "cpu_bf16_pays",
    "cpu_bf16_speedup",
    "cpu_bf16_units",
    "cpu_precision_note",
    "default_amp_dtype",
    "precision_name",
]

# What ``--dtype`` takes on the command line (the pipeline also takes the long names).
DTYPE_CHOICES = ("auto", "fp32", "bf16", "fp16")

# /proc/cpuinfo flags of bf16 matrix or dot-product units (x86: "flags", Arm: "Features").
_CPUINFO_BF16_FLAGS = {"amx_bf16", "avx512_bf16", "bf16"}

# bf16 must beat float32 by this factor to become the default: a clear margin, so that timing
# noise cannot flip the choice on the machines measured (0.7x without AMX, 2x Zen 5, 5x AMX).
BF16_MIN_SPEEDUP = 1.25


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


@functools.cache
def cpu_bf16_speedup() -> float | None:
    """float32 time over bf16 time of a 64-channel 3x3 convolution on this CPU (the layer our
    models spend their time in), measured once per process; None without bf16 units or when
    ``HUBSR_CPU_BF16`` decides.

    The probe runs on one thread, alternating the two precisions and keeping each one's fastest
    of five: what is asked is what one core's units do, and on a busy machine a multi-threaded
    probe waits for its slowest thread (five such probes on a 2-core machine busy with training
    read 1.75x to 20x; one thread, alternating, read 1.70x to 1.89x under the same load).
    """
    if cpu_bf16_units() in (None, "forced"):
        return None
    conv = torch.nn.Conv2d(64, 64, 3, padding=1).to(memory_format=torch.channels_last)
    x = torch.rand(1, 64, 64, 64).to(memory_format=torch.channels_last)
    fastest = {False: float("inf"), True: float("inf")}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            for rep in range(6):
                for bf16 in (False, True):
                    with torch.autocast("cpu", torch.bfloat16, bf16):
                        start = time.perf_counter()
                        conv(x)
                        seconds = time.perf_counter() - start
                    if rep > 0:  # the first call picks and caches oneDNN's kernel
                        fastest[bf16] = min(fastest[bf16], seconds)
    finally:
        torch.set_num_threads(threads)
    return fastest[False] / fastest[True]


def cpu_bf16_pays() -> bool:
    """Whether bf16 is the faster precision on this CPU: units present and measured faster by
    :data:`BF16_MIN_SPEEDUP`, or claimed by ``HUBSR_CPU_BF16=1``."""
    units = cpu_bf16_units()
    if units is None or units == "forced":
        return units == "forced"
    speedup = cpu_bf16_speedup()
    return speedup is not None and speedup >= BF16_MIN_SPEEDUP


def cpu_precision_note() -> str:
    """What the CPU offers for bf16, for a status line: units and measured speed-up."""
    units = cpu_bf16_units()
    if units is None:
        return "no CPU bf16 units"
    if units == "forced":
        return "CPU bf16 units: forced by HUBSR_CPU_BF16=1"
    speedup = cpu_bf16_speedup()
    verdict = "" if cpu_bf16_pays() else f"; below {BF16_MIN_SPEEDUP}x, so float32 by default"
    return f"CPU bf16 units: {units}, bf16 conv {speedup:.2f}x float32{verdict}"


def default_amp_dtype(
    device: torch.device, bf16_safe: bool, bit_depth: int = 8
) -> torch.dtype | None:
    """bf16 for a ``bf16_safe`` model on CUDA or on a CPU where bf16 pays
    (:func:`cpu_bf16_pays`), for 8-bit images; None (float32) otherwise (MPS, other CPUs and
    images of more than 8 bits per channel included).

    bf16 keeps 8 significant bits: enough for 8-bit output, but a 16-bit image came out only
    9 to 11 bits right (up to 185 of 65535 levels off; float32: 1).
    """
    if not bf16_safe or bit_depth > 8:
        return None
    if device.type == "cuda" or (device.type == "cpu" and cpu_bf16_pays()):
        return torch.bfloat16
    return None


def precision_name(amp_dtype: torch.dtype | None) -> str:
    """``"float32"``, ``"bfloat16"`` or ``"float16"``, as the CLI prints it."""
    return "float32" if amp_dtype is None else str(amp_dtype).removeprefix("torch.")
