"""Gather what the report shows from the files the runs recorded; nothing here draws a PDF.

A model folder gives ``config.json``, ``train_config.json``, ``train_summary.json`` and
``training_curve.png``; the benchmark JSON (``hubsr benchmark --json``) gives PSNR/SSIM per set
and per image and the protocol they were measured by; the experiment log, a folder the caller
names, gives one ``<run>-train_config.json`` and ``<run>-metrics.jsonl`` per run (directly in it,
or one folder a round); the published reference PSNR comes from a JSON file
(``training/release/generate.py`` writes ``model_cards/results/published.json``).
A missing or unreadable file raises :class:`~hubsr.errors.HubSRError` naming it.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..bundled import bundled_models, find_bundled_model, models_dir
from ..cards import load_published
from ..errors import HubSRError
from ..jsonfile import read_json
from ..registry import current_name
from ..testsets import BENCHMARK_SETS

__all__ = [
    "NOT_RECORDED",
    "AblationRun",
    "Ablations",
    "CodeRecord",
    "ModelRecord",
    "ReportRecords",
    "default_results_dir",
    "gather",
    "read_ablations",
]

# Ablation settings that change what a run logs or where, not what it learns.
BOOKKEEPING = frozenset(
    {
        "cache_dir",
        "eval_every",
        "log_every",
        "output",
        "prepare_data",
        "resume",
        "snapshot_every",
        "stop_at",
        "test_dirs",
        "workers",
    }
)


def default_results_dir() -> Path:
    """``model_cards/results/`` (or ``$HUBSR_MODELS_DIR/results``): the benchmark JSON, the
    comparison sheet and the published references that ``training/release/generate.py`` writes."""
    return models_dir() / "results"


@dataclass(frozen=True)
class ModelRecord:
    """One model folder and its measured rows (dataset name -> benchmark JSON row)."""

    name: str
    folder: Path
    config: dict
    train_config: dict
    train_summary: dict
    curve: Path
    results: dict[str, dict]
    tta_results: dict[str, dict]

    @property
    def params(self) -> int:
        return next(iter(self.results.values()))["params"]

    @property
    def selection_set(self) -> str:
        """The set that picked the released checkpoint (``eval_dir`` of the training run)."""
        return Path(str(self.train_config.get("eval_dir", ""))).name


@dataclass(frozen=True)
class AblationRun:
    name: str
    config: dict
    steps: int
    psnr: float  # the last logged PSNR on the selection set
    changes: dict[str, object]  # the settings whose value is not the usual one (see Ablations)


@dataclass(frozen=True)
class Ablations:
    """Short runs on the selection set. ``usual``: the most common value of every setting that
    varies between runs; each run's ``changes`` are where it differs from it."""

    folder: Path
    selection_set: str
    runs: list[AblationRun]
    usual: dict[str, object]

    @property
    def baseline(self) -> AblationRun | None:
        """The one run with the usual value of every setting, if there is exactly one."""
        plain = [r for r in self.runs if not r.changes]
        return plain[0] if len(plain) == 1 else None

    def same_budget(self) -> list[AblationRun]:
        """The runs trained for the usual number of minutes (all of them if that never varies)."""
        if "minutes" not in self.usual:
            return list(self.runs)
        return [r for r in self.runs if "minutes" not in r.changes]


@dataclass(frozen=True)
class CodeRecord:
    url: str | None
    commit: str | None
    source: str  # where the commit came from
    dirty: bool  # tracked files differed from the commit when the report was made


@dataclass(frozen=True)
class ReportRecords:
    models: list[ModelRecord]
    bicubic: dict[str, dict]
    datasets: list[str]
    scale: int
    protocol: dict  # the protocol block of the benchmark JSON
    comparison: Path
    ablations: Ablations | None  # None: no ablation folder (or no runs in it)
    code: CodeRecord
    benchmark: Path
    # Published reference PSNR at this scale (method -> {set: dB or None, "ref": source}), and
    # the file it was read from; empty and None without one.
    published: dict[str, dict] = field(default_factory=dict)
    published_source: Path | None = None


def gather(
    models: list[str],
    benchmark: str | Path | None = None,
    tta_benchmark: str | Path | None = None,
    comparison: str | Path | None = None,
    ablations: str | Path | None = None,
    code_url: str | None = None,
    published: str | Path | None = None,
) -> ReportRecords:
    """Read every record of the report.

    ``models``: bundled model names or model folders. ``benchmark``, ``tta_benchmark``,
    ``comparison`` and ``published`` default to the files in :func:`default_results_dir` (the
    TTA JSON and ``published.json`` only if they exist; without published references the report
    has no published rows). ``ablations``: the experiment log's folder (:func:`read_ablations`);
    ``None`` (the default: the library knows no checkout) or a missing folder leaves that
    section out. ``code_url`` defaults to the git remote ``origin``.
    """
    if not models:
        raise HubSRError("name at least one model")
    results_dir = default_results_dir()
    benchmark = Path(benchmark) if benchmark else results_dir / "benchmark.json"
    if tta_benchmark is None and (results_dir / "benchmark-tta.json").is_file():
        tta_benchmark = results_dir / "benchmark-tta.json"
    rows = _benchmark_rows(benchmark)
    tta_rows = _benchmark_rows(Path(tta_benchmark)) if tta_benchmark else []

    records = [_model_record(_model_folder(m), benchmark, rows, tta_rows) for m in models]
    bicubic = {r["dataset"]: r for r in rows if r["model"] == "bicubic" and not r["tta"]}
    if not bicubic:
        raise HubSRError(f"{benchmark} has no bicubic rows; measure it with --model bicubic")
    scales = {r["scale"] for m in records for r in m.results.values()}
    if len(scales) != 1:
        raise HubSRError(f"the models were measured at different scales {sorted(scales)}")
    present = {d for m in records for d in m.results}
    datasets = [d for d in BENCHMARK_SETS if d in present] + sorted(present - set(BENCHMARK_SETS))
    comparison = Path(comparison) if comparison else results_dir / "comparison.png"
    _require(comparison, "the comparison sheet (training/release/generate.py writes it)")
    if published is None and (results_dir / "published.json").is_file():
        published = results_dir / "published.json"
    if published is not None:
        published = _require(Path(published), "the published references")
    scale = scales.pop()
    return ReportRecords(
        models=records,
        bicubic=bicubic,
        datasets=datasets,
        scale=scale,
        protocol=next(iter(records[0].results.values()))["protocol"],
        comparison=comparison,
        ablations=read_ablations(Path(ablations), scale) if ablations is not None else None,
        code=_code_record(code_url, records),
        benchmark=benchmark,
        published=load_published(published).get(scale, {}) if published else {},
        published_source=published,
    )


# -- model folders and benchmark rows --------------------------------------------------------------
def _model_folder(spec: str) -> Path:
    folder = find_bundled_model(current_name(spec)) or Path(spec).expanduser()
    if not folder.is_dir():
        known = ", ".join(bundled_models()) or "none"
        raise HubSRError(f"{spec} is neither a bundled model ({known}) nor a model folder")
    return folder


def _model_record(folder: Path, benchmark: Path, rows: list, tta_rows: list) -> ModelRecord:
    mine = [r for r in rows if _is_model(r, folder)]
    if not mine:
        raise HubSRError(
            f"{benchmark} has no results for {folder.name}; measure it with "
            f"`hubsr benchmark --model {folder} --json FILE` and pass --benchmark FILE"
        )
    curve = _require(folder / "training_curve.png", "the training curve")
    return ModelRecord(
        name=folder.name,
        folder=folder,
        config=_read_json(folder / "config.json"),
        train_config=_read_json(folder / "train_config.json"),
        train_summary=_read_json(folder / "train_summary.json"),
        curve=curve,
        results={r["dataset"]: r for r in mine if not r["tta"]},
        tta_results={r["dataset"]: r for r in tta_rows if _is_model(r, folder) and r["tta"]},
    )


def _is_model(row: dict, folder: Path) -> bool:
    """A benchmark row of this folder: named like it, or measured from it."""
    if row["model"] == folder.name:
        return True
    source = row.get("model_source")
    return bool(source) and Path(source).is_dir() and Path(source).resolve() == folder.resolve()


def _benchmark_rows(path: Path) -> list[dict]:
    data = _read_json(path)
    if not isinstance(data.get("results"), list):
        raise HubSRError(f"{path} has no 'results' list; write it with `hubsr benchmark --json`")
    return data["results"]


# -- ablations -------------------------------------------------------------------------------------
def read_ablations(folder: Path, scale: int | None = None) -> Ablations | None:
    """Every ``<run>-train_config.json`` in ``folder`` or in its folders one level down (one a
    round of the experiment log) with the ``<run>-metrics.jsonl`` beside it, in the order of the
    run names; only the runs at ``scale`` when one is given (a run that records no scale counts
    as x3, the first runs' scale). Runs trained on degraded inputs (a ``degrade`` setting) are
    left out: they answer another question than the bicubic benchmark the report is about.
    ``None`` when the folder is absent or holds no such runs. The usual settings are those of
    the runs read, so runs at another scale do not shift them."""
    found = [*folder.glob("*-train_config.json"), *folder.glob("*/*-train_config.json")]
    paths = {_run_name(p): p for p in sorted(found, key=lambda p: p.name)}
    if len(paths) != len(found):
        raise HubSRError(f"two runs of the same name in {folder}")
    named = {name: _read_json(path) for name, path in paths.items()}
    named = {k: c for k, c in named.items() if c.get("degrade", "none") in ("none", "")}
    if scale is not None:
        named = {k: c for k, c in named.items() if int(c.get("scale", 3)) == scale}
    if not named:
        return None
    selection = {Path(str(c.get("eval_dir", ""))).name for c in named.values()}
    if len(selection) != 1:
        raise HubSRError(f"the runs in {folder} were selected on different sets {selection}")
    selection_set = selection.pop()
    key = f"{selection_set.lower()}_psnr"
    usual = _usual_values(list(named.values()))
    runs = []
    for name, config in named.items():
        metrics = paths[name].with_name(f"{name}-metrics.jsonl")
        logged = [r for r in _read_jsonl(metrics) if key in r]
        if not logged:
            raise HubSRError(f"{metrics} logs no {key}")
        changes = {
            k: config[k] for k, v in usual.items() if k in config and _token(config[k]) != _token(v)
        }
        runs.append(AblationRun(name, config, logged[-1]["step"], logged[-1][key], changes))
    return Ablations(folder, selection_set, runs, usual)


def _run_name(config: Path) -> str:
    return config.name.removesuffix("-train_config.json")


class _NotRecorded:
    """The usual "value" of a setting most runs did not record (older runs record fewer)."""

    def __repr__(self) -> str:
        return "not recorded"


NOT_RECORDED = _NotRecorded()


def _usual_values(configs: list[dict]) -> dict[str, object]:
    """For each setting that differs between runs, its most common value; a tie goes to a
    recorded value over an absent key, then to the first seen. Absent keys count as a value, as
    an older run records fewer settings: a run that lacks a key changes nothing there."""
    keys = list(dict.fromkeys(k for c in configs for k in c if k not in BOOKKEEPING))
    usual = {}
    for key in keys:
        values = [c.get(key, NOT_RECORDED) for c in configs]
        counts = Counter(_token(v) for v in values)
        if len(counts) < 2:
            continue
        first = {}
        for v in values:
            first.setdefault(_token(v), v)
        best = max(counts, key=lambda t: (counts[t], first[t] is not NOT_RECORDED))
        usual[key] = first[best]
    return usual


def _token(value) -> str:
    if value is NOT_RECORDED:
        return "<absent>"
    if isinstance(value, str) and value.lstrip().startswith("{"):
        # A JSON object held as text (--model-args): the same arguments however spaced.
        try:
            value = json.loads(value)
        except ValueError:
            pass
    return json.dumps(value, sort_keys=True)


# -- code link and commit --------------------------------------------------------------------------
def _code_record(url: str | None, models: list[ModelRecord]) -> CodeRecord:
    here = Path(__file__).resolve().parent
    commit = _git(here, "rev-parse", "HEAD")
    if commit:
        dirty = bool(_git(here, "status", "--porcelain", "--untracked-files=no"))
        url = url or _git(here, "remote", "get-url", "origin")
        return CodeRecord(url, commit, "git rev-parse HEAD", dirty)
    for model in models:
        if model.train_summary.get("git_commit"):
            source = f"{model.folder / 'train_summary.json'}"
            dirty = bool(model.train_summary.get("git_diff_sha256"))
            return CodeRecord(url, str(model.train_summary["git_commit"]), source, dirty)
    return CodeRecord(url, None, "unknown", False)


def _git(where: Path, *args: str) -> str | None:
    """``git args`` run in ``where``: its output, or ``None`` without git or outside a repo."""
    try:
        done = subprocess.run(
            ["git", "-C", str(where), *args], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


# -- files -----------------------------------------------------------------------------------------
def _require(path: Path, what: str) -> Path:
    if not path.is_file():
        raise HubSRError(f"{path} is missing ({what})")
    return path


def _read_json(path: Path) -> dict:
    _require(path, "a JSON record of the run")
    data = read_json(path, "JSON file")
    if not isinstance(data, dict):
        raise HubSRError(f"{path} is not a JSON object")
    return data


def _read_jsonl(path: Path) -> list[dict]:
    _require(path, "the run's metrics log")
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HubSRError(f"{path} is not readable JSON lines: {exc}") from None
