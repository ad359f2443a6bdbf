"""MATLAB-exact bicubic: bit-exact against published MATLAB LR packs, numpy and torch alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hubsr import imresize
from hubsr.protocol import modcrop
from hubsr.resize import output_size
from hubsr.rounding import to_uint8

REF = Path(__file__).resolve().parent / "data" / "reference_lr_x3"


def rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def chw(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


def hwc(t: torch.Tensor) -> np.ndarray:
    return t.permute(1, 2, 0).numpy()


EDSR_SET5 = sorted((REF / "Set5" / "edsr_benchmark" / "HR").glob("*.png"))
BASICSR_SET14 = sorted((REF / "Set14" / "basicsr" / "GTmod12").glob("*.png"))


@pytest.mark.parametrize("hr_path", EDSR_SET5, ids=lambda p: p.stem)
def test_uint8_path_matches_edsr_set5_pack_bit_for_bit(hr_path):
    hr = modcrop(rgb(hr_path), 3)
    expected = rgb(REF / "Set5/edsr_benchmark/LR_bicubic/X3" / f"{hr_path.stem}x3.png")
    assert np.array_equal(imresize(hr, 1 / 3), expected)
    assert np.array_equal(hwc(imresize(chw(hr), 1 / 3)), expected)


@pytest.mark.parametrize("gt_path", BASICSR_SET14, ids=lambda p: p.stem)
def test_float_path_matches_basicsr_set14_pack_bit_for_bit(gt_path):
    gt = rgb(gt_path)
    expected = rgb(REF / "Set14/basicsr/LRbicx3" / gt_path.name)
    assert np.array_equal(to_uint8(imresize(gt / 255.0, 1 / 3)), expected)
    as_tensor = chw(gt).double() / 255
    assert np.array_equal(hwc(to_uint8(imresize(as_tensor, 1 / 3))), expected)
    # float32 (what a GPU trains with) agrees to within one grey level
    as_float32 = chw(gt).float() / 255
    diff = hwc(to_uint8(imresize(as_float32, 1 / 3))).astype(int) - expected
    assert np.abs(diff).max() <= 1


def test_selfexsr_pack_within_its_documented_tolerance():
    differing, total = 0, 0
    for hr_path in sorted((REF / "Set14" / "selfexsr").glob("*_HR.png")):
        hr = np.asarray(Image.open(hr_path))
        lr_path = hr_path.with_name(hr_path.name.replace("_HR", "_LR"))
        diff = imresize(hr, 1 / 3).astype(int) - np.asarray(Image.open(lr_path))
        assert np.abs(diff).max() <= 9
        differing, total = differing + np.count_nonzero(diff), total + diff.size
    assert 0 < differing / total < 0.01


def test_the_two_matlab_paths_differ_as_documented():
    gt = rgb(BASICSR_SET14[0])
    uint8_path = imresize(gt, 1 / 3).astype(int)
    float_path = to_uint8(imresize(gt / 255.0, 1 / 3)).astype(int)
    assert 0 < np.count_nonzero(uint8_path - float_path) < uint8_path.size // 2


def test_batched_torch_on_float_matches_numpy():
    rng = np.random.default_rng(0)
    imgs = rng.random((2, 3, 31, 22))
    out = imresize(torch.from_numpy(imgs), 3.0)
    assert out.shape == (2, 3, 93, 66)
    for i in range(2):
        expected = imresize(imgs[i].transpose(1, 2, 0), 3.0).transpose(2, 0, 1)
        np.testing.assert_allclose(out[i].numpy(), expected, atol=1e-12)


def test_sizes_grey_and_constant_images():
    assert output_size((100, 101), 1 / 3) == (34, 34)
    grey = np.full((30, 45), 77, np.uint8)
    assert np.array_equal(imresize(grey, 1 / 3), np.full((10, 15), 77, np.uint8))
    assert imresize(grey, (7, 9)).shape == (7, 9)


@pytest.mark.parametrize(
    ("img", "arg"),
    [
        (np.zeros((0, 5), np.uint8), 0.5),
        (np.zeros((4, 4), np.uint8), 0),
        (np.zeros((4, 4), np.uint8), (0, 3)),
        (np.zeros((4, 4), np.int32), 2),
        (np.zeros((2, 2, 2, 2), np.uint8), 2),
    ],
)
def test_bad_arguments_raise_value_error(img, arg):
    with pytest.raises(ValueError, match="imresize"):
        imresize(img, arg)
