"""``HubSR``: the base class of every hubsr model (``nn.Module`` + ``PyTorchModelHubMixin``).

A subclass's keyword-only ``__init__`` arguments (JSON values only) *are* its config: the mixin
records them, ``save_pretrained`` writes them to ``config.json`` together with ``architecture``,
and ``HubSR.from_pretrained`` rebuilds the right subclass from that file alone. Weights live in
``model.safetensors``; nothing is ever unpickled, and loading is strict.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
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

from .bundled import (
    DEFAULT_MODELS,
    bundled_models,
    check_bundled_digest,
    find_bundled_model,
    is_float32_bundled,
)
from .errors import HubSRError, UnknownModelError
from .jsonfile import read_json
from .registry import (
    ALIASES,
    DEFAULT_ALIAS_SCALE,
    alias_variant,
    current_name,
    find_variant,
    get_architecture,
    list_variants,
)
from .state_dicts import refuse_non_finite, state_dict_problems

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"

# Single checkpoint files: a path, or ``user/repo/FILE`` for a file inside a Hub repo.
CHECKPOINT_SUFFIXES = (".pth", ".safetensors")
# What reads them: :mod:`hubsr.community` registers its reader when it is imported (``import
# hubsr`` does), because it builds on this module; this module never imports it.
_checkpoint_reader: Callable | None = None


def register_checkpoint_reader(reader: Callable) -> None:
    """Make ``reader(name, **hub_kwargs)`` the loader of checkpoint files (see
    :data:`CHECKPOINT_SUFFIXES`) in :meth:`HubSR.from_pretrained`."""
    global _checkpoint_reader
    _checkpoint_reader = reader


def is_checkpoint_name(name: str) -> bool:
    """Whether ``name`` names a single checkpoint file (local, or ``user/repo/FILE``)."""
    return Path(name).suffix.lower() in CHECKPOINT_SUFFIXES


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
    - ``weightless`` (bool, class attribute): no learned parameters (bicubic), so a variant
      name alone loads it, without ``model.safetensors``.

    ``forward`` maps a float batch ``N x C x H x W`` in [0, 1] to ``N x C x sH x sW`` (unclamped).
    """

    architecture: str = ""
    size_multiple: int = 1
    bf16_safe: bool = True
    weightless: bool = False
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
        """Load a model from a folder, a bundled model name, a weightless variant name
        (``bicubic-x2``; ``bicubic`` is ``bicubic-x3``), a Hub repo id (``user/repo``), or a
        checkpoint file (``.pth``, ``.safetensors``; a path or ``user/repo/FILE`` on the Hub):
        hubsr's own spandrel-layout exports and any single-image SR checkpoint spandrel
        recognises (:func:`hubsr.community.read_checkpoint` says which wins).
        :func:`hubsr.load` adds a ``scale`` check, ONNX files and ``offline=``. The old name of
        a renamed model (:data:`hubsr.registry.RENAMED`) loads the new one, with a FutureWarning.

        A name that is none of these raises :class:`~hubsr.errors.UnknownModelError`, which
        lists the known names; a variant whose weights are not bundled says so.

        On the base class the subclass is chosen by ``architecture`` in ``config.json``; on a
        subclass the config must name that subclass (or one of its own subclasses). Folders and
        bundled names never touch the network; a Hub repo id downloads as huggingface_hub does
        (the local cache first), unless ``local_files_only=True`` or ``HF_HUB_OFFLINE=1``.
        Loading is strict and the model is returned in eval mode. Every failure raises
        :class:`HubSRError` with a message naming the problem.
        """
        name = str(pretrained_model_name_or_path)
        if not Path(name).expanduser().exists():  # an old name of a renamed model: the new one
            name = current_name(name)
        # How files are fetched, whether a checkpoint file or a model folder (huggingface_hub's).
        download = dict(
            revision=revision,
            cache_dir=cache_dir,
            force_download=force_download,
            local_files_only=local_files_only,
            token=token,
        )
        if is_checkpoint_name(name) and not Path(name).expanduser().is_dir():
            if _checkpoint_reader is None:  # only if hubsr.hub was loaded outside the package
                raise HubSRError(f"{name}: checkpoint files load after `import hubsr`")
            model = _checkpoint_reader(name, **download)
            if not isinstance(model, cls):
                raise HubSRError(
                    f"{name} holds a {type(model).__name__} model, not a {cls.__name__}"
                )
            return model.to(map_location).eval()
        variant = _weightless_variant(name)
        if variant is not None:  # nothing to read: the name is the whole model
            model = variant.build()
            if not isinstance(model, cls):
                raise HubSRError(
                    f"{pretrained_model_name_or_path} is a {type(model).__name__} model, "
                    f"not a {cls.__name__}"
                )
            return model.to(map_location).eval()
        config_path, weights_path = _resolve_files(name, **download)
        check_bundled_digest(weights_path)
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
        if is_float32_bundled(weights_path):  # bf16 measurably costs it: float32 by default
            model.bf16_safe = False
        return model.to(map_location).eval()

    def load_weights(self, weights_path) -> None:
        """Strictly load a safetensors file, with a readable list of any mismatched keys;
        NaN or infinite weights are refused (they would give a black image, not an error)."""
        try:
            state = load_file(str(weights_path))  # to CPU; the caller moves the model
        except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
            raise HubSRError(f"{weights_path} is not a readable safetensors file: {exc}") from None
        expected = self.state_dict()
        problems = state_dict_problems(expected, state)
        if problems:
            raise HubSRError(
                f"weights in {weights_path} do not fit {type(self).__name__}({self.config}): "
                + "; ".join(problems)
            )
        refuse_non_finite(state, weights_path)
        self.load_state_dict(state, strict=True)

    # -- inference ------------------------------------------------------------------------------
    def upscale(self, img, **kwargs):
        """Upscale an image by ``self.scale``; see :func:`hubsr.pipeline.upscale` for options."""
        from .pipeline import upscale  # the pipeline module does not import models

        return upscale(self, img, **kwargs)

    def extra_repr(self) -> str:
        return f"scale={getattr(self, 'scale', '?')}"


def _read_config(path: Path) -> dict:
    config = read_json(path, "JSON config")
    if not isinstance(config, dict) or not isinstance(config.get("architecture"), str):
        raise HubSRError(f"{path} has no 'architecture' name; it was not written by hubsr")
    return config


def _resolve_files(name: str, **hub_kwargs) -> tuple[Path, Path]:
    folder = Path(name).expanduser()
    if not folder.exists():
        bundled = find_bundled_model(name)
        if bundled is not None:
            folder = bundled
        elif "/" not in name:  # no folder, no bundled model and no user/repo: never the network
            raise _unknown_name(name)
    if folder.is_dir():
        config, weights = folder / CONFIG_NAME, folder / WEIGHTS_NAME
        for path in (config, weights):
            if not path.is_file():
                raise HubSRError(f"model folder {folder} has no {path.name}")
        return config, weights
    if folder.exists():
        raise HubSRError(f"{name} is a file; pass the model folder that holds {CONFIG_NAME}")
    return _download(name, **hub_kwargs)


def _weightless_variant(name: str):
    """The variant ``name`` (or the alias ``name``) stands for, if its model has no weights and
    no folder or bundled model has that name; else None."""
    if Path(name).expanduser().exists() or find_bundled_model(name) is not None:
        return None
    variant = find_variant(alias_variant(name) or name)
    return variant if variant is not None and variant.cls.weightless else None


def _likeliest(name: str, close: list[str]) -> str:
    """Of equally close names, one of the homework's scale (the default model first), then the
    default model of another scale, then the first by name: "edsr" means edsr-x3 and "abpn"
    abpn-x3, not whichever scale sorts first or is another scale's default."""
    ratio = {n: difflib.SequenceMatcher(None, name, n).ratio() for n in close}
    best = max(ratio.values())
    tied = sorted(n for n in close if ratio[n] == best)
    defaults = [m.lower() for m in DEFAULT_MODELS.values()]
    homework = f"-x{DEFAULT_ALIAS_SCALE}"  # the scale a name without one stands for

    def preference(n: str) -> tuple[bool, int]:
        return (not n.endswith(homework), defaults.index(n) if n in defaults else len(defaults))

    return min(tied, key=preference)


def _unknown_name(name: str) -> HubSRError:
    """The error for a name that is no folder, bundled model, weightless variant or repo id."""
    bundled = list(bundled_models())
    variant = find_variant(name)
    if variant is not None:
        return HubSRError(
            f"{name} is a hubsr variant ({variant.architecture} x{variant.scale}), but no weights "
            f"of it are bundled (bundled models: {', '.join(bundled) or 'none'}); load a model "
            f"folder or Hub repo (user/{name}) that holds them, or build it untrained with "
            f"hubsr.create_model({name!r})"
        )
    known = [*bundled, *ALIASES]
    others = [v for v in list_variants() if v not in bundled]
    suggestion = None
    for pool in (known, others):  # a bundled name first: it is what most people meant
        lowered = {n.lower(): n for n in pool}
        close = difflib.get_close_matches(name.lower(), list(lowered), n=len(lowered), cutoff=0.6)
        if close:
            suggestion = lowered[_likeliest(name.lower(), close)]
            break
    return UnknownModelError(name, known, others, suggestion)


def _download(repo_id: str, **hub_kwargs) -> tuple[Path, Path]:
    config, weights = download_files(repo_id, [CONFIG_NAME, WEIGHTS_NAME], **hub_kwargs)
    return config, weights


def download_files(repo_id: str, filenames: list[str], **hub_kwargs) -> list[Path]:
    """``filenames`` of the Hub repo ``repo_id``, downloaded as huggingface_hub does (the local
    cache first; only the cache with ``local_files_only=True`` or ``HF_HUB_OFFLINE=1``); every
    failure is a :class:`HubSRError` saying whether the network or the cache was the problem."""
    try:
        return [Path(hf_hub_download(repo_id, name, **hub_kwargs)) for name in filenames]
    except HFValidationError:
        raise HubSRError(f"{repo_id} is neither a model folder nor a valid Hub repo id") from None
    except LocalEntryNotFoundError:
        offline = hub_kwargs.get("local_files_only") or huggingface_hub.constants.HF_HUB_OFFLINE
        # A model repo is fetched whole; a checkpoint file alone (user/repo/FILE) by its name.
        files = "" if filenames == [CONFIG_NAME, WEIGHTS_NAME] else " " + " ".join(filenames)
        hint = (
            "; downloads are off (HF_HUB_OFFLINE=1 or --offline): fetch it once online "
            f"(hf download {repo_id}{files})"
            if offline
            else "; the Hub could not be reached to download it"
        )
        raise HubSRError(
            f"{repo_id} is not a model folder and is not in the local Hub cache{hint}"
        ) from None
    except (RepositoryNotFoundError, EntryNotFoundError, HfHubHTTPError) as exc:
        raise HubSRError(f"could not fetch {repo_id} from the Hub: {exc}") from None
