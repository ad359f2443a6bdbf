"""Scale is a first-class choice: ``--scale`` picks the best bundled model of that scale, and a
model asked for a scale it lacks is refused with the names of the models that have it."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from hubsr import HubSR, HubSRError, get_architecture
from hubsr.bundled import DEFAULT_MODELS, default_model, models_of_scale
from hubsr.cli import main
from hubsr.pipeline import upscale


@pytest.fixture
def models(tiny_bundled_models):
    return tiny_bundled_models


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "in.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (5, 6, 3), np.uint8)).save(path)
    return path


def test_the_default_of_a_scale_comes_first(models):
    assert models_of_scale(2) == [DEFAULT_MODELS[2], "aaa-other-x2"]  # not alphabetical
    assert default_model(2) == DEFAULT_MODELS[2]
    assert default_model(3) == DEFAULT_MODELS[3]
    assert default_model(4) is None


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_scale_picks_the_best_bundled_model(models, image, tmp_path, capsys, scale):
    out = tmp_path / "out"
    code = main(["upscale", str(image), "-o", str(out), "--scale", str(scale)])
    if scale == 4:  # none bundled: a loud error, not bicubic passed off as the model
        assert code == 2
        assert "no bundled x4 model found" in capsys.readouterr().err
        assert not out.exists()
        return
    assert code == 0
    name = DEFAULT_MODELS[scale]
    params = sum(p.numel() for p in HubSR.from_pretrained(models / name).parameters())
    said = f"model {name}: ABPN x{scale}, {params:,} parameters (the best bundled x{scale} "
    assert said in capsys.readouterr().err
    assert Image.open(out / "in.png").size == (6 * scale, 5 * scale)


def test_a_model_without_the_scale_names_those_with_it(models, image, tmp_path, capsys):
    argv = ["upscale", str(image), "-o", str(tmp_path / "out"), "--model", DEFAULT_MODELS[3]]
    assert main([*argv, "--scale", "2"]) == 2
    err = capsys.readouterr().err
    assert f"bundled x2 models: {DEFAULT_MODELS[2]}, aaa-other-x2" in err
    assert main([*argv, "--scale", "4"]) == 2
    assert "no bundled model upscales x4; --model bicubic does" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # refused before anything was written
    model = get_architecture("abpn")(scale=3, channels=4, num_convs=1)
    with pytest.raises(HubSRError, match=f"upscales x3 .bundled x2 models: {DEFAULT_MODELS[2]}"):
        upscale(model, np.zeros((4, 4, 3), np.uint8), scale=2)


def test_models_lists_the_scale(models, capsys):
    assert main(["models"]) == 0
    listing = capsys.readouterr().out
    assert f"{DEFAULT_MODELS[2]:<16} abpn       x2" in listing
    assert f"{DEFAULT_MODELS[3]:<16} abpn       x3" in listing
