"""release/generate.py --models: one retrained model's rows replace its old ones in place."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "release"))

from generate import merge_results  # noqa: E402


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
