"""The card section "On photos": a model's PSNR on the named degradations of the test sets
(:mod:`hubsr.degradations`), beside bicubic and the other models measured with it, from
``hubsr benchmark --degradation ... --json`` rows."""

from __future__ import annotations

from ..degradations import DEGRADATIONS
from ..testsets import BENCHMARK_SETS

__all__ = ["degraded_section", "degraded_table"]


def degraded_table(results: list[dict], dataset: str, models: list[str]) -> str:
    """Markdown: one row a degradation, one column a model (PSNR on ``dataset``, dB), and the
    last model's gain over bicubic when bicubic is among ``models``."""
    psnr = {
        (r["model"], r.get("degradation", "clean")): r["psnr"]
        for r in results
        if r["dataset"] == dataset and not r["tta"]
    }
    names = [d for d in DEGRADATIONS if any((m, d) in psnr for m in models)]
    gain = "bicubic" in models and models[-1] != "bicubic"
    header = "| Input | " + " | ".join(models) + (f" | {models[-1]} - bicubic |" if gain else " |")
    lines = [header, "|---|" + "---:|" * (len(models) + gain)]
    for d in names:
        cells = [f"{psnr[m, d]:.2f}" if (m, d) in psnr else "—" for m in models]
        if gain and (models[-1], d) in psnr and ("bicubic", d) in psnr:
            cells.append(f"{psnr[models[-1], d] - psnr['bicubic', d]:+.2f}")
        elif gain:
            cells.append("—")
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def degraded_section(name: str, degraded: dict | None, sheet: str | None = None) -> str:
    """The section for model ``name``, or "" when ``degraded`` (a benchmark JSON) has no row of
    it. ``sheet`` is a link to the comparison picture, shown under the tables."""
    if not degraded:
        return ""
    results = degraded["results"]
    if not any(r["model"] == name for r in results):
        return ""
    others = [m for m in dict.fromkeys(r["model"] for r in results) if m not in ("bicubic", name)]
    models = ["bicubic", *others, name]
    mine = {r["dataset"] for r in results if r["model"] == name}
    present = [d for d in BENCHMARK_SETS if d in mine]
    scale = next(r["scale"] for r in results if r["model"] == name)
    recipes = "; ".join(
        f"`{d}`: {DEGRADATIONS[d].describe()}"
        for d in DEGRADATIONS
        if any(r.get("degradation") == d for r in results)
    )
    parts = [
        "## On photos: degraded inputs",
        f"PSNR (dB, Y, float32) at x{scale} when the LR image is degraded before the model sees "
        "it, scored against the clean HR by the same protocol (`hubsr benchmark --degradation "
        f"NAME`; fixed seeds, anyone gets the same pixels). The degradations: {recipes}.",
    ]
    for dataset in present:
        parts.append(f"**{dataset}**\n\n" + degraded_table(results, dataset, models))
    if sheet:
        parts.append(f"![HR, bicubic and the models on degraded inputs]({sheet})")
    return "\n\n".join(parts)
