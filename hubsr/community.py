"""Community checkpoints: a ``.pth`` or ``.safetensors`` file, local or on the Hub, as a model.

``hubsr.load(PATH)``, ``HubSR.from_pretrained(PATH)`` and ``--model PATH`` read a checkpoint
file through :func:`read_checkpoint`; ``user/repo/FILE`` is ``FILE`` in the Hub repo
``user/repo``, downloaded as huggingface_hub does (the cache first; the cache only with
``offline=True`` or ``HF_HUB_OFFLINE=1``)::

    import hubsr
    model = hubsr.load("4x-UltraSharp.pth")             # any SR checkpoint spandrel recognises
    model.upscale("photo.png").save("photo_x4.png")     # tiles, TTA, alpha, 16 bit: as always
    model.save_pretrained("ultrasharp-x4")               # a hubsr folder: config names the class

Which class a file becomes, in this order:

1. hubsr's own spandrel-layout export (``hubsr export --format spandrel``: ``abpn`` as Compact
   with its centring prologue, ``rcan`` as RCAN with the DIV2K mean shift), and any file of
   exactly that layout: hubsr's own class (``abpn``, ``rcan``), computing what the file
   computes. This needs no spandrel, so hubsr's exports load without it.
2. Anything else: spandrel's detection (its main registry, version
   :data:`~hubsr.spandrel_model.SPANDREL_VERSION` checked) gives a
   :class:`~hubsr.spandrel_model.SpandrelModel`, if the file is single-image SR: scale 2 or
   more, grey or RGB in and out. Everything else is refused with one line saying why
   (:class:`UnsupportedCheckpointError`): a file spandrel does not recognise, a restoration
   model of scale 1, a face-restoration or inpainting model, other channel counts, and IPT
   (whose call is more than the network).

``.pth`` files are unpickled by spandrel's restricted unpickler, which rebuilds tensors and
plain containers only: no code from the file runs. ``.safetensors`` holds tensors alone.
"""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path

import torch

from .bundled import sha256_of
from .errors import HubSRError
from .hub import download_files, register_checkpoint_reader
from .spandrel_model import SpandrelModel, import_spandrel
from .state_dicts import refuse_non_finite, state_dict_problems

__all__ = ["UnsupportedCheckpointError", "from_state_dict", "read_checkpoint", "read_state_dict"]

# spandrel's purposes other than SR, and what hubsr calls them in a refusal.
_NOT_SR = {
    "FaceSR": "a face-restoration model (it restores aligned faces, not whole images)",
    "Inpainting": "an inpainting model (it fills masked regions; it does not upscale)",
    "Restoration": "a restoration model of scale 1 (denoise, deblur, JPEG; it does not upscale)",
}


# spandrel SR architectures whose descriptor runs the network through more than ``net(x)``.
_UNSUPPORTED = {
    "IPT": "its call goes through spandrel's multi-task wrapper (a scale index, its own patch "
    "chopping and a 0-255 range), which hubsr does not reproduce",
}


class UnsupportedCheckpointError(HubSRError):
    """A checkpoint hubsr does not run: not recognised, or not single-image SR."""


def read_checkpoint(
    name: str,
    *,
    revision: str | None = None,
    cache_dir=None,
    force_download: bool = False,
    local_files_only: bool = False,
    token: str | bool | None = None,
):
    """The model in the checkpoint file ``name`` (a path, or ``user/repo/FILE`` on the Hub), in
    eval mode on the CPU; see the module docstring for which class and what is refused."""
    path = Path(name).expanduser()
    source = path.name
    if not path.is_file():
        parts = name.split("/")
        if path.exists() or len(parts) < 3 or name.startswith(("/", ".", "~")):
            raise HubSRError(f"{name}: no such checkpoint file (a Hub file is user/repo/FILE)")
        repo_id, filename = "/".join(parts[:2]), "/".join(parts[2:])
        (path,) = download_files(
            repo_id,
            [filename],
            revision=revision,
            cache_dir=cache_dir,
            force_download=force_download,
            local_files_only=local_files_only,
            token=token,
        )
        source = name if revision is None else f"{name}@{revision}"
    state = read_state_dict(path)
    refuse_non_finite(state, source)
    return from_state_dict(state, source=source, sha256=sha256_of(path))


def read_state_dict(path: str | Path) -> dict:
    """The tensors of a ``.safetensors`` file, or of a ``.pth`` file through spandrel's
    restricted unpickler (and its unwrapping of ``params_ema``, ``state_dict``, ...)."""
    path = Path(path)
    if path.suffix.lower() == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
            raise HubSRError(f"{path.name} is not a readable safetensors file: {exc}") from None
    spandrel = import_spandrel(f"reading {path.name}")
    try:
        return spandrel.ModelLoader().load_state_dict_from_file(path)
    except Exception as exc:  # noqa: BLE001 - unpickling fails in many ways; each gets one line
        raise UnsupportedCheckpointError(
            f"{path.name} is not a checkpoint spandrel's restricted unpickler reads "
            f"({type(exc).__name__}: {_first_line(exc)})"
        ) from None


def from_state_dict(state: dict, *, source: str = "the state dict", sha256: str = ""):
    """The model of ``state``: hubsr's own class for hubsr's spandrel layouts, else the
    spandrel architecture that recognises it (see the module docstring)."""
    from .export.spandrel import from_spandrel

    own_problem = "it holds more than tensors"
    if all(isinstance(v, torch.Tensor) for v in state.values()):
        try:
            return from_spandrel(state, source=source)
        except HubSRError as not_own:
            own_problem = str(not_own)
    spandrel = import_spandrel(f"{source} (not a hubsr export: {own_problem})")
    try:
        descriptor = spandrel.MAIN_REGISTRY.load(spandrel.canonicalize_state_dict(dict(state)))
    except spandrel.UnsupportedModelError:
        folder = Path(source).name == "model.safetensors"  # hubsr's own weights, alone
        hint = "; a hubsr model.safetensors is loaded from its folder (config.json)" * folder
        raise UnsupportedCheckpointError(
            f"{source} is not a checkpoint of any architecture spandrel {spandrel.__version__} "
            f"recognises{hint}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - a recognised file whose tensors do not fit
        raise UnsupportedCheckpointError(
            f"{source}: spandrel recognised it but could not build it "
            f"({type(exc).__name__}: {_first_line(exc)})"
        ) from None
    _refuse_not_sr(descriptor, source)
    return _from_descriptor(descriptor, spandrel, source, sha256)


def _refuse_not_sr(descriptor, source: str) -> None:
    arch = descriptor.architecture.id
    purpose = descriptor.purpose
    if purpose != "SR" or descriptor.scale < 2:
        what = _NOT_SR.get(purpose, f"a {purpose} model of scale {descriptor.scale}")
        raise UnsupportedCheckpointError(
            f"{source} is {what} ({arch}); hubsr runs single-image SR models of scale 2 or more"
        )
    if arch in _UNSUPPORTED:
        raise UnsupportedCheckpointError(
            f"{source} is {arch}, which hubsr does not run: " + _UNSUPPORTED[arch]
        )
    channels = (descriptor.input_channels, descriptor.output_channels)
    if channels[0] != channels[1] or channels[0] not in (1, 3):
        raise UnsupportedCheckpointError(
            f"{source} ({arch}) takes {channels[0]} channels and gives {channels[1]}; hubsr "
            "runs models with grey (1) or RGB (3) in and the same out"
        )


def _from_descriptor(descriptor, spandrel, source: str, sha256: str) -> SpandrelModel:
    net = descriptor.model
    arch = descriptor.architecture.id
    requirements = descriptor.size_requirements
    try:
        model = SpandrelModel(
            spandrel_architecture=arch,
            spandrel_class=_exported_name(net, arch),
            hyperparameters=_config_values(net, arch, source),
            scale=descriptor.scale,
            in_channels=descriptor.input_channels,
            size_minimum=requirements.minimum,
            size_multiple=requirements.multiple_of,
            size_square=requirements.square,
            supports_half=descriptor.supports_half,
            supports_bfloat16=descriptor.supports_bfloat16,
            tiling=descriptor.tiling.name.lower(),
            source=source,
            source_sha256=sha256,
            spandrel_version=spandrel.__version__,
        )
    except (TypeError, ValueError) as exc:  # HubSRError included: it is a ValueError
        raise UnsupportedCheckpointError(
            f"{source} ({arch}): its settings do not rebuild the network ({_first_line(exc)})"
        ) from None
    # The network built from the config must take spandrel's state dict exactly: then a saved
    # folder rebuilds the same model without spandrel's detection.
    state = {f"net.{k}": v for k, v in net.state_dict().items()}
    problems = state_dict_problems(model.state_dict(), state)
    if problems:
        raise UnsupportedCheckpointError(
            f"{source} ({arch}): the network rebuilt from its settings does not take its "
            "weights: " + "; ".join(problems)
        )
    model.load_state_dict(state, strict=True)
    return model.eval()


def _exported_name(net, arch: str) -> str:
    """The name under which ``spandrel.architectures.<arch>`` exports the network's class."""
    module = importlib.import_module(f"spandrel.architectures.{arch}")
    for name in getattr(module, "__all__", ()):
        if getattr(module, name, None) is type(net):
            return name
    raise UnsupportedCheckpointError(
        f"spandrel's {arch} does not export its network class {type(net).__name__}"
    )


def _config_values(net, arch: str, source: str) -> dict:
    """The network's constructor arguments as JSON values (tuples become lists). A value JSON
    cannot hold (a layer class, a function) is left out when it is the class's default, which
    then rebuilds it; any other such value is refused."""
    recorded = getattr(net, "hyperparameters", None)
    if not isinstance(recorded, dict):
        raise UnsupportedCheckpointError(
            f"{source} ({arch}): spandrel keeps no constructor arguments for it, so hubsr "
            "could not rebuild it from a folder"
        )
    defaults = inspect.signature(type(net).__init__).parameters
    values = {}
    for key, value in recorded.items():
        try:
            values[key] = json.loads(json.dumps(value))
            continue
        except (TypeError, ValueError):
            pass
        if key in defaults and defaults[key].default is value:
            continue
        raise UnsupportedCheckpointError(
            f"{source} ({arch}): its setting {key}={value!r} cannot be written to config.json"
        )
    return values


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


register_checkpoint_reader(read_checkpoint)
