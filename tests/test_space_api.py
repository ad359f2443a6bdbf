"""The Gradio Space (spaces/app.py) through its API, as gradio_client sees it: sizes, image modes,
model choice and the friendly errors. One app process serves every test in this module."""

from __future__ import annotations

import json
import struct
import urllib.request
import zlib

import numpy as np
import png
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image
from space_server import EXAMPLES, running_app

from hubsr import HubSR, get_architecture
from hubsr.bundled import DEFAULT_MODEL, PHOTO_MODELS
from hubsr.imageio import save_image_atomic
from hubsr.precision import cpu_bf16_pays

pytestmark = pytest.mark.slow  # starts the Gradio app

MAX_PIXELS = 40_000  # a small input limit, so that a 201x200 image is already too large
SMALL_X2 = "aaa-tiny-x2"  # sorts before DEFAULT_MODEL: the default must not be "the first one"
PHOTO = PHOTO_MODELS[3]  # bundled too: uploads start on the photo model


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Three tiny random-weight models: DEFAULT_MODEL and PHOTO (x3) and an x2 one."""
    folder = tmp_path_factory.mktemp("models")
    espcn = get_architecture("espcn")
    espcn(scale=3, channels=(8, 4), kernel_sizes=(3, 3, 3)).save_pretrained(folder / DEFAULT_MODEL)
    espcn(scale=3, channels=(4, 4), kernel_sizes=(3, 3, 3)).save_pretrained(folder / PHOTO)
    espcn(scale=2, channels=(8, 4), kernel_sizes=(3, 3, 3)).save_pretrained(folder / SMALL_X2)
    return folder


@pytest.fixture(scope="module")
def app(tmp_path_factory, models):
    """The app with the two tiny models bundled; yields its URL."""
    work = tmp_path_factory.mktemp("space")
    env = {"HUBSR_MODELS_DIR": str(models), "HUBSR_SPACE_MAX_PIXELS": str(MAX_PIXELS)}
    # The app decides bf16 by timing a convolution in its own process; pin it to this process's
    # decision so that bit-for-bit comparisons with in-process results hold on a loaded machine.
    env["HUBSR_CPU_BF16"] = "1" if cpu_bf16_pays() else "0"
    with running_app(work, **env) as url:
        yield url, work


@pytest.fixture(scope="module")
def client(app):
    url, work = app
    return Client(url, verbose=False, download_files=str(work / "downloads"))


def upscale(client, path, model=DEFAULT_MODEL, scale=3, tta=False, tile=0):
    return client.predict(handle_file(str(path)), model, scale, tta, tile, api_name="/upscale")


def save(tmp_path, name, img, **params):
    path = tmp_path / name
    img.save(path, **params)
    return path


def noise(mode, size=(24, 18), seed=0):
    rng = np.random.default_rng(seed)
    width, height = size
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 65536, (height, width), dtype=np.uint16))
    channels = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}[mode]
    arr = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
    return Image.fromarray(arr[:, :, 0] if channels == 1 else arr)


def test_default_model_is_the_photo_model(client):
    info = client.view_api(print_info=False, return_format="dict")
    params = {p["parameter_name"]: p for p in info["named_endpoints"]["/upscale"]["parameters"]}
    assert params["model_name"]["parameter_default"] == PHOTO
    assert params["scale"]["parameter_default"] == 3


def test_example_upscaled_x3_with_slider_crop_summary_and_download(client):
    example = EXAMPLES[0]
    with Image.open(example) as img:
        width, height = img.size
    slider, crop, summary, download = upscale(client, example, tile=128)
    before, after = (Image.open(path) for path in slider)
    assert before.size == after.size == (3 * width, 3 * height)
    assert before.format == after.format == "PNG"
    assert not np.array_equal(np.asarray(before), np.asarray(after))  # model, not bicubic twice
    with Image.open(download) as full:
        assert full.format == "PNG" and full.size == (3 * width, 3 * height)
        assert np.array_equal(np.asarray(full), np.asarray(after))
    assert Image.open(crop).width > Image.open(crop).height  # two crops side by side
    assert f"{width}×{height} → {3 * width}×{3 * height}" in summary


def test_bicubic_and_x2_model(client, tmp_path):
    path = save(tmp_path, "rgb.png", noise("RGB"))
    slider, _, summary, _ = upscale(client, path, model="bicubic", tta=True, tile=128)
    assert Image.open(slider[1]).size == (72, 54)
    assert "**bicubic** x3" in summary
    slider, _, _, _ = upscale(client, path, model=SMALL_X2, scale=2)
    assert Image.open(slider[1]).size == (48, 36)
    with pytest.raises(AppError, match="upscales x2, not x3"):
        upscale(client, path, model=SMALL_X2, scale=3)


@pytest.mark.parametrize(
    ("mode", "out_modes"),
    [("L", {"L"}), ("LA", {"LA"}), ("RGBA", {"RGBA"}), ("I;16", {"I;16", "I"})],
)
def test_grey_alpha_and_16_bit_keep_their_mode(client, tmp_path, mode, out_modes):
    path = save(tmp_path, "in.png", noise(mode))
    slider, _, _, download = upscale(client, path)
    with Image.open(download) as full:
        assert full.mode in out_modes and full.size == (72, 54)
    assert Image.open(slider[0]).mode in out_modes


def test_palette_and_jpeg_inputs(client, tmp_path):
    palette = save(tmp_path, "p.gif", noise("RGB").convert("P"))
    assert Image.open(upscale(client, palette)[3]).mode == "RGB"
    jpeg = save(tmp_path, "photo.jpg", noise("RGB"), quality=90)
    assert Image.open(upscale(client, jpeg)[3]).size == (72, 54)


def test_oversized_image_refused_with_the_limit(client, tmp_path):
    path = save(tmp_path, "big.png", noise("RGB", size=(201, 200)))
    with pytest.raises(AppError, match=r"201×200.*up to 40,000 pixels"):
        upscale(client, path)


def test_not_an_image_refused(client, tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is text, not a PNG")
    with pytest.raises(AppError, match="notes.png is not an image"):
        upscale(client, path)


def test_truncated_image_refused(client, tmp_path):
    data = save(tmp_path, "full.png", noise("RGB", size=(60, 60))).read_bytes()
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AppError, match="cut.png is truncated or corrupt"):
        upscale(client, path)


def test_animated_gif_refused(client, tmp_path):
    frames = [noise("RGB", seed=i).convert("P") for i in range(3)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    with pytest.raises(AppError, match="animated"):
        upscale(client, path)


def test_model_field_describes_the_selected_model(app):
    url = app[0]
    with urllib.request.urlopen(url + "config", timeout=30) as response:
        config = json.load(response)
    field = next(c for c in config["components"] if c["props"].get("label") == "Model")
    assert field["props"]["value"] == PHOTO
    labels = [choice[0] for choice in field["props"]["choices"]]
    assert labels[0].startswith(f"{PHOTO} (for photos") and "benchmark" in labels[1]
    info = field["props"]["info"]
    assert info.startswith("ESPCN x3,") and "parameters" in info, info  # not bicubic's text
    # What the page asks when the model changes (by the visitor or by a change of scale).
    change = next(d for d in config["dependencies"] if d["targets"] == [[field["id"], "change"]])
    expected = {
        "bicubic": "plain bicubic resizing",
        SMALL_X2: "ESPCN x2,",
        DEFAULT_MODEL: "ESPCN x3,",
        PHOTO: "ESPCN x3,",
    }
    for name, start in expected.items():
        body = {"fn_index": change["id"], "data": [name], "session_hash": "info-test"}
        request = urllib.request.Request(
            url + "gradio_api/run/predict",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            (update,) = json.load(response)["data"]
        assert update["info"].startswith(start), (name, update)
        assert ("trained for photos" in update["info"]) == (name == PHOTO), update
        assert "value" not in update  # the info follows the choice and leaves it alone


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width x height`` and that holds almost no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + b"".join(
        [chunk(b"IHDR", header), chunk(b"IDAT", zlib.compress(bytes(16))), chunk(b"IEND", b"")]
    )


def test_huge_file_gets_the_space_limit_not_pillows(client, tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(_png_header_only(20_000, 20_000))  # past Pillow's decompression-bomb limit
    with pytest.raises(AppError, match=r"20000×20000 = 400.00 megapixels.*up to 40,000 pixels"):
        upscale(client, path)


@pytest.mark.parametrize("channels", [3, 4])
def test_16_bit_colour_keeps_16_bits(client, models, tmp_path, channels):
    rng = np.random.default_rng(channels)
    pixels = rng.integers(0, 65536, (18, 24, channels), dtype=np.uint16)
    path = save_image_atomic(pixels, tmp_path / "deep.png")
    slider, crop, summary, download = upscale(client, path)
    width, height, rows, info = png.Reader(filename=download).read()
    assert (width, height, info["bitdepth"], info["planes"]) == (72, 54, 16, channels)
    result = np.vstack([np.asarray(row, dtype=np.uint16) for row in rows]).reshape(54, 72, -1)
    # Bit for bit what the API makes of the same pixels as a uint16 array.
    expected = HubSR.from_pretrained(models / DEFAULT_MODEL).upscale(pixels)
    np.testing.assert_array_equal(result, expected)
    assert np.any(result % 257)  # not 8-bit values scaled up
    assert png.Reader(filename=slider[0]).read()[3]["bitdepth"] == 16  # the bicubic side too
    assert "16-bit input" in summary and Image.open(crop).mode == "RGB"


def test_results_folder_is_removed_on_sigterm(models, tmp_path):
    env = {"HUBSR_MODELS_DIR": str(models)}
    with running_app(tmp_path, **env) as url:
        client = Client(url, verbose=False, download_files=str(tmp_path / "downloads"))
        upscale(client, EXAMPLES[0], model="bicubic")
        (results,) = (tmp_path / "tmp").glob("hubsr-space-*")
        assert any(results.rglob("*.png"))
    # running_app stops the app with SIGTERM (and waits for it), which skips atexit handlers.
    assert not results.exists()
