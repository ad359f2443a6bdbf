"""The photo models: bundled at every scale, made by the project's rules, and published with
their degraded-input results (``training/release/photo.py``), which the README and cards show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hubsr.bundled import DEFAULT_MODELS, PHOTO_MODELS, bundled_models, bundled_scale
from hubsr.degradations import DEGRADATIONS

import photo  # the release script: one home for the file names and the tables

REPO = Path(__file__).resolve().parent.parent
BUNDLED = bundled_models()


@pytest.mark.parametrize("scale", sorted(PHOTO_MODELS))
def test_each_photo_model_is_bundled_and_was_trained_on_the_291_images_with_degradations(scale):
    name = PHOTO_MODELS[scale]
    assert name in BUNDLED and bundled_scale(name) == scale
    config = json.loads((BUNDLED[name] / "train_config.json").read_text())
    assert config["degrade"].startswith("photo")  # a recipe of training/degrade.py
    assert [Path(d).name for d in config["train_dirs"].split(",")] == ["T91", "BSDS200"]
    assert Path(config["eval_dir"]).name == "Set5"  # selected on (degraded) Set5 only
    # A warm start is allowed only from the project's own bicubic model of the same scale.
    assert Path(config["init_from"]).name in BUNDLED
    assert bundled_scale(Path(config["init_from"]).name) == scale


@pytest.mark.parametrize("scale", sorted(PHOTO_MODELS))
def test_each_photo_card_lists_every_degradation_beside_bicubic_and_the_default(scale):
    name = PHOTO_MODELS[scale]
    results = json.loads(photo.degraded_json(scale).read_text())["results"]
    for model in ("bicubic", DEFAULT_MODELS[scale], name):
        for dataset in photo.sets_of(scale, model):
            rows = [r for r in results if (r["model"], r["dataset"]) == (model, dataset)]
            measured = {r["degradation"] for r in rows}
            assert measured == set(photo.degradations_of(dataset)), (model, dataset)
    card = (BUNDLED[name] / "README.md").read_text()
    assert "## On photos: degraded inputs" in card
    section = card.split("## On photos: degraded inputs", 1)[1]
    for d in DEGRADATIONS:  # every one on Set5 and Set14
        assert f"| {d} |" in section
    assert "(on_photos.png)" in section and (BUNDLED[name] / "on_photos.png").is_file()


def test_readme_photo_tables_match_the_results_json():
    readme = (REPO / "README.md").read_text()
    shown = readme.split(photo.START, 1)[1].split(photo.END, 1)[0].strip()
    expected = photo.readme_section([s for s in photo.README_SCALES if s in PHOTO_MODELS])
    assert shown == expected.strip(), (
        "regenerate with: python training/release/photo.py --skip-sheets"
    )


def test_upscale_photo_picks_the_photo_model_of_the_scale(tmp_path, capsys):
    from PIL import Image

    from hubsr.cli import main

    snap = str(tmp_path / "snap.jpg")
    Image.new("RGB", (20, 16), (120, 80, 40)).save(snap, quality=50)
    assert main(["upscale", snap, "-o", str(tmp_path / "out"), "--photo", "--scale", "4"]) == 0
    assert f"model {PHOTO_MODELS[4]}:" in capsys.readouterr().err
    assert Image.open(tmp_path / "out" / "snap.png").size == (80, 64)
    # --photo names the model itself: a --model beside it is a contradiction, said in one line.
    code = main(["upscale", snap, "-o", str(tmp_path / "o2"), "--photo", "--model", "edsr-x3"])
    assert code == 2 and "--photo picks the photo model of --scale" in capsys.readouterr().err
