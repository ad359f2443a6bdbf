"""``hubsr export``: ONNX files and spandrel-layout safetensors, checked by the tools that read
them.

Every bundled model is exported to ONNX and run by onnxruntime itself (not through hubsr) on
Set5; the abpn models and an RCAN are exported for spandrel and loaded by spandrel's own
``ModelLoader``. Outputs are compared with ``model.upscale(lr, dtype="float32", border=0)`` (the
network alone: an exported file knows nothing of the pipeline's mirrored border) after the same
clamp and rounding, and must be within one grey level everywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import spandrel
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from hubsr import HubSR, HubSRError, get_architecture
from hubsr.atomic import atomic_file
from hubsr.benchmark import load_benchmark_model
from hubsr.bundled import bundled_models
from hubsr.cli import main
from hubsr.export import OnnxModel, export_model, supported_exports
from hubsr.export.bicubic import BicubicUpsample
from hubsr.export.deps import require
from hubsr.export.spandrel import to_spandrel
from hubsr.layers import bicubic_upsample
from hubsr.protocol import make_lr, modcrop

pytestmark = pytest.mark.slow  # ONNX export of every bundled model

REPO = Path(__file__).resolve().parent.parent
BUNDLED = sorted(bundled_models())
SPANDREL_OK = ("abpn", "rcan")


@pytest.fixture(scope="module")
def set5_lr() -> list[np.ndarray]:
    paths = sorted((REPO / "data" / "Set5").glob("*.png"))
    return [make_lr(modcrop(np.asarray(Image.open(p).convert("RGB")), 3), 3) for p in paths]


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("exports")


def to_uint8(y: np.ndarray) -> np.ndarray:
    """``1 x C x H x W`` floats -> ``H x W x C`` uint8, as the pipeline rounds (half up)."""
    y = np.floor(np.clip(y.astype(np.float32), 0, 1) * 255 + 0.5).astype(np.uint8)
    return y[0].transpose(1, 2, 0)


def as_batch(lr: np.ndarray) -> np.ndarray:
    return (lr.astype(np.float32) / 255).transpose(2, 0, 1)[None].copy()


def grey_levels(a: np.ndarray, b: np.ndarray) -> int:
    assert a.shape == b.shape
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


def small_rcan():
    torch.manual_seed(0)
    return get_architecture("rcan")(
        scale=3, feature_channels=16, num_groups=2, num_blocks=2, reduction=4
    ).eval()


# -- ONNX -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", BUNDLED)
def test_onnx_runs_in_onnxruntime_like_torch_on_set5(name, set5_lr, export_dir):
    model = HubSR.from_pretrained(name)
    path = export_model(model, export_dir / f"{name}.onnx", format="onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,), (out,) = session.get_inputs(), session.get_outputs()
    assert inp.type == "tensor(float)" and isinstance(inp.shape[2], str)  # dynamic height
    assert len({lr.shape for lr in set5_lr}) > 1  # one file, several sizes
    for lr in set5_lr:
        (y,) = session.run([out.name], {inp.name: as_batch(lr)})
        assert grey_levels(to_uint8(y), model.upscale(lr, dtype="float32", border=0)) <= 1, name


def test_onnx_batch_is_dynamic_and_metadata_recorded(export_dir):
    model = get_architecture("vdsr")(scale=2, feature_channels=8, num_layers=3).eval()
    path = export_model(model, export_dir / "tiny-vdsr.onnx", format="onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.rand(3, 3, 7, 5)  # batch 3, odd sizes: the bicubic taps are computed in the graph
    (y,) = session.run(None, {"input": x.numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(y, model(x).numpy(), atol=1e-5)
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["hubsr_architecture"] == "vdsr" and meta["hubsr_scale"] == "2"
    assert meta["hubsr_precision"] == "float32"


@pytest.mark.parametrize("name", ["abpn-x3", "edsr-x3"])
def test_onnx_fp16_file(name, set5_lr, export_dir):
    model = HubSR.from_pretrained(name)
    path = export_model(model, export_dir / f"{name}-fp16.onnx", format="onnx", precision="fp16")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].type == "tensor(float16)"
    for lr in set5_lr[:2]:
        (y,) = session.run(None, {"input": as_batch(lr).astype(np.float16)})
        assert y.dtype == np.float16
        assert grey_levels(to_uint8(y), model.upscale(lr, dtype="float32", border=0)) <= 1


def test_onnx_bf16_is_refused_without_a_file(tmp_path):
    with pytest.raises(HubSRError, match="no bfloat16 convolution"):
        export_model(HubSR.from_pretrained("abpn-x3"), tmp_path / "a.onnx", format="onnx",
                     precision="bf16")  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_bicubic_in_the_graph_equals_matlab_bicubic():
    for scale in (2, 3, 4):
        up = BicubicUpsample(scale, 3)
        for h, w in ((1, 1), (2, 5), (3, 2), (11, 8)):
            x = torch.rand(2, 3, h, w)
            torch.testing.assert_close(up(x), bicubic_upsample(x, scale), atol=1e-6, rtol=0)


def test_onnx_model_in_the_pipeline_and_benchmark(set5_lr, export_dir, capsys):
    path = export_model(HubSR.from_pretrained("abpn-x3"), export_dir / "abpn.onnx", format="onnx")
    name, model = load_benchmark_model(str(path), 3)
    assert name == "abpn.onnx" and isinstance(model, OnnxModel) and model.scale == 3
    torch_model = HubSR.from_pretrained("abpn-x3")
    # the file's float constants: the weights, plus ABPN's 0.5 input centring
    count = sum(p.numel() for p in model.parameters())
    assert count - sum(p.numel() for p in torch_model.parameters()) in range(0, 8)
    lr = set5_lr[0][:40, :52]
    for kwargs in ({}, {"tile": 24, "tile_overlap": 8}, {"tta": True}):
        expected = torch_model.upscale(lr, dtype="float32", **kwargs)
        assert grey_levels(model.upscale(lr, dtype="float32", **kwargs), expected) <= 1
    with pytest.raises(HubSRError, match="computes in float32, not bfloat16"):
        model.upscale(lr, dtype="bf16")
    with pytest.raises(HubSRError, match="upscales x3, but --scale is 2"):
        load_benchmark_model(str(path), 2)

    argv = ["benchmark", "--model", "abpn-x3", "--model", str(path), "--datasets", "Set5"]
    assert main([*argv, "--quiet"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
    assert [row[0] for row in rows] == ["abpn-x3", "abpn.onnx"]
    assert abs(float(rows[0][3]) - float(rows[1][3])) <= 0.01  # PSNR (after "Set5 x3")


def test_swinir_is_refused_for_onnx(tmp_path):
    model = get_architecture("swinir")(scale=2, embed_dim=12, depths=[1], num_heads=[2])
    with pytest.raises(HubSRError, match="swinir cannot be exported to ONNX.*abpn, bicubic"):
        export_model(model, tmp_path / "s.onnx", format="onnx")


# -- spandrel -------------------------------------------------------------------------------------
SPANDREL_CASES = {
    "abpn-plain-x3": ("Compact", lambda: HubSR.from_pretrained("abpn-plain-x3")),
    "rcan": ("RCAN", small_rcan),
}


@pytest.mark.parametrize("case", SPANDREL_CASES)
def test_spandrel_loads_the_export_and_computes_the_same(case, set5_lr, export_dir):
    arch_id, build = SPANDREL_CASES[case]
    model = build()
    path = export_model(model, export_dir / f"{case}.safetensors", format="spandrel")
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not safetensors' private 0600
    descriptor = spandrel.ModelLoader().load_from_file(path)
    assert descriptor.architecture.id == arch_id
    assert descriptor.scale == model.scale == 3
    assert descriptor.input_channels == descriptor.output_channels == 3
    descriptor.model.eval()
    for lr in set5_lr:
        with torch.no_grad():
            y = descriptor(torch.from_numpy(as_batch(lr))).numpy()
        assert grey_levels(to_uint8(y), model.upscale(lr, dtype="float32", border=0)) <= 1, case


@pytest.mark.parametrize("case", SPANDREL_CASES)
def test_spandrel_file_round_trips_into_hubsr(case, export_dir, set5_lr):
    model = SPANDREL_CASES[case][1]()
    path = export_model(model, export_dir / f"rt-{case}.safetensors", format="spandrel")
    back = HubSR.from_pretrained(path)
    assert type(back) is type(model) and back.config == model.config and not back.training
    theirs = back.state_dict()
    assert list(theirs) == list(model.state_dict())
    for key, value in model.state_dict().items():
        assert torch.equal(value, theirs[key]), key
    lr = set5_lr[1][:30, :30]
    assert np.array_equal(back.upscale(lr, dtype="float32"), model.upscale(lr, dtype="float32"))
    # The CLI takes such a file as MODEL, e.g. to make an ONNX file of it.
    assert main(["export", str(path), "--format", "onnx", "-o", str(export_dir / "rt.onnx")]) == 0


def test_rcan_in_spandrels_own_layout_is_read(set5_lr, tmp_path):
    """A state dict spandrel's RCAN made itself (rgb_range 255, its own mean shift)."""
    from spandrel.architectures.RCAN import RCAN

    torch.manual_seed(1)
    theirs = RCAN(scale=3, n_resgroups=2, n_resblocks=2, n_feats=16, reduction=4).eval()
    for name, p in theirs.named_parameters():  # weights that keep outputs in range
        if "mean" not in name:
            p.data.mul_(0.3)
    save_file(
        {k: v.contiguous() for k, v in theirs.state_dict().items()}, tmp_path / "r.safetensors"
    )
    mine = HubSR.from_pretrained(tmp_path / "r.safetensors")
    assert mine.architecture == "rcan" and mine.config["num_groups"] == 2
    lr = set5_lr[2][:40, :40]
    with torch.no_grad():
        y = theirs(torch.from_numpy(as_batch(lr))).numpy()
    assert grey_levels(to_uint8(y), mine.upscale(lr, dtype="float32", border=0)) <= 1


@pytest.mark.parametrize("name", ["edsr-x3", "span-x3", "espcn-x3", "srcnn-x3", "vdsr-x3"])
def test_spandrel_refuses_what_it_cannot_express(name, tmp_path, capsys):
    out = tmp_path / "x.safetensors"
    assert main(["export", name, "--format", "spandrel", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("hubsr: error: ")
    assert "cannot be exported for spandrel" in err and "abpn (as Compact), rcan (as RCAN)" in err
    assert list(tmp_path.iterdir()) == []


def test_spandrel_refuses_an_abpn_with_a_linear_skip(tmp_path):
    model = get_architecture("abpn")(scale=3, channels=8, num_convs=2, linear_skip=5)
    out = tmp_path / "x.safetensors"
    with pytest.raises(HubSRError, match="abpn with a linear_skip cannot be exported for spandrel"):
        export_model(model, out, format="spandrel")
    assert not out.exists()


def test_foreign_compact_files_load_as_spandrel_models(tmp_path):
    """A Compact file that is not hubsr's ABPN export is no ABPN, but spandrel's Compact
    (#44: hubsr's own layout first, then spandrel's detection)."""
    from spandrel.architectures.Compact import Compact

    plain = Compact(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=2, upscale=3)
    save_file(plain.state_dict(), tmp_path / "plain.safetensors")
    model = HubSR.from_pretrained(tmp_path / "plain.safetensors")
    assert (model.architecture, model.spandrel_architecture) == ("spandrel", "Compact")

    state = to_spandrel(get_architecture("abpn")(scale=3, channels=8, num_convs=1))
    state["body.3.weight"] = torch.full((8,), 0.25)  # a real PReLU, which ABPN cannot express
    save_file(state, tmp_path / "prelu.safetensors")
    model = HubSR.from_pretrained(tmp_path / "prelu.safetensors")
    assert (model.architecture, model.spandrel_architecture) == ("spandrel", "Compact")

    weights = bundled_models()["abpn-x3"] / "model.safetensors"  # hubsr's own file, no config
    with pytest.raises(HubSRError, match="loaded from its folder"):
        HubSR.from_pretrained(weights)


def test_the_old_name_abpn_gpu_x3_exports_the_bundled_abpn_plain_x3(tmp_path):
    """issue #43: `hubsr export abpn-gpu-x3` still works, with a FutureWarning naming the new
    name, and writes the same weights as `hubsr export abpn-plain-x3`."""
    files = {name: tmp_path / f"{name}.safetensors" for name in ("abpn-gpu-x3", "abpn-plain-x3")}
    with pytest.warns(FutureWarning, match="abpn-gpu-x3 is now called abpn-plain-x3"):
        assert main(["export", "abpn-gpu-x3", "--format", "spandrel",
                     "-o", str(files["abpn-gpu-x3"])]) == 0  # fmt: skip
    assert main(["export", "abpn-plain-x3", "--format", "spandrel",
                 "-o", str(files["abpn-plain-x3"])]) == 0  # fmt: skip
    old, new = (load_file(path) for path in files.values())
    assert list(old) == list(new) and all(torch.equal(v, new[k]) for k, v in old.items())


def test_supported_exports():
    assert supported_exports(HubSR.from_pretrained("abpn-plain-x3")) == ["onnx", "spandrel"]
    for name in ("abpn-x2", "abpn-x4"):
        assert supported_exports(HubSR.from_pretrained(name)) == ["onnx", "spandrel"], name
    # The bundled abpn-x3 has a linear skip, which spandrel's Compact cannot express.
    assert supported_exports(HubSR.from_pretrained("abpn-x3")) == ["onnx"]
    assert supported_exports(small_rcan()) == ["onnx", "spandrel"]
    for name in ("edsr-x3", "span-x3", "espcn-x3", "srcnn-x3", "vdsr-x3"):
        assert supported_exports(HubSR.from_pretrained(name)) == ["onnx"], name
    swinir = get_architecture("swinir")(scale=2, embed_dim=12, depths=[1], num_heads=[2])
    assert supported_exports(swinir) == []
    narrow = get_architecture("abpn")(scale=3, channels=3, num_convs=1)  # no room for the ones
    assert supported_exports(narrow) == ["onnx"]


# -- bad input, atomic writes, optional packages ------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nope-x3", "--format", "onnx", "-o", "{tmp}/a.onnx"], "nope-x3 is not a model folder"),
        (["abpn-x3", "--format", "tflite", "-o", "{tmp}/a.onnx"], "unknown export format 'tflite'"),
        (["abpn-x3", "--format", "onnx", "-o", "{tmp}/file/a.onnx"], "file is not a folder"),
        (["abpn-x3", "--format", "onnx", "-o", "{tmp}/a.pt"], "must end in .onnx"),
        (["abpn-x2", "--format", "spandrel", "-o", "{tmp}/a.pth"], "must end in .safetensors"),
        (["abpn-x3", "--format", "spandrel", "-o", "{tmp}/a.safetensors"],
         "abpn with a linear_skip cannot be exported for spandrel"),
        (["abpn-x3", "--format", "onnx", "--precision", "int8", "-o", "{tmp}/a.onnx"],
         "unknown ONNX precision 'int8'"),
        (["abpn-x2", "--format", "spandrel", "--precision", "fp16", "-o", "{tmp}/a.safetensors"],
         "spandrel files hold float32"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_writes_nothing(argv, message, tmp_path, capsys):
    (tmp_path / "file").write_text("a file where a folder is expected")
    before = sorted(tmp_path.rglob("*"))
    assert main(["export", *(a.format(tmp=tmp_path) for a in argv)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("hubsr: error: ") and message in err
    assert sorted(tmp_path.rglob("*")) == before


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"the previous export")
    with pytest.raises(RuntimeError, match="exporter died"), atomic_file(target) as tmp:
        tmp.write_bytes(b"half of a new file")
        raise RuntimeError("exporter died")
    assert target.read_bytes() == b"the previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


def test_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    with pytest.raises(HubSRError, match=r"onnxruntime .*pip install 'hubsr\[export\]'"):
        require("onnxruntime", "running an ONNX file")
    with pytest.raises(HubSRError, match=r"hubsr\[export\]"):
        OnnxModel(REPO / "pyproject.toml")


def test_importing_hubsr_needs_no_export_package():
    code = (
        "import sys, hubsr, hubsr.export, hubsr.cli\n"
        "hubsr.HubSR.from_pretrained('abpn-x3')\n"
        "print(sorted(m for m in ('onnx', 'onnxruntime', 'onnxscript', 'spandrel') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
