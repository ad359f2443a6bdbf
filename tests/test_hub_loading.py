"""Loading fails loudly: every broken model folder or unreachable repo raises a clear HubSRError."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

import hubsr
import hubsr.hub
from hubsr import HubSR, HubSRError, get_architecture
from hubsr.bundled import DEFAULT_MODEL
from hubsr.cli import main


@pytest.fixture
def folder(tmp_path):
    """A saved tiny SPAN x2 model."""
    torch.manual_seed(0)
    path = tmp_path / "span-tiny"
    get_architecture("span")(scale=2, feature_channels=8, num_blocks=2).save_pretrained(path)
    return path


def edit_weights(folder, edit):
    weights = folder / "model.safetensors"
    state = load_file(weights)
    edit(state)
    save_file(state, weights)


def edit_config(folder, edit):
    path = folder / "config.json"
    config = json.loads(path.read_text())
    edit(config)
    path.write_text(json.dumps(config))


def test_good_folder_loads_in_eval_mode(folder):
    model = HubSR.from_pretrained(str(folder), map_location="cpu")
    assert model.architecture == "span" and model.scale == 2
    assert not any(m.training for m in model.modules())


# -- the folder ---------------------------------------------------------------------------------
def test_missing_weights(folder):
    (folder / "model.safetensors").unlink()
    with pytest.raises(HubSRError, match="has no model.safetensors"):
        HubSR.from_pretrained(folder)


def test_missing_config(folder):
    (folder / "config.json").unlink()
    with pytest.raises(HubSRError, match="has no config.json"):
        HubSR.from_pretrained(folder)


def test_file_instead_of_folder(folder):
    with pytest.raises(HubSRError, match="is a file"):
        HubSR.from_pretrained(folder / "config.json")


# -- the config ---------------------------------------------------------------------------------
def test_non_json_config(folder):
    (folder / "config.json").write_text("{'architecture': 'span',")
    with pytest.raises(HubSRError, match="not a readable JSON config"):
        HubSR.from_pretrained(folder)


@pytest.mark.parametrize("content", ["[1, 2]", '{"scale": 2}', '{"architecture": ["span"]}'])
def test_config_without_architecture(folder, content):
    (folder / "config.json").write_text(content)
    with pytest.raises(HubSRError, match="architecture"):
        HubSR.from_pretrained(folder)


def test_unknown_architecture(folder):
    edit_config(folder, lambda c: c.update(architecture="no-such-net"))
    with pytest.raises(HubSRError, match="unknown architecture 'no-such-net'.*span"):
        HubSR.from_pretrained(folder)


def test_unknown_config_argument(folder):
    edit_config(folder, lambda c: c.update(num_blcoks=3))
    with pytest.raises(HubSRError, match="does not match SPAN.*num_blcoks"):
        HubSR.from_pretrained(folder)


def test_invalid_config_value(folder):
    edit_config(folder, lambda c: c.update(scale=5))
    with pytest.raises(HubSRError, match="does not match SPAN.*scale"):
        HubSR.from_pretrained(folder)


# -- the weights --------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_weights_are_refused(folder, value):
    """A NaN weight used to load and give an all-black image with exit code 0."""

    def poison(state):
        state["head.weight"].view(-1)[3] = value

    edit_weights(folder, poison)
    weights = folder / "model.safetensors"
    with pytest.raises(HubSRError) as caught:
        hubsr.load(folder)
    assert str(caught.value) == (
        f"{weights} holds NaN or infinite weights (head.weight): the file is damaged or its "
        "training diverged"
    )


def test_missing_key(folder):
    edit_weights(folder, lambda s: s.pop("head.weight"))
    with pytest.raises(HubSRError, match="missing keys: head.weight"):
        HubSR.from_pretrained(folder)


def test_unexpected_key(folder):
    edit_weights(folder, lambda s: s.update({"extra.weight": torch.zeros(3)}))
    with pytest.raises(HubSRError, match="unexpected keys: extra.weight"):
        HubSR.from_pretrained(folder)


def test_mis_shaped_key(folder):
    edit_weights(folder, lambda s: s.update({"head.bias": torch.zeros(9)}))
    with pytest.raises(HubSRError, match=r"mis-shaped keys .*head.bias \(9,\) vs \(8,\)"):
        HubSR.from_pretrained(folder)


def test_weights_of_another_config(folder):
    # Same architecture, different width: every key is there but the shapes are wrong.
    edit_config(folder, lambda c: c.update(feature_channels=16))
    with pytest.raises(HubSRError, match="mis-shaped keys"):
        HubSR.from_pretrained(folder)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda data: b"",
        lambda data: b"this is not a safetensors file at all",
        lambda data: data[: len(data) // 2],
        lambda data: data[:8] + b"{not json" + data[17:],
    ],
    ids=["empty", "garbage", "truncated", "bad-header"],
)
def test_corrupt_weights(folder, corrupt):
    weights = folder / "model.safetensors"
    weights.write_bytes(corrupt(weights.read_bytes()))
    with pytest.raises(HubSRError, match="not a readable safetensors file"):
        HubSR.from_pretrained(folder)


# -- Hub repo ids -------------------------------------------------------------------------------
def test_uncached_repo_id_offline(offline):
    with pytest.raises(HubSRError, match="not in the local Hub cache; downloads are off"):
        HubSR.from_pretrained("hubsr-test/not-cached-anywhere")


def test_uncached_repo_id_offline_even_when_download_allowed(offline):
    with pytest.raises(HubSRError, match="hubsr-test/not-cached-anywhere"):
        HubSR.from_pretrained("hubsr-test/not-cached-anywhere", local_files_only=False)


def test_invalid_repo_id(offline):
    with pytest.raises(HubSRError, match="neither a model folder nor a valid Hub repo id"):
        HubSR.from_pretrained("no/such/folder/or repo")


@pytest.fixture
def fake_hub(folder, monkeypatch):
    """hf_hub_download answered from a local folder; every call's repo and kwargs recorded."""
    calls = []

    def download(repo_id, filename, **kwargs):
        calls.append((repo_id, filename, kwargs))
        return str(folder / filename)

    monkeypatch.setattr(hubsr.hub, "hf_hub_download", download)
    return calls


@pytest.mark.parametrize("flags, local_only", [([], False), (["--offline"], True)])
def test_cli_fetches_a_named_repo_id_unless_offline(fake_hub, tmp_path, flags, local_only):
    image = tmp_path / "in.png"
    Image.fromarray(np.zeros((6, 5, 3), np.uint8)).save(image)
    argv = ["upscale", str(image), "-o", str(tmp_path / "out"), "--model", "someone/span-tiny"]
    assert main([*argv, *flags]) == 0
    assert Image.open(tmp_path / "out" / "in.png").size == (10, 12)
    assert [c[:2] for c in fake_hub] == [
        ("someone/span-tiny", "config.json"),
        ("someone/span-tiny", "model.safetensors"),
    ]
    assert all(c[2]["local_files_only"] is local_only for c in fake_hub)


def test_bundled_names_never_ask_the_hub(fake_hub):
    HubSR.from_pretrained(DEFAULT_MODEL)
    assert fake_hub == []


def test_cli_offline_refuses_an_uncached_repo_without_the_network(offline, tmp_path, capsys):
    image = tmp_path / "in.png"
    Image.fromarray(np.zeros((6, 5, 3), np.uint8)).save(image)
    argv = ["upscale", str(image), "-o", str(tmp_path / "out"), "--model", "someone/sr-model"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "someone/sr-model is not a model folder and is not in the local Hub cache" in err
    assert "hf download someone/sr-model" in err
    assert not (tmp_path / "out").exists()
