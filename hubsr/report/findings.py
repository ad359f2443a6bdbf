"""The report's findings: sentences computed from the measured numbers, none typed in."""

from __future__ import annotations

import json

from .records import Ablations, ReportRecords

__all__ = [
    "PUBLISHED_291",
    "describe_changes",
    "findings",
    "format_setting",
    "held_out_sets",
    "set14_images",
]

# The published methods trained on the same 291 images (T91 + BSDS200) as the bundled models;
# the other published rows (SRCNN, ESPCN) were trained on ImageNet.
PUBLISHED_291 = ("VDSR", "DRRN", "MemNet")


def held_out_sets(records: ReportRecords) -> list[str]:
    """The measured sets that picked no checkpoint of any of the models."""
    selection = {m.selection_set for m in records.models}
    return [d for d in records.datasets if d not in selection]


def set14_images(records: ReportRecords) -> list[str]:
    """Image names of the per-image table (Set14, in the benchmark's order); [] if unmeasured."""
    row = records.bicubic.get("Set14")
    return [image["name"] for image in row["images"]] if row else []


def findings(records: ReportRecords) -> list[str]:
    """One sentence per measured comparison, in the order the report lists them."""
    out = []
    held_out = held_out_sets(records)
    for model in records.models:
        bicubic = {d: records.bicubic[d]["psnr"] for d in held_out if d in records.bicubic}
        out.append(_versus(model, "bicubic", bicubic))
        if records.scale == 3 and "VDSR" in records.published:
            vdsr = {
                d: v
                for d, v in records.published["VDSR"].items()
                if d in held_out and v is not None
            }
            out.append(_versus(model, "VDSR's published PSNR", vdsr))
        tta = [
            f"{_delta(model.tta_results[d]['psnr'], model.results[d]['psnr'])} dB on {d}"
            for d in held_out
            if d in model.tta_results and d in model.results
        ]
        if tta:
            out.append(f"x8 self-ensemble (TTA) on {model.name}: " + "; ".join(tta) + ".")
        out.append(_per_image_extremes(records, model))
    if len(records.models) > 1:
        for d in held_out:
            measured = [m for m in records.models if d in m.results]
            best = max(measured, key=lambda m: m.results[d]["psnr"])
            out.append(
                f"Best on {d} of the models in this report: {best.name}, "
                f"{best.results[d]['psnr']:.2f} dB."
            )
    if records.ablations is not None:
        out.append(_ablation_extremes(records.ablations))
    return [sentence for sentence in out if sentence]


def _versus(model, reference: str, psnr: dict[str, float]) -> str:
    """ "M against R: 2.22 dB above on Set14 (29.85 against 27.63); ...", over the sets M has."""
    clauses = []
    for dataset, theirs in psnr.items():
        if dataset in model.results:
            ours = model.results[dataset]["psnr"]
            side = "above" if ours >= theirs else "below"
            clauses.append(
                f"{abs(ours - theirs):.2f} dB {side} on {dataset} ({ours:.2f} against {theirs:.2f})"
            )
    return f"{model.name} against {reference}: " + "; ".join(clauses) + "." if clauses else ""


def _ablation_extremes(ablations: Ablations) -> str:
    """The highest and lowest of the runs with the usual budget, against the baseline run."""
    runs, base = ablations.same_budget(), ablations.baseline
    if len(runs) < 2:
        return ""

    def described(run) -> str:
        versus = f", {run.psnr - base.psnr:+.2f} dB against {base.name}" if base else ""
        return f"{run.name} ({describe_changes(run.changes)}), {run.psnr:.2f} dB{versus}"

    budget = ablations.usual.get("minutes")
    if isinstance(budget, (int, float)):
        runs_with = f"with the usual {budget:g}-minute budget"
    else:
        runs_with = "at the same budget"
    top, low = max(runs, key=lambda r: r.psnr), min(runs, key=lambda r: r.psnr)
    return (
        f"Of the {len(runs)} ablation runs {runs_with}, on {ablations.selection_set}: highest "
        f"{described(top)}; lowest {described(low)}."
    )


def _per_image_extremes(records: ReportRecords, model) -> str:
    names = set14_images(records)
    if not names or "Set14" not in model.results:
        return ""
    bicubic = {i["name"]: i["psnr"] for i in records.bicubic["Set14"]["images"]}
    gain = {i["name"]: i["psnr"] - bicubic[i["name"]] for i in model.results["Set14"]["images"]}
    most, least = max(gain, key=gain.get), min(gain, key=gain.get)
    return (
        f"{model.name} on single Set14 images: the largest gain over bicubic is on {most} "
        f"({gain[most]:+.2f} dB), the smallest on {least} ({gain[least]:+.2f} dB)."
    )


def format_setting(value) -> str:
    """A training setting as the report prints it: JSON-object strings (``model_args``) as
    ``key=value`` lists, comma lists (``train_dirs``, ``scale_aug``) with a space after commas."""
    if isinstance(value, str) and value.startswith("{"):
        try:
            args = json.loads(value)
        except json.JSONDecodeError:
            return value
        return ", ".join(f"{k}={v}" for k, v in args.items()) or "defaults"
    if isinstance(value, str):
        return ", ".join(part.strip() for part in value.split(","))
    return str(value)


def describe_changes(changes: dict) -> str:
    """``key value; ...`` of an ablation run's changed settings, or "the usual settings"."""
    if not changes:
        return "the usual settings"
    return "; ".join(f"{k} {format_setting(v)}" for k, v in changes.items())


def _delta(value: float, reference: float) -> str:
    return f"{value - reference:+.2f}"
