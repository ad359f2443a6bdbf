"""The shipped weights are the ones the published numbers were measured on.

Every bundled model is re-measured on Set5 (the selection set, small enough for CI) and must
reproduce the PSNR/SSIM in ``model_cards/results/benchmark.json``, which the cards and the
README table are generated from. A retrained model without regenerated results fails here.
The bf16 default is checked against its rule: allowed only where the recorded bf16 PSNR is
within ``BF16_TOLERANCE_DB`` of float32 on every test set.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import hubsr
import hubsr.bundled
from hubsr import HubSR, HubSRError
from hubsr.benchmark import benchmark
from hubsr.bundled import (
    DEFAULT_MODEL,
    DEFAULT_MODELS,
    WEIGHTS_SHA256,
    bundled_models,
    bundled_scale,
    digests,
)
from hubsr.cards import BF16_TOLERANCE_DB, load_benchmark_json
from hubsr.testsets import BENCHMARK_SETS

from generate import results_json  # the release script names the JSON files

RESULTS_DIR = Path(__file__).resolve().parent.parent / "model_cards" / "results"
BUNDLED = bundled_models()


def recorded(name: str, kind: str = "plain") -> dict[str, dict]:
    path = results_json(bundled_scale(name), kind)
    rows = [r for r in load_benchmark_json(path)["results"] if r["model"] == name and not r["tta"]]
    return {r["dataset"]: r for r in rows}


def test_the_default_model_of_every_scale_is_bundled():
    assert DEFAULT_MODEL in BUNDLED, f"{DEFAULT_MODEL} is not in {sorted(BUNDLED)}"
    for scale, name in DEFAULT_MODELS.items():
        assert bundled_scale(name) == scale, f"{name} (the x{scale} default) is not bundled"


def test_every_bundled_weights_file_has_the_digest_recorded_at_release():
    assert digests() == WEIGHTS_SHA256, (
        "bundled weights changed: record the new digests in hubsr/bundled.py (WEIGHTS_SHA256 = "
        f"{digests()})"
    )


def test_a_damaged_bundled_weights_file_is_refused(tmp_path, monkeypatch):
    """Random bytes inside the weight data of a shipped model: refused at load, one line."""
    models = tmp_path / "model_cards"
    shutil.copytree(BUNDLED["espcn-x3"], models / "espcn-x3")
    monkeypatch.setattr(hubsr.bundled, "_REPO_MODELS", models)
    assert hubsr.load("espcn-x3").scale == 3  # the intact copy loads
    weights = models / "espcn-x3" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-4000:-3000] = np.random.default_rng(0).bytes(1000)  # inside the last tensor's floats
    weights.write_bytes(bytes(data))
    with pytest.raises(HubSRError) as caught:
        hubsr.load("espcn-x3")
    message = str(caught.value)
    assert message.startswith(f"{weights} is not the bundled espcn-x3 weights (sha256 ")
    assert message.endswith("the file is damaged or was replaced; restore it (git checkout, "
                            "or reinstall hubsr)")  # fmt: skip
    assert "\n" not in message


@pytest.mark.slow  # every bundled model on Set5
@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_model_reproduces_its_published_set5_result(name):
    published = [recorded(name)["Set5"]] if "Set5" in recorded(name) else []
    assert len(published) == 1, f"no Set5 result for {name} in {results_json(bundled_scale(name))}"
    model = HubSR.from_pretrained(BUNDLED[name])
    measured = benchmark(model, "Set5", model.scale, progress=False)
    # Threads and CPU kernels can move the last float bits, never a hundredth of a dB.
    assert measured["psnr"] == pytest.approx(published[0]["psnr"], abs=0.01)
    assert measured["ssim"] == pytest.approx(published[0]["ssim"], abs=1e-4)
    per_image = {r["name"]: r["psnr"] for r in measured["images"]}
    assert per_image == pytest.approx(
        {r["name"]: r["psnr"] for r in published[0]["images"]}, abs=0.02
    )


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_a_bf16_default_costs_at_most_the_tolerance(name):
    """Where upscale defaults to bf16 (a bf16_safe model), the recorded bf16 PSNR is within
    the tolerance of float32 on Set5, Set14 and BSD100; the default-precision JSON says which
    precision ran."""
    fp32, fast = recorded(name), recorded(name, "auto")
    assert set(fast) == set(fp32) == set(BENCHMARK_SETS)
    model = HubSR.from_pretrained(BUNDLED[name])
    for dataset, row in fast.items():
        assert fp32[dataset]["protocol"]["precision"] == "float32"
        if row["protocol"]["precision"] == "bfloat16":
            assert model.bf16_safe, f"{name} ran in bf16 by default but is not bf16_safe"
            change = row["psnr"] - fp32[dataset]["psnr"]
            assert abs(change) <= BF16_TOLERANCE_DB, f"{name} {dataset}: bf16 {change:+.4f} dB"
