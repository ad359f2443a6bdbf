"""A card's training story: data, recipe, code version, time to quality and limitations, from
the folder's ``train_summary.json`` / ``train_config.json`` (:mod:`hubsr.record`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..record import TrainSummary
from .inputs import read_object

__all__ = [
    "TEACHER_TTA_WORDS",
    "limitations_section",
    "time_to_quality_section",
    "train_sets_of",
    "training_section",
]


TRAIN_SET_WORDS = {
    "T91": "T91 (91 images, Yang et al. 2010)",
    "BSDS200": "BSDS200 (the 200 BSDS300 training images, Martin et al. 2001)",
}


def train_sets_of(train_config: dict | None) -> list[str]:
    if not train_config or not train_config.get("train_dirs"):
        return []
    return [Path(d).name for d in str(train_config["train_dirs"]).split(",") if d.strip()]


# How a card names the teacher's self-ensemble (train.py --teacher-tta).
TEACHER_TTA_WORDS = {
    "none": "",
    "random": ", the teacher's SR taken on one random flip/rotation of each batch and turned "
    "back (on average its x8 self-ensemble)",
    "x8": ", the teacher's SR its x8 self-ensemble (mean over the 8 flips/rotations)",
}


def training_section(
    summary: TrainSummary | None,
    config: dict | None,
    train_sets: list[str],
    experiment_log: str | None = None,
) -> str:
    """Data, the run's facts and settings; ``experiment_log`` (a link relative to the card) is
    the round of the experiment log that made the model, linked for the story behind it."""
    parts = ["## Training"]
    if summary is None and config is None:
        parts.append("No `train_summary.json` or `train_config.json` was found in the folder.")
        return "\n\n".join(parts)
    if train_sets:
        described = [TRAIN_SET_WORDS.get(s, s) for s in train_sets]
        data = " + ".join(described)
        if set(train_sets) == {"T91", "BSDS200"}:
            data += ' = the "291" set of VDSR, DRRN and MemNet'
        parts.append(f"Data: {data}.")
    if summary is not None:
        minutes = summary.train_seconds / 60
        facts = [
            f"- architecture `{summary.arch}` with arguments "
            f"`{json.dumps(summary.model_args, sort_keys=True)}`",
            f"- {summary.steps} steps in {minutes:.1f} minutes of training on "
            f"{summary.device} ({summary.processes} process(es), torch {summary.torch})",
            f"- released weights: step {summary.best_step}, the best on the "
            f"selection set ({Path(str((config or {}).get('eval_dir', 'Set5'))).name} PSNR)",
        ]
        if summary.init_from:
            fresh = f" (freshly initialised: `{summary.init_skip}`)" if summary.init_skip else ""
            facts.append(f"- warm start: weights from `{summary.init_from}`{fresh}")
        if summary.teacher:
            w = summary.distill_weight
            ensemble = TEACHER_TTA_WORDS.get(summary.teacher_tta or "none", "")
            if summary.teacher_on == "images":
                ensemble += (
                    ", computed once on each whole training image (LR) and cut into patches "
                    "alongside the HR image"
                )
            facts.append(
                f"- distilled from `{summary.teacher}`: the loss is {1 - w:g} x loss(SR, HR) "
                f"+ {w:g} x loss(SR, teacher's SR){ensemble}"
            )
        if summary.git_commit or summary.hubsr_version:
            facts.append(f"- code: {code_words(summary)}")
        if experiment_log:
            facts.append(f"- how it was made: {experiment_log_words(experiment_log)}")
        if summary.notes:
            facts.append(f"- {summary.notes}")
        results = summary.results
        if results:
            measured = ", ".join(
                f"{k} {v['psnr']:.2f} dB" for k, v in results.items() if "psnr" in v
            )
            facts.append(f"- PSNR measured by the training script at the end: {measured}")
        parts.append("\n".join(facts))
    if config is not None:
        parts.append(
            "All settings (`train_config.json`):\n\n```json\n"
            + json.dumps(config, indent=2)
            + "\n```"
        )
    return "\n\n".join(parts)


def experiment_log_words(link: str) -> str:
    """The round that made the model, as a link shown by its path (the ``../`` that climb from
    the card to the repository left out of the text, kept in the link)."""
    shown = re.sub(r"^(\.\./)+", "", link)
    return (
        f"[{shown}]({link}), the round of the experiment log with the command, the settings, "
        "the metrics and the decision"
    )


def code_words(summary: TrainSummary) -> str:
    """The code version of the training record, in words."""
    if summary.git_commit is None:
        words = "not from a git checkout"
    else:
        words = f"commit `{summary.git_commit}`"
        if summary.git_diff_sha256:
            words += f" with uncommitted changes (`git diff HEAD` sha256 {summary.git_diff_sha256})"
    return words + (f", hubsr {summary.hubsr_version}" if summary.hubsr_version else "")


def time_to_quality_section(model_dir: Path, summary: TrainSummary | None = None) -> str:
    """From ``time_to_psnr.json`` (``training/time_to_psnr.py``), if the folder has one."""
    path = model_dir / "time_to_psnr.json"
    if not path.is_file():
        return ""
    report = read_object(path, "time-to-PSNR report")
    first, threshold = report.get("first_pass"), report["threshold_db"]
    dataset = report["dataset"]
    if first:
        verdict = (
            f"First at or above {threshold:.2f} dB on {dataset}: **{first['elapsed_s']:.0f} s** "
            f"of training (step {first['step']}, {first['psnr']:.3f} dB)."
        )
    else:
        verdict = f"No snapshot reached {threshold:.2f} dB on {dataset}."
    if summary is not None and summary.teacher:  # the clock is the student's alone
        # Targets on whole images are computed once before the loop; on patches, inside it.
        cached = ", and its targets computed," if summary.teacher_on == "images" else ""
        verdict += (
            f" These are the student's seconds alone: the teacher (`{summary.teacher}`) was "
            f"trained{cached} before this run."
        )
    check = report.get("cpu_check")
    if check:
        verdict += (
            f" Re-measured on the CPU, that snapshot gives {check['psnr']:.3f} dB: GPU and CPU "
            "float32 kernels round a few output pixels differently (at most one grey level), "
            "which moves PSNR by a few thousandths of a dB."
        )
    lines = [f"| Training time (s) | Step | {dataset} PSNR (dB) |", "|---:|---:|---:|"]
    for row in report["snapshots"]:
        lines.append(f"| {row['elapsed_s']:.0f} | {row['step']} | {row['psnr']:.3f} |")
    return (
        "## Time to quality\n\nThe training script saved the EMA weights at fixed intervals of "
        "training time (the loop's own clock; evaluation and saving excluded); after the run, "
        f"`training/time_to_psnr.py` measured each snapshot on {dataset} by the protocol above "
        f"(on {device_words(report.get('device', ''))}). "
        "Nothing was selected on these numbers. " + verdict + "\n\n" + "\n".join(lines)
    )


def device_words(device: str) -> str:
    if device.startswith("cuda"):
        return "the GPU, CUDA float32"
    return device or "the training machine"


def limitations_section(
    scale: int, config: dict | None, train_sets: list[str], summary: TrainSummary | None = None
) -> str:
    loss = str((config or {}).get("loss", "pixel")).upper().replace("PIXEL", "pixel")
    items = [
        f"Trained and evaluated only on the classic synthetic degradation (MATLAB bicubic x{scale}"
        " downscaling of clean images). Real photos with noise, blur or JPEG artifacts are a "
        "different problem; expect artifacts to be sharpened along with the detail.",
        f"Optimised for PSNR ({loss} loss): outputs are faithful but smooth; fine random "
        "texture (fur, foliage) is not hallucinated the way GAN-trained models do.",
        f"One fixed scale (x{scale}). Grey images run as three equal channels.",
        "Benchmark sets are tiny (5, 14, 100 images): differences below about 0.05 dB are "
        "within noise.",
    ]
    if "BSDS200" in train_sets:
        items.append(
            "The training images include BSDS (Berkeley), which is provided for non-commercial "
            "research and education; check its terms before commercial use of these weights."
        )
    if config is not None and config.get("minutes"):
        budget = f"Trained for a fixed budget of {config['minutes']:g} minutes"
        if config.get("init_from"):  # the budget is this stage's; the warm start's comes on top
            # A run that replaces the folder it started from overwrites that card: name the
            # commit whose checkout held it, where the earlier card can still be read. Only a
            # clean checkout says so; with uncommitted changes the folder may not be the commit's.
            clean = summary is not None and summary.git_commit and not summary.git_diff_sha256
            where = f" at commit `{summary.git_commit[:12]}`" if clean else ""
            budget = (
                f"The last stage trained for a fixed budget of {config['minutes']:g} minutes, "
                f"continuing the weights of `{config['init_from']}` (whose own training comes on "
                f"top; see its card{where})"
            )
        items.insert(
            2,
            f"{budget}, far less than the papers it is compared with; it is not a "
            "re-implementation of their results.",
        )
    return "## Limitations\n\n" + "\n".join(f"- {i}" for i in items)
