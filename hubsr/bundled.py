"""Model folders shipped with hubsr (loadable by name, offline): the checkout's ``model_cards/``,
or in an installed wheel the package folder ``hubsr/model_cards/`` that it maps to.

Their weights are checked at load against :data:`WEIGHTS_SHA256`, recorded at release: a shipped
file that was damaged or replaced is refused instead of giving wrong pictures.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .errors import HubSRError, register_bundled_lookup

# The checkout's model_cards/ (editable install), else the wheel's copy of the default models;
# HUBSR_MODELS_DIR points elsewhere if set.
_REPO_MODELS = Path(__file__).resolve().parent.parent / "model_cards"
_PACKAGE_MODELS = Path(__file__).resolve().parent / "model_cards"

# The best bundled model of each scale (by Set5, the selection set): what `hubsr upscale
# --scale N` and the Space pick when no model is named.
DEFAULT_MODELS = {2: "edsr-x2", 3: "edsr24-x3", 4: "edsr-x4"}
DEFAULT_MODEL = DEFAULT_MODELS[3]  # the homework's scale
# Models for real photos of each scale: trained on the same 291 images with random blur,
# noise and JPEG (`hubsr upscale --photo`, the Space's default for uploads).
PHOTO_MODELS = {2: "photo-x2", 3: "photo-x3", 4: "photo-x4"}

# sha256 of each shipped model.safetensors, recorded at release. A retrained bundled model needs
# its new line: print the table with `python -c "import hubsr.bundled as b; print(b.digests())"`.
WEIGHTS_SHA256 = {
    "abpn-plain-x3": "2197db470638ab48d36ba1248924c8356762e90734b28479d818a0e94129775a",
    "abpn-x2": "ea5717a8ef87587dbce2d26027f438294d721edeeac12231525a9c9d9abb40df",
    "abpn-x3": "6bca2055426bb5b6d7c40435d88692e5fd35e2a91acc0aba67a3a307e7a941a8",
    "abpn-x4": "98154bfbb2a78adf6dad1f1375c480f1138c1b04f321c4619ae762b377a4899d",
    "edsr-x2": "a9e9633fe6616efe4ca5a67042ce6c358f5927dddbbd0a1694510c038afa69a9",
    "edsr-x3": "c7d5035685e943b584fbfd49c036242c8459c5c319bfb74583f0dbc40ffd2c41",
    "edsr-x4": "8339643ac487e9c3ee2318741e3f9b39702b46fef2eae117aedb66d0800d3714",
    "edsr24-x3": "0fb646a5048698a1f878d88ebe20579423e614b70cdec98da5828d007b0bc947",
    "espcn-x3": "89c9eb709d7f5d30f25770a730cd88cb042933e406f982507f7d428cfc6a520b",
    "photo-x2": "bf15d2629efc31ee14d7ea234dc9ed513782860d01250b4e80e338317aed2862",
    "photo-x3": "e659dfadba26685af7f319d3b789fe1d34a8178fe8348cc5a6f7affd43103cd7",
    "photo-x4": "82cdbf8c24c95f5544f8df6ba282a0848318921a21e24be0faa26064adaed4dc",
    "span-x3": "06e5d08bd4b7867dcfba4fddf6a0b65157fee6da5dbf7303a3e1c66dee4f1f50",
    "srcnn-x3": "7f88b60b59b7182add96e2eb61b7d680a06b9056e5fe49b8f029f039f2c8f192",
    "vdsr-x3": "5fe3117be50c2d1f68029f553c41825375133541102adb48fe49654ae425eff5",
}


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


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def digests() -> dict[str, str]:
    """Name -> sha256 of each bundled model's weights as they are now: the table to record in
    :data:`WEIGHTS_SHA256` at release."""
    return {
        name: sha256_of(folder / "model.safetensors") for name, folder in bundled_models().items()
    }


# Shipped models whose bf16 output costs more than the cards' tolerance (0.01 dB) on a test
# set: upscale runs them in float32 by default (photo-x2 -0.016, photo-x3 -0.012 dB on Set5).
FLOAT32_MODELS = frozenset(PHOTO_MODELS.values())


def is_float32_bundled(weights_path: str | os.PathLike) -> bool:
    """Whether ``weights_path`` is the shipped weights of a model of :data:`FLOAT32_MODELS`."""
    path = Path(weights_path).resolve()
    shipped = {_REPO_MODELS.resolve(), _PACKAGE_MODELS.resolve()}
    return path.parent.parent in shipped and path.parent.name in FLOAT32_MODELS


def check_bundled_digest(weights_path: str | os.PathLike) -> None:
    """Refuse a shipped model's weights whose sha256 is not the one recorded at release.

    Only the folders hubsr ships (``model_cards/``, ``hubsr/model_cards/``) are checked: a
    folder of one's own, ``HUBSR_MODELS_DIR`` included, may hold anything.
    """
    path = Path(weights_path).resolve()
    shipped = {_REPO_MODELS.resolve(), _PACKAGE_MODELS.resolve()}
    expected = WEIGHTS_SHA256.get(path.parent.name)
    if path.parent.parent not in shipped or expected is None:
        return
    found = sha256_of(path)
    if found != expected:
        raise HubSRError(
            f"{path} is not the bundled {path.parent.name} weights (sha256 {found[:12]}..., "
            f"recorded {expected[:12]}...): the file is damaged or was replaced; restore it "
            "(git checkout, or reinstall hubsr)"
        )


# The pipeline's scale error names the bundled models of a scale, and does not import this module.
register_bundled_lookup(models_of_scale)
