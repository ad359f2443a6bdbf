"""The ``hubsr`` command line, run in-process with ``main([...])`` on temporary folders."""

from __future__ import annotations

import importlib.metadata

import numpy as np
import png
import pytest
import tifffile
import torch
from PIL import Image

from hubsr import HubSR, get_architecture
from hubsr import precision as hubsr_precision
from hubsr import upscale_file as file_steps
from hubsr.bundled import DEFAULT_MODEL, bundled_models
from hubsr.cli import COMMANDS, main
from hubsr.cli import upscale as upscale_cli
from hubsr.imageio import read_image, save_image_atomic


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
    assert "tiny-span-x2: SPAN x2" in err and "written 4, skipped 0, failed 0" in err
    assert "left out 1 file in a format hubsr cannot read: notes.txt" in err


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
    assert "written 4, skipped 0, failed 2" in err and "Traceback" not in err


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
    assert f"model {expected}" in err and "written 1, skipped 0, failed 0" in err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--model", "no/such-model", "--offline"], "no/such-model is not a model folder and is"),
        (["--scale", "3"], "does not match"),
        (["--tile", "8", "--tile-overlap", "8"], "larger than --tile-overlap (8)"),
        (["--tile", "0"], "--tile must be a positive number"),
        (["--device", "toaster"], "unknown device"),
    ],
)
def test_usage_errors_exit_2_without_traceback(inputs, tmp_path, model_dir, capsys, extra, message):
    args = ["upscale", str(inputs), "-o", str(tmp_path / "out" / "sub"), "--model", str(model_dir)]
    assert main(args + extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("hubsr: error:") and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    # The API's words (local_files_only=, tile_overlap) are not the command line's.
    assert "local_files_only" not in err and "tile_overlap" not in err
    assert not (tmp_path / "out").exists()  # the folders the command created are gone again


def test_name_clash_and_overwrite_are_refused(inputs, tmp_path, capsys):
    _image(inputs / "c.png")  # c.jpg -> c.png as well
    assert main(["upscale", str(inputs), "-o", str(tmp_path / "out"), "--model", "bicubic"]) == 2
    assert "would both be written" in capsys.readouterr().err
    assert main(["upscale", str(inputs / "a.png"), "-o", str(inputs), "--model", "bicubic"]) == 2
    assert "overwrite its input" in capsys.readouterr().err


def test_unknown_model_lists_bundled_and_the_closest(inputs, tmp_path, capsys):
    assert main(["upscale", str(inputs), "-o", str(tmp_path / "out"), "--model", "EDSR"]) == 2
    err = capsys.readouterr().err
    names = [*bundled_models(), "bicubic"]
    assert f"bundled models: {', '.join(names)}" in err
    if "edsr-x3" in bundled_models():  # the homework scale's EDSR, the closest name
        assert "did you mean --model edsr-x3?" in err


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"hubsr {importlib.metadata.version('hubsr')}"


def test_output_folder_is_checked_before_any_work(inputs, tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(file_steps, "upscale", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(upscale_cli, "load_model", lambda *a: calls.append(a))
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    for out, message in [
        (blocker, f"-o {blocker} is a file, not a folder"),
        (blocker / "out", f"cannot create {blocker / 'out'}: {blocker} is a file"),
    ]:
        assert main(["upscale", str(inputs), "-o", str(out), "--model", "bicubic"]) == 2
        assert f"hubsr: error: {message}" in capsys.readouterr().err
    assert calls == [] and blocker.read_text() == "in the way"


def test_created_folders_are_removed_if_nothing_is_written(tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_text("not a png")
    out = tmp_path / "new" / "deeper" / "out"
    assert main(["upscale", str(bad), "-o", str(out), "--model", "bicubic"]) == 1
    assert "bad.png is not an image" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.png"]
    existing = tmp_path / "existing"
    existing.mkdir()
    assert main(["upscale", str(bad), "-o", str(existing), "--model", "bicubic"]) == 1
    assert existing.is_dir() and list(existing.iterdir()) == []  # not ours to remove


def _blocks_16_bit(channels: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A 64x64 image of 8x8 constant blocks, each channel of each block its own 16-bit value
    (the extremes, values next to multiples of 257, and random ones); and the values."""
    rng = np.random.default_rng(seed)
    special = [0, 1, 254, 255, 256, 257, 258, 32767, 32768, 65278, 65279, 65534, 65535]
    values = rng.integers(0, 65536, (8, 8, channels), dtype=np.uint16)
    values.reshape(-1)[: len(special)] = special
    return np.repeat(np.repeat(values, 8, axis=0), 8, axis=1), values


@pytest.mark.parametrize(
    ("name", "channels"), [("rgb.png", 3), ("rgba.png", 4), ("la.png", 2), ("rgb.tif", 3),
                           ("rgba.tiff", 4)]
)  # fmt: skip
def test_16_bit_files_keep_every_bit_through_the_cli(tmp_path, name, channels, capsys):
    """Bicubic x2 keeps a constant block constant: away from the block edges, every output
    pixel must be its block's 16-bit value exactly, so any lost bit shows. The whole output
    must also be what the pipeline makes of the same pixels as a uint16 array."""
    pixels, values = _blocks_16_bit(channels, seed=channels)
    src = save_image_atomic(pixels, tmp_path / name)
    out = tmp_path / "out"
    assert main(["upscale", str(src), "-o", str(out), "--model", "bicubic", "--scale", "2"]) == 0
    result = read_image(out / name).pixels
    assert isinstance(result, np.ndarray) and result.dtype == np.uint16
    assert result.shape == (128, 128, channels)
    independent = (
        tifffile.imread(out / name)
        if name.endswith((".tif", ".tiff"))
        else np.vstack([np.asarray(r) for r in png.Reader(filename=str(out / name)).read()[2]])
    )
    np.testing.assert_array_equal(independent.reshape(result.shape), result)
    interiors = result.reshape(8, 16, 8, 16, channels)[:, 4:12, :, 4:12]
    np.testing.assert_array_equal(
        interiors, np.broadcast_to(values[:, None, :, None], interiors.shape)
    )
    bicubic = get_architecture("bicubic")(scale=2)
    np.testing.assert_array_equal(result, bicubic.upscale(pixels))
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("name", ["deep.png", "deep.tif"])
def test_16_bit_file_through_a_model_equals_the_array_path(tmp_path, model_dir, name):
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 65536, (10, 12, 3), dtype=np.uint16)
    src = save_image_atomic(pixels, tmp_path / name)
    assert main(["upscale", str(src), "-o", str(tmp_path / "out"), "--model", str(model_dir)]) == 0
    result = read_image(tmp_path / "out" / name).pixels
    expected = HubSR.from_pretrained(model_dir).upscale(pixels)  # the same default dtype
    np.testing.assert_array_equal(result, expected)
    assert np.any(result % 257)  # real 16-bit values, not 8-bit ones scaled up


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


@pytest.mark.parametrize(
    ("depths", "precision"),
    [
        ((8,), "bfloat16"),
        ((16,), "float32"),
        ((8, 16), "bfloat16 for 8-bit inputs, float32 for 16-bit inputs"),
    ],
)
def test_the_status_line_names_the_precision_16_bit_inputs_run_in(
    tmp_path, model_dir, monkeypatch, capsys, depths, precision
):
    """Where bf16 is the default (--dtype auto on a CPU where it pays), 16-bit inputs still run
    in float32 (hubsr.precision.default_amp_dtype), and the status line says so."""
    monkeypatch.setattr(hubsr_precision, "cpu_bf16_pays", lambda: True)
    rng = np.random.default_rng(0)
    for depth in depths:
        dtype = np.uint8 if depth == 8 else np.uint16
        save_image_atomic(
            rng.integers(0, np.iinfo(dtype).max, (5, 6, 3), dtype), tmp_path / f"{depth}.png"
        )
    out = tmp_path / "out"
    assert main(["upscale", *[str(tmp_path / f"{d}.png") for d in depths], "-o", str(out),
                 "--model", str(model_dir)]) == 0  # fmt: skip
    status = [line for line in capsys.readouterr().err.splitlines() if "running on" in line]
    assert len(status) == 1
    assert status[0].startswith(f"hubsr: running on cpu in {precision} (")


def test_memory_budget_tiles_with_a_bar_and_overrides_the_environment(
    tmp_path, model_dir, monkeypatch, capsys
):
    """--memory-budget 2KB tiles the image (a 'tiles' bar on stderr) into the same bytes as one
    pass; --memory-budget 0 beats HUBSR_MEMORY_BUDGET=2KB: one pass, no bar."""
    src = _image(tmp_path / "big.png", size=(90, 70))
    runs = {}
    for name, env, flag in [("planned", None, "2KB"), ("flag-wins", "2KB", "0")]:
        if env:
            monkeypatch.setenv("HUBSR_MEMORY_BUDGET", env)
        out = tmp_path / name
        argv = ["upscale", str(src), "-o", str(out), "--model", str(model_dir)]
        assert main([*argv, "--memory-budget", flag]) == 0
        runs[name] = (Image.open(out / "big.png").tobytes(), capsys.readouterr().err)
    assert runs["planned"][0] == runs["flag-wins"][0]  # seamless tiles: the same bytes
    assert "tiles:" in runs["planned"][1]
    assert "tiles:" not in runs["flag-wins"][1]


@pytest.mark.parametrize("budget", ["lots", "-1GB", "2XB"])
def test_a_memory_budget_that_is_no_size_is_one_line(inputs, tmp_path, budget, capsys):
    argv = ["upscale", str(inputs), "-o", str(tmp_path / "out"), f"--memory-budget={budget}"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == (
        "hubsr: error: --memory-budget must be a size such as 2GB or 500MB (0: no limit), "
        f"got {budget!r}\n"
    )
    assert not (tmp_path / "out").exists()


def test_help_names_the_memory_budget(capsys):
    with pytest.raises(SystemExit):
        main(["upscale", "--help"])
    assert "--memory-budget SIZE" in capsys.readouterr().out
