"""The precision hubsr picks: bf16 only where the CPU (or GPU) multiplies it natively, and only for
models that declare ``bf16_safe``; float32, bit for bit as before, everywhere else."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from PIL import Image

import hubsr
import hubsr.precision
from hubsr import get_architecture
from hubsr.cli import main
from hubsr.pipeline import resolve_amp_dtype, upscale
from hubsr.precision import (
    BF16_MIN_SPEEDUP,
    _cpuinfo_bf16,
    cpu_bf16_pays,
    cpu_bf16_speedup,
    cpu_bf16_units,
    cpu_precision_note,
    default_amp_dtype,
)

from train import resolve_precision

CPU = torch.device("cpu")


@pytest.fixture
def units(monkeypatch):
    """Force the CPU detection: ``units("amx")`` claims fast bf16 units, ``units(None)`` denies
    them, ``units("avx512_bf16", speedup=0.7)`` has units on which bf16 is slower."""

    def force(name, speedup=2.0):
        monkeypatch.setattr(hubsr.precision, "cpu_bf16_units", lambda: name)
        monkeypatch.setattr(hubsr.precision, "cpu_bf16_speedup", lambda: speedup if name else None)

    return force


def small_span():
    torch.manual_seed(0)
    return get_architecture("span")(scale=3, feature_channels=16, num_blocks=2).eval()


def test_detection_is_cached_and_overridable(monkeypatch):
    cpu_bf16_units.cache_clear()
    try:
        monkeypatch.setenv("HUBSR_CPU_BF16", "0")
        assert cpu_bf16_units() is None
        monkeypatch.setenv("HUBSR_CPU_BF16", "1")
        assert cpu_bf16_units() is None  # asked once per process
        cpu_bf16_units.cache_clear()
        assert cpu_bf16_units() == "forced"
    finally:
        cpu_bf16_units.cache_clear()


@pytest.mark.parametrize(
    "flags, expected",
    [
        ("flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni", "avx512_bf16"),
        ("flags\t\t: fpu sse2 avx512f amx_bf16 amx_tile amx_int8", "amx_bf16"),
        ("flags\t\t: fpu sse2 avx2 fma", None),
    ],
)
def test_cpuinfo_fallback_reads_the_flags(tmp_path, flags, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nvendor_id\t: X\n{flags}\n\n")
    assert _cpuinfo_bf16(str(cpuinfo)) == expected
    assert _cpuinfo_bf16(str(tmp_path / "missing")) is None


def test_default_is_bf16_only_with_units_and_a_safe_model(units):
    units("avx512_bf16")
    assert default_amp_dtype(CPU, bf16_safe=True) is torch.bfloat16
    assert default_amp_dtype(CPU, bf16_safe=False) is None
    assert default_amp_dtype(torch.device("mps"), bf16_safe=True) is None
    assert resolve_amp_dtype(None, CPU, get_architecture("bicubic")(scale=3)) is None
    units(None)
    assert default_amp_dtype(CPU, bf16_safe=True) is None
    assert default_amp_dtype(torch.device("cuda"), bf16_safe=True) is torch.bfloat16


def test_units_that_do_not_pay_keep_float32(units):
    units("avx512_bf16", speedup=0.7)  # a Xeon whose AMX is hidden: bf16 runs slower
    assert not cpu_bf16_pays()
    assert default_amp_dtype(CPU, bf16_safe=True) is None
    assert "0.70x float32; below" in cpu_precision_note()
    units("avx512_bf16", speedup=BF16_MIN_SPEEDUP)
    assert cpu_bf16_pays()
    assert default_amp_dtype(CPU, bf16_safe=True) is torch.bfloat16
    units("forced", speedup=None)
    assert cpu_bf16_pays()
    assert "forced" in cpu_precision_note()


def test_the_speed_probe_times_both_precisions(monkeypatch):
    monkeypatch.setattr(hubsr.precision, "cpu_bf16_units", lambda: "avx512_bf16")
    threads = torch.get_num_threads()
    speedup = cpu_bf16_speedup.__wrapped__()  # the real measurement, not the cached answer
    assert isinstance(speedup, float) and 0.05 < speedup < 50
    assert torch.get_num_threads() == threads  # the one-thread probe gives the threads back
    monkeypatch.setattr(hubsr.precision, "cpu_bf16_units", lambda: None)
    assert cpu_bf16_speedup.__wrapped__() is None


@pytest.mark.parametrize("speedup", [None, 0.7])
def test_without_units_the_default_is_float32_bit_for_bit(units, speedup):
    model = small_span()
    arr = np.random.default_rng(0).integers(0, 256, (40, 36, 3), dtype=np.uint8)
    units(None if speedup is None else "avx512_bf16", speedup=speedup)
    default = upscale(model, arr)
    forced = upscale(model, arr, dtype="float32")
    np.testing.assert_array_equal(default, forced)
    units("amx")
    fast = upscale(model, arr)
    np.testing.assert_array_equal(fast, upscale(model, arr, dtype="bf16"))
    assert not np.array_equal(fast, forced)  # bf16 really ran: its rounding differs somewhere
    assert np.abs(fast.astype(int) - forced).max() <= 8


def test_dtype_forces_either_way(units):
    model = small_span()
    units("amx")
    assert resolve_amp_dtype("fp32", CPU, model) is None
    assert resolve_amp_dtype("auto", CPU, model) is torch.bfloat16
    units(None)
    assert resolve_amp_dtype("bf16", CPU, model) is torch.bfloat16
    assert resolve_amp_dtype(torch.float32, CPU, model) is None


def test_training_auto_precision_follows_the_units(units):
    if torch.cuda.is_available():
        pytest.skip("auto is bf16 on CUDA whatever the CPU has")
    units("avx512_bf16")
    assert resolve_precision("auto") == "bf16"
    units(None)
    assert resolve_precision("auto") == "no"
    assert resolve_precision("bf16") == "bf16"
    assert resolve_precision("no") == "no"


@pytest.mark.parametrize(
    "flag, forced_units, printed",
    [
        ([], "amx", "running on cpu in bfloat16 (CPU bf16 units: amx, bf16 conv 2.00x float32)"),
        ([], None, "running on cpu in float32 (no CPU bf16 units)"),
        (["--dtype", "fp32"], "amx", "running on cpu in float32"),
        (["--dtype", "bf16"], None, "running on cpu in bfloat16"),
    ],
)
def test_cli_says_which_precision_and_device(tmp_path, capsys, units, flag, forced_units, printed):
    units(forced_units)
    folder = tmp_path / "tiny-span-x3"
    small_span().save_pretrained(folder)
    lr = tmp_path / "lr.png"
    Image.fromarray(np.full((8, 8, 3), 100, np.uint8)).save(lr)
    code = main(["upscale", str(lr), "-o", str(tmp_path / "out"), "--model", str(folder), *flag])
    assert code == 0
    assert printed in capsys.readouterr().err
    assert (tmp_path / "out" / "lr.png").is_file()


class Float64(torch.nn.Module):
    """``model`` computed in float64: the reference a 16-bit result is measured against."""

    bf16_safe = False

    def __init__(self, model):
        super().__init__()
        self.inner = copy.deepcopy(model).double()
        self.scale, self.in_channels = model.scale, model.in_channels
        self.size_multiple = getattr(model, "size_multiple", 1)

    def forward(self, x):
        return self.inner(x.double()).float()


def test_16bit_images_run_in_float32_unless_asked(units):
    """bf16 keeps 8 significant bits: 16-bit images take float32 by default even where 8-bit
    ones take bf16, and come out within 2 of 65535 levels of a float64 upscale."""
    units("amx")
    model = hubsr.load("abpn-x3")
    assert resolve_amp_dtype(None, CPU, model) == torch.bfloat16
    assert resolve_amp_dtype(None, CPU, model, bit_depth=16) is None
    yy, xx = np.mgrid[0:10, 0:12]
    img = np.stack([20000 + 3000 * np.sin(xx / 2 + c) * np.cos(yy / 3) for c in range(3)], -1)
    img = img.astype(np.uint16)
    reference = upscale(Float64(model), img, dtype="float32").astype(np.int64)
    assert np.abs(upscale(model, img).astype(np.int64) - reference).max() <= 2
    bf16 = upscale(model, img, dtype="bfloat16").astype(np.int64)  # asked for: honoured
    assert np.abs(bf16 - reference).max() > 2
