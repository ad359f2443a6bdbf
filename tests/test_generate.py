"""training/release/generate.py: with --models, one retrained model's rows replace its old ones
in place; every card it writes for the wheel links the round of the experiment log that made the
model."""

from __future__ import annotations

import json
import re
from pathlib import Path

from generate import ROUND_OF, experiment_log_link, merge_results, precision_groups

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


def timed(model: str, psnr: float, seconds: float, machine: str, precision: str) -> dict:
    return {
        "model": model,
        "dataset": "Set5",
        "psnr": psnr,
        "seconds_per_image": seconds,
        "images": [{"name": "bird", "psnr": psnr, "seconds": seconds}],
        "environment": {"machine": machine},
        "protocol": {"precision": precision},
    }


def test_keep_times_measures_quality_again_but_keeps_the_time_and_its_machine():
    """A fine-tune changes weights, not the network: --keep-times takes the new PSNR and keeps
    the old time with the machine that measured it, this machine recorded for the quality."""
    old = {"created": "then", "results": [timed("a", 30.0, 0.5, "xeon", "bfloat16")]}
    new = {"created": "now", "results": [timed("a", 31.0, 2.0, "epyc", "bfloat16")]}
    [row] = json.loads(merge_results(old, new, keep_times=True))["results"]
    assert row["psnr"] == 31.0 and row["images"][0]["psnr"] == 31.0
    assert row["seconds_per_image"] == 0.5 and row["images"][0]["seconds"] == 0.5
    assert row["environment"] == {"machine": "xeon"}
    assert row["quality_environment"] == {"machine": "epyc"}
    [plain] = json.loads(merge_results(old, new))["results"]
    assert plain["seconds_per_image"] == 2.0 and "quality_environment" not in plain


def test_keep_times_measures_each_model_in_the_precision_its_rows_record(tmp_path):
    path = tmp_path / "benchmark-auto.json"
    rows_there = [timed("a", 1, 1, "x", "bfloat16"), timed("b", 1, 1, "x", "float32")]
    path.write_text(json.dumps({"created": "then", "results": rows_there}))
    assert precision_groups(["a", "b", "c"], path, keep_times=True) == [
        ("bf16", ["a"]), ("fp32", ["b", "c"]),
    ]  # fmt: skip
    assert precision_groups(["a", "b"], path, keep_times=False) == [("auto", ["a", "b"])]


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
