"""The edges a new user hits, in one table: each bad (or merely unusual) input, and what
``hubsr upscale`` and the API answer now.

Every row runs the real command line in-process on files made here. The command must exit with
the row's code, print the row's message on one line with no traceback, write exactly the row's
outputs (or leave no output folder it created), never touch its inputs, and leave no temporary
file behind. Rows with one image also say what ``upscale(model, path)`` answers: the result's
kind, or the error.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from hubsr import HubSRError, get_architecture
from hubsr.bundled import DEFAULT_MODEL, bundled_models
from hubsr.cli import main
from hubsr.imageio import read_image, save_image_atomic
from hubsr.pipeline import upscale

BICUBIC = ["--model", "bicubic"]
# PIL holds 8 bits per colour channel, so the path API returns 16-bit colour as a uint16 array.
DEEP_RGB = r"^uint16 array 15x18x3$"
DEEP_RGBA = r"^uint16 array 15x18x4$"
DEEP_LA = r"^uint16 array 15x18x2$"
SIZE = (6, 5)  # every small input is 6 x 5 pixels; bicubic x3 makes it 18 x 15
WROTE_ONE = r"^hubsr: written 1, skipped 0, failed 0 "  # the last line of a run that wrote one


# -- inputs ---------------------------------------------------------------------------------------
def _noise(channels: int, dtype=np.uint8, size=SIZE, seed: int = 0) -> np.ndarray:
    top = np.iinfo(dtype).max + 1
    rng = np.random.default_rng(seed)
    return rng.integers(0, top, (size[1], size[0], channels), dtype=dtype)


def _save(img: Image.Image, name: str, **params) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        img.save(tmp / name, **params)
        return [str(tmp / name)]

    return make


def _pil(mode: str) -> Image.Image:
    if mode == "I;16":
        return Image.fromarray(_noise(1, np.uint16)[:, :, 0])
    if mode in ("I", "F"):
        return Image.fromarray(_noise(1, np.uint16)[:, :, 0].astype(np.int32)).convert(mode)
    if mode in ("LA", "RGBA"):
        return Image.fromarray(_noise(4), "RGBA").convert(mode)
    return Image.fromarray(_noise(3), "RGB").convert(mode)


def _with_transparency() -> Image.Image:
    img = Image.fromarray(_noise(3)).convert("P")
    img.info["transparency"] = 0
    return img


def _deep(channels: int, name: str) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        return [str(save_image_atomic(_noise(channels, np.uint16), tmp / name))]

    return make


def _bytes(name: str, data: bytes) -> Callable[[Path], list[str]]:
    def make(tmp: Path) -> list[str]:
        (tmp / name).write_bytes(data)
        return [str(tmp / name)]

    return make


def _png(**params) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(_noise(3, size=(64, 64))).save(buffer, format="PNG", **params)
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = struct.pack(">I", zlib.crc32(kind + data))
    return struct.pack(">I", len(data)) + kind + data + crc


def _png_header_only(width: int, height: int, bits: int = 8, colour_type: int = 2) -> bytes:
    """A PNG whose header claims ``width x height`` and that holds almost no pixel data."""
    header = struct.pack(">IIBBBBB", width, height, bits, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + b"".join(
        [_chunk(b"IHDR", header), _chunk(b"IDAT", zlib.compress(bytes(16))), _chunk(b"IEND", b"")]
    )


def _zeroed_idat() -> bytes:
    data = bytearray(_png())
    start = data.index(b"IDAT") + 40
    data[start : start + 200] = bytes(200)
    return bytes(data)


def _animated_gif(tmp: Path) -> list[str]:
    frames = [Image.fromarray(_noise(3, seed=i)).convert("P") for i in range(3)]
    frames[0].save(tmp / "anim.gif", save_all=True, append_images=frames[1:], duration=100)
    return [str(tmp / "anim.gif")]


def _small_png(tmp: Path) -> list[str]:
    Image.fromarray(_noise(3)).save(tmp / "a.png")
    return [str(tmp / "a.png")]


def _folder_without_images(tmp: Path) -> list[str]:
    (tmp / "docs").mkdir()
    (tmp / "docs" / "notes.txt").write_text("no images here")
    return [str(tmp / "docs")]


def _name_clash(tmp: Path) -> list[str]:
    Image.fromarray(_noise(3)).save(tmp / "c.png")
    Image.fromarray(_noise(3)).save(tmp / "c.jpg")
    return [str(tmp / "c.png"), str(tmp / "c.jpg")]


def _one_good_one_bad(tmp: Path) -> list[str]:
    (tmp / "bad.png").write_bytes(b"not a png at all")
    return [*_small_png(tmp), str(tmp / "bad.png")]


def _bad_exif(fmt: str) -> bytes:
    """An image whose EXIF block has a bad byte-order mark ("XX", not "II" or "MM")."""
    exif = Image.Exif()
    exif[0x0112] = 6  # an orientation, so that the EXIF block has to be read
    raw = exif.tobytes()  # b"Exif\0\0" + a TIFF header: "MM\0*" or "II*\0"
    assert raw[6:8] in (b"MM", b"II")
    buffer = io.BytesIO()
    params = {"lossless": True} if fmt == "WEBP" else {}
    Image.fromarray(_noise(3)).save(buffer, format=fmt, exif=raw[:6] + b"XX" + raw[8:], **params)
    return buffer.getvalue()


def _cut_animation(fmt: str, fraction: float) -> bytes:
    """The first ``fraction`` of a 3-frame animation (GIF) or 3-page TIFF: a copy cut short."""
    frames = [Image.fromarray(_noise(3, seed=i)) for i in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format=fmt, save_all=True, append_images=frames[1:])
    data = buffer.getvalue()
    return data[: int(len(data) * fraction)]


# Over Pillow's 1 MiB limit on a PNG's ICC chunk (random bytes: zlib cannot shrink them).
BIG_ICC = np.random.default_rng(1).integers(0, 256, 1_200_000, dtype=np.uint8).tobytes()


def _result_of_another_picture(tmp: Path) -> list[str]:
    """pics/IMG_1.jpg, and beside it an unrelated pics/IMG_1.png: where its result would go."""
    (tmp / "pics").mkdir()
    Image.fromarray(_noise(3, seed=1)).save(tmp / "pics" / "IMG_1.png")
    Image.fromarray(_noise(3)).save(tmp / "pics" / "IMG_1.jpg")
    return [str(tmp / "pics" / "IMG_1.jpg")]


def _phone_folder(tmp: Path, photos: int = 1) -> list[str]:
    """A folder as a phone leaves it: a JPEG (or none), a HEIC photo, a note."""
    (tmp / "phone").mkdir()
    if photos:
        Image.fromarray(_noise(3)).save(tmp / "phone" / "IMG_1.jpg")
    (tmp / "phone" / "IMG_2.heic").write_bytes(b"\0\0\0\x18ftypheic" + bytes(64))
    (tmp / "phone" / "notes.txt").write_text("not an image")
    return [str(tmp / "phone")]


# -- models ---------------------------------------------------------------------------------------
def _tiny(tmp: Path, scale: int = 3) -> Path:
    folder = tmp / "models" / f"tiny-x{scale}"
    if not folder.exists():
        torch.manual_seed(0)
        espcn = get_architecture("espcn")
        espcn(scale=scale, channels=(8, 4), kernel_sizes=(3, 3, 3)).save_pretrained(folder)
    return folder


def _model_flag(tweak: Callable[[Path], None] | None = None) -> Callable[[Path], list[str]]:
    """``--model`` with a tiny model folder, after ``tweak`` has broken it."""

    def flags(tmp: Path) -> list[str]:
        folder = _tiny(tmp)
        if tweak is not None:
            tweak(folder)
        return ["--model", str(folder)]

    return flags


def _no_weights(folder: Path) -> None:
    (folder / "model.safetensors").unlink()


def _no_config(folder: Path) -> None:
    (folder / "config.json").unlink()


def _corrupt_weights(folder: Path) -> None:
    (folder / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{garbage")


def _mismatched_weights(folder: Path) -> None:
    other = get_architecture("espcn")(scale=3, channels=(16, 4), kernel_sizes=(3, 3, 3))
    save_file(other.state_dict(), str(folder / "model.safetensors"))


def _unknown_architecture(folder: Path) -> None:
    (folder / "config.json").write_text('{"architecture": "waifu2x", "scale": 3}')


def _image_in_a_folder(tmp: Path) -> list[str]:
    _small_png(tmp)
    return [str(tmp)]


# -- output folders: each is given the work folder and pytest's monkeypatch -----------------------
def _out(relative: str) -> Callable[..., Path]:
    return lambda tmp, monkeypatch: tmp / relative


def _a_file(tmp: Path, monkeypatch=None) -> Path:
    (tmp / "results.png").write_text("a file, not a folder")
    return tmp / "results.png"


def _under_a_file(tmp: Path, monkeypatch) -> Path:
    return _a_file(tmp) / "out"


def _no_permission(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder the user may not write into. Tests run as root, which may write anywhere, so
    os.access answers as it would for anyone else on a 0o555 folder."""
    locked = tmp / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode, **kw: Path(path) != locked and real_access(path, mode)
    )
    return locked


def _existing_result_folder(tmp: Path, monkeypatch) -> Path:
    (tmp / "out" / "a.png").mkdir(parents=True)
    return tmp / "out"


# -- the table ------------------------------------------------------------------------------------
@dataclass
class Case:
    make: Callable[[Path], list[str]]  # writes the inputs, returns the INPUT arguments
    code: int  # exit code of `hubsr upscale`
    err: str  # a regex the one-line message (or the first error line) must match
    outputs: dict[str, str] = field(default_factory=dict)  # file -> mode, depth and size
    flags: list[str] | Callable[[Path], list[str]] = field(default_factory=lambda: BICUBIC)
    out: Callable[..., Path] = _out("out")  # the -o folder
    api: str | None = None  # a regex for what upscale(bicubic x3, path) answers (one image)


CASES = {
    # Corrupt files and files that are not images.
    "empty file": Case(_bytes("empty.png", b""), 1, r"empty\.png is empty \(0 bytes\)",
                       api="^error: .*is empty"),
    "text as .png": Case(_bytes("notes.png", b"hello"), 1,
                         r"notes\.png is not an image file", api="^error: .*is not an image file"),
    "PDF as .jpg": Case(_bytes("scan.jpg", b"%PDF-1.7\n" + bytes(range(256)) * 4), 1,
                        r"scan\.jpg is not an image file", api="^error: .*is not an image file"),
    "text file named": Case(_bytes("notes.txt", b"plain text"), 1,
                            r"notes\.txt is not an image file"),
    "truncated PNG": Case(_bytes("cut.png", _png()[:2000]), 1,
                          r"cut\.png is truncated or corrupt",
                          api="^error: .*is truncated or corrupt"),
    "corrupt PNG data": Case(_bytes("zeroed.png", _zeroed_idat()), 1,
                             r"zeroed\.png is truncated or corrupt"),
    "corrupt PNG header": Case(_bytes("head.png", _png()[:8] + bytes(40)), 1,
                               r"head\.png is (corrupt|not an image file)"),
    "animated GIF": Case(_animated_gif, 1, r"anim\.gif is animated \(3 frames\)",
                         api="^error: .*is animated"),
    "missing input": Case(lambda tmp: [str(tmp / "nope.png")], 2, r"nope\.png does not exist"),
    "folder without images": Case(_folder_without_images, 2, r"docs holds no image files"),
    "one good, one bad": Case(_one_good_one_bad, 1,
                              r"bad\.png is not an image file[\s\S]*written 1, skipped 0, failed 1",
                              outputs={"a.png": "RGB 8-bit 18x15"}),
    # What Pillow raises on bad metadata or a cut multi-frame file is a HubSRError here.
    "PNG, bad EXIF byte order": Case(_bytes("exif.png", _bad_exif("PNG")), 1,
                                     r"exif\.png has EXIF metadata too corrupt to tell which way",
                                     api="^error: .*EXIF metadata too corrupt"),
    "WebP, bad EXIF byte order": Case(_bytes("exif.webp", _bad_exif("WEBP")), 1,
                                      r"exif\.webp has EXIF metadata too corrupt",
                                      api="^error: .*EXIF metadata too corrupt"),
    "truncated animated GIF": Case(_bytes("cut.gif", _cut_animation("GIF", 0.4)), 1,
                                   r"cut\.gif is truncated or corrupt",
                                   api="^error: .*cut\\.gif is truncated or corrupt"),
    "truncated 3-page TIFF": Case(_bytes("cut.tif", _cut_animation("TIFF", 0.3)), 1,
                                  r"cut\.tif is truncated or corrupt",
                                  api="^error: .*cut\\.tif is truncated or corrupt"),
    # ICC profiles over 1 MiB: read, and left out of a PNG result (Pillow could not reopen it).
    "PNG, 1.2 MB ICC profile": Case(_save(_pil("RGB"), "icc.png", icc_profile=BIG_ICC), 0,
                                    r"hubsr: note: .*icc\.png: the ICC colour profile "
                                    r"\(1,200,000 bytes\) is left out of .*out/icc\.png: a PNG",
                                    {"icc.png": "RGB 8-bit 18x15"}, api="^RGB$"),
    "JPEG, 1.2 MB ICC profile": Case(_save(_pil("RGB"), "icc.jpg", icc_profile=BIG_ICC), 0,
                                     r"hubsr: note: .*icc\.jpg: the ICC colour profile .* left "
                                     r"out of .*out/icc\.png", {"icc.png": "RGB 8-bit 18x15"},
                                     api="^RGB$"),
    "TIFF, 1.2 MB ICC profile": Case(_save(_pil("RGB"), "icc.tif", icc_profile=BIG_ICC), 0,
                                     WROTE_ONE, {"icc.tif": "RGB 8-bit 18x15"}, api="^RGB$"),
    # Nothing the run did not make is replaced: pics/*.jpg -o pics next to an unrelated .png.
    "-o holds a result's name": Case(_result_of_another_picture, 2,
                                     r"1 result already exists in .*pics \(IMG_1\.png\); nothing "
                                     r"was written: --overwrite replaces them, --skip-existing "
                                     r"keeps them and upscales the rest",
                                     out=lambda tmp, mp: tmp / "pics"),
    # Other files in a folder are named, not skipped in silence.
    "folder with .heic and .txt": Case(_phone_folder, 0, r"^hubsr: note: left out 2 files in a "
                                       r"format hubsr cannot read: IMG_2\.heic, notes\.txt$",
                                       {"IMG_1.png": "RGB 8-bit 18x15"}),
    "folder of .heic only": Case(lambda tmp: _phone_folder(tmp, photos=0), 2,
                                 r"phone holds no image files; its other files: IMG_2\.heic, "
                                 r"notes\.txt"),
    # Huge images: hubsr's limit, from the header, in any case (Pillow's limit is 178,956,970).
    "huge PNG (400 MP)": Case(_bytes("huge.png", _png_header_only(20_000, 20_000)), 1,
                              r"huge\.png has 20000x20000 = 400,000,000 pixels, more than "
                              r"--max-pixels 50,000,000; raise --max-pixels \(0: no limit\)",
                              api="^error: .*more than the limit of 50,000,000"),
    "huge PNG, --max-pixels 0": Case(_bytes("huge.png", _png_header_only(14_000, 14_000, 1, 0)),
                                     1, r"huge\.png is truncated",  # no limit: decoded, and cut
                                     flags=[*BICUBIC, "--max-pixels", "0"]),
    "over --max-pixels 20": Case(_small_png, 1, r"6x5 = 30 pixels, more than --max-pixels 20",
                                 flags=[*BICUBIC, "--max-pixels", "20"]),
    "negative --max-pixels": Case(_small_png, 2, r"--max-pixels must be 0 \(no limit\) or more",
                                  flags=[*BICUBIC, "--max-pixels", "-1"]),
    # Image modes: each has its answer; none is refused but float.
    "mode L": Case(_save(_pil("L"), "l.png"), 0, WROTE_ONE,
                   {"l.png": "L 8-bit 18x15"}, api="^L$"),
    "mode LA": Case(_save(_pil("LA"), "la.png"), 0, WROTE_ONE,
                    {"la.png": "LA 8-bit 18x15"}, api="^LA$"),
    "mode RGBA": Case(_save(_pil("RGBA"), "rgba.png"), 0, WROTE_ONE,
                      {"rgba.png": "RGBA 8-bit 18x15"}, api="^RGBA$"),
    "mode P": Case(_save(_pil("P"), "p.png"), 0, WROTE_ONE,
                   {"p.png": "RGB 8-bit 18x15"}, api="^RGB$"),
    "mode P, transparent": Case(_save(_with_transparency(), "pt.png"), 0, WROTE_ONE,
                                {"pt.png": "RGBA 8-bit 18x15"}, api="^RGBA$"),
    "mode 1 (bilevel)": Case(_save(_pil("1"), "bw.png"), 0, WROTE_ONE,
                             {"bw.png": "L 8-bit 18x15"}, api="^L$"),
    "mode I;16": Case(_save(_pil("I;16"), "grey16.png"), 0, WROTE_ONE,
                      {"grey16.png": "I;16 16-bit 18x15"}, api="^I;16$"),
    "mode I (32-bit TIFF)": Case(_save(_pil("I"), "int.tif"), 0, WROTE_ONE,
                                 {"int.tif": "I 32-bit 18x15"}, api="^I$"),
    "mode CMYK (JPEG)": Case(_save(_pil("CMYK"), "cmyk.jpg", quality=95), 0, WROTE_ONE,
                             {"cmyk.png": "RGB 8-bit 18x15"}, api="^RGB$"),
    "mode CMYK (TIFF)": Case(_save(_pil("CMYK"), "cmyk.tif"), 0, WROTE_ONE,
                             {"cmyk.tif": "RGB 8-bit 18x15"}, api="^RGB$"),
    "mode F (float TIFF)": Case(_save(_pil("F"), "float.tif"), 1,
                                r"float\.tif: unsupported image mode 'F'",
                                api="^error: unsupported image mode 'F'"),
    # 16 bits per colour channel: kept, by the CLI and by the path API.
    "16-bit RGB PNG": Case(_deep(3, "rgb16.png"), 0, WROTE_ONE,
                           {"rgb16.png": "RGB 16-bit 18x15"}, api=DEEP_RGB),
    "16-bit RGBA PNG": Case(_deep(4, "rgba16.png"), 0, WROTE_ONE,
                            {"rgba16.png": "RGBA 16-bit 18x15"}, api=DEEP_RGBA),
    "16-bit grey+alpha PNG": Case(_deep(2, "la16.png"), 0, WROTE_ONE,
                                  {"la16.png": "LA 16-bit 18x15"}, api=DEEP_LA),
    "16-bit RGB TIFF": Case(_deep(3, "rgb16.tif"), 0, WROTE_ONE,
                            {"rgb16.tif": "RGB 16-bit 18x15"}, api=DEEP_RGB),
    "16-bit RGBA TIFF": Case(_deep(4, "rgba16.tiff"), 0, WROTE_ONE,
                             {"rgba16.tiff": "RGBA 16-bit 18x15"}, api=DEEP_RGBA),
    # Scales.
    "--scale 2, x3 model": Case(_small_png, 2, r"--scale 2 does not match .*tiny-x3, which "
                                r"upscales x3; (bundled x2 models: |no bundled model upscales x2)",
                                flags=lambda tmp: [*_model_flag()(tmp), "--scale", "2"]),
    "--scale 5, bicubic": Case(_small_png, 2, r"--scale 5: Bicubic supports scales 2, 3 and 4",
                               flags=[*BICUBIC, "--scale", "5"]),
    # Hints name only what works: nothing upscales x5 (test_nothing_lost tries each hint).
    "--scale 5": Case(_small_png, 2, r"no bundled x5 model found .*; nor does bicubic \(Bicubic "
                      r"supports scales 2, 3 and 4, got 5\); name a x5 model with --model",
                      flags=["--scale", "5"]),
    "--scale 5, x3 model": Case(_small_png, 2, r"--scale 5 does not match .*tiny-x3, which "
                                r"upscales x3; no bundled model upscales x5; nor does bicubic",
                                flags=lambda tmp: [*_model_flag()(tmp), "--scale", "5"]),
    "--scale 0": Case(_small_png, 2, r"--scale must be a positive integer, got 0",
                      flags=[*BICUBIC, "--scale", "0"]),
    # Models and weights.
    "no model.safetensors": Case(_small_png, 2, r"model folder .*tiny-x3 has no "
                                 r"model\.safetensors", flags=_model_flag(_no_weights)),
    "no config.json": Case(_small_png, 2, r"model folder .*tiny-x3 has no config\.json",
                           flags=_model_flag(_no_config)),
    "corrupt weights": Case(_small_png, 2, r"model\.safetensors is not a readable safetensors",
                            flags=_model_flag(_corrupt_weights)),
    "mismatched weights": Case(_small_png, 2, r"weights in .* do not fit ESPCN.*mis-shaped keys",
                               flags=_model_flag(_mismatched_weights)),
    "unknown architecture": Case(_small_png, 2, r"unknown architecture 'waifu2x'; known "
                                 r"architectures: .*espcn",
                                 flags=_model_flag(_unknown_architecture)),
    "--model a file": Case(_small_png, 2, r"a\.png is a file; pass the model folder",
                           flags=lambda tmp: ["--model", str(tmp / "a.png")]),
    "--model typo": Case(_small_png, 2, "--model edsr: no model folder or bundled model has this "
                         "name \\(a Hub repo id is user/repo\\); did you mean --model edsr-x3\\? "
                         "bundled models: .*bicubic$", flags=["--model", "edsr"]),
    "--model repo id": Case(_small_png, 2, r"someone/sr-model is not a model folder and is not in "
                            r"the local Hub cache; downloads are off \(HF_HUB_OFFLINE=1 or "
                            r"--offline\): fetch it once online \(hf download someone/sr-model\)",
                            flags=["--model", "someone/sr-model", "--offline"]),
    # Output folders: checked before any work.
    "-o a file": Case(_small_png, 2, r"-o .*results\.png is a file, not a folder", out=_a_file),
    "-o under a file": Case(_small_png, 2, r"cannot create .*results\.png/out: .*results\.png "
                            r"is a file, not a folder", out=_under_a_file),
    "-o no permission": Case(_small_png, 2, r"cannot write into .*locked: permission denied",
                             out=_no_permission),
    "-o new, no permission": Case(_small_png, 2, r"cannot create .*locked/new/out: no "
                                  r"permission to write in .*locked",
                                  out=lambda tmp, mp: _no_permission(tmp, mp) / "new" / "out"),
    # /sys/fs: root passes os.access, yet may create nothing there; the write test finds it.
    "-o in /sys/fs": Case(_small_png, 2, r"cannot write into /sys/fs: ([Pp]ermission denied|"
                          r"[Oo]peration not permitted)", out=lambda tmp, mp: Path("/sys/fs")),
    "-o the input folder": Case(_image_in_a_folder, 2, r"would overwrite its input",
                                out=lambda tmp, mp: tmp),
    "-o with a folder a.png": Case(_small_png, 2, r"the result of .*a\.png would replace the "
                                   r"folder .*out/a\.png", out=_existing_result_folder),
    "two inputs, one output": Case(_name_clash, 2, r"c\.png and .*c\.jpg would both be written"),
    # Flags.
    "--tile 0": Case(_small_png, 2, r"--tile must be a positive number of pixels, got 0; leave "
                     r"--tile out", flags=[*BICUBIC, "--tile", "0"]),
    "--tile -3": Case(_small_png, 2, r"--tile must be a positive number of pixels, got -3",
                      flags=[*BICUBIC, "--tile", "-3"]),
    "--tile-overlap -1": Case(_small_png, 2, r"--tile-overlap must be 0 or more, got -1",
                              flags=[*BICUBIC, "--tile-overlap", "-1"]),
    "--tile 8 --tile-overlap 8": Case(_small_png, 2, r"--tile \(8\) must be larger than "
                                      r"--tile-overlap \(8\)",
                                      flags=[*BICUBIC, "--tile", "8", "--tile-overlap", "8"]),
    "--device toaster": Case(_small_png, 2, r"unknown device 'toaster'; use 'cpu', 'cuda'",
                             flags=[*BICUBIC, "--device", "toaster"]),
    "--dtype fp8": Case(_small_png, 2, r"argument --dtype: invalid choice: 'fp8'",
                        flags=[*BICUBIC, "--dtype", "fp8"]),
    "--tile abc": Case(_small_png, 2, r"argument --tile: invalid int value: 'abc'",
                       flags=[*BICUBIC, "--tile", "abc"]),
    "--tiles (unknown flag)": Case(_small_png, 2, r"unrecognized arguments: --tiles 256",
                                   flags=[*BICUBIC, "--tiles", "256"]),
}  # fmt: skip

if DEFAULT_MODEL not in bundled_models():  # a checkout without model_cards/: no close match
    CASES["--model typo"].err = "--model edsr: no model folder"


def describe(path: Path) -> str:
    """ "MODE N-bit WxH" of an output file, as hubsr reads it back."""
    pixels = read_image(path).pixels
    if isinstance(pixels, np.ndarray):
        mode = {2: "LA", 3: "RGB", 4: "RGBA"}[pixels.shape[2]]
        return f"{mode} 16-bit {pixels.shape[1]}x{pixels.shape[0]}"
    bits = {"I;16": 16, "I": 32}.get(pixels.mode, 8)
    return f"{pixels.mode} {bits}-bit {pixels.width}x{pixels.height}"


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "/"
        for p in sorted(root.rglob("*"))
    }


def _api_answer(path: str) -> str:
    """What ``upscale(bicubic x3, path)`` answers: the result's mode and any warning, or the
    error."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = upscale(get_architecture("bicubic")(scale=3), path)
        except HubSRError as exc:
            return f"error: {exc}"
    if isinstance(result, np.ndarray):
        kind = f"{result.dtype} array {'x'.join(map(str, result.shape))}"
    else:
        kind = result.mode
    return ", ".join([kind, *(f"warning: {w.message}" for w in caught)])


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input(case: Case, tmp_path, monkeypatch, capsys):
    work = tmp_path / "work"
    work.mkdir()
    inputs = case.make(work)
    flags = case.flags(work) if callable(case.flags) else case.flags
    out = case.out(work, monkeypatch)
    existed, before = out.exists(), _snapshot(work)

    try:
        code = main(["upscale", *inputs, "-o", str(out), *flags])
    except SystemExit as exit_info:  # argparse's own errors: usage, then one line
        code = exit_info.code
    err = capsys.readouterr().err

    assert code == case.code, err
    assert "Traceback" not in err
    assert re.search(case.err, err, re.MULTILINE), err
    if code == 2:  # refused as a whole: one line that names the problem (after argparse's usage)
        lines = [line for line in err.splitlines() if not line.startswith(("usage:", " "))]
        assert len(lines) == 1 and "error: " in lines[0], err
    # Nothing lost: every file there before is there, unchanged; no temporary file is left.
    after = _snapshot(work)
    assert {name: after.get(name) for name in before} == before
    assert not [name for name in after if name.endswith(".tmp")]
    if case.outputs:
        assert {p.name: describe(p) for p in sorted(out.iterdir())} == case.outputs
    elif not existed:
        assert not out.exists()  # a folder the command made is removed again
    if case.api is not None:
        answer = _api_answer(inputs[0])
        assert re.search(case.api, answer), answer
