"""Fixtures shared by several test files: tiny training data, an offline Hub."""

from __future__ import annotations

import socket
from pathlib import Path

import huggingface_hub.constants
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


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """Offline mode with an empty Hub cache; any attempt to open a connection is recorded."""
    home = tmp_path / "hf-home"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(home))
    # huggingface_hub reads both variables at import time, so patch its constants as well.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HOME", str(home))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(home / "hub"))
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access attempted in a test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    yield attempts
    assert not attempts, f"hubsr tried to reach the network: {attempts}"
