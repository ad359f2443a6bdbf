"""Community checkpoints (#44): every SR architecture spandrel detects runs through hubsr.

For each architecture of spandrel's main registry a small random network is built with
spandrel's own class, at each scale listed, and its state dict saved as ``.pth`` and
``.safetensors``. hubsr must load it, upscale a real image (a Set5 crop, float32) within one grey
level of spandrel's own descriptor call, whole and in tiles (cut on the network's grid,
``tile_multiple``), and save it as a hubsr folder that
loads back bit-exactly without spandrel's detection. Every other architecture must be refused
with its reason. The README's table between ``<!-- community:start -->`` and
``<!-- community:end -->`` is :func:`render_table` of these lists (``python
tests/test_community_checkpoints.py`` rewrites it).

The networks are tiny, so the test runs torch on one thread: on a busy 2-core machine the
threads' synchronisation cost 10-100 times the arithmetic (measured on these networks).
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

import hubsr
from hubsr import HubSR, HubSRError
from hubsr.community import UnsupportedCheckpointError
from hubsr.spandrel_model import IMAGE_WIDE, SPANDREL_VERSION, SpandrelModel

spandrel = pytest.importorskip("spandrel")

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
START, END = "<!-- community:start -->", "<!-- community:end -->"
# hubsr's runs compared with spandrel's call: float32, and no mirrored border around the image
# (hubsr.pipeline.BORDER), which spandrel's call does not add.
AS_SPANDREL = dict(dtype="float32", border=0)
# LR tiles and context: multiples of 16, so that every window-attention grid (8 or 16 pixels)
# falls where it falls on the whole image (the model's ``tile_multiple`` must divide both).
TILE, OVERLAP = 32, 16
# Architectures whose receptive field these tiny networks already stretch beyond 16 pixels.
OVERLAPS = {"SAFMN": 24, "GRL": 64}
# Architectures whose grid is coarser than TILE: GRL's 32-pixel windows and 64-pixel stripes
# (spandrel's settings for an SR checkpoint), so overlaps of 64 and tiles of 128 (a tile must
# outweigh its overlap). They run on a larger crop (large_image).
TILES = {"GRL": 128}
# Architectures with image-wide operations (hubsr.spandrel_model.IMAGE_WIDE says which): no
# overlap makes tiles equal the whole image, so only the whole image is compared; the table says
# tiles are not seamless, why, and how far apart they came: this file's x2 networks on a 128x128
# crop of baby, tiles of 32, 48 and 64 with overlaps of 16, 32 and 48 (grids of 8 or 16).
GLOBAL = {
    "AuraSR": "on a 64x64 crop tiles of 32 with an overlap of 16 differed by up to 2 grey "
    "levels, the noise drawn from the same seed",
    "CRAFT": "on a 128x128 crop tiles differed by up to 17 grey levels with an overlap of 16, "
    "6 with 48",
    "DCTLSA": "on a 128x128 crop tiles differed by up to 11 grey levels with an overlap of 16, "
    "10 with 48",
    "OmniSR": "on a 128x128 crop tiles differed by up to 5 grey levels with an overlap of 16, "
    "3 with 48",
}


def _scales(build, scales=(2, 3, 4)) -> dict:
    return {s: build(s) for s in scales}


# spandrel architecture id -> (exported class name, {scale: constructor arguments}); small
# widths and depths, every block kind the detection reads present at least once.
SR = {
    "ATD": (
        "ATD",
        _scales(
            lambda s: dict(
                embed_dim=12,
                depths=(2,),
                num_heads=(2,),
                window_size=8,
                category_size=32,
                num_tokens=8,
                upscale=s,
                upsampler="pixelshuffle",
            )
        ),
    ),  # noqa: E501
    "AuraSR": (
        "AuraSR",
        {
            4: dict(
                dim=8,
                image_size=None,
                input_image_size=None,
                style_network=dict(dim_in=8, dim_out=32, depth=1),  # spandrel: scale 32 / 8
                up_dim_mults=(1, 1, 1, 1, 1),
                down_dim_mults=(1, 1, 1),  # five ups, three downs: x4
                full_attn=(False, False, False, False, True),
                self_attn_dim_head=4,
                self_attn_heads=8,
                attn_depths=(1, 1, 1, 1, 1),
                mid_attn_depth=1,
                num_conv_kernels=2,  # spandrel's forward asserts on 1
                skip_connect_scale=0.4,
            )
        },
    ),
    "CRAFT": (
        "CRAFT",
        _scales(
            lambda s: dict(
                embed_dim=12,
                depths=[1],
                num_heads=[2],
                window_size=16,
                split_size_0=4,
                split_size_1=16,
                upscale=s,
            )
        ),
    ),  # noqa: E501
    "Compact": ("Compact", _scales(lambda s: dict(num_feat=8, num_conv=2, upscale=s))),
    "DAT": (
        "DAT",
        _scales(
            lambda s: dict(
                embed_dim=32,
                depth=[2],
                num_heads=[2],
                split_size=[8, 8],
                expansion_factor=2.0,
                upscale=s,
            )
        ),
    ),  # noqa: E501
    "DCTLSA": ("DCTLSA", _scales(lambda s: dict(nf=10, num_modules=6, upscale=s, num_head=5))),
    "DITN": (
        "DITN",
        _scales(
            lambda s: dict(
                dim=12, ITL_blocks=1, SAL_blocks=1, UFONE_blocks=1, patch_size=8, upscale=s
            )
        ),
    ),  # noqa: E501
    "DRCT": (
        "DRCT",
        _scales(
            lambda s: dict(
                embed_dim=12,
                depths=(1,),
                num_heads=(2,),
                window_size=16,
                gc=4,
                upscale=s,
                upsampler="pixelshuffle",
            )
        ),
    ),  # noqa: E501
    "ESRGAN": ("ESRGAN", _scales(lambda s: dict(num_filters=8, num_blocks=1, scale=s), (2, 4, 8))),
    "FDAT": (
        "FDAT",
        _scales(
            lambda s: dict(
                scale=s, embed_dim=16, num_groups=1, depth_per_group=1, num_heads=2, mid_dim=8
            )
        ),
    ),  # noqa: E501
    "GRL": (
        "GRL",
        _scales(
            lambda s: dict(
                embed_dim=8,
                depths=[1],
                num_heads_window=[1],
                num_heads_stripe=[1],
                window_size=8,
                stripe_size=[8, 8],
                upscale=s,
                upsampler="pixelshuffle",
            )
        ),
    ),  # noqa: E501
    "HAT": (
        "HAT",
        _scales(
            lambda s: dict(
                embed_dim=12,
                depths=(1,),
                num_heads=(2,),
                window_size=8,
                squeeze_factor=4,
                num_feat=8,
                upscale=s,
            )
        ),
    ),  # noqa: E501
    "MMRealSR": (
        "MMRealSR",
        {
            4: dict(
                num_in_ch=3,
                num_out_ch=3,
                scale=4,
                num_feat=8,
                num_block=1,
                num_grow_ch=4,
                num_feats=[8, 8, 8, 8],
                num_blocks=[1, 1, 1, 1],
            )
        },
    ),  # noqa: E501
    "MoESR": (
        "MoESR",
        _scales(lambda s: dict(scale=s, dim=8, n_blocks=1, n_block=1, upsample_dim=8)),
    ),  # noqa: E501
    "MoSR": ("MoSR", _scales(lambda s: dict(upscale=s, n_block=1, dim=8))),
    "OmniSR": (
        "OmniSR",
        _scales(lambda s: dict(num_feat=8, block_num=1, window_size=8, res_num=1, up_scale=s)),
    ),  # noqa: E501
    "PLKSR": (
        "PLKSR",
        _scales(lambda s: dict(dim=8, n_blocks=1, upscaling_factor=s, kernel_size=5)),
    ),  # noqa: E501
    "RCAN": (
        "RCAN",
        _scales(lambda s: dict(scale=s, n_resgroups=1, n_resblocks=1, n_feats=8, reduction=4)),
    ),  # noqa: E501
    "RGT": (
        "RGT",
        _scales(
            lambda s: dict(embed_dim=12, depth=[1], num_heads=[2], split_size=[8, 8], upscale=s)
        ),
    ),  # noqa: E501
    "RealCUGAN": (None, {2: ("UpCunet2x", {}), 3: ("UpCunet3x", {}), 4: ("UpCunet4x", {})}),
    "SAFMN": ("SAFMN", _scales(lambda s: dict(dim=8, n_blocks=1, upscaling_factor=s))),
    "SPAN": (
        "SPAN",
        _scales(lambda s: dict(num_in_ch=3, num_out_ch=3, feature_channels=8, upscale=s)),
    ),  # noqa: E501
    "SeemoRe": (
        "SeemoRe",
        _scales(
            lambda s: dict(
                scale=s,
                num_experts=2,
                num_layers=1,
                embedding_dim=8,
                global_kernel_size=5,
                recursive=1,
            )
        ),
    ),  # noqa: E501
    "SwiftSRGAN": (
        "SwiftSRGAN",
        _scales(lambda s: dict(num_channels=8, num_blocks=1, upscale_factor=s), (2, 4)),
    ),  # noqa: E501
    "Swin2SR": (
        "Swin2SR",
        _scales(
            lambda s: dict(
                embed_dim=12,
                depths=[1],
                num_heads=[2],
                window_size=8,
                upscale=s,
                upsampler="pixelshuffle",
            )
        ),
    ),  # noqa: E501
    "SwinIR": (
        "SwinIR",
        _scales(
            lambda s: dict(
                embed_dim=12,
                depths=[1],
                num_heads=[2],
                window_size=8,
                upscale=s,
                upsampler="pixelshuffle",
            )
        ),
    ),  # noqa: E501
}
# SR architectures not checked here, and why.
NOT_TESTED: dict[str, str] = {}
# Architectures hubsr refuses: (class, constructor arguments, the refusal's words). Building the
# large ones (defaults that detection needs) takes seconds: they run with the slow tests.
_RESTORATION = "a restoration model of scale 1"
REFUSED = {
    "DRUNet": ("DRUNet", dict(in_nc=4, out_nc=3), _RESTORATION),
    "DnCNN": ("DnCNN", dict(in_nc=3, out_nc=3), _RESTORATION),
    "FBCNN": ("FBCNN", dict(), _RESTORATION),
    "FFTformer": (
        "FFTformer",
        dict(dim=8, num_blocks=[1, 1, 1], num_refinement_blocks=1),
        _RESTORATION,
    ),  # noqa: E501
    "GFPGAN": ("GFPGAN", dict(), "a face-restoration model"),
    "HVICIDNet": ("HVICIDNet", dict(channels=[8, 8, 8, 8], heads=[1, 1, 1, 1]), _RESTORATION),
    "IPT": (
        "IPT",
        dict(patch_size=12, patch_dim=3, n_feats=8, scale=[2], num_heads=2, num_layers=1),
        "multi-task wrapper",
    ),  # noqa: E501
    "KBNet": ("KBNet_s", dict(), _RESTORATION),
    "LaMa": ("LaMa", dict(), "an inpainting model"),
    "MixDehazeNet": (
        "MixDehazeNet",
        dict(embed_dims=[8, 8, 8, 8, 8], depths=[1, 1, 1, 1, 1]),
        _RESTORATION,
    ),  # noqa: E501
    "NAFNet": (
        "NAFNet",
        dict(width=8, enc_blk_nums=[1], dec_blk_nums=[1], middle_blk_num=1),
        _RESTORATION,
    ),  # noqa: E501
    "RestoreFormer": ("RestoreFormer", dict(), "a face-restoration model"),
    "RetinexFormer": ("RetinexFormer", dict(n_feat=8, stage=1, num_blocks=[1, 1, 1]), _RESTORATION),  # noqa: E501
    "SAFMNBCIE": ("SAFMNBCIE", dict(dim=8, n_blocks=1, num_layers=1), _RESTORATION),
    "SCUNet": ("SCUNet", dict(config=[1] * 7, dim=32), _RESTORATION),
    "Uformer": ("Uformer", dict(embed_dim=8, depths=[1] * 9, num_heads=[1] * 9), _RESTORATION),
}
SLOW_TO_BUILD = {"DRUNet", "FBCNN", "GFPGAN", "KBNet", "LaMa", "RestoreFormer"}
# Every architecture's first scale runs in the quick loop, its other scales with the slow tests.
CASES = [
    pytest.param(arch, scale, id=f"{arch}-x{scale}", marks=[pytest.mark.slow] if i else [])
    for arch, (_, scales) in SR.items()
    for i, scale in enumerate(scales)
]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    """A 44x36 crop of Set5's baby (skin, eye and lashes): no multiple of 16, so that size
    requirements pad it, and 2x2 tiles of 32."""
    img = Image.open(REPO / "data" / "Set5" / "baby.png").convert("RGB")
    return np.asarray(img)[100:136, 120:164].copy()


@pytest.fixture(scope="module")
def large_image() -> np.ndarray:
    """A 150x140 crop of Set5's baby, for tiles of 128 with an overlap of 64: the second tile
    of a row or column starts on the grid of 64 inside the image, and its context (86 or 76
    pixels, no multiple of 64) is padded by the network as the whole image is."""
    img = Image.open(REPO / "data" / "Set5" / "baby.png").convert("RGB")
    return np.asarray(img)[100:240, 120:270].copy()


def build(arch: str, scale: int) -> torch.nn.Module:
    name, scales = SR[arch]
    arguments = scales[scale]
    if name is None:  # one class per scale
        name, arguments = arguments
    module = importlib.import_module(f"spandrel.architectures.{arch}")
    torch.manual_seed(scale)
    net = getattr(module, name)(**arguments)
    with torch.no_grad():
        for p in net.parameters():
            if p.is_floating_point() and not p.any():  # zeros would hide what they multiply
                p.normal_(0, 0.02)
            elif arch in GAINS and p.dim() == 4:  # tiny init scales give a flat output
                p.mul_(GAINS[arch])
    return net.eval()


# Weight factors for networks whose initialisation (ESRGAN's 0.1 x Kaiming) gives an almost
# flat image at these widths, which would make "within one grey level" prove little.
GAINS = {"ESRGAN": 2.0, "FDAT": 3.0}


def spandrel_reference(path, image: np.ndarray) -> np.ndarray:
    """spandrel's own descriptor call (of a file or a loaded descriptor) on ``image``, rounded
    to 8 bits."""
    descriptor = path if callable(path) else spandrel.ModelLoader().load_from_file(path)
    x = torch.from_numpy(image.astype(np.float32) / 255).permute(2, 0, 1)[None]
    y = descriptor(x)[0].permute(1, 2, 0).numpy()
    return np.floor(y * 255 + 0.5).astype(np.uint8)


def max_diff(a: np.ndarray, b: np.ndarray) -> int:
    assert a.shape == b.shape
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


@pytest.mark.parametrize(("arch", "scale"), CASES)
def test_loads_and_matches_spandrel(arch, scale, image, tmp_path, monkeypatch, request):
    net = build(arch, scale)
    if arch == "AuraSR":
        fixed_noise(monkeypatch)
    state = {k: v.clone().contiguous() for k, v in net.state_dict().items()}
    pth, st = tmp_path / f"{arch}.pth", tmp_path / f"{arch}.safetensors"
    torch.save(state, pth)
    save_file(state, str(st))
    descriptor = spandrel.ModelLoader().load_from_file(pth)
    expected = spandrel_reference(descriptor, image)

    model = hubsr.load(pth)
    assert model.scale == scale
    # The same weights as safetensors give the same model, bit for bit (before either runs:
    # SPAN folds its branches into eval_conv on its first forward).
    assert_same_weights(hubsr.load(st), model)
    whole = model.upscale(image, **AS_SPANDREL, memory_budget=0)
    assert max_diff(whole, expected) <= 1, "whole image"
    assert np.std(expected) > 2, "the network's output is flat: the test would prove nothing"
    assert bool(getattr(model, "image_wide", "")) == (arch in GLOBAL)
    if arch not in GLOBAL:
        tile, overlap = TILES.get(arch, TILE), OVERLAPS.get(arch, OVERLAP)
        grid = getattr(model, "tile_multiple", 1)
        assert tile % grid == 0 and overlap % grid == 0, f"tiles off the grid of {grid}"
        picture, wanted = image, expected
        if arch in TILES:
            picture = request.getfixturevalue("large_image")
            wanted = spandrel_reference(descriptor, picture)
        tiled = model.upscale(picture, **AS_SPANDREL, tile=tile, tile_overlap=overlap)
        assert max_diff(tiled, wanted) <= 1, "tiles"
    # Below the size requirements (a minimum of 16 for many): padded and cropped back. Without
    # memory_budget=0 the working set is measured first, on shapes alone: the model must
    # still compute right afterwards (some networks keep tensors made in forward).
    tiny = image[:10, :13]
    assert max_diff(model.upscale(tiny, **AS_SPANDREL), spandrel_reference(descriptor, tiny)) <= 1

    # A hubsr folder rebuilds it from config.json alone: spandrel's detection is never asked.
    model.save_pretrained(tmp_path / "folder")
    monkeypatch.setattr(spandrel.MAIN_REGISTRY, "load", _no_detection)
    loaded = HubSR.from_pretrained(tmp_path / "folder")
    assert type(loaded) is type(model) and loaded.config == model.config
    assert_same_weights(loaded, model)
    crop = image[:20, :24]
    assert np.array_equal(
        loaded.upscale(crop, **AS_SPANDREL, memory_budget=0),
        model.upscale(crop, **AS_SPANDREL, memory_budget=0),
    )
    if isinstance(model, SpandrelModel):
        config = json.loads((tmp_path / "folder" / "config.json").read_text())
        assert config["architecture"] == "spandrel"
        assert config["spandrel_architecture"] == arch
        assert config["source"] == pth.name
        card = (tmp_path / "folder" / "README.md").read_text()
        assert pth.name in card and "licence is the original checkpoint's" in card


def test_tiles_off_the_grid_are_rounded_onto_it(large_image, tmp_path):
    """Tiles of 90 with an overlap of 20 are off SwinIR's grid of 8 (the second tile's window
    starts at 70); the pipeline rounds them up to 96 and 24, and the tiles match the whole
    image. (GRL, grid 64, would take half a minute here.)"""
    torch.save(build("SwinIR", 2).state_dict(), tmp_path / "net.pth")
    model = hubsr.load(tmp_path / "net.pth")
    assert model.tile_multiple == 8
    whole = model.upscale(large_image, **AS_SPANDREL, memory_budget=0)
    tiled = model.upscale(large_image, **AS_SPANDREL, tile=90, tile_overlap=20)
    assert max_diff(tiled, whole) <= 1
    model.tile_multiple = 1  # as the pipeline tiled before: 30 grey levels off
    off_grid = model.upscale(large_image, **AS_SPANDREL, tile=90, tile_overlap=20)
    assert max_diff(off_grid, whole) > 10


def fixed_noise(monkeypatch) -> None:
    """AuraSR draws noise in its forward (a style and 0.001 on the input): every draw here
    starts from the same seed, so that its output is a function of the image alone."""
    for name in ("randn", "randn_like"):
        draw = getattr(torch, name)

        def seeded(*args, _draw=draw, **kwargs):
            torch.manual_seed(0)
            return _draw(*args, **kwargs)

        monkeypatch.setattr(torch, name, seeded)


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def _no_detection(*args, **kwargs):
    raise AssertionError("spandrel's detection ran while loading a hubsr folder")


REFUSED_CASES = [
    pytest.param(arch, id=arch, marks=[pytest.mark.slow] if arch in SLOW_TO_BUILD else [])
    for arch in REFUSED
]


@pytest.mark.parametrize("arch", REFUSED_CASES)
def test_refused_with_its_reason(arch, tmp_path):
    name, arguments, reason = REFUSED[arch]
    net = getattr(importlib.import_module(f"spandrel.architectures.{arch}"), name)(**arguments)
    path = tmp_path / f"{arch}.pth"
    torch.save(net.state_dict(), path)
    with pytest.raises(UnsupportedCheckpointError) as caught:
        hubsr.load(path)
    message = str(caught.value)
    assert "\n" not in message and path.name in message and arch in message
    assert reason in message


def _compact(tmp_path, **arguments) -> Path:
    from spandrel.architectures.Compact import Compact

    torch.manual_seed(0)
    path = tmp_path / "compact.pth"
    torch.save(Compact(num_feat=8, num_conv=2, **arguments).state_dict(), path)
    return path


def test_refuses_what_is_not_single_image_sr(tmp_path):
    with pytest.raises(UnsupportedCheckpointError, match="restoration model of scale 1"):
        hubsr.load(_compact(tmp_path, upscale=1))
    with pytest.raises(UnsupportedCheckpointError, match="takes 4 channels"):
        hubsr.load(_compact(tmp_path, upscale=2, num_in_ch=4, num_out_ch=4))
    unknown = tmp_path / "unknown.safetensors"
    save_file({"encoder.weight": torch.ones(3, 3)}, str(unknown))
    with pytest.raises(UnsupportedCheckpointError, match="not a checkpoint of any architecture"):
        hubsr.load(unknown)
    pickled = tmp_path / "code.pth"
    torch.save({"weight": torch.ones(2), "hook": print}, pickled)  # a function: never unpickled
    with pytest.raises(UnsupportedCheckpointError, match="restricted unpickler"):
        hubsr.load(pickled)
    with pytest.raises(HubSRError, match="no such checkpoint file"):
        hubsr.load(tmp_path / "missing.pth")


def test_grey_model_runs_grey_and_colour(tmp_path, image):
    path = _compact(tmp_path, upscale=2, num_in_ch=1, num_out_ch=1)
    model = hubsr.load(path)
    assert model.in_channels == 1
    grey = np.asarray(Image.fromarray(image).convert("L"))
    expected = spandrel_reference(path, grey[:, :, None])[:, :, 0]
    assert max_diff(model.upscale(grey, **AS_SPANDREL), expected) <= 1
    colour = model.upscale(image, **AS_SPANDREL)  # the three channels as a batch
    red = spandrel_reference(path, image[:, :, :1])[:, :, 0]
    assert max_diff(colour[:, :, 0], red) <= 1


def test_pipeline_options_work_as_for_bundled_models(tmp_path, image):
    """TTA, alpha and 16 bits go through hubsr's pipeline, which sees only the model contract."""
    model = hubsr.load(_compact(tmp_path, upscale=2))
    plain = model.upscale(image, dtype="float32")
    deep = model.upscale(image.astype(np.uint16) * 257, dtype="float32")
    assert deep.dtype == np.uint16 and max_diff(np.round(deep / 257).astype(np.uint8), plain) <= 1
    rgba = np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
    # (The colour of a random network is divided by its own output for alpha: not comparable.)
    assert (model.upscale(rgba, dtype="float32")[:, :, 3] == 255).all()
    tta = model.upscale(image, dtype="float32", tta=True)
    assert tta.shape == plain.shape and not np.array_equal(tta, plain)


def test_precisions_spandrel_does_not_support_are_refused(tmp_path, image):
    net = build("SwinIR", 2)  # spandrel: bfloat16 yes, float16 no
    path = tmp_path / "swinir.pth"
    torch.save(net.state_dict(), path)
    model = hubsr.load(path)
    assert (model.supports_half, model.supports_bfloat16, model.bf16_safe) == (False, True, True)
    with pytest.raises(HubSRError, match="SwinIR does not support float16"):
        model.upscale(image[:16, :16], dtype="float16")
    assert model.upscale(image[:16, :16], dtype="bfloat16").shape == (32, 32, 3)


def test_converted_folder_is_pushed_and_listed_like_any_model(tmp_path, monkeypatch):
    """``hubsr push --stage`` takes the folder (card included), and a models folder (the
    Space's, ``HUBSR_MODELS_DIR``) lists it and loads it by name."""
    from hubsr.bundled import bundled_models
    from hubsr.publish import stage_for_hub

    models = tmp_path / "models"
    hubsr.load(_compact(tmp_path, upscale=2)).save_pretrained(models / "compact-x2")
    staged = stage_for_hub(models / "compact-x2", tmp_path / "repo")
    assert sorted(p.name for p in staged.iterdir()) == [
        "README.md",
        "config.json",
        "model.safetensors",
    ]
    monkeypatch.setenv("HUBSR_MODELS_DIR", str(models))
    assert list(bundled_models()) == ["compact-x2"]
    assert hubsr.load("compact-x2").spandrel_architecture == "Compact"


def test_hub_file_offline_names_the_cache(offline):
    with pytest.raises(HubSRError, match="local Hub cache"):
        hubsr.load("someone/some-models/4x-model.pth", offline=True)


# The table's "in hubsr" column, where more than "loads" is to say.
HOW = {
    "RCAN": "hubsr's own `rcan` (same computation)",
    "AuraSR": "loads (its output is random: compared with the same noise drawn)",
}


def render_table() -> str:
    """The README's table: what loads, how it tiles and what is refused, from the lists above."""
    tiled = len(SR) - len(GLOBAL)
    lines = [
        START,
        "<!-- Generated by tests/test_community_checkpoints.py from its lists; do not edit. -->",
        "",
        f"spandrel {SPANDREL_VERSION}: {len(SR)} SR architectures load and match spandrel's own "
        f"call within one grey level (float32); {tiled} of them also in tiles cut on their "
        "grid (`tile_multiple`); "
        f"{len(REFUSED)} architectures are refused. Checked on small random networks (one or two "
        "blocks): a real checkpoint is deeper, so its tiles need more overlap than these.",
        "",
        "| spandrel architecture | in hubsr | scales checked | tiles (small network) |",
        "|---|---|---|---|",
    ]
    for arch, (_, scales) in sorted(SR.items(), key=lambda item: item[0].lower()):
        how = HOW.get(arch, "loads")
        if arch in GLOBAL:
            tiles = f"not seamless: {IMAGE_WIDE[arch]} ({GLOBAL[arch]})"
        else:
            tile, overlap = TILES.get(arch, TILE), OVERLAPS.get(arch, OVERLAP)
            tiles = f"seamless with `--tile {tile} --tile-overlap {overlap}`"
        lines.append(f"| {arch} | {how} | {', '.join(f'x{s}' for s in scales)} | {tiles} |")
    for arch, reason in sorted(NOT_TESTED.items()):
        lines.append(f"| {arch} | not checked: {reason} | | |")
    for arch, (_, _, reason) in sorted(REFUSED.items(), key=lambda item: item[0].lower()):
        why = "IPT's call is more than its network" if arch == "IPT" else reason
        lines.append(f"| {arch} | refused: {why} | | |")
    lines.append(END)
    return "\n".join(lines)


def test_readme_table_is_current():
    text = README.read_text()
    assert START in text and END in text, "README has no community table"
    current = text[text.index(START) : text.index(END) + len(END)]
    assert current == render_table(), "run: python tests/test_community_checkpoints.py"


def _rewrite_readme() -> None:
    from hubsr.atomic import write_bytes_atomic

    text = README.read_text()
    new = text[: text.index(START)] + render_table() + text[text.index(END) + len(END) :]
    write_bytes_atomic(README, new.encode())


if __name__ == "__main__":
    _rewrite_readme()
    sys.exit(0)
