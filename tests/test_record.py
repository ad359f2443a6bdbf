"""The training record: model folders hold artifacts only; train_summary.json has a schema."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from hubsr import HubSRError
from hubsr.record import ARTIFACTS, TrainSummary, code_version, read_summary

REPO = Path(__file__).resolve().parent.parent
CARDS = REPO / "model_cards"
SUMMARY = {
    "arch": "abpn",
    "model_args": {"channels": 8, "scale": 3},
    "params": 100,
    "best_step": 4,
    "steps": 8,
    "train_seconds": 1.5,
    "device": "cpu",
    "processes": 1,
    "torch": "2.x",
    "results": {"set5": {"psnr": 30.0, "ssim": 0.9}},
}


def model_folders() -> list[Path]:
    return sorted(p.parent for p in CARDS.glob("*/config.json"))


def test_model_folders_hold_artifacts_only():
    assert model_folders(), "no model folders in model_cards/"
    for folder in model_folders():
        extra = sorted(p.name for p in folder.iterdir() if p.name not in ARTIFACTS)
        assert not extra, f"{folder.name} holds what is no artifact: {extra}"


@pytest.mark.parametrize("folder", model_folders(), ids=lambda p: p.name)
def test_every_shipped_summary_reads_with_or_without_the_newer_fields(folder):
    path = folder / "train_summary.json"
    before = path.read_bytes()
    summary = read_summary(path)
    data = json.loads(before)
    # Older summaries lack the code-version fields: they read as None, not as an error.
    for field in ("git_commit", "git_diff_sha256", "hubsr_version", "init_skip"):
        assert getattr(summary, field) == data.get(field)
    assert {k: v for k, v in summary.to_dict().items() if k in data} == data
    assert path.read_bytes() == before  # reading leaves the file as it was


def test_a_summary_round_trips_and_refuses_what_it_does_not_know():
    summary = TrainSummary.from_dict(SUMMARY | {"git_commit": "abc", "hubsr_version": "0.1.0"})
    assert TrainSummary.from_dict(json.loads(summary.to_json())) == summary
    assert json.loads(summary.to_json())["git_diff_sha256"] is None
    with pytest.raises(HubSRError, match="unknown fields: comit"):
        TrainSummary.from_dict(SUMMARY | {"comit": "abc"})
    with pytest.raises(HubSRError, match="lacks the fields steps"):
        TrainSummary.from_dict({k: v for k, v in SUMMARY.items() if k != "steps"})
    with pytest.raises(HubSRError, match="steps is '8', not int"):
        TrainSummary.from_dict(SUMMARY | {"steps": "8"})
    with pytest.raises(HubSRError, match="params is True"):
        TrainSummary.from_dict(SUMMARY | {"params": True})
    assert TrainSummary.from_dict(SUMMARY | {"train_seconds": 2}).train_seconds == 2


def test_code_version_names_the_checkout_or_says_none(tmp_path):
    outside = code_version(tmp_path)
    assert outside["git_commit"] is None and outside["git_diff_sha256"] is None
    assert outside["hubsr_version"]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "a.txt").write_text("one\n")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    clean = code_version(tmp_path)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    assert clean["git_commit"] == head.strip() and clean["git_diff_sha256"] is None
    (tmp_path / "a.txt").write_text("two\n")
    dirty = code_version(tmp_path)
    assert dirty["git_commit"] == clean["git_commit"] and len(dirty["git_diff_sha256"]) == 64
