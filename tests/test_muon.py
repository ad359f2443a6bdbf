"""training/muon.py: the orthogonalised update, and which parameters it takes."""

from __future__ import annotations

import pytest
import torch

from muon import ConvMuon, orthogonalise


@pytest.mark.parametrize("shape", [(64, 576), (576, 64), (16, 48)])
def test_orthogonalise_flattens_the_spectrum(shape):
    matrix = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    matrix[0] *= 100  # one dominant direction, as in real gradients
    singular = torch.linalg.svdvals(orthogonalise(matrix))
    # Five quintic steps land every singular value in about [0.7, 1.2], not exactly at 1.
    assert singular.min() > 0.5 and singular.max() < 1.3
    assert torch.linalg.svdvals(matrix).max() / torch.linalg.svdvals(matrix).min() > 50


def test_conv_filter_steps_with_the_rms_of_an_adamw_step():
    conv = torch.nn.Conv2d(16, 32, 3)
    before = conv.weight.detach().clone()
    optimizer = ConvMuon([conv.weight], lr=1e-2, nesterov=False)
    conv(torch.randn(2, 16, 8, 8)).square().mean().backward()
    optimizer.step()
    step = conv.weight.detach() - before
    # The update is semi-orthogonal (rows x 144), scaled to an RMS of 0.2 * lr per entry.
    rms = step.square().mean().sqrt().item()
    assert 0.2 * 1e-2 * 0.6 < rms < 0.2 * 1e-2 * 1.2
    assert torch.linalg.matrix_rank(step.reshape(32, -1)) == 32


def test_vectors_are_refused():
    with pytest.raises(ValueError, match="matrices or filters"):
        ConvMuon([torch.nn.Parameter(torch.zeros(8))])
