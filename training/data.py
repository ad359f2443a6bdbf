"""Training data: a ``datasets.Dataset`` built from local HR image folders, and pair sampling.

The dataset stores each image's encoded bytes (PNG/JPEG as found) and is saved with
``save_to_disk`` under a name derived from the files' contents, so it is rebuilt only when an
image changes. Training pairs come from :class:`PairSampler`: it makes the (optionally
down-scaled) HR pyramid and its LR images once, by the benchmark protocol, keeps them as uint8
tensors on the training device, and cuts random aligned patches with the 8 flips/rotations there.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import datasets
import numpy as np
import torch
from PIL import Image, ImageOps
from tqdm.auto import tqdm

from hubsr.datasets import list_images, load_rgb
from hubsr.protocol import make_lr, modcrop
from hubsr.resize import imresize, to_uint8

FEATURES = datasets.Features({"name": datasets.Value("string"), "image": datasets.Image()})


def image_files(folders: list[str | Path]) -> list[Path]:
    """Image files directly inside each folder, sorted, as the benchmark lists them; a missing
    or empty folder is an error."""
    files = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise FileNotFoundError(f"image folder {folder} does not exist")
        files += list_images(folder)
    return files


def content_fingerprint(files: list[Path]) -> str:
    """SHA-256 over every file's name and bytes: changes exactly when the source images do."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.parent.name.encode() + b"/" + path.name.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def build_dataset(folders: list[str | Path], cache_dir: str | Path) -> datasets.Dataset:
    """The HR images of ``folders`` as a Dataset, reused from ``cache_dir`` when unchanged."""
    files = image_files(folders)
    target = Path(cache_dir) / f"hr-{content_fingerprint(files)[:16]}"
    if (target / "dataset_info.json").is_file():
        return datasets.load_from_disk(str(target))
    records = {
        "name": [f"{p.parent.name}/{p.name}" for p in files],
        "image": [{"bytes": p.read_bytes(), "path": p.name} for p in files],
    }
    dataset = datasets.Dataset.from_dict(records, features=FEATURES)
    # Write beside the target and rename, so an interrupted build never looks complete.
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    dataset.save_to_disk(str(partial))
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return datasets.load_from_disk(str(target))


def to_rgb_uint8(img: Image.Image) -> np.ndarray:
    """An ``HxWx3`` uint8 array for any PIL mode: EXIF orientation applied, alpha dropped,
    grey replicated, 16/32-bit integer images scaled (not clipped) to 8 bits."""
    img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if img.mode != "I" or arr.max() > 255 else 255.0
        grey = to_uint8(np.clip(arr / peak, 0, 1))
        return np.repeat(grey[..., None], 3, axis=2)
    return np.asarray(img.convert("RGB"))


class PairSampler:
    """Random aligned (LR, HR) patch pairs from a list of HR images, on one device.

    Args:
        images: ``HxWx3`` uint8 HR images.
        scale: SR factor.
        patch: LR patch size (HR patches are ``patch * scale``).
        scale_factors: HR down-scaling factors, the classic 291-set augmentation
            (1.0 = the image itself); each gives a full extra copy of the set.
        device: where the uint8 pyramid lives and patches are cut.
    """

    def __init__(self, images, scale: int, patch: int, scale_factors=(1.0,), device="cpu"):
        self.scale, self.patch, self.device = scale, patch, torch.device(device)
        self.hr, self.lr = [], []
        jobs = [(img, f) for f in scale_factors for img in images]
        for img, factor in tqdm(jobs, desc="HR pyramid + LR", disable=len(jobs) < 50):
            if factor != 1.0:
                img = to_uint8(imresize(img.astype(np.float64) / 255.0, factor))
            hr = modcrop(img, scale)
            if min(hr.shape[:2]) < patch * scale:
                continue  # too small for one patch at this factor
            self.hr.append(_to_chw(hr, self.device))
            self.lr.append(_to_chw(make_lr(hr, scale), self.device))
        if not self.hr:
            raise ValueError(f"no training image is at least {patch * scale} pixels on each side")
        # Sample images in proportion to their area, so every HR pixel is equally likely.
        self.weights = torch.tensor([float(t.shape[1] * t.shape[2]) for t in self.lr])

    def __len__(self) -> int:
        return len(self.hr)

    def sample(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """A float batch ``(lr, hr)`` in [0, 1] on the sampler's device."""
        index = torch.multinomial(self.weights, batch, replacement=True, generator=generator)
        uniform = torch.rand(batch, 2, generator=generator)
        transforms = torch.randint(0, 8, (batch,), generator=generator)
        p, s = self.patch, self.scale
        lr_patches, hr_patches = [], []
        for i, u, t in zip(index.tolist(), uniform.tolist(), transforms.tolist(), strict=True):
            lr, hr = self.lr[i], self.hr[i]
            y = int(u[0] * (lr.shape[1] - p + 1))
            x = int(u[1] * (lr.shape[2] - p + 1))
            lr_patches.append(_dihedral(lr[:, y : y + p, x : x + p], t))
            hr_patches.append(_dihedral(hr[:, y * s : (y + p) * s, x * s : (x + p) * s], t))
        return torch.stack(lr_patches).float() / 255, torch.stack(hr_patches).float() / 255


def _to_chw(img: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).to(device)


def _dihedral(t: torch.Tensor, k: int) -> torch.Tensor:
    """One of the 8 flips/rotations of a ``CxHxW`` tensor (k in 0..7)."""
    if k >= 4:
        t = t.flip(-1)
    return torch.rot90(t, k % 4, dims=(-2, -1))


def load_rgb_images(folder: str | Path) -> list[tuple[str, np.ndarray]]:
    """(name, HxWx3 uint8) for every image in a folder (e.g. the Set5 selection set), loaded
    exactly as the benchmark loads it, so the Set5 PSNR logged here is the benchmark's."""
    return [(p.stem, load_rgb(p)) for p in image_files([folder])]
