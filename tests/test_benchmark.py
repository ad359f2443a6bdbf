"""The benchmark reproduces the published bicubic numbers and records how it measured them."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from PIL import Image

from hubsr import HubSRError, get_architecture
from hubsr.benchmark import benchmark, format_table, match_lr_files, plot_psnr_vs_time
from hubsr.cli import main
from hubsr.imageio import list_images
from hubsr.protocol import PROTOCOL, make_lr, modcrop
from hubsr.testsets import dataset_checksum, dataset_dir, load_rgb

SET5 = ["baby", "bird", "butterfly", "head", "woman"]


@pytest.fixture(scope="module")
def bicubic():
    return get_architecture("bicubic")(scale=3)


@pytest.fixture(scope="module")
def set5_run(tmp_path_factory):
    """``hubsr benchmark --model bicubic --datasets Set5 --scale 3 --json F --plot P``."""
    out = tmp_path_factory.mktemp("bench")
    argv = ["benchmark", "--model", "bicubic", "--datasets", "Set5", "--scale", "3"]
    argv += ["--json", str(out / "set5.json"), "--plot", str(out / "plot.png"), "--quiet"]
    assert main(argv) == 0
    return json.loads((out / "set5.json").read_text()), out / "plot.png"


def test_bicubic_set5_golden_mean_through_the_cli(set5_run):
    document, plot = set5_run
    (result,) = document["results"]
    assert (result["model"], result["dataset"], result["scale"]) == ("bicubic", "Set5", 3)
    assert result["psnr"] == pytest.approx(30.39, abs=0.02)
    assert [im["name"] for im in result["images"]] == SET5
    assert result["params"] == 0 and result["num_images"] == 5
    assert result["seconds_per_image"] > 0
    with Image.open(plot) as img:
        assert img.format == "PNG"


def test_json_records_protocol_and_checksum(set5_run):
    (result,) = set5_run[0]["results"]
    protocol = result["protocol"]
    assert {k: protocol[k] for k in PROTOCOL} == PROTOCOL
    assert protocol["dataset"] == "Set5" and protocol["scale"] == 3
    assert protocol["tta"] is False and protocol["lr_source"] == "hubsr.protocol.make_lr"
    assert protocol["dataset_checksum"] == dataset_checksum(list_images(dataset_dir("Set5")))
    assert len(protocol["dataset_checksum"]) == 64


def test_bicubic_set14_baboon_and_comic(bicubic, tmp_path):
    for name in ("baboon", "comic"):
        shutil.copy(dataset_dir("Set14") / f"{name}.png", tmp_path)
    result = benchmark(bicubic, tmp_path, 3, progress=False)
    psnr = {im["name"]: im["psnr"] for im in result["images"]}
    assert psnr["baboon"] == pytest.approx(23.21, abs=0.01)
    assert psnr["comic"] == pytest.approx(23.12, abs=0.01)


def test_grayscale_loads_as_three_equal_channels():
    bridge = load_rgb(dataset_dir("Set14") / "bridge.png")
    assert bridge.shape == (512, 512, 3) and bridge.dtype == np.uint8
    assert (bridge[..., 0] == bridge[..., 1]).all() and (bridge[..., 1] == bridge[..., 2]).all()


@pytest.fixture
def small_set(tmp_path):
    """Three small HR crops of Set5 (sizes not multiples of 3) and their LR, EDSR-style names."""
    hr_dir, lr_dir = tmp_path / "hr", tmp_path / "lr"
    hr_dir.mkdir(), lr_dir.mkdir()
    lr_names = {"baby": "babyx3.png", "bird": "bird_LR.png", "head": "head.png"}
    for name, lr_name in lr_names.items():
        hr = load_rgb(dataset_dir("Set5") / f"{name}.png")[:50, :40]
        Image.fromarray(hr).save(hr_dir / f"{name}.png")
        Image.fromarray(make_lr(modcrop(hr, 3), 3)).save(lr_dir / lr_name)
    return hr_dir, lr_dir


def test_lr_dir_gives_the_same_results_as_made_lr(bicubic, small_set, tmp_path):
    hr_dir, lr_dir = small_set
    made = benchmark(bicubic, hr_dir, 3, progress=False)
    read = benchmark(bicubic, hr_dir, 3, lr_dir=lr_dir, save_dir=tmp_path / "sr", progress=False)
    assert [(im["name"], im["psnr"], im["ssim"]) for im in made["images"]] == [
        (im["name"], im["psnr"], im["ssim"]) for im in read["images"]
    ]
    assert read["protocol"]["lr_source"] == f"files in {lr_dir}"
    assert read["protocol"]["lr_checksum"] == dataset_checksum(list_images(lr_dir))
    saved = sorted(p.name for p in (tmp_path / "sr").iterdir())
    assert saved == ["baby.png", "bird.png", "head.png"]


def test_lr_dir_names_unmatched_files(small_set):
    hr_dir, lr_dir = small_set
    hr_files = list_images(hr_dir)
    shutil.copy(lr_dir / "head.png", lr_dir / "stranger.png")
    (lr_dir / "bird_LR.png").unlink()
    with pytest.raises(HubSRError, match=r"no LR image for bird\.png.*no HR image .*stranger\.png"):
        match_lr_files(hr_files, lr_dir, 3)


def test_lr_dir_refuses_two_lr_files_for_one_image(small_set):
    hr_dir, lr_dir = small_set
    shutil.copy(lr_dir / "babyx3.png", lr_dir / "baby_x3.png")
    with pytest.raises(HubSRError, match="several LR files for baby"):
        match_lr_files(list_images(hr_dir), lr_dir, 3)


def test_lr_of_the_wrong_size_is_an_error(bicubic, small_set):
    hr_dir, lr_dir = small_set
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(lr_dir / "head.png")
    with pytest.raises(HubSRError, match="head.png is 10x10.*needs a 13x16"):
        benchmark(bicubic, hr_dir, 3, lr_dir=lr_dir, progress=False)


def test_scale_mismatch_is_an_error(tmp_path, capsys):
    with pytest.raises(HubSRError, match="upscales x2, but the benchmark scale is x3"):
        benchmark(get_architecture("bicubic")(scale=2), "Set5", 3, progress=False)
    folder = tmp_path / "span-x2"
    get_architecture("span")(scale=2, feature_channels=8, num_blocks=2).save_pretrained(folder)
    assert main(["benchmark", "--model", str(folder), "--datasets", "Set5", "--scale", "3"]) == 2
    err = capsys.readouterr().err
    assert "upscales x2, but --scale is 3" in err and "--scale 2" in err


def test_unknown_dataset_names_the_data_root(bicubic, tmp_path, monkeypatch):
    monkeypatch.setenv("HUBSR_DATA_DIR", str(tmp_path))
    (tmp_path / "Mine").mkdir()
    with pytest.raises(HubSRError, match=rf"no dataset 'Set6'.*{re.escape(str(tmp_path))}.*Mine"):
        benchmark(bicubic, "Set6", 3, progress=False)


def test_table_lists_model_dataset_and_per_image_rows():
    image = {"name": "baby", "psnr": 33.9, "ssim": 0.9, "seconds": 0.1}
    result = {"model": "m", "dataset": "Set5", "scale": 3, "tta": True, "psnr": 30.4}
    result |= {"ssim": 0.869, "params": 1234, "seconds_per_image": 0.25, "images": [image]}
    lines = format_table([result], per_image=True).splitlines()
    assert lines[0].split() == ["model", "dataset", "PSNR", "SSIM", "params", "s/img"]
    assert lines[2].split() == ["m", "+TTA", "Set5", "x3", "30.40", "0.8690", "1,234", "0.250"]
    assert lines[3].split() == ["baby", "33.90", "0.9000", "0.100"]


def test_the_plot_has_one_panel_per_scale(tmp_path):
    def row(model, scale, psnr, tta=False, dataset="Set14"):
        return {
            "model": model,
            "architecture": "abpn",
            "scale": scale,
            "dataset": dataset,
            "psnr": psnr,
            "params": 1000,
            "seconds_per_image": 0.01,
            "tta": tta,
        }

    x3 = [row("a-x3", 3, 29.8), row("b-x3", 3, 29.9), row("a-x3", 3, 30.0, tta=True)]
    every_scale = [
        row("a-x2", 2, 33.1),
        *x3,
        row("a-x4", 4, 28.1),
        row("a-x4", 4, 31.4, dataset="Set5"),
    ]
    one = Image.open(plot_psnr_vs_time(x3, tmp_path / "x3.png"))
    three = Image.open(plot_psnr_vs_time(every_scale, tmp_path / "all.png"))
    assert three.width == one.width and three.height == 3 * one.height
    with pytest.raises(HubSRError, match="no results without TTA on BSD100 to plot"):
        plot_psnr_vs_time(x3, tmp_path / "none.png", dataset="BSD100")
    with pytest.raises(HubSRError, match="no results without TTA to plot"):
        plot_psnr_vs_time([row("a-x3", 3, 30.0, tta=True)], tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()
