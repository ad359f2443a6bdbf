"""``HubSR``: the base class of every hubsr model (``nn.Module`` + ``PyTorchModelHubMixin``).

A subclass's keyword-only ``__init__`` arguments (JSON values only) *are* its config: the mixin
records them, ``save_pretrained`` writes them to ``config.json`` together with ``architecture``,
and ``HubSR.from_pretrained`` rebuilds the right subclass from that file alone. Weights live in
``model.safetensors``; nothing is ever unpickled, and loading is strict.
"""

from __future__ import annotations

import json
from pathlib import Path

import huggingface_hub.constants
import torch
from huggingface_hub import PyTorchModelHubMixin, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    HFValidationError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
)
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from .bundled import find_bundled_model
from .errors import HubSRError
from .registry import get_architecture

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


class HubSR(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="hubsr",
    pipeline_tag="image-to-image",
    tags=["super-resolution", "image-to-image", "hubsr"],
    license="mit",
):
    """Base class of hubsr models.

    Subclasses set the class attribute ``architecture`` (the registry name) and, in ``__init__``,
    the attributes callers rely on:

    - ``scale`` (int): output size is ``scale`` times the input size;
    - ``in_channels`` (int): channels of input and output, 3 for RGB models;
    - ``size_multiple`` (int, class attribute): the input is padded to a multiple of this;
    - ``bf16_safe`` (bool, class attribute): whether CUDA bf16 inference is accurate enough.

    ``forward`` maps a float batch ``N x C x H x W`` in [0, 1] to ``N x C x sH x sW`` (unclamped).
    """

    architecture: str = ""
    size_multiple: int = 1
    bf16_safe: bool = True
    scale: int
    in_channels: int = 3

    # -- saving ---------------------------------------------------------------------------------
    def save_pretrained(self, save_directory, **kwargs):
        """Write ``config.json`` (with ``architecture``) and ``model.safetensors`` to a folder."""
        config = {"architecture": self.architecture}
        config.update(getattr(self, "_hub_mixin_config", None) or {})
        config.pop("config", None)
        kwargs["config"] = config
        return super().save_pretrained(save_directory, **kwargs)

    @property
    def config(self) -> dict:
        """The constructor arguments that rebuild this model, plus ``architecture``."""
        return {
            "architecture": self.architecture,
            **(getattr(self, "_hub_mixin_config", None) or {}),
        }

    # -- loading --------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path,
        *,
        revision: str | None = None,
        cache_dir: str | Path | None = None,
        force_download: bool = False,
        local_files_only: bool = False,
        token: str | bool | None = None,
        map_location: str | torch.device = "cpu",
    ):
        """Load a model from a folder, a bundled model name, a Hub repo id, or a spandrel-layout
        ``.safetensors`` file (:mod:`hubsr.export.spandrel`).

        On the base class the subclass is chosen by ``architecture`` in ``config.json``; on a
        subclass the config must name that subclass (or one of its own subclasses). Folders and
        bundled names never touch the network; a Hub repo id downloads as huggingface_hub does
        (the local cache first), unless ``local_files_only=True`` or ``HF_HUB_OFFLINE=1``.
        Loading is strict and the model is returned in eval mode. Every failure raises
        :class:`HubSRError` with a message naming the problem.
        """
        file = Path(str(pretrained_model_name_or_path)).expanduser()
        if file.suffix == ".safetensors" and file.is_file():  # spandrel layout (hubsr export)
            from .export.spandrel import load_spandrel

            model = load_spandrel(file)
            if not isinstance(model, cls):
                raise HubSRError(
                    f"{file} holds a {type(model).__name__} model, not a {cls.__name__}"
                )
            return model.to(map_location).eval()
        config_path, weights_path = _resolve_files(
            str(pretrained_model_name_or_path),
            revision=revision,
            cache_dir=cache_dir,
            force_download=force_download,
            local_files_only=local_files_only,
            token=token,
        )
        config = _read_config(config_path)
        arch_cls = get_architecture(config.pop("architecture"))
        if not issubclass(arch_cls, cls):
            raise HubSRError(
                f"{pretrained_model_name_or_path} holds a {arch_cls.__name__} model, "
                f"not a {cls.__name__}; load it with HubSR.from_pretrained"
            )
        try:
            model = arch_cls(**config)
        except (TypeError, ValueError) as exc:  # unknown argument, or a value __init__ rejects
            raise HubSRError(f"{config_path} does not match {arch_cls.__name__}: {exc}") from None
        model.load_weights(weights_path)
        return model.to(map_location).eval()

    def load_weights(self, weights_path) -> None:
        """Strictly load a safetensors file, with a readable list of any mismatched keys."""
        try:
            state = load_file(str(weights_path))  # to CPU; the caller moves the model
        except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
            raise HubSRError(f"{weights_path} is not a readable safetensors file: {exc}") from None
        expected = self.state_dict()
        problems = _state_dict_problems(expected, state)
        if problems:
            raise HubSRError(
                f"weights in {weights_path} do not fit {type(self).__name__}({self.config}): "
                + "; ".join(problems)
            )
        self.load_state_dict(state, strict=True)

    # -- inference ------------------------------------------------------------------------------
    def upscale(self, img, **kwargs):
        """Upscale an image by ``self.scale``; see :func:`hubsr.pipeline.upscale` for options."""
        from .pipeline import upscale  # the pipeline module does not import models

        return upscale(self, img, **kwargs)

    def extra_repr(self) -> str:
        return f"scale={getattr(self, 'scale', '?')}"


def _state_dict_problems(expected: dict, given: dict, show: int = 5) -> list[str]:
    def listing(keys):
        keys = sorted(keys)
        more = f" and {len(keys) - show} more" if len(keys) > show else ""
        return ", ".join(keys[:show]) + more

    missing = expected.keys() - given.keys()
    unexpected = given.keys() - expected.keys()
    shapes = [
        f"{k} {tuple(given[k].shape)} vs {tuple(expected[k].shape)}"
        for k in sorted(expected.keys() & given.keys())
        if given[k].shape != expected[k].shape
    ]
    problems = []
    if missing:
        problems.append(f"missing keys: {listing(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {listing(unexpected)}")
    if shapes:
        problems.append(f"mis-shaped keys (file vs model): {listing(shapes)}")
    return problems


def _read_config(path: Path) -> dict:
    try:
        config = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HubSRError(f"{path} is not a readable JSON config: {exc}") from None
    if not isinstance(config, dict) or not isinstance(config.get("architecture"), str):
        raise HubSRError(f"{path} has no 'architecture' name; it was not written by hubsr")
    return config


def _resolve_files(name: str, **hub_kwargs) -> tuple[Path, Path]:
    folder = Path(name).expanduser()
    if not folder.exists():
        bundled = find_bundled_model(name)
        if bundled is not None:
            folder = bundled
    if folder.is_dir():
        config, weights = folder / CONFIG_NAME, folder / WEIGHTS_NAME
        for path in (config, weights):
            if not path.is_file():
                raise HubSRError(f"model folder {folder} has no {path.name}")
        return config, weights
    if folder.exists():
        raise HubSRError(f"{name} is a file; pass the model folder that holds {CONFIG_NAME}")
    return _download(name, **hub_kwargs)


def _download(repo_id: str, **hub_kwargs) -> tuple[Path, Path]:
    try:
        config = hf_hub_download(repo_id, CONFIG_NAME, **hub_kwargs)
        weights = hf_hub_download(repo_id, WEIGHTS_NAME, **hub_kwargs)
    except HFValidationError:
        raise HubSRError(f"{repo_id} is neither a model folder nor a valid Hub repo id") from None
    except LocalEntryNotFoundError:
        offline = hub_kwargs.get("local_files_only") or huggingface_hub.constants.HF_HUB_OFFLINE
        hint = (
            "; downloads are off (HF_HUB_OFFLINE=1 or --offline): fetch it once online "
            f"(hf download {repo_id})"
            if offline
            else "; the Hub could not be reached to download it"
        )
        raise HubSRError(
            f"{repo_id} is not a model folder and is not in the local Hub cache{hint}"
        ) from None
    except (RepositoryNotFoundError, EntryNotFoundError, HfHubHTTPError) as exc:
        raise HubSRError(f"could not fetch {repo_id} from the Hub: {exc}") from None
    return Path(config), Path(weights)
