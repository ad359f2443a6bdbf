"""hubsr super-resolution demo (Gradio Space): upload an image, compare bicubic and a model.

Reads top to bottom: settings, the models (loaded once, at import), one function ``run`` that
does a whole request, then one ``gr.Blocks`` page. ``python spaces/app.py`` serves it on
127.0.0.1:7860; set ``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT`` to change that, and
``HUBSR_SPACE_MAX_PIXELS`` to change the input size limit. Bundled models come from
``hubsr.bundled.bundled_models()`` (``model_cards/``, or ``HUBSR_MODELS_DIR``).

Uploads arrive as files in Gradio's temporary folder and take the steps of ``hubsr upscale``
(:mod:`hubsr.upscale_file`): read with :func:`hubsr.imageio.read_image` only (16-bit colour keeps
its 16 bits), upscaled, written with :func:`hubsr.upscale_file.write_result` (colour profile and
EXIF as the command line writes them), so the same upload gives the same PNG bytes as the
command. Results go to a private temporary folder, removed when the app exits or is stopped by
SIGTERM or SIGHUP.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image, ImageDraw, ImageFont

import hubsr
from hubsr import HubSR, HubSRError
from hubsr.bundled import DEFAULT_MODEL, PHOTO_MODELS, bundled_models, default_model
from hubsr.errors import TooManyPixelsError
from hubsr.imageio import read_image
from hubsr.loading import scale_error
from hubsr.upscale_file import result_kind, write_result

# -- settings -------------------------------------------------------------------------------------
MAX_PIXELS = int(os.environ.get("HUBSR_SPACE_MAX_PIXELS", "1000000"))  # input W x H; 0: none
if MAX_PIXELS < 0:
    raise ValueError(f"HUBSR_SPACE_MAX_PIXELS must be 0 (no limit) or more, got {MAX_PIXELS}")
MAX_FILE_SIZE = "20mb"  # upload size limit, checked by Gradio before the file is stored
CONCURRENCY = 1  # requests run at a time; a CPU Space has 2 cores, one request uses both
QUEUE_SIZE = 16  # waiting requests before new ones are turned away
KEEP_OUTPUTS_S = 3600  # result files older than this are deleted
HERE = Path(__file__).resolve().parent
EXAMPLES = sorted((HERE / "examples").glob("*.png"))
BICUBIC = "bicubic"
TILES = [("Whole image", 0), ("128 px", 128), ("256 px", 256), ("512 px", 512)]
DEFAULT_TILE = 256
CROP = 80  # side of the zoomed centre crop, in output pixels
ZOOM = 4  # nearest-neighbour enlargement of the crop
OUTPUT_DIR = Path(tempfile.mkdtemp(prefix="hubsr-space-"))  # results; removed at exit


def _remove_outputs() -> None:
    shutil.rmtree(OUTPUT_DIR, ignore_errors=True)


def _remove_outputs_on_signal(signum, frame) -> None:
    """A stopped Space gets SIGTERM, which skips atexit: remove the results, then let the
    signal do what it did before (the previous handler, or end the process by it)."""
    _remove_outputs()
    previous = _PREVIOUS_HANDLERS.get(signum)
    if callable(previous):
        previous(signum, frame)
        return
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


atexit.register(_remove_outputs)
_PREVIOUS_HANDLERS = {}
if threading.current_thread() is threading.main_thread():  # only there can handlers be set
    for _signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if _signum is not None:
            _PREVIOUS_HANDLERS[_signum] = signal.signal(_signum, _remove_outputs_on_signal)


def _refuse(message: str, title: str = "Cannot upscale") -> gr.Error:
    """An error for the visitor; expected, so it leaves no traceback in the log."""
    return gr.Error(message, title=title, print_exception=False)


# -- models (loaded once per process) -------------------------------------------------------------
MODELS: dict[str, HubSR] = {name: hubsr.load(folder) for name, folder in bundled_models().items()}
SCALES = sorted({model.scale for model in MODELS.values()}) or [3]
# The slider's left side at every scale offered (and the "bicubic" choice): weightless variants.
BASELINES: dict[int, HubSR] = {scale: hubsr.load(BICUBIC, scale=scale) for scale in SCALES}
# Uploads are mostly photos (JPEG, noise): the photo model first, the benchmark default next.
START_MODEL = next(
    (n for n in (PHOTO_MODELS[3], DEFAULT_MODEL) if n in MODELS), next(iter(MODELS), BICUBIC)
)
START_SCALE = MODELS[START_MODEL].scale if START_MODEL in MODELS else SCALES[0]


def get_model(name: str, scale: int) -> HubSR:
    if name == BICUBIC:
        return BASELINES[scale]
    if name not in MODELS:
        known = ", ".join([*MODELS, BICUBIC])
        raise _refuse(f"Unknown model {name!r}; this Space has: {known}.")
    if MODELS[name].scale != scale:
        raise _refuse(f"{scale_error(name, scale, MODELS[name].scale)}.")
    return MODELS[name]


def model_choices() -> list[tuple[str, str]]:
    """Dropdown entries (label, name): the photo models, the benchmark models (each with its
    architecture and scale), then bicubic."""
    photo = [n for n in MODELS if n in PHOTO_MODELS.values()]
    bench = [n for n in MODELS if n not in photo]
    return (
        [(f"{n} (for photos: JPEG, noise; x{MODELS[n].scale})", n) for n in photo]
        + [(f"{n} ({type(MODELS[n]).__name__}, x{MODELS[n].scale}, benchmark)", n) for n in bench]
        + [("bicubic (the baseline, any scale)", BICUBIC)]
    )


def model_info(name: str) -> str:
    """The model field's info line: what the selected model is."""
    if name not in MODELS:
        return "plain bicubic resizing (MATLAB's), no model: the baseline itself"
    model = MODELS[name]
    params = sum(p.numel() for p in model.parameters())
    trained = (
        "trained for photos (blur, noise, JPEG)"
        if name in PHOTO_MODELS.values()
        else "trained on clean bicubic LR (the benchmark)"
    )
    return (
        f"{type(model).__name__} x{model.scale}, {params:,} parameters, {trained}; "
        "the slider compares it with bicubic"
    )


def scale_for_model(name: str, scale: int) -> int:
    """The scale to show once ``name`` is picked: its own, or the current one for bicubic."""
    return MODELS[name].scale if name in MODELS else scale


def model_for_scale(scale: int, name: str) -> str:
    """The model to show once ``scale`` is picked: the current one if it fits, else the photo
    model of that scale if a photo model was shown, else the best bundled model of that scale
    (``hubsr.bundled.default_model``), else bicubic (any scale)."""
    if name not in MODELS or MODELS[name].scale == scale:
        return name
    if name in PHOTO_MODELS.values() and PHOTO_MODELS.get(scale) in MODELS:
        return PHOTO_MODELS[scale]
    best = default_model(scale)
    if best in MODELS:
        return best
    return next((n for n, m in MODELS.items() if m.scale == scale), BICUBIC)


# -- one request ----------------------------------------------------------------------------------
def run(
    image: dict | None,
    model_name: str,
    scale: int,
    tta: bool,
    tile: int,
    progress=gr.Progress(track_tqdm=True),  # noqa: B008  (how Gradio passes a progress bar)
):
    """Upscale one uploaded image; returns (slider pair, zoomed crop, summary, PNG for download).

    ``image`` is Gradio's record of the upload (its ``path`` is in Gradio's upload folder);
    the other arguments are the controls' values. The slider pair is (bicubic, model) at full
    output size, both PNG files.
    """
    path = _uploaded_file(image)
    name = path.name
    if scale not in SCALES:
        raise _refuse(f"Scale x{scale} is not offered; choose one of {SCALES}.")
    if tile not in [size for _, size in TILES]:
        raise _refuse(f"Tile size {tile} is not offered; choose one of {TILES}.")
    if not isinstance(tta, bool):
        raise _refuse(f"Self-ensemble must be true or false, got {tta!r}.")
    progress(0, desc="Reading the image")
    try:  # 16-bit colour comes as a uint16 array: PIL images hold 8 bits per colour channel
        loaded = read_image(path, max_pixels=MAX_PIXELS)  # the size from the header, first
    except TooManyPixelsError as exc:
        raise _too_large(exc, name) from None
    except HubSRError as exc:
        raise _refuse(_tidy(exc, path, name), title="Cannot read this image") from None
    img = loaded.pixels
    model = get_model(model_name, scale)
    tile = tile or None
    try:  # the image as read: upscale() neither reads nor checks it again
        start = time.perf_counter()
        result = model.upscale(loaded, tile=tile, tta=tta, progress=True)
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        baseline = result if model_name == BICUBIC else BASELINES[model.scale].upscale(loaded)
        bicubic_seconds = time.perf_counter() - start
    except HubSRError as exc:
        raise _refuse(_tidy(exc, path, name), title="Cannot upscale this image") from None

    progress(1, desc="Saving the PNG")
    _delete_old_outputs()
    out_dir = Path(tempfile.mkdtemp(dir=OUTPUT_DIR))
    stem = Path(name).stem[:60] or "image"
    result_path = write_result(result, loaded, out_dir / f"{stem}_{model_name}_x{model.scale}.png")
    baseline_path = result_path
    if baseline is not result:
        baseline_path = write_result(
            baseline, loaded, out_dir / f"{stem}_bicubic_x{model.scale}.png"
        )

    (width, height), (out_width, out_height) = _size(img), _size(result)
    summary = (
        f"**{model_name}** x{model.scale}: {width}×{height} → "
        f"{out_width}×{out_height} px in **{seconds:.2f} s** on the CPU "
        f"({'whole image' if tile is None else f'{tile} px tiles'}, self-ensemble "
        f"{'on' if tta else 'off'}); bicubic took {bicubic_seconds:.2f} s."
    )
    notes = _mode_notes(img)
    if notes:
        summary += "  \n" + notes
    crop = zoomed_crop(baseline, result, model_name)
    return (str(baseline_path), str(result_path)), crop, summary, str(result_path)


def _uploaded_file(image: dict | None) -> Path:
    """The upload's path, refused unless it lies in Gradio's upload folder or our examples."""
    if not image or not image.get("path"):
        raise _refuse("Upload an image first, or click one of the examples.")
    path = Path(image["path"]).resolve()
    roots = (Path(gr.utils.get_upload_folder()).resolve(), HERE / "examples")
    if not any(path.is_relative_to(root) for root in roots):
        raise _refuse("Only images uploaded to this page can be upscaled.")
    return path


def _too_large(exc: TooManyPixelsError, name: str) -> gr.Error:
    """The refusal of an image over MAX_PIXELS (found from its header), worded for people."""
    return _refuse(
        f"{name} is {exc.width}×{exc.height} = {exc.pixels / 1e6:.2f} megapixels; this Space "
        f"upscales images of up to {MAX_PIXELS:,} pixels ({_limit_text()}). Crop or shrink "
        "it first, or run hubsr on your own machine, which has no such limit.",
        title="Image too large",
    )


def _tidy(exc: HubSRError, path: Path, name: str) -> str:
    """The error message with Gradio's temporary path replaced by the file's own name."""
    message = str(exc).replace(str(path), name)
    return message if message.endswith(".") else message + "."


def _size(img) -> tuple[int, int]:
    """(width, height) of a PIL image or an HxWxC array."""
    return img.size if isinstance(img, Image.Image) else (img.shape[1], img.shape[0])


def _mode_notes(img) -> str:
    """What the result is, where it is not plain 8-bit RGB (the pipeline's mode policy)."""
    kind, notes = result_kind(img), []
    if kind.grey:
        notes.append("grey input gives a grey result")
    if kind.deep:
        notes.append("16-bit input: the PNG is 16-bit too")
    if kind.alpha:
        notes.append("the alpha channel is upscaled with bicubic and kept")
    if kind.converted_from:  # P, PA, CMYK, YCbCr
        notes.append(f"{kind.converted_from} input was converted to RGB")
    return ("Note: " + "; ".join(notes) + ".") if notes else ""


def _limit_text() -> str:
    if not MAX_PIXELS:
        return "no size limit"
    side = int(MAX_PIXELS**0.5)
    return f"{MAX_PIXELS / 1e6:.2g} MP, e.g. {side}×{side}"


def _delete_old_outputs() -> None:
    cutoff = time.time() - KEEP_OUTPUTS_S
    for folder in OUTPUT_DIR.iterdir():
        if folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


def zoomed_crop(baseline, result, model_name: str) -> Image.Image:
    """Centre crops of both images (PIL images or 16-bit arrays), enlarged with nearest
    neighbour, side by side, with each one's name centred below it."""
    baseline, result = _as_pil(baseline), _as_pil(result)
    size = min(CROP, result.width, result.height)
    left, top = (result.width - size) // 2, (result.height - size) // 2
    box = (left, top, left + size, top + size)
    side, gap, footer = size * ZOOM, 8, 30
    canvas = Image.new("RGB", (2 * side + gap, side + footer), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=20)
    for i, (label, img) in enumerate([("bicubic", baseline), (model_name, result)]):
        x = i * (side + gap)
        canvas.paste(_to_rgb8(img.crop(box)).resize((side, side), Image.Resampling.NEAREST), (x, 0))
        draw.text((x + side // 2, side + footer // 2), label, fill="black", font=font, anchor="mm")
    return canvas


def _as_pil(img) -> Image.Image:
    """A PIL image to look at: a 16-bit colour array scaled to 8 bits."""
    if isinstance(img, Image.Image):
        return img
    arr = (img.astype(np.float64) / 257).round().astype(np.uint8)
    return Image.fromarray(arr, {2: "LA", 3: "RGB", 4: "RGBA"}[arr.shape[2]])


def _to_rgb8(img: Image.Image) -> Image.Image:
    """An 8-bit RGB view of any output mode: 16-bit scaled down, alpha over a grey check board."""
    if img.mode in ("I", "I;16"):
        img = Image.fromarray((np.asarray(img, dtype=np.float64) / 257).round().astype(np.uint8))
    if img.mode in ("LA", "RGBA"):
        rgba = img.convert("RGBA")
        board = np.indices((img.height, img.width)).sum(axis=0) // 8 % 2 * 60 + 170
        background = Image.fromarray(board.astype(np.uint8)).convert("RGBA")
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


# -- the page -------------------------------------------------------------------------------------
INTRO = f"""
# hubsr: super-resolution {"/".join(f"x{s}" for s in SCALES)}
**1.** Upload a small image (or click an example) · **2.** press **Upscale** ·
**3.** drag the slider to compare plain bicubic resizing (left) with the model (right).
{f"Inputs up to {_limit_text()}" if MAX_PIXELS else "Inputs of any size"}; still images only
(animated GIF/WebP/PNG are refused); 8- and 16-bit, grey, colour and alpha.
"""

with gr.Blocks(
    title="hubsr super-resolution",
    analytics_enabled=False,
    delete_cache=(KEEP_OUTPUTS_S, KEEP_OUTPUTS_S),  # Gradio's copies of uploads and results
) as demo:
    gr.Markdown(INTRO)
    with gr.Row():
        with gr.Column(scale=2, min_width=300):
            image = gr.Image(
                label="Your image (PNG, JPEG, WebP, BMP, TIFF; 8/16-bit, grey, alpha)",
                type="filepath",
                elem_id="input-image",
                sources=["upload", "clipboard"],
                height=300,
            )
            gr.Examples(
                examples=[[str(path)] for path in EXAMPLES],
                inputs=[image],
                label="Examples (Set14 images, bicubic-downscaled x3)",
            )
            with gr.Row():
                model_name = gr.Dropdown(
                    model_choices(),
                    value=START_MODEL,
                    label="Model",
                    info=model_info(START_MODEL),
                    scale=3,
                )
                scale = gr.Radio(
                    [(f"x{s}", s) for s in SCALES],
                    value=START_SCALE,
                    label="Scale",
                    info="each model is trained for one scale",
                    interactive=len(SCALES) > 1,
                    scale=1,
                    min_width=120,
                )
            with gr.Row():
                tile = gr.Dropdown(
                    TILES,
                    value=DEFAULT_TILE,
                    label="Tile size",
                    info="smaller tiles: less memory, same result",
                )
                tta = gr.Checkbox(
                    label="Self-ensemble (x8 TTA)",
                    info="averages 8 flips/rotations; a bit better, 8× slower",
                )
            button = gr.Button("Upscale", variant="primary", size="lg")
        with gr.Column(scale=3, min_width=400):
            slider = gr.ImageSlider(
                label="Bicubic (left) vs model (right): drag the handle",
                type="filepath",
                format="png",
                image_mode=None,
                interactive=False,
                max_height=520,
                elem_id="result-slider",
            )
            summary = gr.Markdown("The result appears here.", elem_id="summary")
            crop = gr.Image(
                label=f"Centre crop, {ZOOM}× enlarged: bicubic | model",
                type="pil",
                format="png",
                interactive=False,
                height=330,
                elem_id="zoom-crop",
            )
            download = gr.DownloadButton(
                "Download the full-resolution PNG", variant="secondary", interactive=False
            )

    # .input fires on the visitor's own changes only, so these two never trigger each other.
    model_name.input(scale_for_model, [model_name, scale], scale, api_visibility="private")
    scale.input(model_for_scale, [scale, model_name], model_name, api_visibility="private")
    # .change also fires when model_for_scale picks the model: the info follows either way.
    model_name.change(
        lambda name: gr.Dropdown(info=model_info(name)),
        model_name,
        model_name,
        api_visibility="private",
        queue=False,
    )
    button.click(
        run,
        inputs=[image, model_name, scale, tta, tile],
        outputs=[slider, crop, summary, download],
        api_name="upscale",
        # run gets the uploaded file unopened (and the other values as sent): hubsr reads the
        # file, so a non-image, a corrupt or an animated file gets hubsr's precise message
        # rather than a generic error from gr.Image opening it first.
        preprocess=False,
    ).success(
        lambda: gr.DownloadButton(interactive=True),
        outputs=download,
        api_visibility="private",
        queue=False,
    )

demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)

if __name__ == "__main__":
    demo.launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        max_file_size=MAX_FILE_SIZE,
    )
