"""hubsr.pipeline.upscale: input kinds, image modes, exact sizes, tiling, TTA, 16 bits, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from hubsr import get_architecture
from hubsr.errors import HubSRError
from hubsr.imageio import read_image
from hubsr.pipeline import BORDER, BORDER_MODE, output_mode, upscale
from hubsr.resize import imresize


class Nearest(nn.Module):
    """Nearest-neighbour upscaling with the hubsr model interface: exact, per channel and
    flip/rotation-equivariant, so expected outputs are plain ``np.repeat``. Records its inputs."""

    bf16_safe = True

    def __init__(self, scale: int = 3, in_channels: int = 3, size_multiple: int = 1):
        super().__init__()
        self.scale, self.in_channels, self.size_multiple = scale, in_channels, size_multiple
        self.calls: list[tuple[int, ...]] = []

    def forward(self, x):
        self.calls.append(tuple(x.shape))
        return F.interpolate(x, scale_factor=self.scale, mode="nearest")


def nearest(arr: np.ndarray, scale: int = 3) -> np.ndarray:
    return np.repeat(np.repeat(arr, scale, axis=0), scale, axis=1)


def bicubic_reference(channel: np.ndarray, scale: int = 3) -> np.ndarray:
    """MATLAB bicubic of one integer channel on the float path, rounded once."""
    max_value = np.iinfo(channel.dtype).max
    up = imresize(channel.astype(np.float64) / max_value, scale)
    return np.floor(np.clip(up, 0, 1) * max_value + 0.5).astype(channel.dtype)


def nearest_with_alpha(arr: np.ndarray, scale: int = 3) -> np.ndarray:
    """What the pipeline makes of an image with alpha on :class:`Nearest`: premultiplied colour
    over the model's own alpha (bicubic of both where that is below 1/16, and 0 where bicubic
    alpha rounds to 0 in 16 bits), MATLAB bicubic alpha."""
    max_value = np.iinfo(arr.dtype).max
    alpha = arr[..., -1:] / max_value
    premultiplied = arr[..., :-1] / max_value * alpha
    linear, linear_alpha = imresize(premultiplied, scale), imresize(alpha, scale)
    visible = linear_alpha > 0.5 / 65535
    linear = np.divide(linear, linear_alpha, out=np.zeros_like(linear), where=visible)
    coverage = nearest(alpha, scale)
    colour = np.divide(nearest(premultiplied, scale), coverage, out=linear, where=coverage > 1 / 16)
    colour = np.floor(np.clip(colour, 0, 1) * max_value + 0.5).astype(arr.dtype)
    return np.concatenate([colour, bicubic_reference(arr[..., -1], scale)[..., None]], axis=-1)


def noise(shape, dtype=np.uint8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)


def small_span(seed: int = 0):
    torch.manual_seed(seed)
    return get_architecture("span")(scale=3, feature_channels=16, num_blocks=2).eval()


def max_diff(a, b) -> int:
    return int(np.abs(np.asarray(a, dtype=np.int64) - np.asarray(b, dtype=np.int64)).max())


# -- input kinds and exact sizes ------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("shape", [(7, 5), (7, 5, 1), (7, 5, 2), (7, 5, 3), (7, 5, 4)])
def test_arrays_keep_dtype_and_layout(shape, dtype):
    arr = noise(shape, dtype)
    out = upscale(Nearest(), arr)
    assert out.shape == (21, 15, *shape[2:]) and out.dtype == dtype
    if len(shape) == 2 or shape[2] in (1, 3):
        np.testing.assert_array_equal(out, nearest(arr))
        return
    expected = nearest_with_alpha(arr)
    np.testing.assert_array_equal(out[..., -1], expected[..., -1])  # alpha: MATLAB bicubic
    assert max_diff(out, expected) <= 1  # float32 in the pipeline, float64 here


def test_path_and_pil_inputs_return_pil(tmp_path):
    arr = noise((9, 11, 3))
    path = tmp_path / "in.png"
    Image.fromarray(arr).save(path)
    for src in (path, str(path), Image.open(path)):
        out = upscale(Nearest(), src)
        assert isinstance(out, Image.Image) and out.mode == "RGB" and out.size == (33, 27)
        np.testing.assert_array_equal(np.asarray(out), nearest(arr))


def test_exif_orientation_applied(tmp_path):
    img = Image.fromarray(noise((4, 6, 3)))
    exif = img.getexif()
    exif[0x0112] = 8  # rotate 90 CCW to display
    img.save(tmp_path / "in.png", exif=exif)
    out = upscale(Nearest(scale=2), tmp_path / "in.png")
    assert out.size == (8, 12)
    np.testing.assert_array_equal(np.asarray(out), nearest(np.rot90(np.asarray(img)), 2))


@pytest.mark.parametrize("size", [(1, 1), (13, 10), (2, 9)])
def test_padding_to_size_multiple_is_cropped(size):
    model = Nearest(size_multiple=8)
    arr = noise((*size, 3))
    out = upscale(model, arr)
    np.testing.assert_array_equal(out, nearest(arr))
    assert all(h % 8 == 0 and w % 8 == 0 for *_, h, w in model.calls)


# -- mode policy ----------------------------------------------------------------------------------
def _rgba() -> Image.Image:
    return Image.fromarray(noise((6, 5, 4)))


@pytest.mark.parametrize(
    "mode, out_mode",
    [
        ("RGB", "RGB"),
        ("L", "L"),
        ("LA", "LA"),
        ("RGBA", "RGBA"),
        ("1", "L"),
        ("CMYK", "RGB"),
        ("YCbCr", "RGB"),
        ("RGBX", "RGB"),
        ("PA", "RGBA"),
    ],
)
def test_pil_modes(mode, out_mode):
    img = _rgba().convert(mode)
    out = upscale(Nearest(), img)
    assert out.mode == out_mode and out.size == (15, 18)
    colour = np.asarray(img.convert(out_mode))
    if out_mode in ("LA", "RGBA"):
        assert max_diff(out, nearest_with_alpha(colour)) <= 1
    else:
        np.testing.assert_array_equal(np.asarray(out), nearest(colour))


def test_palette_without_and_with_transparency():
    img = _rgba().convert("RGB").quantize(8)
    assert upscale(Nearest(), img).mode == "RGB"
    img.info["transparency"] = 0
    out = upscale(Nearest(), img)
    assert out.mode == "RGBA"
    alpha = np.asarray(img.convert("RGBA"))[..., 3]
    np.testing.assert_array_equal(np.asarray(out)[..., 3], bicubic_reference(alpha))


def test_grey_on_rgb_model_is_the_mean_of_the_outputs():
    model = small_span()
    grey = noise((10, 12))
    out = upscale(model, Image.fromarray(grey))
    assert out.mode == "L"
    padded = np.pad(grey, BORDER, mode=BORDER_MODE)
    with torch.no_grad():
        x = torch.from_numpy(padded / np.float32(255))[None, None].repeat(1, 3, 1, 1).float()
        reference = model(x).mean(dim=1)[0].clamp(0, 1).numpy()
    h, w = reference.shape
    reference = reference[3 * BORDER : h - 3 * BORDER, 3 * BORDER : w - 3 * BORDER]
    assert max_diff(out, np.floor(reference * 255 + 0.5)) <= 1


def test_rgb_on_grey_model_runs_channel_by_channel():
    arr = noise((5, 6, 3))
    np.testing.assert_array_equal(upscale(Nearest(in_channels=1), arr), nearest(arr))


@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I"])
def test_16bit_modes(mode):
    values = noise((6, 7), np.uint16)
    if mode == "I;16B":
        img = Image.frombytes(mode, (7, 6), values.astype(">u2").tobytes())
    else:
        img = Image.fromarray(values if mode == "I;16" else values.astype(np.int32))
    out = upscale(Nearest(), img)
    assert out.mode == ("I" if mode == "I" else "I;16") and out.size == (21, 18)
    np.testing.assert_array_equal(np.asarray(out).astype(np.int64), nearest(values))


def test_16bit_precision_kept_through_bicubic():
    ramp = np.linspace(1000, 60000, 40 * 48).reshape(40, 48).astype(np.uint16)  # 16-bit steps
    model = get_architecture("bicubic")(scale=3)
    out = upscale(model, ramp)
    assert out.dtype == np.uint16 and out.shape == (120, 144)
    assert np.mean(out % 257 != 0) > 0.9  # not 8-bit values scaled up
    assert max_diff(out, bicubic_reference(ramp)) <= 1
    as_pil = upscale(model, Image.fromarray(ramp))
    assert as_pil.mode == "I;16"
    np.testing.assert_array_equal(np.asarray(as_pil), out)


def test_output_mode_says_the_mode_upscale_returns():
    modes = ("RGB", "L", "LA", "RGBA", "1", "CMYK", "YCbCr", "RGBX", "P", "PA", "La", "RGBa")
    images = [_rgba().convert(mode) for mode in modes]
    transparent = _rgba().convert("RGB").quantize(8)
    transparent.info["transparency"] = 0
    deep = noise((6, 7), np.uint16)
    images += [transparent, Image.fromarray(deep), Image.fromarray(deep.astype(np.int32))]
    for img in images:
        assert output_mode(img) == upscale(Nearest(), img).mode, img.mode
    with pytest.raises(HubSRError, match="'F'"):
        output_mode(Image.new("F", (4, 4)))


def test_what_read_image_returned_is_upscaled_as_it_is(tmp_path):
    Image.fromarray(noise((6, 5, 3))).save(tmp_path / "in.png")
    image = read_image(tmp_path / "in.png")
    out = upscale(Nearest(), image)
    np.testing.assert_array_equal(
        np.asarray(out), np.asarray(upscale(Nearest(), tmp_path / "in.png"))
    )
    # Read and size-checked where it was read: not again here.
    assert upscale(Nearest(), image, max_pixels=10).size == out.size == (15, 18)
    with pytest.raises(HubSRError, match="more than the limit of 10"):
        upscale(Nearest(), tmp_path / "in.png", max_pixels=10)


def test_float_and_unknown_modes_are_refused():
    with pytest.raises(HubSRError, match="'F'"):
        upscale(Nearest(), Image.new("F", (4, 4)))
    with pytest.raises(HubSRError, match="'HSV'"):
        upscale(Nearest(), Image.new("HSV", (4, 4)))


def test_icc_profile_carried_over():
    img = Image.fromarray(noise((4, 4, 3)))
    img.info["icc_profile"] = b"fake profile"
    assert upscale(Nearest(), img).info["icc_profile"] == b"fake profile"
    assert "icc_profile" not in upscale(Nearest(), img.convert("CMYK")).info


def test_output_clamped_and_rounded():
    class Overshoot(Nearest):
        def forward(self, x):
            return 3 * super().forward(x) - 1

    arr = np.array([[0, 64, 100, 128, 200, 255]], dtype=np.uint8)
    out = upscale(Overshoot(scale=1, in_channels=1), arr)
    expected = np.clip(3 * arr.astype(int) - 255, 0, 255)
    np.testing.assert_array_equal(out, expected)


# -- tiling ---------------------------------------------------------------------------------------
def test_tiles_are_bounded_and_exact():
    model = Nearest(size_multiple=4)
    arr = noise((100, 90, 4))
    whole = upscale(model, arr)
    model.calls.clear()
    tiled = upscale(model, arr, tile=32, tile_overlap=8)
    np.testing.assert_array_equal(tiled, whole)
    assert len(model.calls) == 2 * 4 * 3  # premultiplied colour, then alpha, per tile
    assert max(max(h, w) for *_, h, w in model.calls) <= 32 + 2 * 8 + BORDER


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_tiled_matches_untiled_on_768(dtype):
    model = small_span()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:768, 0:768]
    waves = np.stack([np.sin(xx / 37 + c) * np.cos(yy / 23 - c) for c in range(3)], axis=-1)
    img = np.clip(128 + 90 * waves + rng.normal(0, 20, waves.shape), 0, 255).astype(np.uint8)
    whole = upscale(model, img, dtype=dtype)
    tiled = upscale(model, img, tile=256, tile_overlap=32, dtype=dtype)
    assert tiled.shape == whole.shape == (2304, 2304, 3)
    assert max_diff(tiled, whole) <= 1
    assert np.abs(whole.astype(int) - nearest(img)).mean() > 2  # the model does something


# -- self-ensemble --------------------------------------------------------------------------------
def test_tta_of_equivariant_model_is_identity():
    arr = noise((9, 7, 3))
    out = upscale(Nearest(size_multiple=4), arr, tta=True)
    np.testing.assert_array_equal(out, nearest(arr))


def test_tta_makes_any_model_flip_equivariant_and_tiles():
    model = small_span()
    arr = noise((40, 36, 3))
    out = upscale(model, arr, tta=True)
    assert out.shape == (120, 108, 3)
    assert max_diff(upscale(model, arr[:, ::-1], tta=True), out[:, ::-1]) <= 1
    assert max_diff(upscale(model, arr.transpose(1, 0, 2), tta=True), out.transpose(1, 0, 2)) <= 1
    assert max_diff(upscale(model, arr, tta=True, tile=20, tile_overlap=12), out) <= 1
    assert max_diff(upscale(model, arr), out) > 1  # plain and ensemble differ


# -- devices, precision, model state --------------------------------------------------------------
def test_bf16_autocast_on_cpu_is_close():
    model = small_span()
    arr = noise((16, 16, 3))
    fp32 = upscale(model, arr, dtype="fp32")
    assert max_diff(upscale(model, arr, dtype="bf16"), fp32) <= 8
    np.testing.assert_array_equal(upscale(model, arr, dtype=torch.float32, device="auto"), fp32)


def test_model_mode_is_restored():
    model = small_span().train()
    upscale(model, noise((4, 4, 3)))
    assert model.training


def test_progress_bar(capsys):
    upscale(Nearest(), noise((20, 20, 3)), tile=8, tile_overlap=2, progress=True)
    assert "tiles" in capsys.readouterr().err


# -- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"tile": 0}, "tile must be a positive integer"),
        ({"tile": -8}, "tile must be a positive integer"),
        ({"tile": 16.0}, "tile must be a positive integer"),
        ({"tile": 32, "tile_overlap": 32}, "larger than tile_overlap"),
        ({"tile_overlap": -1}, "tile_overlap must be an integer >= 0"),
        ({"scale": 4}, "expected a x4 model"),
        ({"device": "toaster"}, "unknown device"),
        ({"dtype": "int8"}, "unsupported dtype"),
        ({"dtype": torch.float64}, "unsupported dtype"),
        ({"tta": "yes"}, "tta must be True or False"),
        ({"max_pixels": 10}, "more than the limit of 10"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(HubSRError, match=message):
        upscale(Nearest(), noise((4, 4, 3)), **kwargs)


@pytest.mark.parametrize(
    "img, message",
    [
        (np.zeros((4, 4, 3), np.float32), "unsupported array dtype float32"),
        (np.zeros((4, 4, 5), np.uint8), "unsupported array shape"),
        (np.zeros((1, 4, 4, 3), np.uint8), "unsupported array shape"),
        (np.zeros((0, 4, 3), np.uint8), "empty"),
        ([[0, 1], [2, 3]], "cannot upscale a list"),
        (torch.zeros(3, 4, 4), "cannot upscale a Tensor"),
    ],
)
def test_bad_images(img, message):
    with pytest.raises(HubSRError, match=message):
        upscale(Nearest(), img)


def test_bad_models():
    class WrongScale(Nearest):
        def forward(self, x):
            return F.interpolate(x, scale_factor=2, mode="nearest")

    with pytest.raises(HubSRError, match="returned shape"):
        upscale(WrongScale(), noise((4, 4, 3)))
    with pytest.raises(HubSRError, match="takes 4 channels"):
        upscale(Nearest(in_channels=4), noise((4, 4, 3)))
    model = Nearest()
    model.scale = 1.5
    with pytest.raises(HubSRError, match="no valid integer 'scale'"):
        upscale(model, noise((4, 4, 3)))
