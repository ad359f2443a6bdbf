"""training/flat_colour.py: the endless flat image that stands for the interior of a large one,
and ``--flat-colours``' loss, which teaches a model to keep flat colour flat there (every bundled
model is held to it in tests/test_trustworthy.py)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import hubsr

from flat_colour import (
    NEIGHBOURHOOD,
    FlatColours,
    collapsed,
    endless,
    flat_colour_loss,
    flat_errors,
    flat_images,
    load_flat_seeds,
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


@pytest.mark.parametrize(
    "name", ["edsr-x4", "edsr-x2", "vdsr-x3", "srcnn-x3", "span-x3", "abpn-x3", "espcn-x3"]
)
def test_a_collapsed_flat_image_agrees_with_the_endless_one(name):
    """Every architecture we bundle: summing a convolution's taps on a constant input gives
    what the convolution gives there (float32, to a thousandth of a level), pre-upsampling
    models (VDSR, SRCNN: a constant bicubic image) included."""
    model = hubsr.load(name)
    colours = random_colours(64, torch.Generator().manual_seed(5))
    kernels = flat_errors(model, colours, rounded=False)
    assert torch.allclose(
        flat_errors(model, colours, rounded=False, collapse=True), kernels, atol=1e-3
    )


def test_collapsed_computes_one_pixel_until_the_upsampler():
    model, sizes = hubsr.load("edsr-x3").eval(), []
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    for conv in convs:
        conv.register_forward_hook(lambda _, x, y: sizes.append((x[0].shape[-1], y.shape[-1])))
    with torch.no_grad(), collapsed(model):
        model(flat_images(torch.tensor([[0.2, 0.5, 0.9]]), size=1))
    assert len(sizes) == len(convs)
    assert sizes[:-1] == [(1, 1)] * (len(convs) - 1)  # all but the tail after the pixel shuffle
    assert sizes[-1] == (3, 3)  # one period of the shuffle, padded circularly


def test_collapsed_bf16_emulates_the_kernels_within_a_level():
    model = hubsr.load("edsr-x2")
    colours = random_colours(24, torch.Generator().manual_seed(6))
    kernels = flat_errors(model, colours, dtype=torch.bfloat16, rounded=False)
    emulated = flat_errors(model, colours, dtype=torch.bfloat16, rounded=False, collapse=True)
    assert (emulated - kernels).abs().max() < 1


def test_collapsed_puts_every_forward_back():
    model = hubsr.load("edsr-x2").eval()
    image = torch.rand(1, 3, 5, 7)
    with torch.no_grad():
        before = model(image)
        with pytest.raises(RuntimeError), collapsed(model):
            raise RuntimeError("a failing forward")
        assert not any("forward" in vars(m) for m in model.modules())
        assert torch.equal(model(image), before)


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


class OffOnOnePatch(torch.nn.Module):
    """Flat colour out, except red 10 levels up within 3 levels of ``centre``: 343 of the 16.7 M
    colours, which a random pool rarely reaches."""

    def __init__(self, centre=(142, 211, 180)):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(()))  # flat_errors asks for the device
        self.centre = centre

    def forward(self, x):
        centre = torch.tensor(self.centre, dtype=x.dtype)[:, None, None] / 255
        near = ((x - centre).abs() <= 3.5 / 255).all(dim=1, keepdim=True)
        red = torch.tensor([10 / 255, 0, 0], dtype=x.dtype)[:, None, None]
        return x + near * red + self.weight


def _in_patch(colours, centre, levels):
    return ((colours * 255 - torch.tensor(centre)).abs() <= levels).all(dim=1)


def test_seeds_lead_the_miner_to_a_narrow_patch_and_neighbours_follow_it():
    model, generator = OffOnOnePatch(), torch.Generator().manual_seed(0)
    blind = FlatColours(32, hard=16, pool=64, every=1)
    assert not _in_patch(blind.sample(model, generator)[16:], model.centre, 6).any()
    seeds = torch.tensor([[139.0, 208.0, 177.0]]) / 255  # a scan's find, at the patch's edge
    sampler = FlatColours(32, hard=16, pool=64, every=1, seeds=seeds)
    hard = sampler.sample(model, generator)[16:]
    assert _in_patch(hard[:1], model.centre, 3.5 + 2).all()  # the worst, give or take jitter
    for _ in range(4):  # the neighbours of the colours found off fill the patch
        hard = sampler.sample(model, generator)[16:]
    assert _in_patch(hard, model.centre, 3.5 + 2).sum() >= 6
    model.centre = (146, 215, 180)  # the patch moves, as it does while a model learns
    assert 4 < NEIGHBOURHOOD * 255
    for _ in range(3):
        hard = sampler.sample(model, generator)[16:]
    assert _in_patch(hard, model.centre, 3.5 + 2).sum() >= 6


def test_seeds_load_from_a_scan_file_or_say_why_not(tmp_path):
    good, bad = tmp_path / "scan.pt", tmp_path / "bad.pt"
    torch.save({"colours": torch.tensor([[0, 255, 10], [142, 211, 180]])}, good)
    assert torch.equal(load_flat_seeds(good) * 255, torch.tensor([[0.0, 255, 10], [142, 211, 180]]))
    bad.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="bad.pt is not a flat_scan.py colour file"):
        load_flat_seeds(bad)


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
