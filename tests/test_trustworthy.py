"""Results that can be trusted (issue #47): memory planned before the model runs, borders that
keep flat colour flat, alpha without fringes, and errors instead of silently wrong images."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from flat_scan import LIMIT, cube_levels, recheck, scan
from PIL import Image
from torch import nn

import hubsr
from hubsr import get_architecture, pipeline
from hubsr.bundled import bundled_models
from hubsr.errors import HubSRError
from hubsr.memory import DEFAULT_BUDGET, bytes_per_pixel, plan_tiles, resolve_budget
from hubsr.pipeline import upscale

from flat_colour import colour_grid, random_colours, worst_flat_error

CPU = torch.device("cpu")


class Recorder(nn.Module):
    """A 3x3 convolution (every output pixel sees its neighbours, as in a real model) and
    nearest upscaling; records the shape of every input."""

    bf16_safe = True
    size_multiple = 1

    def __init__(self, scale: int = 3):
        super().__init__()
        self.scale, self.in_channels = scale, 3
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        torch.manual_seed(0)
        nn.init.uniform_(self.conv.weight, 0, 2 / 27)
        self.calls: list[tuple[int, ...]] = []

    def forward(self, x):
        if x.device.type != "meta":  # not the memory probe
            self.calls.append(tuple(x.shape))
        return F.interpolate(self.conv(x), scale_factor=self.scale, mode="nearest")


def noise(shape, dtype=np.uint8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)


def max_diff(a, b) -> int:
    return int(np.abs(np.asarray(a, dtype=np.int64) - np.asarray(b, dtype=np.int64)).max())


# -- memory: measured, budgeted, tiled ------------------------------------------------------------
def test_bytes_per_pixel_counts_the_tensors_alive_at_once():
    model = nn.Sequential(nn.Conv2d(3, 27, 3, padding=1), nn.PixelShuffle(3))
    model.scale, model.in_channels = 3, 3
    # The input's channels_last copy (3 floats), the convolution's 27 float channels, and the
    # shuffle's copy of them, all alive at once.
    assert bytes_per_pixel(model) == (3 + 2 * 27) * 4
    # The figures the memory module quotes, measured on the meta device (no arithmetic).
    assert bytes_per_pixel(hubsr.load("edsr-x2")) == 2316
    assert bytes_per_pixel(hubsr.load("edsr24-x3")) == 4876


def test_memory_budget_sources(monkeypatch):
    monkeypatch.delenv("HUBSR_MEMORY_BUDGET", raising=False)
    assert 0 < resolve_budget(CPU) <= DEFAULT_BUDGET
    assert resolve_budget(CPU, "800M") == 800 * 2**20
    assert resolve_budget(CPU, "1.5GiB") == 1536 * 2**20
    assert resolve_budget(CPU, 12345) == 12345
    assert resolve_budget(CPU, 0) == 0  # no limit
    monkeypatch.setenv("HUBSR_MEMORY_BUDGET", "2G")
    assert resolve_budget(CPU) == 2 * 2**30
    assert resolve_budget(CPU, "1K") == 1024  # the argument wins
    for bad in ("lots", "-1G", -5, "nanM"):
        with pytest.raises(HubSRError, match="is not a size"):
            resolve_budget(CPU, bad)


def test_plan_tiles_fits_the_budget_with_the_fewest_equal_tiles():
    model = Recorder()  # 3 channels in, 3 * 9 out: one conv output and one upscaled copy
    per_pixel = bytes_per_pixel(model)
    whole = int(1.3 * per_pixel * (100 + 2 * 8) * (90 + 2 * 8))
    assert plan_tiles(model, 100, 90, 8, whole) == (100, 90)
    assert plan_tiles(model, 100, 90, 8, 0) == (100, 90)  # 0: no limit
    rows, cols = plan_tiles(model, 100, 90, 8, whole // 4)
    assert 1.3 * per_pixel * (rows + 16) * (cols + 16) <= whole // 4
    assert (rows, cols) == (34, 30)  # 39-pixel squares fit: 3 x 3 tiles, made equal
    assert plan_tiles(model, 100, 90, 8, 1) == (9, 9)  # never below context + 1


def test_large_images_are_tiled_automatically_exactly_as_with_tile():
    model, img = Recorder(), noise((100, 90, 3))
    whole = upscale(model, img, memory_budget=0)
    border = 2 * pipeline.BORDER  # mirrored pixels on each side, if any
    assert model.calls == [(1, 3, 100 + border, 90 + border)]  # one pass
    model.calls.clear()
    tiled = upscale(model, img, memory_budget="500K", tile_overlap=8)
    assert len(model.calls) > 1
    np.testing.assert_array_equal(tiled, whole)
    assert max(h * w for *_, h, w in model.calls) * 1.3 * bytes_per_pixel(model) <= 500 * 2**10
    model.calls.clear()
    upscale(model, img, tile=60, tile_overlap=8, memory_budget="1K")  # tile= decides
    assert len(model.calls) == 4


def test_auto_tiles_of_a_real_model_are_seamless(monkeypatch):
    torch.manual_seed(0)
    model = get_architecture("span")(scale=3, feature_channels=16, num_blocks=2).eval()
    img = noise((96, 80, 3))
    whole = upscale(model, img, memory_budget=0, dtype="float32")
    monkeypatch.setenv("HUBSR_MEMORY_BUDGET", "4M")  # the environment variable is read too
    calls = []
    model.register_forward_hook(lambda m, args, out: calls.append(args[0].shape))
    tiled = upscale(model, img, dtype="float32")
    assert len(calls) > 1
    assert max_diff(tiled, whole) <= 1


class Windowed(Recorder):
    """A Recorder that also adds the mean of each 16x16 window counted from its input's corner
    (as window attention groups pixels): tiles match the whole image only on that grid."""

    tile_multiple = 16

    def forward(self, x):
        h, w = x.shape[-2:]
        padded = F.pad(x, (0, -w % 16, 0, -h % 16), mode="replicate")  # as SwinIR pads
        means = F.interpolate(F.avg_pool2d(padded, 16), scale_factor=16, mode="nearest")
        return super().forward(x) + F.interpolate(means[..., :h, :w], scale_factor=self.scale)


def blocks(size: int) -> np.ndarray:
    """Noise in 10x10 blocks: windows of 16 placed elsewhere average other colours."""
    return np.kron(noise((size // 10, size // 10, 3)), np.ones((10, 10, 1), np.uint8))


def test_tiles_overlap_and_border_are_rounded_to_the_models_grid():
    model, img = Windowed(), blocks(130)
    whole = upscale(model, img, border=5, memory_budget=0)
    assert model.calls == [(1, 3, 130 + 2 * 16, 130 + 2 * 16)]  # the border of 5 became 16
    model.calls.clear()
    tiled = upscale(model, img, tile=40, tile_overlap=10, border=5)
    # Tiles of 48 with 16 of overlap and border: rows 0-48 (+16 +16), 48-96 (+-16), 96-130
    # (-16 +16), and the same columns.
    sides = [16 + 48 + 16, 16 + 48 + 16, 16 + 34 + 16]
    assert model.calls == [(1, 3, h, w) for h in sides for w in sides]
    assert max_diff(tiled, whole) <= 1
    # Off the grid (what the same tiles gave before) the windows average other pixels.
    model.tile_multiple = 1
    assert max_diff(upscale(model, img, tile=40, tile_overlap=10, border=5), whole) > 10


def test_memory_planned_tiles_are_on_the_grid_and_fit_the_budget():
    model, img = Windowed(), blocks(200)[:190, :190]
    whole = upscale(model, img, memory_budget=0)
    model.calls.clear()
    tiled = upscale(model, img, memory_budget="2M", tile_overlap=10)
    # Squares of 64 fit: tiles of 32 (planned 6 x 6 of 32, 190 / 6 rounded up to the grid),
    # with border and overlap 16 (both rounded from 8 and 10).
    assert len(model.calls) == 6 * 6 and model.calls[0] == (1, 3, 64, 64)
    assert max(h * w for *_, h, w in model.calls) * 1.3 * bytes_per_pixel(model) <= 2 * 2**20
    assert max_diff(tiled, whole) <= 1


def test_models_without_a_grid_tile_as_before():
    model = Recorder()  # tile_multiple: 1, by default
    upscale(model, noise((130, 130, 3)), tile=40, tile_overlap=10, border=5)
    # Rows 0-40 (+5 border, +10 context), 40-80 (+-10), 80-120 (-10, +10 and the border of 5
    # where that reaches the edge), 120-130 (-10 +5).
    sides = [5 + 40 + 10, 10 + 40 + 10, 10 + 40 + 10 + 5, 10 + 10 + 5]
    assert model.calls == [(1, 3, h, w) for h in sides for w in sides]


def test_image_wide_models_warn_once_when_tiled():
    class Global(Recorder):
        image_wide = "it normalises by the image's mean"

    img = noise((60, 60, 3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        upscale(Global(), img, memory_budget=0)
        assert caught == []
        upscale(Global(), img, tile=20, tile_overlap=4)
    assert [str(w.message) for w in caught] == [
        "tiles of this model are not seamless: it normalises by the image's mean; "
        "use a larger --tile or none"
    ]


@pytest.mark.parametrize(
    "failure",
    [
        RuntimeError(
            "[enforce fail at alloc_cpu.cpp:118] DefaultCPUAllocator: not enough "
            "memory: you tried to allocate 3482320896 bytes."
        ),  # fmt: skip
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        MemoryError(),
    ],
)
def test_out_of_memory_is_one_line_naming_tile(failure):
    class Exhausted(Recorder):
        def forward(self, x):
            raise failure

    with pytest.raises(HubSRError) as caught:
        upscale(Exhausted(), noise((40, 30, 3)), tile=20, tile_overlap=4)
    message = str(caught.value)
    assert "\n" not in message
    assert message == (
        "out of memory upscaling a 30x40 image in 20x20 tiles: retry with --tile 10 "
        "(tile=10 in Python) or a smaller --memory-budget, or free some memory"
    )


def test_other_runtime_errors_pass_through():
    class Broken(Recorder):
        def forward(self, x):
            raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        upscale(Broken(), noise((4, 4, 3)))


_UNDER_A_LIMIT = """
import json, resource, sys
import numpy as np, psutil
import hubsr
from hubsr.pipeline import upscale

model = hubsr.load("abpn-x3")
img = np.random.default_rng(0).integers(0, 256, (750, 1000, 3), np.uint8)
upscale(model, img[:16, :16])  # torch's own first-call allocations, before the limit
headroom = 300 * 2**20  # one pass of abpn-x3 on this image needs 0.5 GB; the planned ones fit
resource.setrlimit(resource.RLIMIT_AS, (psutil.Process().memory_info().vms + headroom, -1))
result = {}
try:
    result["planned"] = list(upscale(model, img).shape)
    upscale(model, img, memory_budget=0)  # no planning: one pass, which cannot fit
except hubsr.HubSRError as exc:
    result["error"] = str(exc)
print(json.dumps(result))
"""


@pytest.mark.slow  # a subprocess that upscales a 0.75 MP image under an address-space limit
def test_under_an_address_space_limit_tiles_or_says_one_line():
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_UNDER_A_LIMIT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["planned"] == [2250, 3000, 3]  # the budget read the limit and tiled
    assert result["error"].startswith("out of memory upscaling a 1000x750 image in one pass")
    assert "--tile 512" in result["error"]


_ADDRESS_SPACE_AFTER = {
    # torch loaded, nothing else
    "torch": "import torch",
    # a whole run of the command line on a small image, the default x3 model loaded
    "a run": "from hubsr.cli import main; main(['upscale', sys.argv[1], '-o', sys.argv[2]])",
}


def _address_space_after(what: str, *args) -> int:
    """Bytes of address space a fresh interpreter holds after ``what`` (Linux: /proc)."""
    vms = "print(psutil.Process().memory_info().vms)"
    code = f"import sys, psutil; {_ADDRESS_SPACE_AFTER[what]}; {vms}"
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


def _hubsr_under(limit: int, *argv) -> subprocess.CompletedProcess:
    """``python -m hubsr.cli ARGV`` under an address-space limit of ``limit`` bytes (ulimit -v)."""
    import resource

    def set_limit():
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))

    return subprocess.run(
        [sys.executable, "-m", "hubsr.cli", *map(str, argv)],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=set_limit,
    )


@pytest.mark.slow  # subprocesses that start hubsr under ulimit -v
@pytest.mark.skipif(
    sys.platform != "linux", reason="RLIMIT_AS is enforced (and /proc read) on Linux"
)
@pytest.mark.parametrize("where", ["loading torch", "making room for the output"])
def test_the_command_line_under_ulimit_v_says_one_line(tmp_path, where):
    """Under an address-space limit that torch itself does not fit in (the issue's 2 GB, where
    this project's torch maps 3.1 GiB on import; else half of what it maps), and under one that
    leaves 150 MB after a whole run on a small image, which a 12 MP photo's x3 output (324 MB)
    does not fit in: one clear line, no traceback, a nonzero exit and no file written."""
    small = tmp_path / "small.jpg"
    Image.fromarray(noise((8, 8, 3))).save(small)
    big = tmp_path / "BIG.jpg"  # 4000x3000, smooth: quick to write and to decode
    Image.linear_gradient("L").convert("RGB").resize((4000, 3000)).save(big)
    out = tmp_path / "out"
    if where == "loading torch":
        torch_needs = _address_space_after("torch")
        limit = 2_000_000 * 1024 if torch_needs > 2_500_000 * 1024 else torch_needs // 2
        done = _hubsr_under(limit, "upscale", big, "-o", out)
        assert done.returncode == 2
        assert done.stderr.startswith(
            "hubsr: error: not enough memory to load torch under the address-space limit of "
            f"{limit / 2**30:.2f} GiB (ulimit -v {limit // 1024}): raise the limit"
        )
        assert done.stderr.count("\n") == 1
    else:
        limit = _address_space_after("a run", small, tmp_path / "probe") + 150 * 2**20
        done = _hubsr_under(limit, "upscale", big, "-o", out)
        errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
        assert done.returncode == 1 and len(errors) == 1, done.stderr
        assert errors[0].startswith(
            f"hubsr: error: {big}: out of memory reading the image and making room for its 9x "
            "larger output (tiles cannot shrink that); raise the address-space limit of"
        ), errors[0]
        assert (
            done.stderr.strip().splitlines()[-1].startswith("hubsr: written 0, skipped 0, failed 1")
        )
    assert "Traceback" not in done.stderr
    assert not out.exists()


# -- numbers ---------------------------------------------------------------------------------------
def test_a_non_finite_output_is_an_error_not_a_black_image():
    class Diverged(Recorder):
        def forward(self, x):
            return super().forward(x) * float("nan")

    with pytest.raises(HubSRError, match="NaN or infinite"):
        upscale(Diverged(), noise((6, 6, 3)))


FLAT_COLOURS = [(0, 0, 0), (255, 255, 255), (128, 128, 128), (200, 30, 90), (17, 128, 240)]


def _flat_cases() -> list:
    cases = []
    for name in sorted(bundled_models()):
        for dtype in ("float32", "bfloat16"):
            cases.append(pytest.param(name, dtype, id=f"{name}-{dtype}"))
    return cases


@pytest.mark.parametrize(("name", "dtype"), _flat_cases())
def test_flat_colour_stays_flat_at_every_pixel_on_the_user_path(name, dtype):
    """Issue #47: flat in is flat out within 2 levels at every pixel (corners included), and
    1x1 and 2x2 images keep their colour, for every bundled model with the pipeline's default
    border, in each precision the user path may choose (bf16 on CUDA or where it pays)."""
    model = hubsr.load(name)
    if dtype == "bfloat16" and not model.bf16_safe:
        pytest.skip(f"{name} always runs in float32")
    for colour in FLAT_COLOURS:
        for size in (1, 2, 12):
            img = np.full((size, size, 3), colour, np.uint8)
            out = upscale(model, img, dtype=dtype)
            assert max_diff(out, img[:1, :1]) <= 2, f"{name} {dtype} {colour} {size}x{size}"


# Colours that wider scans (random colours, then all 16.7 M: round FC) found several levels off
# in a bundled model's interior before its fine-tune; the grid passes between them.
ONCE_OFF_FLAT_COLOURS = (
    (130, 188, 158),
    (136, 194, 155),
    (0, 244, 27),
    (21, 249, 83),
    (133, 207, 177),
    (134, 202, 172),
    (162, 239, 197),
)


@pytest.mark.parametrize(("name", "dtype"), _flat_cases())
def test_flat_colour_stays_flat_where_no_border_reaches(name, dtype):
    """No border reaches the middle of a large flat area: there the model alone decides. Within
    2 levels on an endless flat image (training/flat_colour.py) of each of 343 grid colours (the
    corners of the RGB cube included), the colours once found off and 512 random ones; the models
    trained with --flat-colours meet it."""
    model = hubsr.load(name)
    if dtype == "bfloat16" and not model.bf16_safe:
        pytest.skip(f"{name} always runs in float32")
    amp = torch.bfloat16 if dtype == "bfloat16" else None
    once_off = torch.tensor(ONCE_OFF_FLAT_COLOURS, dtype=torch.float32) / 255
    drawn = random_colours(512, torch.Generator().manual_seed(2026))
    colours = torch.cat([colour_grid(), once_off, drawn])
    worst, colour = worst_flat_error(model, colours, dtype=amp)
    assert worst <= 2, f"{name} {dtype}: {colour} comes out {worst:.0f} levels off"


# The dense cube: every 4th level a channel (0, 4, ..., 252, 255): 274,625 colours. A patch of
# colours off must be 4 levels wide in some channel to be seen; the one round FC's random colours
# missed (edsr24-x3's grey-greens) was 19 levels wide in red. training/flat_scan.py scans all
# 16.7 M colours (minutes a model; the model cards' release scanned them).
DENSE_STEP = 4


@pytest.mark.parametrize(("name", "dtype"), _flat_cases())
def test_flat_colour_stays_flat_on_a_dense_cube_of_colours(name, dtype):
    """Within 2 levels on every colour of the dense cube, collapsed (flat_colour.collapsed: one
    pixel a colour), each colour found beyond it measured again on the model's own kernels."""
    model = hubsr.load(name).eval()
    if dtype == "bfloat16" and not model.bf16_safe:
        pytest.skip(f"{name} always runs in float32")
    amp = torch.bfloat16 if dtype == "bfloat16" else None
    levels = cube_levels(DENSE_STEP)
    errors = scan(model, levels, amp)
    suspects = levels[(errors > LIMIT).nonzero()]
    kernels = recheck(model, suspects, amp) if len(suspects) else torch.zeros(1)
    worst = int(kernels.argmax())
    assert kernels[worst] <= LIMIT, (
        f"{name} {dtype}: {suspects[worst].tolist()} is off by {kernels[worst]:.0f}"
    )


@pytest.mark.parametrize("border", [0, pipeline.BORDER])
@pytest.mark.parametrize("channels", [3, 4])
def test_tiles_are_padded_at_the_edge_exactly_as_the_whole_image(border, channels):
    """Only a window that reaches the image's edge gets the border, as the whole image does;
    a border wider than the tiles' overlap (but not than tile plus overlap) changes nothing."""
    model, img = Recorder(), noise((37, 29, channels))
    whole = upscale(model, img, border=border, memory_budget=0)
    model.calls.clear()
    tiled = upscale(model, img, border=border, tile=10, tile_overlap=2)
    assert len(model.calls) > 1
    np.testing.assert_array_equal(tiled, whole)


def test_the_border_is_an_argument_checked_before_any_work():
    for bad in (-1, 1.5, True, "4"):
        with pytest.raises(HubSRError, match="border must be an integer >= 0"):
            upscale(Recorder(), noise((4, 4, 3)), border=bad)


def test_the_benchmark_keeps_the_papers_zero_padding_and_records_it(tmp_path, monkeypatch):
    """Published numbers were measured with border 0: the benchmark asks for it explicitly (the
    user path's default is wider) and its protocol record says so."""
    from hubsr.benchmark import PROTOCOL_BORDER, benchmark
    from hubsr.testsets import dataset_dir

    assert PROTOCOL_BORDER == 0 and pipeline.BORDER > 0
    Image.open(dataset_dir("Set5") / "bird.png").save(tmp_path / "bird.png")
    model = get_architecture("bicubic")(scale=3)
    borders = []

    def spy(img, **kwargs):
        borders.append(kwargs["border"])
        return upscale(model, img, **kwargs)

    monkeypatch.setattr(model, "upscale", spy)
    result = benchmark(model, tmp_path, 3, progress=False)
    assert borders == [0, 0]  # the warm-up and the timed run
    assert result["protocol"]["border_pixels"] == 0
    assert result["protocol"]["border"].startswith("none: the model's own zero padding")


def test_no_fringe_on_a_white_shape_over_transparent_black():
    yy, xx = np.mgrid[0:24, 0:24]
    disc = (yy - 11.5) ** 2 + (xx - 11.5) ** 2 < 8**2
    rgba = np.zeros((24, 24, 4), np.uint8)
    rgba[disc] = 255
    out = upscale(hubsr.load("abpn-x3"), rgba, dtype="float32")
    colour, alpha = out[..., :3].astype(int), out[..., 3:]
    assert (alpha == 255).sum() > 0.7 * disc.sum() * 9
    assert colour[alpha[..., 0] > 0].min() == 255  # white wherever it shows (was 184)
    over_white = colour * alpha / 255 + 255 * (1 - alpha / 255)
    assert over_white.min() > 254.5


def test_hidden_colour_of_transparent_pixels_does_not_bleed():
    """The same visible picture with different colour under alpha 0 gives the same output."""
    rgba = noise((12, 12, 4))
    rgba[..., 3] = np.where(np.arange(12) < 6, 255, 0)[None, :]
    other = rgba.copy()
    other[..., :3] = np.where(rgba[..., 3:] == 0, 255 - rgba[..., :3], rgba[..., :3])
    model = hubsr.load("abpn-x3")
    a, b = upscale(model, rgba, dtype="float32"), upscale(model, other, dtype="float32")
    visible = a[..., 3] > 0
    assert max_diff(a[visible], b[visible]) == 0
