"""hubsr.dihedral: the 8 flips/rotations that TTA, patch augmentation and distillation share."""

from __future__ import annotations

import pytest
import torch

from hubsr.dihedral import VIEWS, dihedral, undo_dihedral


def asymmetric() -> torch.Tensor:
    # Distinct values everywhere, so no flip or rotation maps the tensor onto itself.
    return torch.arange(2 * 3 * 4 * 4.0).reshape(2, 3, 4, 4)


@pytest.mark.parametrize("k", VIEWS)
def test_undo_dihedral_inverts_every_view(k):
    t = torch.arange(2 * 3 * 4 * 5.0).reshape(2, 3, 4, 5)
    assert undo_dihedral(dihedral(t, k), k).equal(t)


def test_the_eight_views_are_distinct_and_view_zero_is_the_identity():
    t = asymmetric()
    views = [dihedral(t, k) for k in VIEWS]
    assert views[0].equal(t)
    assert len({tuple(v.flatten().tolist()) for v in views}) == 8


def test_views_four_to_seven_are_the_mirrored_rotations():
    t = asymmetric()
    for k in range(4):
        assert dihedral(t, 4 + k).equal(torch.rot90(t.flip(-1), k, dims=(-2, -1)))
        assert dihedral(t, k).equal(torch.rot90(t, k, dims=(-2, -1)))


def test_non_square_views_swap_height_and_width_on_odd_quarter_turns():
    t = torch.zeros(1, 1, 3, 5)
    assert [tuple(dihedral(t, k).shape[-2:]) for k in VIEWS] == [(3, 5), (5, 3)] * 4
