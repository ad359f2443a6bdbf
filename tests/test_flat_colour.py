"""training/flat_colour.py: the endless flat image that stands for the interior of a large one,
and ``--flat-colours``' loss, which teaches a model to keep flat colour flat there (every bundled
model is held to it in tests/test_trustworthy.py)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import hubsr

from flat_colour import (
    endless,
    flat_colour_loss,
    flat_images,
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
