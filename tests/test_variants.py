"""Variants are data, and one resolver loads every name.

Every registered variant builds, and where a bundled folder carries its name, the folder's
config.json and weights are exactly that variant's. :func:`hubsr.load` takes a bundled name, a
folder, a weightless variant, a Hub repo id (offline: the cache only, never the network) and
refuses anything else with the names it knows. ``train.py --model NAME`` trains the variant.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors import safe_open

import hubsr
import hubsr.bundled
import hubsr.hub
from hubsr import HubSR, HubSRError, create_model, get_variant, list_variants
from hubsr.benchmark import load_benchmark_model
from hubsr.bundled import DEFAULT_MODELS, models_of_scale
from hubsr.cli import main
from hubsr.errors import ScaleError, UnknownModelError
from hubsr.models import ABPN
from hubsr.registry import register_variants

REPO = Path(__file__).resolve().parent.parent
MODEL_CARDS = REPO / "model_cards"
# The model folders of this checkout (not $HUBSR_MODELS_DIR): each must be a variant.
FOLDERS = sorted(p for p in MODEL_CARDS.iterdir() if (p / "config.json").is_file())
VARIANTS = list_variants()


def _weights_numel(path: Path) -> int:
    with safe_open(str(path), framework="pt") as weights:
        return sum(torch.Size(weights.get_slice(k).get_shape()).numel() for k in weights.keys())


# -- variants -------------------------------------------------------------------------------------
def test_the_variants_the_package_promises():
    assert set(VARIANTS) >= {
        *("abpn-x2", "abpn-x3", "abpn-x4", "abpn-plain-x3", "edsr-x2", "edsr-x3", "edsr-x4"),
        *("espcn-x3", "span-x3", "srcnn-x3", "vdsr-x3", "bicubic-x2", "bicubic-x3", "bicubic-x4"),
    }
    assert get_variant("abpn-x3").args == {
        "scale": 3,
        "channels": 64,
        "num_convs": 7,
        "linear_skip": 5,
    }
    assert get_variant("abpn-plain-x3").args == {"scale": 3, "channels": 64, "num_convs": 7}
    for scale in (2, 3, 4):  # the EDSR baseline at every scale
        variant = get_variant(f"edsr-x{scale}")
        assert variant.config == {
            "architecture": "edsr",
            "scale": scale,
            "in_channels": 3,
            "feature_channels": 64,
            "num_blocks": 16,
            "res_scale": 1.0,
        }


@pytest.mark.parametrize("name", VARIANTS)
def test_every_variant_builds_and_matches_its_bundled_folder(name):
    variant = get_variant(name)
    torch.manual_seed(0)
    model = create_model(name).eval()
    assert type(model) is variant.cls and model.scale == variant.scale
    assert name.endswith(f"-x{model.scale}")  # the name says the scale
    assert json.loads(json.dumps(model.config)) == variant.config  # what save_pretrained writes
    params = sum(p.numel() for p in model.parameters())
    assert model.weightless == (params == 0)
    with torch.no_grad():
        y = model(torch.rand(1, 3, 6, 5))
    assert y.shape == (1, 3, 6 * model.scale, 5 * model.scale)
    folder = MODEL_CARDS / name
    if not (folder / "config.json").is_file():
        return
    assert json.loads((folder / "config.json").read_text()) == variant.config
    assert _weights_numel(folder / "model.safetensors") == params
    with safe_open(str(folder / "model.safetensors"), framework="pt") as weights:
        shapes = {k: tuple(weights.get_slice(k).get_shape()) for k in weights.keys()}
    assert shapes == {k: tuple(v.shape) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("folder", FOLDERS, ids=[p.name for p in FOLDERS])
def test_every_bundled_folder_is_named_by_its_variant(folder):
    assert folder.name in VARIANTS, f"{folder.name} is bundled but not a registered variant"


def test_variants_are_checked_when_registered():
    with pytest.raises(TypeError, match="chanels"):  # a misspelt argument fails at import
        register_variants(ABPN, {"abpn-typo-x3": dict(scale=3, chanels=8)})
    with pytest.raises(RuntimeError, match="registered twice"):
        register_variants(ABPN, {"abpn-x3": dict(scale=3)})
    with pytest.raises(RuntimeError, match="must give its scale"):
        register_variants(ABPN, {"abpn-noscale": dict(channels=8)})
    with pytest.raises(RuntimeError, match="'abpn-gpu-x3' was renamed to 'abpn-plain-x3'"):
        register_variants(ABPN, {"abpn-gpu-x3": dict(scale=3)})  # an old name stays retired
    assert list_variants() == VARIANTS  # nothing half-registered


def test_create_model_overrides_and_refuses_unknown_names():
    model = create_model("abpn-x3", channels=8, num_convs=1)
    assert model.config["channels"] == 8 and model.scale == 3 and model.training
    with pytest.raises(HubSRError, match="unknown variant 'abpn-x9'; known variants: abpn-x2"):
        create_model("abpn-x9")
    with pytest.raises(HubSRError, match="abpn-x3 with .*chanels"):
        create_model("abpn-x3", chanels=8)


# -- one resolver ---------------------------------------------------------------------------------
@pytest.fixture
def no_hub(monkeypatch):
    """Any call to the Hub fails the test."""

    def download(*args, **kwargs):
        raise AssertionError(f"the Hub was asked: {args}")

    monkeypatch.setattr(hubsr.hub, "hf_hub_download", download)


@pytest.fixture
def models(tmp_path, monkeypatch):
    """A models folder with tiny x2 and x3 defaults; no x4 model."""
    torch.manual_seed(0)
    root = tmp_path / "models"
    create_model("abpn-x2", channels=4, num_convs=1).save_pretrained(root / DEFAULT_MODELS[2])
    create_model("abpn-x3", channels=4, num_convs=1).save_pretrained(root / DEFAULT_MODELS[3])
    monkeypatch.setenv("HUBSR_MODELS_DIR", str(root))
    return root


def test_load_a_bundled_name_without_the_network(models, no_hub):
    model = hubsr.load(DEFAULT_MODELS[3])
    assert model.scale == 3 and not model.training
    expected = HubSR.from_pretrained(models / DEFAULT_MODELS[3]).state_dict()
    assert all(torch.equal(v, expected[k]) for k, v in model.state_dict().items())


def test_load_a_folder(tmp_path, no_hub):
    folder = tmp_path / "mine"
    create_model("span-x3", feature_channels=8, num_blocks=2).save_pretrained(folder)
    model = hubsr.load(folder, scale=3)
    assert model.architecture == "span" and model.config["feature_channels"] == 8


def test_load_weightless_variants(no_hub):
    model = hubsr.load("bicubic-x2")
    assert model.architecture == "bicubic" and model.scale == 2 and not model.training
    assert list(model.parameters()) == []
    assert hubsr.load("bicubic", scale=4).scale == 4  # the alias takes the scale asked for
    assert hubsr.load("bicubic").scale == 3
    assert HubSR.from_pretrained("bicubic-x2").scale == 2  # the same resolver underneath
    with pytest.raises(HubSRError, match="is a Bicubic model, not a EDSR"):
        hubsr.get_architecture("edsr").from_pretrained("bicubic-x2")


RENAMED_WARNING = "abpn-gpu-x3 is now called abpn-plain-x3; the old name will stop working"


def test_an_old_name_loads_the_renamed_model_with_a_warning(tmp_path, monkeypatch, no_hub):
    """issue #43: abpn-gpu-x3 became abpn-plain-x3; the old name loads the same weights
    everywhere a name is taken, with a FutureWarning naming the new one."""
    torch.manual_seed(0)
    create_model("abpn-plain-x3", channels=4, num_convs=1).save_pretrained(
        tmp_path / "abpn-plain-x3"
    )
    monkeypatch.setenv("HUBSR_MODELS_DIR", str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new name: no warning
        new = hubsr.load("abpn-plain-x3").state_dict()
    with pytest.warns(FutureWarning, match=RENAMED_WARNING):
        old = hubsr.load("abpn-gpu-x3", scale=3).state_dict()
    assert list(old) == list(new) and all(torch.equal(v, new[k]) for k, v in old.items())
    with pytest.warns(FutureWarning, match=RENAMED_WARNING):
        assert (
            HubSR.from_pretrained("abpn-gpu-x3").config
            == HubSR.from_pretrained("abpn-plain-x3").config
        )
    with pytest.warns(FutureWarning, match=RENAMED_WARNING):
        assert get_variant("abpn-gpu-x3") is get_variant("abpn-plain-x3")
    with pytest.warns(FutureWarning, match=RENAMED_WARNING):
        assert create_model("abpn-gpu-x3", channels=4).config["channels"] == 4
    Image.new("RGB", (5, 4)).save(tmp_path / "in.png")
    with pytest.warns(FutureWarning, match=RENAMED_WARNING):
        assert main(["upscale", str(tmp_path / "in.png"), "-o", str(tmp_path / "out"),
                     "--model", "abpn-gpu-x3"]) == 0  # fmt: skip
    assert Image.open(tmp_path / "out" / "in.png").size == (15, 12)


def test_an_old_name_is_listed_nowhere(tmp_path, monkeypatch, capsys):
    create_model("abpn-plain-x3", channels=4, num_convs=1).save_pretrained(
        tmp_path / "abpn-plain-x3"
    )
    monkeypatch.setenv("HUBSR_MODELS_DIR", str(tmp_path))
    assert "abpn-gpu-x3" not in list_variants() and "abpn-plain-x3" in list_variants()
    assert list(hubsr.bundled.bundled_models()) == ["abpn-plain-x3"]
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "abpn-plain-x3" in out and "abpn-gpu" not in out
    assert not (MODEL_CARDS / "abpn-gpu-x3").exists()  # the folder has the new name only


def test_unknown_name_lists_the_known_ones(models, no_hub):
    with pytest.raises(UnknownModelError) as info:
        hubsr.load(DEFAULT_MODELS[2].upper() + "x")  # a bundled name, misspelt
    message = str(info.value)
    assert f"did you mean {DEFAULT_MODELS[2]}?" in message
    assert f"bundled models: {DEFAULT_MODELS[2]}, {DEFAULT_MODELS[3]}, bicubic" in message
    assert "other variants: " in message and "bicubic-x4" in message and "edsr-x2" in message
    assert isinstance(info.value, HubSRError)


def test_a_variant_without_bundled_weights_says_so(tmp_path, monkeypatch, no_hub):
    monkeypatch.setenv("HUBSR_MODELS_DIR", str(tmp_path))  # nothing bundled
    with pytest.raises(HubSRError, match=r"edsr-x3 is a hubsr variant \(edsr x3\), but no "
                       r"weights of it are bundled.*hubsr.create_model\('edsr-x3'\)"):  # fmt: skip
        hubsr.load("edsr-x3")


def test_a_scale_the_model_lacks_names_the_models_that_have_it(models, no_hub):
    with pytest.raises(ScaleError, match=f"upscales x3, not x2; bundled x2 models: "
                       f"{DEFAULT_MODELS[2]}") as info:  # fmt: skip
        hubsr.load(DEFAULT_MODELS[3], scale=2)
    assert info.value.others == models_of_scale(2) == [DEFAULT_MODELS[2]]
    with pytest.raises(ScaleError, match="no bundled model upscales x4; bicubic does"):
        hubsr.load(DEFAULT_MODELS[3], scale=4)
    with pytest.raises(ScaleError, match="Bicubic supports scales 2, 3 and 4, got 5"):
        hubsr.load("bicubic", scale=5)


@pytest.mark.parametrize("flag", [False, True])
def test_an_uncached_hub_id_offline_is_a_clear_error(offline, flag):
    message = (
        "someone/not-cached is not a model folder and is not in the local Hub cache; downloads "
        r"are off .*hf download someone/not-cached"
    )
    with pytest.raises(HubSRError, match=message):
        hubsr.load("someone/not-cached", offline=flag)


def test_the_cli_and_the_benchmark_load_through_it(tmp_path, no_hub):
    name, model = load_benchmark_model("bicubic-x2", 2)
    assert name == "bicubic-x2" and model.architecture == "bicubic" and model.scale == 2
    assert load_benchmark_model("bicubic", 4)[1].scale == 4
    Image.new("RGB", (5, 4)).save(tmp_path / "in.png")
    assert main(["upscale", str(tmp_path / "in.png"), "-o", str(tmp_path / "out"),
                 "--model", "bicubic-x2"]) == 0  # fmt: skip
    assert Image.open(tmp_path / "out" / "in.png").size == (10, 8)


def test_models_shows_each_folder_scale_and_variant(tmp_path, monkeypatch, capsys):
    create_model("abpn-x2").save_pretrained(tmp_path / "abpn-x2")
    create_model("abpn-x3", channels=4).save_pretrained(tmp_path / "abpn-tiny-x3")
    monkeypatch.setenv("HUBSR_MODELS_DIR", str(tmp_path))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert f"{'abpn-x2':<16} abpn       x2  267,212 parameters  variant abpn-x2" in out
    assert f"{'abpn-tiny-x3':<16} abpn       x3" in out and "variant none" in out
    assert "\nvariants:\n" in out
    assert f"{'bicubic-x2':<16} bicubic    x2  weightless" in out
    assert f"{'abpn-x2':<16} abpn       x2  bundled" in out
    assert f"{'edsr-x4':<16} edsr       x4  no weights bundled" in out


# -- train.py --model NAME ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def parse_settings():
    from train import parse_settings  # training/, on pytest's pythonpath

    return lambda *argv: parse_settings([*argv, "--steps", "1"])


def _trained(s) -> dict:
    """The config.json the settings' model would write."""
    model = hubsr.get_architecture(s.arch)(**json.loads(s.model_args), scale=s.scale)
    return json.loads(json.dumps(model.config))


def test_train_defaults_are_abpn_64x7_at_the_given_scale(parse_settings):
    for argv, scale in [((), 3), (("--scale", "2"), 2), (("--scale", "4"), 4)]:
        s = parse_settings(*argv)
        assert s.model == f"abpn-x{scale}" and s.arch == "abpn"
        skip = {"linear_skip": 5} if scale == 3 else {}  # the bundled abpn-x3's architecture
        assert json.loads(s.model_args) == {"channels": 64, "num_convs": 7, **skip}
        assert _trained(s) == get_variant(f"abpn-x{scale}").config


def test_train_model_name_is_the_variant(parse_settings):
    s = parse_settings("--model", "edsr-x2")
    assert (s.arch, s.scale) == ("edsr", 2) and _trained(s) == get_variant("edsr-x2").config
    assert parse_settings("--model", "edsr-x4", "--scale", "4").scale == 4


def test_train_override_wins_over_the_variant(parse_settings):
    s = parse_settings("--model", "edsr-x3", "--model-args", '{"num_blocks": 8}')
    assert _trained(s) == {**get_variant("edsr-x3").config, "num_blocks": 8}
    s = parse_settings("--arch", "abpn", "--model-args", '{"channels": 8, "num_convs": 2}')
    assert (s.arch, s.scale) == ("abpn", 3)
    # merged into abpn-x3's arguments: its linear skip stays unless overridden
    assert json.loads(s.model_args) == {"channels": 8, "num_convs": 2, "linear_skip": 5}
    s = parse_settings("--arch", "vdsr", "--model-args", "{}", "--scale", "4")  # no variant
    assert (s.model, s.arch, s.scale) == ("", "vdsr", 4)


@pytest.mark.parametrize(
    "argv, message",
    [
        (("--model", "edsr-x3", "--scale", "2"), "--scale 2 contradicts --model edsr-x3, which "
         "is x3; leave out --scale, or pick another --model (x2 edsr variants: edsr-x2, "
         "photo-x2)"),
        (("--model", "span-x3", "--scale", "4"), "or --arch span --scale 4 without --model"),
        (("--model", "edsr-x3", "--arch", "abpn"), "--arch abpn contradicts --model edsr-x3"),
        (("--model", "edsr-x9"), "--model edsr-x9: unknown variant 'edsr-x9'; known variants:"),
        (("--model-args", '{"scale": 2}'), "--model-args sets another scale than x3"),
    ],
)  # fmt: skip
def test_train_contradictions_stop_clearly(parse_settings, argv, message):
    with pytest.raises(SystemExit) as info:
        parse_settings(*argv)
    assert message in str(info.value)


def test_training_plans_name_their_variants(parse_settings):
    for plan in sorted((REPO / "training" / "plans").glob("*.json")):
        for run in json.loads(plan.read_text()):
            s = parse_settings(*run["args"])
            if "--model" in run["args"]:
                assert s.model == run["name"], (plan.name, run["name"])
                assert _trained(s) == get_variant(run["name"]).config


@pytest.mark.parametrize(
    ("typo", "meant"),
    [("edsr", "edsr-x3"), ("abpn", "abpn-x3"), ("abpnx2", "abpn-x2"), ("vdsr", "vdsr-x3")],
)
def test_a_bare_architecture_name_suggests_its_x3_model(typo, meant):
    # edsr-x2, edsr-x3 and edsr-x4 are equally close to "edsr": the x3 one wins, though the x3
    # default is edsr24-x3 and edsr-x2 is the x2 default.
    with pytest.raises(UnknownModelError) as raised:
        hubsr.load(typo)
    assert raised.value.suggestion == meant
