"""The bicubic-gap script's claim: a grayscale image scores 20 log10(255/219) dB higher on Y of
RGB than on its grey values, and an RGB image scores the same either way."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bicubic_gap import bicubic_scores


def test_grey_images_gain_the_y_range_factor_and_rgb_images_nothing():
    rng = np.random.default_rng(0)
    smooth = np.cumsum(np.cumsum(rng.normal(size=(60, 72)), axis=0), axis=1)
    grey = np.uint8(np.interp(smooth, (smooth.min(), smooth.max()), (0, 255)))
    ours, grey_on_grey, _ = bicubic_scores(grey, 3)
    assert ours - grey_on_grey == pytest.approx(20 * math.log10(255 / 219), abs=0.02)
    rgb = np.stack([grey, np.flipud(grey), np.fliplr(grey)], axis=2)
    ours_rgb, same, _ = bicubic_scores(rgb, 3)
    assert same == ours_rgb
