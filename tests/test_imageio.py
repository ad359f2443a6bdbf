"""hubsr.imageio: every bad input is a clear HubSRError; saving is all or nothing."""

from __future__ import annotations

import io
import os
import struct
import time
import warnings
import zlib

import numpy as np
import png
import pytest
import tifffile
from PIL import Image

from hubsr.errors import HubSRError, TooManyPixelsError
from hubsr.imageio import (
    list_images,
    load_image,
    read_header,
    read_image,
    result_icc_profile,
    save_image_atomic,
    scan_folder,
)


def _encode(img: Image.Image, fmt: str = "PNG", **params) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def _noise(h: int = 24, w: int = 32, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = struct.pack(">I", zlib.crc32(kind + data))
    return struct.pack(">I", len(data)) + kind + data + crc


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width x height`` but holds almost no data (a "bomb")."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + _chunk(b"IEND", b"")
    )


def _png_bilevel(width: int, height: int) -> bytes:
    """A valid, complete, all-black 1-bit PNG (cheap to make at any size)."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = bytes(1 + (width + 7) // 8)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def _png16(pixels: np.ndarray, before_idat: bytes = b"") -> bytes:
    """A 16-bit PNG written here, independently of pypng and Pillow: each row uses the next of
    the five filter types (none, sub, up, average, Paeth), so every unfilter path is read."""
    height, width, channels = pixels.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    raw = pixels.astype(">u2").reshape(height, -1).view(np.uint8).astype(np.int64)
    bpp = 2 * channels
    rows = []
    for y in range(height):
        x = raw[y]
        left = np.concatenate([np.zeros(bpp, np.int64), x[:-bpp]])
        up = raw[y - 1] if y else np.zeros_like(x)
        up_left = np.concatenate([np.zeros(bpp, np.int64), up[:-bpp]])
        kind = y % 5
        predictor = [0, left, up, (left + up) // 2, _paeth(left, up, up_left)][kind]
        rows.append(bytes([kind]) + ((x - predictor) % 256).astype(np.uint8).tobytes())
    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + before_idat
        + _chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + _chunk(b"IEND", b"")
    )


def _every_16_bit_value(channels: int, seed: int = 0) -> np.ndarray:
    """256 x 256 pixels in which each channel holds each of the 65536 values once."""
    rng = np.random.default_rng(seed)
    planes = [rng.permutation(65536).astype(np.uint16).reshape(256, 256) for _ in range(channels)]
    return np.stack(planes, axis=2)


def _read_png16(path) -> tuple[np.ndarray, dict]:
    width, height, rows, info = png.Reader(filename=str(path)).read()
    return np.vstack([np.asarray(r, dtype=np.uint16) for r in rows]).reshape(
        height, width, -1
    ), info


def _tiff16(pixels: np.ndarray, **kwargs) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, pixels, metadata=None, **kwargs)
    return buffer.getvalue()


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


@pytest.mark.parametrize("size", [(10_000, 10_000), (20_000, 20_000), (100_000, 100_000)])
def test_only_hubsrs_limit_speaks_and_fast(size):
    """Above Pillow's warning (89 MP) and error (179 MP) thresholds: hubsr's own message, from
    the header, in well under a second; never Pillow's "decompression bomb" or a warning."""
    data = _png_header_only(*size)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        for read in (load_image, read_image, read_header):
            start = time.perf_counter()
            if read is read_header:
                assert (read(data).width, read(data).height) == size
            else:
                with pytest.raises(
                    HubSRError, match=f"{size[0]}x{size[1]} = .* limit of 50,000,000"
                ):
                    read(data)
            assert time.perf_counter() - start < 1.0
    assert Image.MAX_IMAGE_PIXELS == 89_478_485  # Pillow's own limit is put back


@pytest.mark.parametrize("no_limit", [None, 0])
def test_no_limit_means_none_not_pillows(no_limit):
    """A valid 13400x13400 image: 179.6 MP, just above Pillow's error threshold (178,956,970)."""
    img = load_image(_png_bilevel(13_400, 13_400), max_pixels=no_limit)
    assert img.size == (13_400, 13_400) and img.getextrema() == (0, 0)
    assert Image.MAX_IMAGE_PIXELS == 89_478_485
    with pytest.raises(HubSRError, match="179,560,000 pixels, more than the limit of 179,559,999"):
        load_image(_png_bilevel(13_400, 13_400), max_pixels=13_400**2 - 1)


@pytest.mark.parametrize("bad", [-1, 1.5, "100", True])
def test_bad_limit_is_refused(bad):
    with pytest.raises(HubSRError, match="max_pixels must be"):
        load_image(_encode(_noise()), max_pixels=bad)


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


def test_read_header_reads_no_pixels():
    header = read_header(_png_header_only(300, 200))  # no pixel data: decoding would fail
    assert (header.width, header.height, header.pixels) == (300, 200, 60_000)
    assert (header.format, header.mode, header.deep_colour, header.frames) == (
        "PNG",
        "RGB",
        False,
        1,
    )
    with pytest.raises(HubSRError, match="not an image"):
        read_header(b"plain text")


# -- 16 bits per colour channel -------------------------------------------------------------------
@pytest.mark.parametrize("channels", [2, 3, 4])
def test_16_bit_png_keeps_every_value(channels):
    pixels = _every_16_bit_value(channels)
    data = _png16(pixels)
    header = read_header(data)
    assert header.deep_colour and (header.width, header.height) == (256, 256)
    loaded = read_image(data)
    assert loaded.pixels.dtype == np.uint16 and loaded.pixels.shape == (256, 256, channels)
    np.testing.assert_array_equal(loaded.pixels, pixels)
    # Pillow, through load_image, keeps the top byte of each value only, and says so.
    with pytest.warns(UserWarning, match="16 bits per colour channel.*read_image"):
        top = np.asarray(load_image(data))
    grey_alpha_as_rgba = top[:, :, [0, 3]] if channels == 2 else top  # Pillow: LA;16 -> RGBA
    np.testing.assert_array_equal(grey_alpha_as_rgba, pixels >> 8)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"planarconfig": "separate"},
        {"compression": "zlib"},
        {"compression": "zlib", "predictor": True},
        {"byteorder": ">"},
    ],
    ids=["contig", "planar", "deflate", "deflate-predictor", "big-endian"],
)
def test_16_bit_tiff_keeps_every_value(kwargs):
    pixels = _every_16_bit_value(3)
    stored = np.moveaxis(pixels, 2, 0) if kwargs.get("planarconfig") else pixels
    data = _tiff16(stored, photometric="rgb", **kwargs)
    assert read_header(data).deep_colour
    np.testing.assert_array_equal(read_image(data).pixels, pixels)
    with pytest.warns(UserWarning, match="16 bits per colour channel"):
        top = np.asarray(load_image(data))
    if "planarconfig" not in kwargs:  # Pillow 12 misplaces the samples of planar 16-bit RGB
        np.testing.assert_array_equal(top, pixels >> 8)


def test_16_bit_tiff_alpha_straight_and_premultiplied():
    rng = np.random.default_rng(1)
    rgba = rng.integers(0, 65536, (16, 16, 4), dtype=np.uint16)
    straight = _tiff16(rgba, photometric="rgb", extrasamples=["unassalpha"])
    np.testing.assert_array_equal(read_image(straight).pixels, rgba)
    alpha = rgba[:, :, 3:].astype(np.float64)
    premultiplied = np.concatenate(
        [np.round(rgba[:, :, :3] * alpha / 65535), alpha], axis=2
    ).astype(np.uint16)
    loaded = read_image(_tiff16(premultiplied, photometric="rgb", extrasamples=["assocalpha"]))
    colour = loaded.pixels[:, :, :3].astype(int)
    visible = rgba[:, :, 3] > 2000  # where premultiplying kept enough precision to undo it
    assert np.abs(colour - rgba[:, :, :3])[visible].max() <= 65535 / 2000
    np.testing.assert_array_equal(loaded.pixels[:, :, 3], rgba[:, :, 3])


def test_16_bit_tiff_that_needs_imagecodecs_is_refused_clearly():
    try:
        import imagecodecs  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("imagecodecs is installed: tifffile decodes LZW itself")
    data = bytearray(_tiff16(_every_16_bit_value(3)[:8, :8], photometric="rgb"))
    tiff = tifffile.TiffFile(io.BytesIO(bytes(data)))
    tag = tiff.pages[0].tags["Compression"]
    tiff.close()
    struct.pack_into("<H", data, tag.valueoffset, 5)  # Compression: LZW
    assert read_header(bytes(data)).deep_colour
    with pytest.raises(HubSRError, match="16-bit colour TIFF.*pip install imagecodecs"):
        read_image(bytes(data))


def test_16_bit_png_colour_key_becomes_alpha():
    pixels = _every_16_bit_value(3)[:16, :16]
    key = tuple(int(v) for v in pixels[3, 5])
    data = _png16(pixels, before_idat=_chunk(b"tRNS", struct.pack(">3H", *key)))
    loaded = read_image(data).pixels
    assert loaded.shape == (16, 16, 4)
    np.testing.assert_array_equal(loaded[:, :, :3], pixels)
    expected_alpha = np.where(np.all(pixels == key, axis=2), 0, 65535)
    np.testing.assert_array_equal(loaded[:, :, 3], expected_alpha)
    assert loaded[3, 5, 3] == 0


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_orientation_matches_pillows(fmt, orientation):
    pixels = _every_16_bit_value(3)[:12, :20]
    if fmt == "PNG":
        data = _png16(
            pixels, before_idat=_chunk(b"eXIf", _exif(orientation).removeprefix(b"Exif\0\0"))
        )
    else:
        data = _tiff16(pixels, photometric="rgb", extratags=[(274, "H", 1, orientation, True)])
    deep = read_image(data).pixels
    with pytest.warns(UserWarning):
        upright_8_bit = np.asarray(load_image(data))  # Pillow's exif_transpose, 8 bits
    assert deep.shape[:2] == upright_8_bit.shape[:2] == ((12, 20) if orientation < 5 else (20, 12))
    np.testing.assert_array_equal(deep >> 8, upright_8_bit)


# Not 16-bit grey + alpha TIFF: Pillow cannot open those, so hubsr cannot read them back.
@pytest.mark.parametrize(
    ("suffix", "channels"), [(".png", 1), (".png", 2), (".png", 3), (".png", 4), (".tif", 1),
                             (".tif", 3), (".tif", 4)]
)  # fmt: skip
def test_save_16_bit_arrays_round_trip(tmp_path, suffix, channels):
    pixels = _every_16_bit_value(channels)
    icc = b"not really a profile, but bytes to carry"
    path = save_image_atomic(pixels, tmp_path / f"deep{suffix}", icc_profile=icc)
    assert sorted(os.listdir(tmp_path)) == [path.name]
    loaded = read_image(path)
    result = loaded.pixels
    if isinstance(result, Image.Image):  # 16-bit grey is a PIL mode
        assert result.mode.startswith("I;16")
        result = np.asarray(result)[:, :, None]
    np.testing.assert_array_equal(result, pixels)
    assert loaded.icc_profile == icc
    # An independent reader agrees: pypng for PNG, tifffile for TIFF.
    if suffix == ".png":
        independent, info = _read_png16(path)
        assert info["bitdepth"] == 16
    else:
        independent = tifffile.imread(path).reshape(pixels.shape)
    np.testing.assert_array_equal(independent, pixels)


def test_save_arrays_8_bit_and_refusals(tmp_path):
    arr = np.asarray(_noise())
    np.testing.assert_array_equal(
        np.asarray(Image.open(save_image_atomic(arr, tmp_path / "a.bmp"))), arr
    )
    deep = np.zeros((4, 4, 3), dtype=np.uint16)
    with pytest.raises(HubSRError, match="JPEG cannot hold 16 bits per colour channel"):
        save_image_atomic(deep, tmp_path / "deep.jpg")
    with pytest.raises(HubSRError, match="array dtype float32"):
        save_image_atomic(deep.astype(np.float32), tmp_path / "f.png")
    with pytest.raises(HubSRError, match="array shape"):
        save_image_atomic(np.zeros((4, 4, 5), dtype=np.uint8), tmp_path / "five.png")
    assert sorted(os.listdir(tmp_path)) == ["a.bmp"]


# -- bad files: one error type, whatever Pillow raised ------------------------------------------
def _animation(fmt: str) -> bytes:
    frames = [_noise(5, 6, seed=i) for i in range(3)]
    return _encode(frames[0], fmt, save_all=True, append_images=frames[1:])


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's "Truncated File Read", ...
@pytest.mark.parametrize("fmt", ["GIF", "TIFF", "PNG", "WEBP"])
def test_every_cut_of_a_multi_frame_file_is_a_hubsr_error(fmt):
    """Counting the frames of a cut GIF raised IndexError, of a cut TIFF TypeError or
    SyntaxError: every prefix of the file must load or raise HubSRError, in every reader."""
    data = _animation(fmt)
    for end in range(1, len(data)):
        for read in (read_header, read_image, load_image):
            try:
                read(data[:end])
            except HubSRError:
                pass


def _exif_with_bad_byte_order() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6
    raw = exif.tobytes()  # b"Exif\0\0" + "MM" or "II" + ...
    return raw[:6] + b"XX" + raw[8:]


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_corrupt_exif_is_a_hubsr_error(fmt):
    params = {"lossless": True} if fmt == "WEBP" else {}
    data = _encode(_noise(5, 6), fmt, exif=_exif_with_bad_byte_order(), **params)
    assert read_header(data).width == 6  # the header has no EXIF to read
    for read in (read_image, load_image):
        with pytest.raises(HubSRError, match="EXIF metadata too corrupt to tell which way up"):
            read(data)


BIG_ICC = np.random.default_rng(1).integers(0, 256, 1_200_000, dtype=np.uint8).tobytes()


def test_a_png_with_a_large_profile_is_read():
    """Pillow's own limit (1 MiB) made this valid PNG "corrupt"; hubsr reads it, profile and
    all, and puts Pillow's limit back."""
    data = _encode(_noise(5, 6), icc_profile=BIG_ICC)
    with pytest.raises(ValueError, match="MAX_TEXT_CHUNK"):
        Image.open(io.BytesIO(data))
    assert read_header(data).width == 6
    loaded = read_image(data)
    assert loaded.icc_profile == BIG_ICC and loaded.pixels.size == (6, 5)
    from PIL import PngImagePlugin

    assert PngImagePlugin.MAX_TEXT_CHUNK == 1024 * 1024


@pytest.mark.parametrize("depth", [8, 16])
def test_a_png_carries_a_profile_pillow_can_read_back_and_no_larger(tmp_path, depth):
    pixels = np.asarray(_noise(5, 6))
    if depth == 16:
        pixels = pixels.astype(np.uint16) * 257  # written by pypng, not Pillow
    fits = BIG_ICC[: 1024 * 1024]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        save_image_atomic(pixels, tmp_path / "fits.png", icc_profile=fits)
    with pytest.warns(UserWarning, match=r"\(1,200,000 bytes\) is left out of .*big\.png"):
        save_image_atomic(pixels, tmp_path / "big.png", icc_profile=BIG_ICC)
    for name, icc in [("fits.png", fits), ("big.png", None)]:
        with Image.open(tmp_path / name) as img:  # with Pillow's default limits
            img.load()
            assert img.info.get("icc_profile") == icc
        assert read_image(tmp_path / name).icc_profile == icc
    # A PIL image's own profile follows the same rule.
    img = _noise(5, 6)
    img.info["icc_profile"] = BIG_ICC
    with pytest.warns(UserWarning, match="left out"):
        save_image_atomic(img, tmp_path / "own.png")
    assert Image.open(tmp_path / "own.png").info.get("icc_profile") is None
    save_image_atomic(img, tmp_path / "own.tif")  # TIFF holds it, and Pillow reads it back
    assert Image.open(tmp_path / "own.tif").info["icc_profile"] == BIG_ICC


def test_scan_folder_names_the_other_files(tmp_path):
    for name in ("b.png", "a.JPG", "IMG_2.heic", "notes.txt", ".hidden.png"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub").mkdir()
    found = scan_folder(tmp_path)
    assert [p.name for p in found.images] == ["a.JPG", "b.png"]
    assert [p.name for p in found.others] == ["IMG_2.heic", "notes.txt"]
    assert list_images(tmp_path) == found.images
    for name in ("a.JPG", "b.png"):
        (tmp_path / name).unlink()
    with pytest.raises(HubSRError, match="holds no image files .*; its other files: IMG_2.heic"):
        scan_folder(tmp_path)


def test_read_header_refuses_too_many_pixels_as_read_image_does():
    data = _png_header_only(300, 200)  # no pixel data: only the header can tell
    for read in (read_header, read_image):
        with pytest.raises(TooManyPixelsError, match="300x200 = 60,000 pixels, more than the "
                           "limit of 59,999; pass a larger max_pixels") as info:  # fmt: skip
            read(data, max_pixels=59_999)
        assert (info.value.width, info.value.height, info.value.limit) == (300, 200, 59_999)
    assert read_header(data, max_pixels=60_000).pixels == 60_000
    assert info.value.describe(flag="--max-pixels").endswith(
        "more than --max-pixels 59,999; raise --max-pixels (0: no limit) if you trust it"
    )


def test_a_result_gets_the_inputs_profile_only_where_it_cannot_carry_its_own(tmp_path):
    deep = np.full((4, 5, 3), 40000, dtype=np.uint16)
    save_image_atomic(deep, tmp_path / "deep.png", icc_profile=b"deep profile")
    image = read_image(tmp_path / "deep.png")
    assert image.icc_profile == b"deep profile"
    assert result_icc_profile(image, deep) == b"deep profile"  # an array carries no profile
    pil = read_image(_encode(_noise(), icc_profile=b"own profile"))
    assert result_icc_profile(pil, pil.pixels) is None  # a PIL result carries its own
