"""The teacher's target for distillation (training/distill.py): plain, one random
flip/rotation turned back, or the x8 self-ensemble; per batch, or once per whole image."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hubsr
from hubsr.benchmark import PROTOCOL_BORDER
from hubsr.dihedral import dihedral, undo_dihedral
from hubsr.pipeline import upscale

from distill import (
    cached_teacher_images,
    teacher_images,
    teacher_target,
    weights_digest,
)


@pytest.fixture(scope="module")
def teacher() -> torch.nn.Module:
    # A random ABPN is not equivariant to flips/rotations, so each of the 8 views differs.
    torch.manual_seed(0)
    return hubsr.get_architecture("abpn")(scale=2, channels=8, num_convs=2).eval()


@pytest.fixture(scope="module")
def batch() -> torch.Tensor:
    return torch.rand(2, 3, 6, 9, generator=torch.Generator().manual_seed(1))


@torch.no_grad()
def test_none_is_the_teachers_plain_output(teacher, batch):
    out = teacher_target(teacher, batch, "none", torch.Generator())
    assert out.equal(teacher(batch))


@torch.no_grad()
def test_views_are_turned_back_onto_the_input_grid(teacher, batch):
    # Each turned-back view has the plain output's shape and is close to it (the same image,
    # seen differently), but a random network's views are not all identical.
    plain = teacher(batch)
    views = [undo_dihedral(teacher(dihedral(batch, k)), k) for k in range(8)]
    assert all(v.shape == plain.shape for v in views)
    assert views[0].allclose(plain, atol=1e-6)
    assert not all(v.allclose(plain, atol=1e-6) for v in views[1:])


@torch.no_grad()
def test_random_draws_one_view_per_call_from_the_generator(teacher, batch):
    views = [undo_dihedral(teacher(dihedral(batch, k)), k) for k in range(8)]
    generator = torch.Generator().manual_seed(5)
    expected_k = torch.randint(8, (20,), generator=torch.Generator().manual_seed(5)).tolist()
    for k in expected_k:
        out = teacher_target(teacher, batch, "random", generator)
        assert out.allclose(views[k], atol=1e-6)
    assert len(set(expected_k)) > 1


@torch.no_grad()
def test_x8_is_the_mean_of_the_eight_turned_back_views(teacher, batch):
    views = [undo_dihedral(teacher(dihedral(batch, k)), k) for k in range(8)]
    out = teacher_target(teacher, batch, "x8", torch.Generator())
    assert out.allclose(torch.stack(views).mean(0), atol=1e-6)


def test_an_unknown_mode_is_refused(teacher, batch):
    with pytest.raises(ValueError, match="must be one of none, random, x8"):
        teacher_target(teacher, batch, "x4", torch.Generator())


@pytest.fixture(scope="module")
def pyramid() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(2)
    return [
        (
            rng.integers(0, 256, (2 * h, 2 * w, 3), dtype=np.uint8),
            rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
        )
        for h, w in [(5, 7), (8, 4)]
    ]


def test_whole_image_targets_are_the_pipelines_sr_of_each_lr_image(teacher, pyramid):
    for mode in ("none", "x8"):
        targets = teacher_images(teacher, pyramid, mode)
        for (hr, lr), target in zip(pyramid, targets, strict=True):
            assert target.dtype == np.uint8 and target.shape == hr.shape
            # with the zeros every cached teacher image was made with, not the user path's border
            sr = upscale(teacher, lr, tta=mode == "x8", border=PROTOCOL_BORDER)
            assert np.array_equal(target, sr)
    plain, ensemble = (
        teacher_images(teacher, pyramid, "none"),
        teacher_images(teacher, pyramid, "x8"),
    )
    assert not all(np.array_equal(a, b) for a, b in zip(plain, ensemble, strict=True))
    with pytest.raises(ValueError, match="none or x8, got 'random'"):
        teacher_images(teacher, pyramid, "random")


def test_whole_image_targets_are_read_back_from_their_cache(teacher, pyramid, tmp_path):
    cache = tmp_path / "targets.npz"
    built = cached_teacher_images(teacher, pyramid, "x8", cache)
    loaded = cached_teacher_images(None, pyramid, "x8", cache)  # no teacher needed: read back
    assert cache.is_file() and len(built) == len(loaded) == len(pyramid)
    assert all(np.array_equal(a, b) for a, b in zip(built, loaded, strict=True))


def test_the_weights_digest_names_the_weights(teacher):
    same = hubsr.get_architecture("abpn")(scale=2, channels=8, num_convs=2)
    same.load_state_dict(teacher.state_dict())
    assert weights_digest(same) == weights_digest(teacher)
    with torch.no_grad():
        next(same.parameters()).view(-1)[0] += 1e-3
    assert weights_digest(same) != weights_digest(teacher)
