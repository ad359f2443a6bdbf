"""training/side_by_side.py runs a plan's trainings at once, then each run's follow-up command;
train.py --snapshot-every and training/time_to_psnr.py measure the time to a PSNR afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors import safe_open

import hubsr

pytestmark = pytest.mark.slow  # two training runs

REPO = Path(__file__).resolve().parent.parent
TINY = json.dumps({"channels": 8, "num_convs": 2})


def test_plan_runs_side_by_side_and_time_to_psnr_reads_the_snapshots(tiny_data, tmp_path):
    common = [
        "--train-dirs", str(tiny_data["train"]), "--eval-dir", str(tiny_data["eval"]),
        "--test-dirs", str(tiny_data["eval"]), "--cache-dir", str(tmp_path / "cache"),
        "--arch", "abpn", "--model-args", TINY, "--scale-aug", "1.0,0.8", "--batch", "4",
        "--patch", "8", "--eval-every", "10", "--log-every", "10", "--threads", "1",
    ]  # fmt: skip
    plan = [
        {
            "name": "timed",
            "args": [*common, "--steps", "40", "--snapshot-every", "0.001"],
            "then": [
                ["{python}", str(REPO / "training" / "time_to_psnr.py"), "{output}"]
                + ["--dataset", str(tiny_data["eval"]), "--threshold", "0", "--device", "cpu"]
            ],
        },
        {"name": "plain", "args": [*common, "--steps", "20", "--seed", "1"]},
    ]
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    runs = tmp_path / "runs"
    cmd = [sys.executable, str(REPO / "training" / "side_by_side.py"), str(tmp_path / "plan.json")]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(
        [*cmd, "--runs-dir", str(runs)], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "all runs over" in result.stdout
    for name, steps in (("timed", 40), ("plain", 20)):
        hubsr.HubSR.from_pretrained(runs / name)
        assert f"{name:<14}" in result.stdout  # its row in the closing table
        assert json.loads((runs / name / "train_summary.json").read_text())["steps"] == steps
    # The pyramid was built once, before the runs, and shared by both.
    assert len(list((tmp_path / "cache").glob("*/pyramid-x3-*.npz"))) == 1

    # A snapshot is taken at the first 10-step clock reading past each interval: every 10 steps.
    snapshots = sorted((runs / "timed" / "snapshots").glob("*.safetensors"))
    steps = []
    for path in snapshots:
        with safe_open(str(path), "pt") as f:
            steps.append(int(f.metadata()["step"]))
    assert steps == [10, 20, 30, 40]
    report = json.loads((runs / "timed" / "time_to_psnr.json").read_text())
    # Threshold 0 dB: the first snapshot passes, and two more are measured after it.
    assert report["first_pass"]["step"] == 10
    times = [row["elapsed_s"] for row in report["snapshots"]]
    assert len(times) == 3 and times == sorted(times)
    assert all(row["psnr"] > 10 for row in report["snapshots"])
    assert not (runs / "plain" / "snapshots").exists()
