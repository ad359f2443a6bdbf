"""The named test-set degradations (hubsr.degradations) and ``hubsr benchmark --degradation``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import hubsr
from hubsr.benchmark import benchmark
from hubsr.cli import main
from hubsr.degradations import DEGRADATIONS, degrade, gaussian_blur
from hubsr.errors import HubSRError
from hubsr.protocol import make_lr, modcrop
from hubsr.testsets import dataset_dir, load_rgb


@pytest.fixture(scope="module")
def lr() -> np.ndarray:
    return make_lr(modcrop(load_rgb(dataset_dir("Set5") / "butterfly.png"), 3), 3)


@pytest.mark.parametrize("name", list(DEGRADATIONS))
def test_each_degradation_is_the_same_on_every_call_and_keeps_the_shape(lr, name):
    first, second = degrade(lr, name, key="butterfly"), degrade(lr, name, key="butterfly")
    assert first.dtype == np.uint8 and first.shape == lr.shape
    assert np.array_equal(first, second)
    assert np.array_equal(first, lr) == (name == "clean")


def test_the_noise_is_seeded_by_the_image_name_and_has_its_sigma(lr):
    grey = np.full((64, 64, 3), 128, np.uint8)  # no clipping: the noise is seen whole
    noisy = degrade(grey, "noise10", key="a").astype(float) - 128
    assert abs(noisy.std() - 10) < 0.3 and abs(noisy.mean()) < 0.3
    assert not np.array_equal(degrade(lr, "noise10", key="a"), degrade(lr, "noise10", key="b"))


def test_lower_jpeg_quality_loses_more(lr):
    def error(name):
        return np.abs(degrade(lr, name, key="x").astype(float) - lr).mean()

    assert 0 < error("jpeg90") < error("jpeg75") < error("jpeg50")


def test_gaussian_blur_keeps_flat_images_flat_and_spreads_an_impulse_as_a_gaussian():
    flat = np.full((9, 9, 1), 77.0)
    assert np.allclose(gaussian_blur(flat, 0.8), 77.0)
    impulse = np.zeros((21, 21, 1))
    impulse[10, 10] = 1.0
    blurred = gaussian_blur(impulse, 1.0)[..., 0]
    assert np.isclose(blurred.sum(), 1.0)
    ratio = blurred[10, 11] / blurred[10, 10]
    assert np.isclose(ratio, np.exp(-0.5), rtol=1e-6)  # one pixel away at sigma 1
    assert np.allclose(blurred, blurred.T)


def test_an_unknown_degradation_or_a_wrong_image_is_refused(lr):
    with pytest.raises(HubSRError, match="unknown degradation 'jpeg5'"):
        degrade(lr, "jpeg5", key="x")
    with pytest.raises(HubSRError, match="uint8 HxWx3"):
        degrade(lr.astype(np.float32), "jpeg50", key="x")


def test_benchmark_scores_degraded_lr_against_the_clean_hr(tmp_path):
    model = hubsr.get_architecture("bicubic")(scale=3)
    clean = benchmark(model, "Set5", 3, progress=False)
    jpeg = benchmark(model, "Set5", 3, progress=False, degradation="jpeg50")
    assert jpeg["degradation"] == "jpeg50" and jpeg["protocol"]["degradation"] == "jpeg50"
    assert "JPEG quality 50" in jpeg["protocol"]["degradation_recipe"]
    assert jpeg["psnr"] < clean["psnr"] - 0.5  # JPEG 50 costs bicubic about a dB on Set5
    # The same pixels every time: the result does not move between runs.
    again = benchmark(model, "Set5", 3, progress=False, degradation="jpeg50")
    assert [i["psnr"] for i in again["images"]] == [i["psnr"] for i in jpeg["images"]]


def test_benchmark_cli_measures_each_degradation_in_turn(tmp_path, capsys):
    out = tmp_path / "bench.json"
    args = ["benchmark", "--model", "bicubic", "--datasets", "Set5", "--quiet"]
    assert main([*args, "--degradation", "clean", "noise10", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "Set5 x3 noise10" in table
    rows = json.loads(out.read_text())["results"]
    assert [r["degradation"] for r in rows] == ["clean", "noise10"]


def test_benchmark_refuses_an_image_too_small_to_score_in_one_line(tmp_path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    Image.new("RGB", (8, 8), (90, 120, 200)).save(folder / "a.png")
    model = hubsr.get_architecture("bicubic")(scale=3)
    with pytest.raises(HubSRError, match=r"8x8 is too small to score at x3.*at least 18 pixels"):
        benchmark(model, folder, 3, progress=False)
