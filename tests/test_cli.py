"""The ``hubsr`` command line, run in-process with ``main([...])`` on temporary folders."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from hubsr import get_architecture
from hubsr.bundled import DEFAULT_MODEL, bundled_models
from hubsr.cli import COMMANDS, main


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("models") / "tiny-span-x2"
    get_architecture("span")(scale=2, feature_channels=8, num_blocks=2).save_pretrained(folder)
    return folder


def _image(path, size=(6, 5), mode="RGB"):
    arr = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(arr).convert(mode).save(path)
    return path


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    _image(folder / "a.png")
    _image(folder / "b.bmp", size=(4, 7))
    _image(folder / "c.jpg")
    _image(folder / "d.tif", mode="L")
    (folder / "notes.txt").write_text("not an image, and not an image name: skipped")
    return folder


def test_folder_keeps_names_and_sizes(inputs, tmp_path, model_dir, capsys):
    out = tmp_path / "out"
    assert main(["upscale", str(inputs), "-o", str(out), "--model", str(model_dir)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.bmp", "c.png", "d.tif"]
    assert Image.open(out / "a.png").size == (12, 10)
    assert Image.open(out / "b.bmp").size == (8, 14)
    assert Image.open(out / "d.tif").mode == "L"
    err = capsys.readouterr().err
    assert "tiny-span-x2: SPAN x2" in err and "wrote 4 images" in err


def test_bad_file_is_reported_and_the_rest_written(inputs, tmp_path, model_dir, capsys):
    (inputs / "bad.png").write_bytes(b"definitely not a png")
    truncated = (inputs / "a.png").read_bytes()
    (inputs / "cut.png").write_bytes(truncated[: len(truncated) // 2])
    out = tmp_path / "out"
    code = main(["upscale", str(inputs), "-o", str(out), "--model", str(model_dir), "--tile", "4",
                 "--tile-overlap", "2"])  # fmt: skip
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.bmp", "c.png", "d.tif"]
    err = capsys.readouterr().err
    assert "bad.png is not an image" in err and "cut.png is truncated" in err
    assert "2 of 6 images failed" in err and "Traceback" not in err


def test_single_files_and_bicubic_scale(inputs, tmp_path):
    out = tmp_path / "out"
    files = [str(inputs / "a.png"), str(inputs / "c.jpg")]
    assert main(["upscale", *files, "-o", str(out), "--model", "bicubic", "--scale", "4"]) == 0
    assert Image.open(out / "a.png").size == (24, 20)
    assert Image.open(out / "c.png").size == (24, 20)


def test_default_model(inputs, tmp_path, capsys):
    assert main(["upscale", str(inputs / "a.png"), "-o", str(tmp_path / "out")]) == 0
    expected = DEFAULT_MODEL if DEFAULT_MODEL in bundled_models() else "bicubic x3"
    err = capsys.readouterr().err
    assert f"model {expected}" in err and "wrote 1 image to" in err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--model", "no/such-model"], "not in the local Hub cache"),
        (["--scale", "3"], "does not match"),
        (["--tile", "8", "--tile-overlap", "8"], "larger than tile_overlap"),
        (["--device", "toaster"], "unknown device"),
    ],
)
def test_usage_errors_exit_2_without_traceback(inputs, tmp_path, model_dir, capsys, extra, message):
    args = ["upscale", str(inputs), "-o", str(tmp_path / "out"), "--model", str(model_dir)]
    assert main(args + extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("hubsr: error:") and message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_name_clash_and_overwrite_are_refused(inputs, tmp_path, capsys):
    _image(inputs / "c.png")  # c.jpg -> c.png as well
    assert main(["upscale", str(inputs), "-o", str(tmp_path / "out"), "--model", "bicubic"]) == 2
    assert "would both be written" in capsys.readouterr().err
    assert main(["upscale", str(inputs / "a.png"), "-o", str(inputs), "--model", "bicubic"]) == 2
    assert "overwrite its input" in capsys.readouterr().err


def test_missing_input(tmp_path, capsys):
    assert main(["upscale", str(tmp_path / "nope.png"), "-o", str(tmp_path / "out")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_models_lists_architectures_and_bundled(tmp_path, model_dir, monkeypatch, capsys):
    monkeypatch.setenv("HUBSR_MODELS_DIR", str(model_dir.parent))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "span" in out and "bicubic" in out
    assert "tiny-span-x2" in out and "x2" in out


@pytest.mark.parametrize("command", [[], *[[name] for name in COMMANDS]])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(" ".join(["usage: hubsr", *command]))
    assert "examples:" in out
