"""training/data.py's PairSampler: one gather per batch cuts exactly the patches that slicing and
flipping each patch by hand would cut, LR and HR aligned and transformed alike."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hubsr.dihedral import dihedral
from hubsr.protocol import make_lr, modcrop

from data import PairSampler, cached_pyramid, keep_detailed, make_pyramid


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    shapes = [(40, 50), (61, 37), (33, 90), (45, 45)]
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in shapes]


def reference_batch(images, sampler, batch, seed):
    """The same draws as PairSampler.sample, cut one patch at a time by slicing."""
    generator = torch.Generator().manual_seed(seed)
    index = torch.multinomial(sampler.weights, batch, replacement=True, generator=generator)
    uniform = torch.rand(batch, 2, generator=generator)
    transforms = torch.randint(0, 8, (batch,), generator=generator)
    p, s = sampler.patch, sampler.scale
    pyramid = [modcrop(img, s) for img in images]  # factor 1.0 only
    lr_out, hr_out = [], []
    for i, u, t in zip(index.tolist(), uniform.tolist(), transforms.tolist(), strict=True):
        hr = torch.from_numpy(pyramid[i].transpose(2, 0, 1).copy())
        lr = torch.from_numpy(make_lr(pyramid[i], s).transpose(2, 0, 1).copy())
        y, x = int(u[0] * (lr.shape[1] - p + 1)), int(u[1] * (lr.shape[2] - p + 1))
        lr_out.append(dihedral(lr[:, y : y + p, x : x + p], t))
        hr_out.append(dihedral(hr[:, y * s : (y + p) * s, x * s : (x + p) * s], t))
    return torch.stack(lr_out).float() / 255, torch.stack(hr_out).float() / 255, transforms


def test_gathered_patches_equal_patches_cut_one_by_one(images):
    sampler = PairSampler(make_pyramid(images, 3), scale=3, patch=7)
    lr, hr = sampler.sample(64, torch.Generator().manual_seed(5))
    lr_ref, hr_ref, transforms = reference_batch(images, sampler, 64, seed=5)
    assert lr.shape == (64, 3, 7, 7) and hr.shape == (64, 3, 21, 21)
    assert torch.equal(lr, lr_ref)
    assert torch.equal(hr, hr_ref)
    assert set(transforms.tolist()) == set(range(8))  # every flip/rotation was exercised


def test_targets_are_cut_where_and_turned_as_the_hr_patches_are(images):
    # Targets that are a pixel-wise function of HR (255 - HR) must come out as that function
    # of the HR patches, for every draw, size and flip/rotation; a 1 x 1 too-small image is
    # skipped together with its target.
    pyramid = make_pyramid(images, 3, (1.0, 0.6))
    targets = [255 - hr for hr, _ in pyramid]
    plain = PairSampler(pyramid, scale=3, patch=7)
    with_targets = PairSampler(pyramid, scale=3, patch=7, targets=targets)
    lr, hr = plain.sample(64, torch.Generator().manual_seed(5))
    lr_t, hr_t, target = with_targets.sample(64, torch.Generator().manual_seed(5))
    assert torch.equal(lr, lr_t) and torch.equal(hr, hr_t)
    assert torch.equal(target * 255, 255 - hr * 255)


def test_targets_that_do_not_match_the_pyramid_are_refused(images):
    pyramid = make_pyramid(images, 3)
    with pytest.raises(ValueError, match="3 targets for 4 pyramid pairs"):
        PairSampler(pyramid, scale=3, patch=7, targets=[hr for hr, _ in pyramid[:3]])
    wrong = [hr for hr, _ in pyramid]
    wrong[1] = wrong[1][:-3]
    with pytest.raises(ValueError, match="a target of shape"):
        PairSampler(pyramid, scale=3, patch=7, targets=wrong)


def test_images_too_small_for_a_patch_are_skipped_and_none_left_is_an_error(images):
    pyramid = make_pyramid(images, 3)
    sampler = PairSampler(pyramid, scale=3, patch=12)  # needs 36 HR pixels a side: 3 of 4 fit
    assert len(sampler) == 3
    with pytest.raises(ValueError, match="at least 300 pixels"):
        PairSampler(pyramid, scale=3, patch=100)


def test_scale_augmentation_adds_a_down_scaled_copy_of_each_image(images):
    sampler = PairSampler(make_pyramid(images, 3, (1.0, 0.7)), scale=3, patch=7)
    assert len(sampler) == 2 * len(images)
    # the down-scaled copies are smaller: their sampling weights (LR areas) are too
    assert torch.all(sampler.weights[4:] < sampler.weights[:4])


def test_pyramid_from_worker_processes_and_from_the_cache_equals_the_serial_one(images, tmp_path):
    serial = make_pyramid(images, 3, (1.0, 0.8))
    cache = tmp_path / "pyramid.npz"
    built = cached_pyramid(images, 3, (1.0, 0.8), cache, workers=2)  # builds and saves
    loaded = cached_pyramid([], 3, (1.0, 0.8), cache)  # no images needed: read back
    assert cache.is_file() and len(serial) == len(built) == len(loaded) == 8
    for (hr, lr), (hr_b, lr_b), (hr_l, lr_l) in zip(serial, built, loaded, strict=True):
        assert hr.shape[0] % 3 == 0 and lr.shape[0] * 3 == hr.shape[0]
        assert np.array_equal(hr, hr_b) and np.array_equal(lr, lr_b)
        assert np.array_equal(hr, hr_l) and np.array_equal(lr, lr_l)


def test_keep_detailed_keeps_textured_pairs_aligned():
    rng = torch.Generator().manual_seed(0)
    hr = torch.rand(6, 3, 12, 12, generator=rng)
    lr = torch.rand(6, 3, 4, 4, generator=rng)
    lr[[0, 2, 5]] = 0.5  # three flat patches
    hr[[0, 2, 5]] = 0.5
    target = torch.rand(6, 3, 12, 12, generator=rng)  # not ranked: only indexed alike
    kept_lr, kept_hr, kept_target = keep_detailed(3, lr, hr, target)
    # The textured pairs 1, 3, 4 survive, in draw order, each LR still with its own HR.
    assert torch.equal(kept_lr, lr[[1, 3, 4]]) and torch.equal(kept_hr, hr[[1, 3, 4]])
    assert torch.equal(kept_target, target[[1, 3, 4]])
