"""Fixtures shared by several test files: tiny training data, an offline Hub."""

from __future__ import annotations

import socket
from pathlib import Path

import huggingface_hub.constants
import pytest
import torch
from PIL import Image

from hubsr import get_architecture
from hubsr.bundled import DEFAULT_MODELS

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


@pytest.fixture
def tiny_bundled_models(tmp_path, monkeypatch) -> Path:
    """A models folder (``HUBSR_MODELS_DIR``) of tiny random ABPNs: the x2 default, a second x2
    model that sorts before it, and the x3 default; no x4."""
    torch.manual_seed(0)
    root = tmp_path / "models"
    abpn = get_architecture("abpn")
    abpn(scale=2, channels=4, num_convs=1).save_pretrained(root / DEFAULT_MODELS[2])
    abpn(scale=2, channels=4, num_convs=0).save_pretrained(root / "aaa-other-x2")
    abpn(scale=3, channels=4, num_convs=1).save_pretrained(root / DEFAULT_MODELS[3])
    monkeypatch.setenv("HUBSR_MODELS_DIR", str(root))
    return root
