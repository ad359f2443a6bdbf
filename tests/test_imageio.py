"""hubsr.imageio: every bad input is a clear HubSRError; saving is all or nothing."""

from __future__ import annotations

import io
import os
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from hubsr.errors import HubSRError
from hubsr.imageio import load_image, save_image_atomic


def _encode(img: Image.Image, fmt: str = "PNG", **params) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def _noise(h: int = 24, w: int = 32, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width x height`` but holds almost no data (a "bomb")."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


# -- loading --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["path", "str", "bytes", "pil"])
def test_load_each_source_kind(tmp_path, kind):
    img = _noise()
    path = tmp_path / "a.png"
    img.save(path)
    src = {"path": path, "str": str(path), "bytes": path.read_bytes(), "pil": Image.open(path)}
    loaded = load_image(src[kind])
    assert loaded.size == (32, 24)
    np.testing.assert_array_equal(np.asarray(loaded), np.asarray(img))


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"this is not an image at all", "not an image"),
        (b"%PDF-1.7\n" + bytes(range(256)) * 4, "not an image"),
    ],
)
def test_non_images(data, message):
    with pytest.raises(HubSRError, match=message):
        load_image(data)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "TIFF"])
def test_truncated(fmt):
    data = _encode(_noise(64, 64), fmt)
    with pytest.raises(HubSRError, match="truncated|corrupt"):
        load_image(data[: len(data) // 2])


def test_corrupt_png_data():
    data = bytearray(_encode(_noise(64, 64)))
    start = data.index(b"IDAT") + 40
    data[start : start + 200] = bytes(200)  # zero out part of the compressed stream
    with pytest.raises(HubSRError, match="corrupt"):
        load_image(bytes(data))


def test_missing_file(tmp_path):
    with pytest.raises(HubSRError, match="cannot read"):
        load_image(tmp_path / "nope.png")


def test_zero_size_pil_image():
    with pytest.raises(HubSRError, match="zero width or height"):
        load_image(Image.new("RGB", (0, 5)))


def test_pixel_limit_is_checked_before_decoding():
    data = _png_header_only(8000, 8000)  # 64 MP claimed, a few bytes of data
    with pytest.raises(HubSRError, match="more than the limit of 50,000,000"):
        load_image(data)
    with pytest.raises(HubSRError, match="limit of 100"):
        load_image(_encode(_noise(11, 10)), max_pixels=100)
    assert load_image(_encode(_noise(10, 10)), max_pixels=100).size == (10, 10)


def test_decompression_bomb_is_an_error_not_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        with pytest.raises(HubSRError, match="more than the limit"):
            load_image(_png_header_only(10_000, 10_000))  # above Pillow's warning threshold
        with pytest.raises(HubSRError, match="too large"):
            load_image(_png_header_only(100_000, 100_000), max_pixels=None)  # Pillow's error


def test_animated_gif_is_refused():
    frames = [Image.fromarray(np.full((8, 8, 3), 80 * i, dtype=np.uint8)) for i in range(3)]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    with pytest.raises(HubSRError, match="animated \\(3 frames\\)"):
        load_image(data)


def test_multi_picture_jpeg_uses_primary_image():
    primary = Image.fromarray(np.full((16, 16, 3), 200, dtype=np.uint8))
    second = Image.fromarray(np.full((16, 16, 3), 20, dtype=np.uint8))
    loaded = load_image(_encode(primary, "MPO", save_all=True, append_images=[second]))
    assert loaded.size == (16, 16)
    assert abs(np.asarray(loaded, dtype=int).mean() - 200) < 3  # JPEG-close to the primary


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_exif_orientation_is_applied(fmt):
    arr = np.zeros((20, 40, 3), dtype=np.uint8)
    arr[:, :20] = 255  # left half white
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    loaded = load_image(_encode(img, fmt, exif=exif))
    assert loaded.size == (20, 40)  # width and height swapped
    upright = np.asarray(loaded.convert("L"), dtype=int)
    assert upright[:20].mean() > 200 and upright[20:].mean() < 50  # white half now on top
    assert loaded.getexif().get(0x0112, 1) == 1


# -- saving ---------------------------------------------------------------------------------------
def test_save_atomic_writes_and_leaves_no_temp(tmp_path):
    img = _noise()
    target = save_image_atomic(img, tmp_path / "out.png")
    assert sorted(os.listdir(tmp_path)) == ["out.png"]
    np.testing.assert_array_equal(np.asarray(Image.open(target)), np.asarray(img))


def test_save_atomic_failure_leaves_nothing(tmp_path):
    with pytest.raises(HubSRError, match="cannot save"):
        save_image_atomic(Image.new("RGBA", (4, 4)), tmp_path / "out.jpg")  # JPEG has no alpha
    assert os.listdir(tmp_path) == []


def test_save_atomic_failure_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    img = _noise()

    def crash(fp, **kwargs):
        fp.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(img, "save", crash)
    with pytest.raises(HubSRError, match="disk full"):
        save_image_atomic(img, target)
    assert os.listdir(tmp_path) == ["out.png"] and target.read_bytes() == b"old"


def test_save_atomic_interrupt_cleans_up(tmp_path, monkeypatch):
    img = _noise()

    def interrupt(fp, **kwargs):
        fp.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(img, "save", interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_image_atomic(img, tmp_path / "out.png")
    assert os.listdir(tmp_path) == []


def test_save_atomic_bad_target(tmp_path):
    with pytest.raises(HubSRError, match="extension"):
        save_image_atomic(_noise(), tmp_path / "out.xyz")
    with pytest.raises(HubSRError, match="cannot write"):
        save_image_atomic(_noise(), tmp_path / "missing" / "out.png")
