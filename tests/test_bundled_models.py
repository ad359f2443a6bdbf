"""The shipped weights are the ones the published numbers were measured on.

Every bundled model is re-measured on Set5 (the selection set, small enough for CI) and must
reproduce the PSNR/SSIM in ``model_cards/results/benchmark.json``, which the cards and the
README table are generated from. A retrained model without regenerated results fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hubsr import HubSR
from hubsr.benchmark import benchmark
from hubsr.bundled import DEFAULT_MODEL, bundled_models
from hubsr.cards import load_benchmark_json

RESULTS = Path(__file__).resolve().parent.parent / "model_cards" / "results" / "benchmark.json"
BUNDLED = bundled_models()


def test_the_default_model_is_bundled():
    assert DEFAULT_MODEL in BUNDLED, f"{DEFAULT_MODEL} is not in {sorted(BUNDLED)}"


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_model_reproduces_its_published_set5_result(name):
    published = [
        r
        for r in load_benchmark_json(RESULTS)["results"]
        if r["model"] == name and r["dataset"] == "Set5" and not r["tta"]
    ]
    assert len(published) == 1, f"no single Set5 result for {name} in {RESULTS}"
    model = HubSR.from_pretrained(BUNDLED[name])
    measured = benchmark(model, "Set5", model.scale, progress=False)
    # Threads and CPU kernels can move the last float bits, never a hundredth of a dB.
    assert measured["psnr"] == pytest.approx(published[0]["psnr"], abs=0.01)
    assert measured["ssim"] == pytest.approx(published[0]["ssim"], abs=1e-4)
    per_image = {r["name"]: r["psnr"] for r in measured["images"]}
    assert per_image == pytest.approx(
        {r["name"]: r["psnr"] for r in published[0]["images"]}, abs=0.02
    )
