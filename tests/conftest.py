"""Fixtures shared by the training tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> dict[str, Path]:
    """Small crops of real images: 6 training images (one grayscale) and 2 selection images."""
    root = tmp_path_factory.mktemp("data")
    (root / "train").mkdir()
    (root / "eval").mkdir()
    sources = sorted((REPO / "data" / "Set14").glob("*.png"))
    for i, src in enumerate(sources[:6]):
        img = Image.open(src).crop((40 * i, 30, 40 * i + 72, 30 + 66))
        img.save(root / "train" / f"{src.stem}.png")
    for src in sorted((REPO / "data" / "Set5").glob("*.png"))[:2]:
        Image.open(src).crop((0, 0, 51, 48)).save(root / "eval" / src.name)
    return {"train": root / "train", "eval": root / "eval"}
