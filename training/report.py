"""What a training run leaves for people: the training-curve plot and a first model card."""

from __future__ import annotations

import dataclasses
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


def write_card(out: Path, settings, summary: dict) -> None:
    """A model card with the run's measured Set5 (selection) and test-set results and recipe."""
    scale = summary["model_args"]["scale"]
    rows = "\n".join(
        f"| {name} | {r['psnr']:.2f} | {r['ssim']:.4f} |" for name, r in summary["results"].items()
    )
    recipe = json.dumps(dataclasses.asdict(settings), indent=2)
    text = f"""---
library_name: hubsr
pipeline_tag: image-to-image
license: mit
tags: [super-resolution, hubsr, {summary["arch"]}]
---
# {out.name}: {summary["arch"]} x{scale}, trained from scratch by hubsr

{summary["params"]:,} parameters; {summary["steps"]} steps in {summary["train_seconds"] / 60:.1f}
training minutes on {summary["device"]} ({summary["processes"]} process(es), torch
{summary["torch"]}). Weights: EMA of the step with the best Set5 PSNR (step {summary["best_step"]}).

| set (x{scale}, PSNR-Y / SSIM-Y, crop {scale}) | PSNR | SSIM |
|---|---|---|
{rows}

Set5 picked the checkpoint; the other sets were measured once, after training.

```python
from hubsr import HubSR
model = HubSR.from_pretrained("{out}")
sr = model.upscale("image.png")
```

## Recipe (train_config.json)
```json
{recipe}
```
"""
    (out / "README.md").write_text(text)
