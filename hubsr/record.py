"""The training record of a model folder: which files a folder holds, and ``train_summary.json``.

A model folder holds artifacts only (:data:`ARTIFACTS`): what loads the model, its card, and
the record of the run that trained it. :class:`TrainSummary` is the schema of
``train_summary.json``, which ``training/train.py`` writes at the end of a run and the model card
reads. The fields added later (the code version: :func:`code_version`) are optional, so that
the summaries of older runs still read; unknown fields and wrong types are refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import types
import typing
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .errors import HubSRError
from .jsonfile import read_json

__all__ = [
    "ARTIFACTS",
    "MODEL_FILES",
    "RECORD_FILES",
    "TrainSummary",
    "code_version",
    "read_summary",
]

# What loads the model and describes it (a Hub repo needs all three).
MODEL_FILES = ("README.md", "config.json", "model.safetensors")
# The record of the run that trained it, where the folder has it.
RECORD_FILES = (
    "command.txt",
    "train_config.json",
    "train_summary.json",
    "metrics.jsonl",
    "train.log",
    "training_curve.png",
    "time_to_psnr.json",
)
# Every file a model folder may hold; anything else (source copies, checkpoints, snapshots)
# belongs to the run folder.
# A picture of what the model does, linked from its card (training/release/photo.py draws it).
PICTURE_FILES = ("on_photos.png",)
ARTIFACTS = MODEL_FILES + RECORD_FILES + PICTURE_FILES


@dataclass(frozen=True, kw_only=True)
class TrainSummary:
    """``train_summary.json``: what a training run did and measured at its end."""

    arch: str  # registry name of the architecture
    model_args: dict  # its constructor arguments, scale included
    params: int
    best_step: int  # the step whose EMA weights were released (best on the selection set)
    steps: int
    train_seconds: float  # training time, evaluation and saving excluded
    device: str
    processes: int
    mixed_precision: str | None = None  # Accelerate's setting (no, bf16, fp16)
    init_from: str | None = None  # a warm start's model folder
    init_skip: str | None = None  # parameter-name prefixes the warm start left fresh
    teacher: str | None = None  # the model distilled from (its output a second target)
    distill_weight: float | None = None  # the teacher's share of the loss
    teacher_tta: str | None = None  # none, random or x8: the teacher's self-ensemble
    teacher_on: str | None = None  # patches (each batch) or images (each whole image, once)
    torch: str
    results: dict  # set name -> {"psnr": dB, "ssim": ...}, measured at the end of the run
    notes: str | None = None  # written by hand afterwards
    git_commit: str | None = None  # HEAD of the checkout that trained; None outside git
    git_diff_sha256: str | None = None  # of `git diff HEAD`; None when clean or without git
    hubsr_version: str | None = None

    @classmethod
    def from_dict(cls, data: dict, source: str = "train_summary.json") -> TrainSummary:
        """The summary in ``data``; HubSRError naming ``source`` for a missing required field,
        an unknown one or a value of the wrong type."""
        if not isinstance(data, dict):
            raise HubSRError(f"{source} is not a JSON object")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise HubSRError(f"{source} has unknown fields: {', '.join(unknown)}")
        required = [n for n, f in fields.items() if f.default is dataclasses.MISSING]
        missing = [n for n in required if n not in data]
        if missing:
            raise HubSRError(f"{source} lacks the fields {', '.join(missing)}")
        hints = typing.get_type_hints(cls)
        for name, value in data.items():
            if not _accepts(hints[name], value):
                raise HubSRError(f"{source}: {name} is {value!r}, not {fields[name].type}")
        return cls(**data)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def read_summary(path: str | Path) -> TrainSummary:
    """A ``train_summary.json`` file, checked against :class:`TrainSummary`."""
    return TrainSummary.from_dict(read_json(path, "training summary"), str(path))


def code_version(where: str | Path) -> dict[str, str | None]:
    """The :class:`TrainSummary` fields that name the code: ``git_commit`` (HEAD of the checkout
    around ``where``), ``git_diff_sha256`` (of ``git diff HEAD``: tracked files that differ
    from it) and ``hubsr_version``. The git fields are None outside a git checkout (or without
    git), the diff's also when the tracked files are clean."""
    commit = _git(where, "rev-parse", "HEAD")
    diff = _git(where, "diff", "HEAD") if commit else None
    try:
        hubsr_version = version("hubsr")
    except PackageNotFoundError:
        hubsr_version = None
    return {
        "git_commit": commit.decode().strip() if commit else None,
        "git_diff_sha256": hashlib.sha256(diff).hexdigest() if diff else None,
        "hubsr_version": hubsr_version,
    }


def _git(where: str | Path, *args: str) -> bytes | None:
    try:
        done = subprocess.run(["git", "-C", str(where), *args], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _accepts(hint, value) -> bool:
    """``value`` (read from JSON) fits the type ``hint``; an int is a float, a bool no number."""
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        return any(_accepts(h, value) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if isinstance(value, bool) and hint is not bool:
        return False
    if hint is float:
        return isinstance(value, (int, float))
    return isinstance(value, typing.get_origin(hint) or hint)
