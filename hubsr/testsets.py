"""The benchmark test sets (Set5, Set14, BSD100): where they are, which images, how to load them.

A set is a folder of HR images (:func:`hubsr.imageio.list_images`). By default the folders are
the ones bundled in the checkout's ``data/``; ``data_dir=`` (or the environment variable
``HUBSR_DATA_DIR``) points elsewhere, and a path to any folder of images works as a set of its
own. HR images load as ``uint8`` RGB: the one grayscale image (Set14 ``bridge``) becomes three
equal channels, the convention under which bicubic x3 on Set14 scores the published 27.63 dB.
:func:`dataset_checksum` fingerprints the exact files a result was measured (or a model
trained) on.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import HubSRError
from .imageio import load_image

__all__ = [
    "BENCHMARK_SETS",
    "DATA_DIR_ENV",
    "data_root",
    "dataset_checksum",
    "dataset_dir",
    "load_rgb",
]

BENCHMARK_SETS = ("Set5", "Set14", "BSD100")
DATA_DIR_ENV = "HUBSR_DATA_DIR"

# The checkout's data/ (editable install).
_REPO_DATA = Path(__file__).resolve().parent.parent / "data"


def data_root(data_dir: str | os.PathLike | None = None) -> Path:
    """The folder of the sets: ``data_dir``, else ``$HUBSR_DATA_DIR``, else the repo's ``data/``."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env).expanduser() if env else _REPO_DATA


def dataset_dir(dataset: str | os.PathLike, data_dir: str | os.PathLike | None = None) -> Path:
    """The folder of a set: ``<root>/<dataset>`` if that folder exists, else ``dataset`` itself
    as a folder path; an error naming the root and the folders in it otherwise."""
    root = data_root(data_dir)
    name = os.fspath(dataset)
    candidate = root / name
    if candidate.is_dir():
        return candidate
    as_path = Path(name).expanduser()
    if as_path.is_dir():
        return as_path
    known = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    hint = f"; folders there: {', '.join(known)}" if known else ""
    raise HubSRError(
        f"no dataset {name!r}: {candidate} is not a folder (data root {root}, set by "
        f"--data-dir or ${DATA_DIR_ENV}){hint}"
    )


def load_rgb(path: str | os.PathLike) -> np.ndarray:
    """An image file as ``uint8`` ``HxWx3`` RGB; grayscale (``L``) becomes three equal channels.

    Other modes (alpha, palette, 16-bit) are refused: a benchmark image should be plain RGB or
    grey, and silently flattening anything else would change what is measured.
    """
    img = load_image(path, max_pixels=None)
    if img.mode == "RGB":
        return np.asarray(img, dtype=np.uint8)
    if img.mode == "L":
        return np.repeat(np.asarray(img, dtype=np.uint8)[..., None], 3, axis=2)
    raise HubSRError(f"{path} has image mode {img.mode}; benchmark images must be RGB or L")


def dataset_checksum(files: Sequence[str | os.PathLike], names: Sequence[str] | None = None) -> str:
    """SHA-256 over each file's name and the SHA-256 of its bytes, in the given order.

    ``names`` (one per file) replaces the file names: training names its images
    ``FOLDER/FILE``, as its folders may share file names. The hex digest changes exactly when
    the files, their names or their order do.
    """
    if names is None:
        names = [Path(path).name for path in files]
    digest = hashlib.sha256()
    for path, name in zip(files, names, strict=True):
        digest.update(name.encode() + b"\0")
        digest.update(hashlib.sha256(Path(path).read_bytes()).digest())
    return digest.hexdigest()
