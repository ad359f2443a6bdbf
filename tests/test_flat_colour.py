"""training/flat_colour.py: the endless flat image that stands for the interior of a large one,
and ``--flat-colours``' loss, which teaches a model to keep flat colour flat there (every bundled
model is held to it in tests/test_trustworthy.py)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import hubsr

from flat_colour import (
    FlatColours,
    endless,
    flat_colour_loss,
    flat_errors,
    flat_images,
    main,
    random_colours,
    worst_flat_error,
)


def test_an_endless_flat_image_is_the_middle_of_a_large_one():
    """What the circular padding stands for: the output on the small flat image equals the
    middle of the output on a flat image wide enough that no zero reaches its centre."""
    model = hubsr.load("espcn-x3").eval()
    colours = torch.tensor([[0.8, 0.1, 0.35], [0.0, 1.0, 0.5]])
    with torch.no_grad(), endless(model):
        small = model(flat_images(colours))
    with torch.no_grad():
        large = model(flat_images(colours, size=40))
    middle = large[:, :, 60:63, 60:63]
    assert torch.allclose(small[:, :, :3, :3], middle, atol=1e-5)
    assert not torch.allclose(large[:, :, :3, :3], middle, atol=1e-3)  # the zeros at the edge


def test_endless_puts_every_padding_mode_back():
    model = hubsr.load("edsr-x2")
    before = [m.padding_mode for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    with pytest.raises(RuntimeError), endless(model):
        raise RuntimeError("a failing forward")
    assert [m.padding_mode for m in model.modules() if isinstance(m, torch.nn.Conv2d)] == before


def test_random_colours_reach_the_corners_of_the_cube_and_repeat_with_the_seed():
    a = random_colours(4096, torch.Generator().manual_seed(3))
    b = random_colours(4096, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.shape == (4096, 3)
    extreme = (a == 0) | (a == 1)
    assert 0.4 < extreme.float().mean() < 0.6  # half the channels at 0 or 1
    assert ((a > 0.25) & (a < 0.75)).any()


def test_the_flat_colour_loss_teaches_a_model_to_keep_flat_colour():
    """A small random network maps flat colours anywhere; a few hundred steps of the loss alone
    bring the grid's worst error down several times."""
    torch.manual_seed(0)
    model = hubsr.get_architecture("espcn")(scale=2, channels=[16, 8], kernel_sizes=[3, 3, 3])
    before, _ = worst_flat_error(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    for _ in range(300):
        loss = flat_colour_loss(model, random_colours(32, generator), F.l1_loss)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after, _ = worst_flat_error(model)
    assert before > 40 and after < before / 4, (before, after)


class GreenLeaksIntoRed(torch.nn.Module):
    """Flat colour out, except that red gains a tenth of green: furthest off where green is
    full and red has room to grow. Counts its calls."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor(0.1))
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return torch.cat([x[:, :1] + self.weight * x[:, 1:2], x[:, 1:]], dim=1)


def test_hard_colours_are_where_the_model_is_furthest_off_and_mined_every_few_steps():
    model = GreenLeaksIntoRed()
    errors = flat_errors(model, torch.tensor([[0.0, 1.0, 0.0], [0.4, 0.4, 0.4], [1.0, 1.0, 1.0]]))
    assert errors.tolist() == [26.0, 10.0, 0.0]  # 25.5 rounds up; white is clipped back to 255
    model.calls, sampler = 0, FlatColours(16, hard=8, pool=512, every=3)
    generator = torch.Generator().manual_seed(0)
    batches = [sampler.sample(model, generator) for _ in range(6)]
    assert model.calls == 2  # mined at the first and the fourth step
    for batch in batches:
        fresh, hard = batch[:8], batch[8:]
        assert batch.shape == (16, 3) and 0 <= batch.min() and batch.max() <= 1
        assert hard[:, 1].min() > 0.95 and hard[:, 0].max() < 0.91  # full green, room in red
        assert fresh[:, 1].mean() < 0.9


def test_without_hard_colours_the_sampler_draws_the_random_colours():
    sampler = FlatColours(32)
    drawn = sampler.sample(GreenLeaksIntoRed(), torch.Generator().manual_seed(4))
    assert torch.equal(drawn, random_colours(32, torch.Generator().manual_seed(4)))
    with pytest.raises(ValueError, match="hard colours"):
        FlatColours(8, hard=9)


def test_the_script_prints_each_precision_on_each_sample(capsys):
    assert main(["--models", "espcn-x3", "--random", "64", "--uniform", "32", "--seed", "1"]) == 0
    header, _, *rows = capsys.readouterr().out.splitlines()
    assert header.endswith("Worst of 64 random colours | Worst of 32 uniform colours |")
    assert [row.split(" | ")[:2] for row in rows] == [
        ["| espcn-x3", "float32"],
        ["| espcn-x3", "bf16"],
    ]
    worst = [float(cell.split(" at ")[0]) for row in rows for cell in row.split(" | ")[2:]]
    assert len(worst) == 6 and max(worst) <= 2  # the round FC target, on fresh colours
