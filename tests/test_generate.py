"""training/release/generate.py: with --models, one retrained model's rows replace its old ones
in place; every card it writes for the wheel links the round of the experiment log that made the
model."""

from __future__ import annotations

import json
import re
from pathlib import Path

from generate import ROUND_OF, experiment_log_link, merge_results

REPO = Path(__file__).resolve().parent.parent


def rows(model: str, psnr: float) -> list[dict]:
    return [{"model": model, "dataset": d, "psnr": psnr} for d in ("Set5", "Set14")]


def test_merge_replaces_only_the_remeasured_model_and_keeps_the_order():
    old = {
        "created": "then",
        "tta": False,
        "results": rows("bicubic", 1) + rows("a", 2) + rows("b", 3),
    }
    new = {"created": "now", "tta": False, "results": rows("a", 9)}
    merged = json.loads(merge_results(old, new))
    assert merged["created"] == "now" and merged["tta"] is False
    assert [(r["model"], r["psnr"]) for r in merged["results"]] == [
        ("bicubic", 1), ("bicubic", 1), ("a", 9), ("a", 9), ("b", 3), ("b", 3),
    ]  # fmt: skip


def test_merge_appends_a_model_that_was_not_measured_before():
    old = {"created": "then", "results": rows("a", 2)}
    merged = json.loads(merge_results(old, {"created": "now", "results": rows("c", 5)}))
    assert [r["model"] for r in merged["results"]] == ["a", "a", "c", "c"]


def test_every_model_in_the_wheel_links_its_round_of_the_experiment_log():
    package_data = (REPO / "pyproject.toml").read_text()  # the weights it puts in the wheel
    shipped = set(re.findall(r'"([\w.-]+)/model\.safetensors"', package_data))
    assert len(shipped) >= 9
    assert shipped <= set(ROUND_OF)  # and edsr-x3, bundled in the checkout
    for name in ROUND_OF:
        link = experiment_log_link(name)
        card = REPO / "model_cards" / name / "README.md"
        assert (card.parent / link).resolve().is_file(), f"{name}: {link} does not exist"
        assert f"]({link})" in card.read_text(), f"regenerate {name}'s card: it lacks {link}"
    assert experiment_log_link("vdsr-x3") is None  # the GPU baselines have no round
