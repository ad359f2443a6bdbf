"""Training data: a ``datasets.Dataset`` built from local HR image folders, and pair sampling.

The dataset stores each image's encoded bytes (PNG/JPEG as found) and is saved with
``save_to_disk`` under a name derived from the files' contents, so it is rebuilt only when an
image changes. Training pairs come from :class:`PairSampler`: it makes the (optionally
down-scaled) HR pyramid and its LR images once, by the benchmark protocol, keeps them as uint8
tensors on the training device, and cuts random aligned patches with the 8 flips/rotations there.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import datasets
import numpy as np
import torch
from PIL import Image, ImageOps
from tqdm.auto import tqdm

from hubsr.atomic import atomic_folder, write_atomic
from hubsr.dihedral import VIEWS, dihedral
from hubsr.imageio import list_images
from hubsr.protocol import make_lr, modcrop
from hubsr.resize import imresize
from hubsr.rounding import to_uint8
from hubsr.testsets import dataset_checksum, load_rgb

FEATURES = datasets.Features({"name": datasets.Value("string"), "image": datasets.Image()})


def build_dataset(folders: list[str | Path], cache_dir: str | Path) -> datasets.Dataset:
    """The HR images of ``folders`` (each listed as the benchmark lists a set) as a Dataset,
    reused from ``cache_dir`` when unchanged: its folder there is named by the images' content."""
    files = [path for folder in folders for path in list_images(folder)]
    names = [f"{p.parent.name}/{p.name}" for p in files]  # folders may share file names
    target = Path(cache_dir) / f"hr-{dataset_checksum(files, names)[:16]}"
    if (target / "dataset_info.json").is_file():
        return datasets.load_from_disk(str(target))
    records = {
        "name": names,
        "image": [{"bytes": p.read_bytes(), "path": p.name} for p in files],
    }
    dataset = datasets.Dataset.from_dict(records, features=FEATURES)
    with atomic_folder(target) as partial:  # an interrupted build never looks complete
        dataset.save_to_disk(str(partial))
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


def make_pyramid(images, scale: int, scale_factors=(1.0,), workers: int = 1) -> list:
    """(HR, LR) uint8 pairs for every image at every HR down-scaling factor (the classic 291-set
    augmentation; 1.0 is the image itself): HR cropped to a multiple of ``scale``, LR made from
    it by the benchmark protocol. ``workers > 1`` spreads the resizing over processes."""
    jobs = [(img, factor, scale) for factor in scale_factors for img in images]
    bar = dict(total=len(jobs), desc="HR pyramid + LR", disable=len(jobs) < 50)
    if workers <= 1:
        return list(tqdm(map(_pyramid_level, jobs), **bar))
    # fork: the workers need no imports of their own and only run numpy
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(tqdm(pool.map(_pyramid_level, jobs, chunksize=4), **bar))


def _pyramid_level(job) -> tuple[np.ndarray, np.ndarray]:
    img, factor, scale = job
    if factor != 1.0:
        img = to_uint8(imresize(img.astype(np.float64) / 255.0, factor))
    hr = modcrop(img, scale)
    return hr, make_lr(hr, scale)


def cached_pyramid(images, scale: int, scale_factors, cache_file: Path, workers: int = 1) -> list:
    """:func:`make_pyramid`, saved to ``cache_file`` (.npz) and loaded from it when present.
    The file must be keyed by the images' content, scale and factors (the caller names it)."""
    flat = cached_arrays(
        cache_file,
        lambda: [a for pair in make_pyramid(images, scale, scale_factors, workers) for a in pair],
    )
    return list(zip(flat[0::2], flat[1::2], strict=True))


def cached_arrays(cache_file: Path, build) -> list[np.ndarray]:
    """The arrays ``build()`` returns, saved to ``cache_file`` (.npz) the first time and read
    back from it afterwards (``build`` is then not called). The caller keys the file's name."""
    cache_file = Path(cache_file)
    if cache_file.is_file():
        with np.load(cache_file) as saved:  # in the order written (earlier caches' names too)
            return [saved[name] for name in saved.files]
    arrays = build()
    named = {f"a{i}": array for i, array in enumerate(arrays)}
    write_atomic(cache_file, lambda file: np.savez(file, **named))  # the whole file or none
    return arrays


class PairSampler:
    """Random aligned (LR, HR) patch pairs from a list of HR images, on one device.

    The uint8 pyramid is kept as two flat buffers (LR and HR, every image's pixels one after
    another), and a batch is cut by one gather from each, whatever the batch size: the flips and
    rotations are applied to the index grids rather than to the patches. On a GPU a step's data
    then costs a handful of kernel launches, not several per patch.

    Args:
        pyramid: (HR, LR) uint8 ``HxWx3`` pairs, from :func:`make_pyramid`; pairs too small
            for one patch are left out.
        scale: SR factor.
        patch: LR patch size (HR patches are ``patch * scale``).
        device: where the uint8 pairs live and patches are cut.
        targets: optional HR-sized uint8 images, one per pyramid pair (e.g. a teacher's SR of
            each LR image); their patches are cut exactly where, and turned exactly as, the HR
            patches are, and :meth:`sample` returns them third.
    """

    def __init__(self, pyramid, scale: int, patch: int, device="cpu", targets=None):
        self.scale, self.patch, self.device = scale, patch, torch.device(device)
        if targets is not None:
            if len(targets) != len(pyramid):
                raise ValueError(f"{len(targets)} targets for {len(pyramid)} pyramid pairs")
            for (hr, _), target in zip(pyramid, targets, strict=True):
                if target.shape != hr.shape:
                    raise ValueError(f"a target of shape {target.shape} for an HR of {hr.shape}")
        rows = [
            (hr, lr, None if targets is None else targets[i])
            for i, (hr, lr) in enumerate(pyramid)
            if min(hr.shape[:2]) >= patch * scale
        ]
        if not rows:
            raise ValueError(f"no training image is at least {patch * scale} pixels on each side")
        hr_images, lr_images, target_images = zip(*rows, strict=True)
        self.lr_flat, self.lr_offsets = _flatten(lr_images, self.device)
        self.hr_flat, self.hr_offsets = _flatten(hr_images, self.device)
        # Same shapes as the HR images, hence the same offsets.
        self.target_flat = None if targets is None else _flatten(target_images, self.device)[0]
        self.lr_sizes = torch.tensor([im.shape[:2] for im in lr_images], device=self.device)
        self.lr_grids = _dihedral_grids(patch, self.device)
        self.hr_grids = _dihedral_grids(patch * scale, self.device)
        # Sample images in proportion to their area, so every HR pixel is equally likely.
        self.weights = self.lr_sizes.prod(dim=1).float().cpu()

    def __len__(self) -> int:
        return len(self.weights)

    def sample(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """A float batch ``(lr, hr)``, or ``(lr, hr, target)`` with targets, in [0, 1] on the
        sampler's device.

        The draws come from ``generator`` (on the CPU), so a seed gives the same patches on
        every device."""
        index = torch.multinomial(self.weights, batch, replacement=True, generator=generator)
        uniform = torch.rand(batch, 2, generator=generator)
        transforms = torch.randint(0, len(VIEWS), (batch,), generator=generator)
        index, transforms = index.to(self.device), transforms.to(self.device)
        p, s = self.patch, self.scale
        sizes = self.lr_sizes[index]  # (B, 2): LR height, width
        corner = (uniform.double().to(self.device) * (sizes - p + 1)).long()  # top-left
        lr = _gather(
            self.lr_flat, self.lr_offsets[index], sizes[:, 1], corner, self.lr_grids[transforms]
        )
        hr_images = [self.hr_flat] + ([] if self.target_flat is None else [self.target_flat])
        hr_like = [
            _gather(
                flat, self.hr_offsets[index], sizes[:, 1] * s, corner * s, self.hr_grids[transforms]
            )
            for flat in hr_images
        ]
        return tuple(patches.float() / 255 for patches in (lr, *hr_like))


def keep_detailed(keep: int, lr: torch.Tensor, *aligned: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The ``keep`` draws whose LR patches have the most detail (mean absolute difference
    between neighbouring pixels): ``(lr, *aligned)`` cut down to them, each tensor indexed
    alike. Flat patches teach a model little that bicubic does not know already; ranking a
    larger draw spends the step on edges and texture instead."""
    detail = lr.diff(dim=-1).abs().mean(dim=(1, 2, 3)) + lr.diff(dim=-2).abs().mean(dim=(1, 2, 3))
    index = detail.topk(keep).indices.sort().values
    return tuple(tensor[index] for tensor in (lr, *aligned))


def _flatten(images: list[np.ndarray], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """``(3, total pixels)`` uint8 buffer of ``HxWx3`` images and each image's start offset."""
    flat = np.concatenate([im.reshape(-1, 3) for im in images]).T
    offsets = np.cumsum([0] + [im.shape[0] * im.shape[1] for im in images[:-1]])
    return (
        torch.from_numpy(np.ascontiguousarray(flat)).to(device),
        torch.from_numpy(offsets).to(device),
    )


def _dihedral_grids(size: int, device: torch.device) -> torch.Tensor:
    """``(8, 2, size, size)``: for each of the 8 flips/rotations, the (row, column) in the source
    patch that each output pixel comes from, i.e. ``dihedral(patch, k)[:, i, j] ==
    patch[:, grid[k, 0, i, j], grid[k, 1, i, j]]``."""
    rows, cols = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    base = torch.stack([rows, cols])
    return torch.stack([dihedral(base, k) for k in VIEWS]).to(device)


def _gather(flat, offsets, widths, corners, grids) -> torch.Tensor:
    """``(B, 3, n, n)`` patches: pixel (i, j) of patch b is the image pixel at
    ``corners[b] + grids[b, :, i, j]`` of the image starting at ``offsets[b]`` in ``flat``."""
    rows = corners[:, 0, None, None] + grids[:, 0]
    cols = corners[:, 1, None, None] + grids[:, 1]
    index = offsets[:, None, None] + rows * widths[:, None, None] + cols  # (B, n, n)
    return flat[:, index].transpose(0, 1).contiguous()


def load_rgb_images(folder: str | Path) -> list[tuple[str, np.ndarray]]:
    """(name, HxWx3 uint8) for every image in a folder (e.g. the Set5 selection set), loaded
    exactly as the benchmark loads it, so the Set5 PSNR logged here is the benchmark's."""
    return [(p.stem, load_rgb(p)) for p in list_images(folder)]
