"""The training curve a run leaves beside its card: loss and Set5 PSNR against training time."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on training machines
import matplotlib.pyplot as plt  # noqa: E402


def read_metrics(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def plot_curve(metrics_path: Path, png_path: Path) -> None:
    """Training loss and Set5 PSNR against training minutes."""
    rows = read_metrics(metrics_path)
    if not rows:
        return
    fig, (ax_loss, ax_psnr) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax_loss.plot([r["elapsed_s"] / 60 for r in rows], [r["loss"] for r in rows], lw=1)
    ax_loss.set(xlabel="training minutes", ylabel="training loss", yscale="log")
    evals = [r for r in rows if "set5_psnr" in r]
    ax_psnr.plot([r["elapsed_s"] / 60 for r in evals], [r["set5_psnr"] for r in evals], "o-", ms=3)
    ax_psnr.set(xlabel="training minutes", ylabel="Set5 PSNR-Y (dB, EMA weights)")
    for ax in (ax_loss, ax_psnr):
        ax.grid(alpha=0.3)
    fig.suptitle(Path(png_path).parent.name)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
