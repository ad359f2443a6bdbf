"""Model folders shipped with hubsr (loadable by name, offline): the checkout's ``model_cards/``,
or in an installed wheel the package folder ``hubsr/bundled_models/`` that it maps to."""

from __future__ import annotations

import json
import os
from pathlib import Path

# The checkout's model_cards/ (editable install), else the wheel's copy of the default models;
# HUBSR_MODELS_DIR points elsewhere if set.
_REPO_MODELS = Path(__file__).resolve().parent.parent / "model_cards"
_PACKAGE_MODELS = Path(__file__).resolve().parent / "bundled_models"

# The best bundled model of each scale (by Set5, the selection set): what `hubsr upscale
# --scale N` and the Space pick when no model is named.
DEFAULT_MODELS = {2: "edsr-x2", 3: "edsr24-x3", 4: "edsr-x4"}
DEFAULT_MODEL = DEFAULT_MODELS[3]  # the homework's scale


def models_dir() -> Path:
    if "HUBSR_MODELS_DIR" in os.environ:
        return Path(os.environ["HUBSR_MODELS_DIR"])
    return _REPO_MODELS if _REPO_MODELS.is_dir() else _PACKAGE_MODELS


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


def bundled_scale(name: str) -> int | None:
    """The scale in a bundled model's config.json (None if it is not bundled or unreadable)."""
    folder = find_bundled_model(name)
    return None if folder is None else _folder_scale(folder)


def _folder_scale(folder: Path) -> int | None:
    try:
        return int(json.loads((folder / "config.json").read_text())["scale"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def models_of_scale(scale: int) -> list[str]:
    """The bundled models that upscale by ``scale``, the default one first."""
    names = [n for n, folder in bundled_models().items() if _folder_scale(folder) == scale]
    return sorted(names, key=lambda n: n != DEFAULT_MODELS.get(scale))


def default_model(scale: int = 3) -> str | None:
    """The bundled model ``hubsr upscale --scale SCALE`` uses: the scale's entry of
    :data:`DEFAULT_MODELS` if bundled, else the first bundled model of that scale, else None."""
    found = models_of_scale(scale)
    return found[0] if found else None
