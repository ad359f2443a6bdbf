"""One path from an image file to its upscaled file (:mod:`hubsr.upscale_file`), taken by
``hubsr upscale`` and the Space alike: the same input gives the same bytes in both, each image is
decoded once and its size limit checked once, and the colour profile and EXIF follow one rule."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageFile

import hubsr
from hubsr import imageio
from hubsr.cli import main
from hubsr.upscale_file import ResultKind, result_kind, upscale_file, write_result

APP = Path(__file__).resolve().parent.parent / "spaces" / "app.py"
SCALE = 3  # the Space with no bundled model offers x3, its default
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _photo(path, size=(7, 5)):
    """A small image with what a camera adds: a colour profile, a camera name and a turn."""
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x010F] = "hubsr camera"  # Make
    exif[0x0112] = 6  # Orientation: turn 90 degrees clockwise to view
    img.save(path, icc_profile=SRGB, exif=exif.tobytes())
    return path


def _cli(src, out, *flags) -> bytes:
    argv = ["upscale", str(src), "-o", str(out), "--model", "bicubic", "--scale", str(SCALE)]
    assert main([*argv, *flags]) == 0
    return (out / src.name).read_bytes()


def test_the_command_line_writes_what_upscale_file_writes(tmp_path):
    src = _photo(tmp_path / "photo.png")
    dst = upscale_file(hubsr.load("bicubic", scale=SCALE), src, tmp_path / "lib" / "photo.png",
                       make_parents=True)  # fmt: skip
    assert _cli(src, tmp_path / "cli") == dst.read_bytes()
    with Image.open(dst) as result:
        assert result.size == (5 * SCALE, 7 * SCALE)  # upright: the EXIF turn applied
        assert result.info.get("icc_profile") == SRGB
        assert result.getexif().get(0x010F) == "hubsr camera"
        assert 0x0112 not in result.getexif()  # no second turn in a viewer


def test_the_icc_rule_leaves_out_a_profile_the_conversion_made_wrong(tmp_path):
    src = tmp_path / "print.tif"
    Image.new("CMYK", (4, 3), (10, 200, 30, 0)).save(src, icc_profile=b"not the result's")
    dst = upscale_file(hubsr.load("bicubic", scale=2), src, tmp_path / "print.png")
    with Image.open(dst) as result:
        assert result.mode == "RGB" and "icc_profile" not in result.info


def test_an_8_bit_image_is_decoded_once_and_its_size_checked_once(tmp_path, monkeypatch):
    src = _photo(tmp_path / "photo.png")
    real_load, decodes = ImageFile.ImageFile.load, []
    real_check, limits = imageio._check_pixel_count, []

    def load(self):
        if self.tile:  # pixels still to decode: a real decode, not a no-op
            decodes.append(self.format)
        return real_load(self)

    def check_pixel_count(img, name, max_pixels):
        if max_pixels is not None:  # None: no limit, nothing checked
            limits.append(max_pixels)
        return real_check(img, name, max_pixels)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    monkeypatch.setattr(imageio, "_check_pixel_count", check_pixel_count)
    _cli(src, tmp_path / "cli", "--max-pixels", "1000")
    assert (decodes, limits) == (["PNG"], [1000])
    decodes.clear(), limits.clear()
    upscale_file(hubsr.load("bicubic", scale=SCALE), src, tmp_path / "lib.png", max_pixels=1000)
    assert (decodes, limits) == (["PNG"], [1000])


@pytest.mark.parametrize(
    "pixels, kind",
    [
        (Image.new("RGB", (2, 2)), ResultKind(False, False, False, None)),
        (Image.new("L", (2, 2)), ResultKind(True, False, False, None)),
        (Image.new("LA", (2, 2)), ResultKind(True, False, True, None)),
        (Image.new("I;16", (2, 2)), ResultKind(True, True, False, None)),
        (Image.new("I", (2, 2)), ResultKind(True, True, False, None)),
        (Image.new("P", (2, 2)), ResultKind(False, False, False, "P")),
        (Image.new("PA", (2, 2)), ResultKind(False, False, True, "PA")),
        (Image.new("CMYK", (2, 2)), ResultKind(False, False, False, "CMYK")),
        (Image.new("RGBA", (2, 2)), ResultKind(False, False, True, None)),
        (np.zeros((2, 2, 2), np.uint16), ResultKind(True, True, True, None)),
        (np.zeros((2, 2, 3), np.uint16), ResultKind(False, True, False, None)),
        (np.zeros((2, 2, 4), np.uint16), ResultKind(False, True, True, None)),
    ],
    ids=["RGB", "L", "LA", "I;16", "I", "P", "PA", "CMYK", "RGBA", "u16x2", "u16x3", "u16x4"],
)
def test_result_kind_follows_the_pipelines_mode_policy(pixels, kind):
    assert result_kind(pixels) == kind
    result = hubsr.load("bicubic", scale=2).upscale(pixels)
    if isinstance(result, Image.Image):  # the kind said is the kind made
        assert ("A" in result.mode, result.mode.startswith("I")) == (kind.alpha, kind.deep)


def test_write_result_writes_a_16_bit_array_with_the_inputs_profile(tmp_path):
    deep = np.random.default_rng(0).integers(0, 65536, (3, 4, 3), dtype=np.uint16)
    image = imageio.LoadedImage(deep, SRGB)
    path = write_result(deep, image, tmp_path / "deep.png")
    loaded = imageio.read_image(path)
    np.testing.assert_array_equal(loaded.pixels, deep)
    assert loaded.icc_profile == SRGB


# -- the Space takes the same steps ---------------------------------------------------------------
@pytest.fixture(scope="module")
def space(tmp_path_factory):
    """spaces/app.py imported in this process, with no bundled model (bicubic only)."""
    work = tmp_path_factory.mktemp("space")
    patch = pytest.MonkeyPatch()
    patch.setenv("HUBSR_MODELS_DIR", str(work / "no-models"))
    patch.setenv("GRADIO_TEMP_DIR", str(work / "uploads"))
    spec = importlib.util.spec_from_file_location("hubsr_space_app", APP)
    app = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = app
    spec.loader.exec_module(app)
    yield app
    app._remove_outputs()
    sys.modules.pop(spec.name)
    patch.undo()


@pytest.mark.slow  # imports gradio and builds the page
def test_the_space_writes_the_bytes_the_command_line_writes(space, tmp_path):
    upload = Path(space.gr.utils.get_upload_folder()) / "photo.png"
    upload.parent.mkdir(parents=True, exist_ok=True)
    src = _photo(upload)
    _, _, summary, download = space.run(
        {"path": str(src)}, "bicubic", SCALE, False, 0, progress=lambda *a, **k: None
    )
    assert f"x{SCALE}" in summary
    assert Path(download).read_bytes() == _cli(src, tmp_path / "cli")  # profile, EXIF and all
