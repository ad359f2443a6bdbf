"""Reading what a card is rendered from: benchmark JSON, published references, a model's rows."""

from __future__ import annotations

from pathlib import Path

from ..errors import HubSRError
from ..jsonfile import read_json

__all__ = [
    "is_row_of",
    "load_benchmark_json",
    "load_published",
    "model_names",
    "read_object",
    "rows_of",
]


def load_benchmark_json(path: str | Path) -> dict:
    """A JSON file written by ``hubsr benchmark --json``; a clear error for anything else."""
    data = read_json(path, "benchmark JSON")
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise HubSRError(f"{path} has no 'results' list; write it with `hubsr benchmark --json`")
    return data


def load_published(path: str | Path) -> dict[int, dict[str, dict]]:
    """Published reference PSNR by scale from a JSON file: ``{"3": {"VDSR": {"Set5": 33.66,
    "Set14": 29.77, "BSD100": 28.82, "ref": "Kim et al., CVPR 2016"}, ...}, ...}`` (dB on Y;
    null: not reported), as ``training/release/generate.py`` writes
    ``model_cards/results/published.json``.
    """
    data = read_object(Path(path), "published-results JSON")
    table = {}
    for scale, rows in data.items():
        if not scale.isdigit() or not isinstance(rows, dict):
            raise HubSRError(f"{path}: {scale!r} is not a scale with a table of methods")
        for method, ref in rows.items():
            if not isinstance(ref, dict) or not isinstance(ref.get("ref"), str):
                raise HubSRError(f"{path}: x{scale} {method} has no 'ref' (where it is from)")
        table[int(scale)] = rows
    return table


def read_object(path: Path, what: str) -> dict:
    data = read_json(path, what)
    if not isinstance(data, dict):
        raise HubSRError(f"{path} is not a JSON object ({what})")
    return data


def rows_of(results: list[dict], model: str, tta: bool) -> dict[str, dict]:
    return {r["dataset"]: r for r in results if r["model"] == model and r["tta"] == tta}


def model_names(results: list[dict]) -> list[str]:
    return list(dict.fromkeys(r["model"] for r in results))


def is_row_of(result: dict, model_dir: Path) -> bool:
    if result["model"] == model_dir.name:
        return True
    source = result.get("model_source")
    return bool(source) and Path(source).is_dir() and Path(source).resolve() == model_dir.resolve()
