"""Model folders shipped in the repository under ``model_cards/`` (loadable by name, offline)."""

from __future__ import annotations

import os
from pathlib import Path

# The checkout's model_cards/ (editable install); HUBSR_MODELS_DIR points elsewhere if set.
_REPO_MODELS = Path(__file__).resolve().parent.parent / "model_cards"

DEFAULT_MODEL = "edsr-x3"


def models_dir() -> Path:
    return Path(os.environ.get("HUBSR_MODELS_DIR", _REPO_MODELS))


def bundled_models() -> dict[str, Path]:
    """Name -> folder of each bundled model (a folder with config.json and model.safetensors)."""
    root = models_dir()
    if not root.is_dir():
        return {}
    return {
        p.name: p
        for p in sorted(root.iterdir())
        if (p / "config.json").is_file() and (p / "model.safetensors").is_file()
    }


def find_bundled_model(name: str) -> Path | None:
    return bundled_models().get(name)
