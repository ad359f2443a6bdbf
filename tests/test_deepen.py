"""training/deepen.py: a deeper EDSR that starts as the trained one (Net2Net's deeper operator)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

import hubsr

from deepen import deepen, placement

REPO = Path(__file__).resolve().parent.parent


def tiny_edsr(num_blocks: int, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = hubsr.get_architecture("edsr")(scale=3, feature_channels=8, num_blocks=num_blocks)
    for block in model.body[:-1]:  # a trained model's second convolutions are not zero
        torch.nn.init.normal_(block.body[2].weight, std=0.05)
    return model.eval()


@pytest.mark.parametrize("trained, total", [(16, 24), (16, 32), (3, 5), (4, 4), (1, 3)])
def test_placement_keeps_the_order_and_spreads_the_new_blocks(trained, total):
    slots = placement(trained, total)
    assert len(slots) == total
    assert [s for s in slots if s is not None] == list(range(trained))
    runs, run = [], 0  # no long stretch of new blocks while others have none
    for slot in slots:
        run = run + 1 if slot is None else 0
        runs.append(run)
    assert max(runs) <= -(-(total - trained) // trained)


def test_placement_refuses_to_drop_blocks():
    with pytest.raises(ValueError, match="fewer than the model's 4 blocks"):
        placement(4, 3)


def test_the_deeper_model_computes_what_the_trained_one_does_and_can_still_learn():
    trained = tiny_edsr(3, seed=1)
    deeper = deepen(trained, 5).eval()
    assert len(deeper.body) == 6
    image = torch.rand(2, 3, 12, 10)
    with torch.no_grad():
        torch.testing.assert_close(deeper(image), trained(image), rtol=0, atol=1e-6)
    new = [b for b, s in zip(deeper.body[:-1], placement(3, 5), strict=True) if s is None]
    assert len(new) == 2 and all(not b.body[2].weight.any() for b in new)
    deeper.train()
    (deeper(image) - 0.5).abs().mean().backward()
    # the zeroed convolutions get gradients (their input is the random first convolution's)
    assert all(b.body[2].weight.grad.abs().sum() > 0 for b in new)


def test_cli_writes_a_loadable_deeper_folder_and_refuses_other_models(tmp_path):
    tiny_edsr(2, seed=2).save_pretrained(tmp_path / "trained")
    script = [sys.executable, str(REPO / "training" / "deepen.py")]
    run = subprocess.run(
        [*script, str(tmp_path / "trained"), "--blocks", "3", "--output", str(tmp_path / "deep")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "max difference" in run.stdout
    loaded = hubsr.HubSR.from_pretrained(tmp_path / "deep")
    assert isinstance(loaded, hubsr.get_architecture("edsr")) and len(loaded.body) == 4
    fewer = subprocess.run(
        [*script, str(tmp_path / "trained"), "--blocks", "1", "--output", str(tmp_path / "x")],
        capture_output=True,
        text=True,
    )
    assert fewer.returncode != 0 and "fewer than the model's 2 blocks" in fewer.stderr
    assert not (tmp_path / "x").exists()
    hubsr.get_architecture("abpn")(scale=3, channels=8, num_convs=2).save_pretrained(
        tmp_path / "abpn"
    )
    other = subprocess.run(
        [*script, str(tmp_path / "abpn"), "--blocks", "3", "--output", str(tmp_path / "y")],
        capture_output=True,
        text=True,
    )
    assert other.returncode != 0 and "not an EDSR" in other.stderr
