"""``hubsr upscale`` loses nothing: no file it did not make is replaced unless asked, every
failure is one input's (the run goes on, then says written / skipped / failed), Ctrl-C leaves
no partial file, a large colour profile never makes an output that does not open, and a hint
names only what works. (The one-line answers to each bad input are in test_bad_inputs.py.)"""

from __future__ import annotations

import errno
import os
import re

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile

import hubsr
from hubsr import HubSRError
from hubsr import upscale_file as file_steps
from hubsr.atomic import TargetExistsError, write_bytes_atomic
from hubsr.bundled import DEFAULT_MODELS
from hubsr.cli import main
from hubsr.cli import upscale as upscale_cli
from hubsr.imageio import read_image

BICUBIC = ["--model", "bicubic"]
BIG_ICC = np.random.default_rng(1).integers(0, 256, 1_200_000, dtype=np.uint8).tobytes()


def _noise(seed: int, size=(6, 5)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


@pytest.fixture
def pics(tmp_path):
    """A camera folder: IMG_1..3.jpg, and an unrelated picture IMG_1.png beside them."""
    folder = tmp_path / "pics"
    folder.mkdir()
    for i in (1, 2, 3):
        _noise(i).save(folder / f"IMG_{i}.jpg")
    _noise(99).save(folder / "IMG_1.png")
    return folder


def _jpgs(folder) -> list[str]:
    return [str(p) for p in sorted(folder.glob("*.jpg"))]  # what the shell makes of pics/*.jpg


def _run(*argv) -> int:
    return main(["upscale", *map(str, argv)])


def _last_line(err: str) -> str:
    return err.strip().splitlines()[-1]


# -- never overwrite what the run did not make ----------------------------------------------------
def test_an_unrelated_file_is_not_replaced_and_nothing_is_done(pics, monkeypatch, capsys):
    before = (pics / "IMG_1.png").read_bytes()
    monkeypatch.setattr(upscale_cli, "load_model", lambda *a, **k: pytest.fail("work started"))
    assert _run(*_jpgs(pics), "-o", pics, *BICUBIC) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "1 result already exists in" in err and "(IMG_1.png)" in err
    assert "--overwrite" in err and "--skip-existing" in err
    assert (pics / "IMG_1.png").read_bytes() == before
    assert sorted(p.name for p in pics.iterdir()) == [
        "IMG_1.jpg", "IMG_1.png", "IMG_2.jpg", "IMG_3.jpg"
    ]  # fmt: skip


def test_skip_existing_keeps_them_and_upscales_the_rest(pics, capsys):
    before = (pics / "IMG_1.png").read_bytes()
    assert _run(*_jpgs(pics), "-o", pics, *BICUBIC, "--skip-existing") == 0
    assert _last_line(capsys.readouterr().err).startswith("hubsr: written 2, skipped 1, failed 0")
    assert (pics / "IMG_1.png").read_bytes() == before
    assert Image.open(pics / "IMG_2.png").size == (18, 15)
    assert Image.open(pics / "IMG_3.png").size == (18, 15)


def test_overwrite_replaces_them(pics, capsys):
    assert _run(*_jpgs(pics), "-o", pics, *BICUBIC, "--overwrite") == 0
    assert _last_line(capsys.readouterr().err).startswith("hubsr: written 3, skipped 0, failed 0")
    assert Image.open(pics / "IMG_1.png").size == (18, 15)  # the upscale of IMG_1.jpg now


def test_every_existing_result_is_counted_and_the_flags_exclude_each_other(pics, capsys):
    out = pics.parent / "out"
    out.mkdir()
    for i in (1, 2, 3):
        (out / f"IMG_{i}.png").write_text("an earlier result")
    (out / "IMG_4.png").symlink_to(out / "nowhere.png")  # a broken link is in the way too
    _noise(4).save(pics / "IMG_4.jpg")
    assert _run(*_jpgs(pics), "-o", out, *BICUBIC) == 2
    err = capsys.readouterr().err
    assert "4 results already exist in" in err
    assert "(IMG_1.png, IMG_2.png, IMG_3.png and 1 more)" in err
    with pytest.raises(SystemExit) as exit_info:
        _run(*_jpgs(pics), "-o", out, "--overwrite", "--skip-existing")
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_two_inputs_for_one_result_are_refused_and_counted(tmp_path, capsys):
    for name in ("a.png", "a.jpg", "b.png", "b.webp", "c.bmp"):
        _noise(0).save(tmp_path / name)
    assert _run(tmp_path, "-o", tmp_path / "out", *BICUBIC, "--overwrite") == 2
    err = capsys.readouterr().err
    assert "a.jpg and " in err and "a.png would both be written to" in err
    assert "(and 1 more such pairs)" in err and not (tmp_path / "out").exists()


@pytest.mark.parametrize("flags", [[], ["--skip-existing"]])
def test_a_file_made_while_the_run_works_is_not_replaced(pics, monkeypatch, capsys, flags):
    """The check before the work sees no IMG_2.png; another program writes one while IMG_2.jpg
    is upscaled. The run keeps that file, reports IMG_2 as failed and writes the others."""
    out = pics.parent / "out"
    theirs = b"another program's file"
    real = upscale_cli._upscale_file

    def upscale_file(model, src, dst, *args):
        if src.name == "IMG_2.jpg":
            dst.write_bytes(theirs)  # after the check, before the result is published
        return real(model, src, dst, *args)

    monkeypatch.setattr(upscale_cli, "_upscale_file", upscale_file)
    assert _run(*_jpgs(pics), "-o", out, *BICUBIC, *flags) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "hubsr: error:" in line]
    assert errors == [
        f"hubsr: error: {pics / 'IMG_2.jpg'}: {out / 'IMG_2.png'} appeared while hubsr was "
        "writing it (another program made it) and was left as it is"
    ]
    assert _last_line(err).startswith("hubsr: written 2, skipped 0, failed 1")
    assert (out / "IMG_2.png").read_bytes() == theirs
    assert sorted(p.name for p in out.iterdir()) == ["IMG_1.png", "IMG_2.png", "IMG_3.png"]


def test_overwrite_replaces_a_file_made_while_the_run_works(pics, monkeypatch, capsys):
    out = pics.parent / "out"
    real = upscale_cli._upscale_file

    def upscale_file(model, src, dst, *args):
        dst.write_bytes(b"another program's file")
        return real(model, src, dst, *args)

    monkeypatch.setattr(upscale_cli, "_upscale_file", upscale_file)
    assert _run(*_jpgs(pics), "-o", out, *BICUBIC, "--overwrite") == 0
    assert Image.open(out / "IMG_2.png").size == (18, 15)


@pytest.mark.parametrize("no_links", [errno.EPERM, errno.EOPNOTSUPP])
def test_without_hard_links_a_file_that_exists_is_still_kept(tmp_path, monkeypatch, no_links):
    """On a file system without hard links (FAT, some shares) the publish falls back to a look
    and a rename: a file that exists by then is kept; a new one is written whole."""

    def link(src, dst):
        raise OSError(no_links, os.strerror(no_links))

    monkeypatch.setattr(os, "link", link)
    theirs = tmp_path / "theirs.bin"
    theirs.write_bytes(b"theirs")
    with pytest.raises(TargetExistsError, match="theirs.bin appeared while hubsr was writing"):
        write_bytes_atomic(theirs, b"ours", overwrite=False)
    assert theirs.read_bytes() == b"theirs"
    assert write_bytes_atomic(tmp_path / "new.bin", b"ours", overwrite=False).read_bytes() == (
        b"ours"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.bin", "theirs.bin"]  # no .tmp


# -- every failure is one file's -------------------------------------------------------------------
def _failing_upscale(monkeypatch, error: BaseException, on_call: int = 1):
    """``upscale`` (as the command line's file step calls it) raises ``error`` on its
    ``on_call``-th call and works on the others."""
    real, calls = file_steps.upscale, []

    def upscale(*args, **kwargs):
        calls.append(1)
        if len(calls) == on_call:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(file_steps, "upscale", upscale)


@pytest.mark.parametrize(
    "error, tile, message",
    [
        (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"), None,
         r"IMG_1\.jpg: out of memory; try --tile 512 \(or smaller\), or free some memory$"),
        (RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: not enough "
                      "memory: you tried to allocate 29000000000 bytes."), None,
         r"IMG_1\.jpg: out of memory; try --tile 512 \(or smaller\), or free some memory$"),
        (MemoryError(), "64", r"IMG_1\.jpg: out of memory; try a --tile smaller than 64, or free"),
        (RuntimeError("Given groups=1, weight of size [8, 3, 3, 3]\nmore detail"), None,
         r"IMG_1\.jpg: RuntimeError: Given groups=1, weight of size \[8, 3, 3, 3\]$"),
    ],
)  # fmt: skip
def test_a_model_error_is_one_line_and_the_run_goes_on(pics, monkeypatch, capsys, error, tile,
                                                       message):  # fmt: skip
    _failing_upscale(monkeypatch, error)
    out = pics.parent / "out"
    tiles = ["--tile", tile] if tile else []
    assert _run(*_jpgs(pics), "-o", out, *BICUBIC, *tiles) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "hubsr: error:" in line]
    assert len(errors) == 1 and re.search(message, errors[0]), err
    assert _last_line(err).startswith("hubsr: written 2, skipped 0, failed 1")
    assert sorted(p.name for p in out.iterdir()) == ["IMG_2.png", "IMG_3.png"]


def test_ctrl_c_stops_cleanly_and_skip_existing_finishes(pics, monkeypatch, capsys):
    _failing_upscale(monkeypatch, KeyboardInterrupt(), on_call=2)
    out = pics.parent / "out"
    assert _run(*_jpgs(pics), "-o", out, *BICUBIC) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "hubsr: interrupted; written 1, skipped 0, failed 0, not done 2" in err
    assert "--skip-existing does the rest" in err
    assert sorted(p.name for p in out.iterdir()) == ["IMG_1.png"]
    monkeypatch.undo()
    assert _run(*_jpgs(pics), "-o", out, *BICUBIC, "--skip-existing") == 0
    assert _last_line(capsys.readouterr().err).startswith("hubsr: written 2, skipped 1, failed 0")
    assert sorted(p.name for p in out.iterdir()) == ["IMG_1.png", "IMG_2.png", "IMG_3.png"]


def test_ctrl_c_while_a_file_is_written_leaves_no_partial_file(pics, monkeypatch, capsys):
    real_save, calls = Image.Image.save, []

    def save(self, fp, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            fp.write(b"half a PNG")
            raise KeyboardInterrupt
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save)
    out = pics.parent / "out"
    assert _run(*_jpgs(pics), "-o", out, *BICUBIC) == 130
    assert "Traceback" not in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["IMG_1.png"]  # no temporary file either


def test_ctrl_c_in_another_command_is_one_line(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr("hubsr.cli.models.run", interrupted)
    assert main(["models"]) == 130
    assert capsys.readouterr().err.strip() == "hubsr: interrupted"


# -- large ICC profiles ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, result, carried",
    [("big.png", "big.png", False), ("big.jpg", "big.png", False), ("big.tif", "big.tif", True)],
)
def test_a_large_profile_never_makes_an_output_that_does_not_open(tmp_path, capsys, name,
                                                                  result, carried):  # fmt: skip
    _noise(0).save(tmp_path / name, icc_profile=BIG_ICC)
    out = tmp_path / "out"
    assert _run(tmp_path / name, "-o", out, *BICUBIC) == 0
    err = capsys.readouterr().err
    with Image.open(out / result) as reopened:  # Pillow, with its default limits
        reopened.load()
        assert reopened.size == (18, 15)
        assert reopened.info.get("icc_profile") == (BIG_ICC if carried else None)
    assert read_image(out / result).icc_profile == (BIG_ICC if carried else None)
    assert ("ICC colour profile (1,200,000 bytes) is left out" in err) == (not carried)


# -- hints name only what works -------------------------------------------------------------------
def _suggestions(err: str) -> list[list[str]]:
    """The flags a message suggests, as argument lists: each model it names (``--model NAME``,
    not the PATH|REPO_ID placeholder; or in a list of bundled models), and ``[]`` for "leave
    out --model"."""
    names = re.findall(r"(?<!leave out )--model ([a-z0-9][\w.-]*)", err)
    listed = re.search(r"bundled x\d+ models: ([\w.-]+(?:, [\w.-]+)*)", err)
    names += listed.group(1).split(", ") if listed else []
    return [["--model", name] for name in dict.fromkeys(names)] + [[]] * (
        "leave out --model" in err
    )


@pytest.fixture
def bundled(tiny_bundled_models):
    """Tiny bundled models, fast to try: two x2 models and the x3 default; no x4."""
    return tiny_bundled_models


@pytest.mark.parametrize(
    "argv, scale, offers",
    [
        (["--scale", "5"], 5, 0),  # nothing upscales x5: no model, and not bicubic
        (["--model", "X3", "--scale", "5"], 5, 0),
        (["--model", "X3", "--scale", "2"], 2, 3),  # the two x2 models, or leave out --model
        (["--scale", "4"], 4, 1),  # no x4 model bundled: bicubic, which has x4
        (["--model", "X3", "--scale", "4"], 4, 1),
    ],
)
def test_every_hint_works_when_tried(tmp_path, bundled, capsys, argv, scale, offers):
    _noise(0).save(tmp_path / "in.png")
    argv = [str(bundled / DEFAULT_MODELS[3]) if a == "X3" else a for a in argv]
    assert _run(tmp_path / "in.png", "-o", tmp_path / "out", *argv) == 2
    err = capsys.readouterr().err
    suggestions = _suggestions(err)
    assert len(suggestions) == offers, err
    for i, flags in enumerate(suggestions):
        code = _run(tmp_path / "in.png", "-o", tmp_path / f"try{i}", *flags, "--scale", scale)
        assert code == 0, (flags, capsys.readouterr().err)
        assert Image.open(tmp_path / f"try{i}" / "in.png").size == (6 * scale, 5 * scale)


def test_the_api_offers_bicubic_only_where_it_works(bundled):
    with pytest.raises(HubSRError) as info:
        hubsr.load(DEFAULT_MODELS[3], scale=5)
    assert str(info.value).endswith("no bundled model upscales x5")  # not "; bicubic does"
    with pytest.raises(HubSRError, match="no bundled model upscales x4; bicubic does"):
        hubsr.load(DEFAULT_MODELS[3], scale=4)
    assert hubsr.load("bicubic", scale=4).scale == 4  # as offered


# -- one decode per image ------------------------------------------------------------------------
def test_an_8_bit_image_is_decoded_once(tmp_path, monkeypatch):
    _noise(0).save(tmp_path / "a.png")
    _noise(1).save(tmp_path / "b.jpg")
    real_load, decodes = ImageFile.ImageFile.load, []

    def load(self):
        if self.tile:  # pixels still to decode: a real decode, not a no-op
            decodes.append(self.format)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    assert _run(tmp_path / "a.png", tmp_path / "b.jpg", "-o", tmp_path / "out", *BICUBIC) == 0
    assert sorted(decodes) == ["JPEG", "PNG"]  # the header pass decodes nothing
