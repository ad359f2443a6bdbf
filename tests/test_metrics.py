"""PSNR/SSIM on Y by the benchmark convention."""

from __future__ import annotations

import numpy as np
import pytest

from hubsr import psnr, ssim
from hubsr.metrics import rgb_to_y


@pytest.fixture
def pair():
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    noise = rng.integers(-6, 7, hr.shape)
    sr = np.clip(hr.astype(int) + noise, 0, 255).astype(np.uint8)
    return sr, hr


def test_psnr_matches_its_definition_on_y(pair):
    sr, hr = pair
    y_sr, y_hr = rgb_to_y(sr)[3:-3, 3:-3], rgb_to_y(hr)[3:-3, 3:-3]
    expected = 10 * np.log10(255**2 / np.mean((y_sr - y_hr) ** 2))
    assert psnr(sr, hr, crop_border=3) == pytest.approx(expected, abs=1e-9)
    assert psnr(hr, hr, crop_border=3) == float("inf")


def test_y_is_matlab_rgb2ycbcr():
    assert rgb_to_y(np.array([[[0, 0, 0]]], np.uint8))[0, 0] == pytest.approx(16.0)
    assert rgb_to_y(np.array([[[255, 255, 255]]], np.uint8))[0, 0] == pytest.approx(235.0)
    assert rgb_to_y(np.array([[[255, 0, 0]]], np.uint8))[0, 0] == pytest.approx(16 + 65.481)


def test_grey_is_measured_like_three_equal_channels(pair):
    sr, hr = pair[0][..., 0], pair[1][..., 0]
    as_rgb = psnr(np.dstack([sr] * 3), np.dstack([hr] * 3), 3)
    assert psnr(sr, hr, 3) == pytest.approx(as_rgb)
    assert ssim(sr, hr, 3) == pytest.approx(ssim(np.dstack([sr] * 3), np.dstack([hr] * 3), 3))


def test_ssim_is_one_for_identical_and_drops_with_noise(pair):
    sr, hr = pair
    assert ssim(hr, hr, 3) == pytest.approx(1.0)
    assert 0 < ssim(sr, hr, 3) < 1
    noisier = np.clip(hr.astype(int) + 3 * (sr.astype(int) - hr), 0, 255).astype(np.uint8)
    assert ssim(noisier, hr, 3) < ssim(sr, hr, 3)


def test_unrounded_or_mismatched_inputs_are_refused(pair):
    sr, hr = pair
    with pytest.raises(ValueError, match="uint8"):
        psnr(sr.astype(np.float32), hr, 3)
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(sr[:-1], hr, 3)
    with pytest.raises(ValueError, match="crop_border"):
        psnr(sr, hr, 30)
