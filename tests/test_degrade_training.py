"""training/degrade.py: the random photo degradations of training patches."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from hubsr.protocol import make_lr

from degrade import RECIPES, PhotoRecipe, degrade_batch, gaussian_kernel

PHOTO = RECIPES["photo"]
OFF = PhotoRecipe(kernel=0.0, noise=0.0, jpeg=0.0)


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    # Smooth random HR patches (not white noise): JPEG and blur then act as on photos.
    hr = [np.kron(rng.integers(0, 256, (12, 12, 3)), np.ones((4, 4, 1))).astype(np.uint8)]
    hr += [np.roll(hr[0], shift, axis=(0, 1)) for shift in range(1, 8)]
    lr = [make_lr(h, 3) for h in hr]

    def tensor(images):
        return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255

    return tensor(hr), tensor(lr)


def test_a_seed_gives_the_same_batch_and_another_seed_another(batch):
    hr, lr = batch
    a = degrade_batch(hr, lr, 3, PHOTO, torch.Generator().manual_seed(1))
    b = degrade_batch(hr, lr, 3, PHOTO, torch.Generator().manual_seed(1))
    c = degrade_batch(hr, lr, 3, PHOTO, torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == lr.shape and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a * 255, (a * 255).round())  # 8-bit levels, as a real input


def test_with_every_step_off_the_protocol_lr_comes_back(batch):
    hr, lr = batch
    out = degrade_batch(hr, lr, 3, OFF, torch.Generator().manual_seed(0))
    assert torch.equal(out, lr)


@pytest.mark.parametrize("step", ["kernel", "noise", "jpeg"])
def test_each_step_alone_changes_every_patch(batch, step):
    hr, lr = batch
    recipe = dataclasses.replace(OFF, **{step: 1.0})
    out = degrade_batch(hr, lr, 3, recipe, torch.Generator().manual_seed(0))
    changed = (out - lr).abs().flatten(1).amax(dim=1)
    assert (changed > 0).all()


def test_the_lens_kernel_is_normalised_and_turns_with_its_angle():
    k = gaussian_kernel(2.0, 0.7, 0.0)
    assert torch.isclose(k.sum(), torch.tensor(1.0)) and k.shape[0] % 2 == 1
    assert torch.allclose(gaussian_kernel(2.0, 0.7, np.pi / 2), k.T, atol=1e-6)
    iso = gaussian_kernel(1.0, 1.0, 0.3)
    assert torch.allclose(iso, iso.T, atol=1e-7)
