"""Muon for convolution filters: momentum SGD whose update is orthogonalised per layer.

Keller Jordan's Muon (https://kellerjordan.github.io/posts/muon/) replaces each weight matrix's
momentum by the nearest semi-orthogonal matrix (Newton-Schulz iteration), so every direction of
the layer moves at the same rate. ``torch.optim.Muon`` takes 2-D parameters only; a conv filter
(out, in, kh, kw) is the matrix (out, in * kh * kw), which is what this class orthogonalises.
Biases and the first and last layers stay on AdamW, as in the reference recipe.
"""

from __future__ import annotations

import torch

# The quintic coefficients of the reference implementation (and of torch.optim.Muon).
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def orthogonalise(matrix: torch.Tensor, steps: int = 5) -> torch.Tensor:
    """Approximately U V^T of ``matrix = U S V^T`` (singular values pushed to about 1)."""
    a, b, c = NS_COEFFICIENTS
    x = matrix.float()
    wide = x.size(0) <= x.size(1)
    if not wide:
        x = x.T
    x = x / (x.norm() + 1e-7)  # spectral norm <= Frobenius norm <= 1: the iteration converges
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x if wide else x.T


class ConvMuon(torch.optim.Optimizer):
    """Muon over parameters of 2 or more dimensions, each seen as (rows, everything else).

    ``lr`` is in AdamW units: the orthogonal update is scaled to an RMS of ``rms * lr`` per entry,
    and the default 0.2 is about the RMS of an AdamW step (the "match_rms_adamw" rule of
    torch.optim.Muon), so the same learning rate and schedule serve both optimizers.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0.95,
        nesterov: bool = True,
        rms: float = 0.2,
    ):
        defaults = {"lr": lr, "momentum": momentum, "nesterov": nesterov, "rms": rms}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim < 2:
                    raise ValueError(f"ConvMuon needs matrices or filters, got shape {p.shape}")

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.reshape(p.size(0), -1)
                buf = self.state[p].setdefault("momentum", torch.zeros_like(grad))
                buf.mul_(group["momentum"]).add_(grad)
                direction = grad.add(buf, alpha=group["momentum"]) if group["nesterov"] else buf
                update = orthogonalise(direction)
                # A semi-orthogonal matrix has an RMS of 1/sqrt(its larger dimension).
                scale = group["rms"] * max(update.shape) ** 0.5
                p.add_(update.view_as(p), alpha=-group["lr"] * scale)
        return None
