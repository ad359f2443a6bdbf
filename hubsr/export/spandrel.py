"""hubsr weights in the key layouts spandrel detects, and such files read back into hubsr.

spandrel (chaiNNer-org/spandrel, version 0.4.2 checked) recognises an architecture by the key
names of a state dict and infers its hyperparameters from the tensor shapes. Two hubsr
architectures are the same computation as one of its architectures, with no extra config:

- ``abpn`` as ``Compact`` (Real-ESRGAN's SRVGGNetCompact): both are a plain 3x3 conv stack at
  low resolution, a pixel shuffle and the nearest-upsampled input added. Compact's activations
  are PReLU, and a PReLU of slope 0 is ReLU. ABPN centres its input (``body(x - 0.5)``), which a
  bias cannot do exactly: the zero padding of the first conv would then pad ``x`` with 0
  instead of 0.5, off by tens of grey levels on the border. So the file starts with one extra
  conv (and PReLU of slope 1) that passes the image through and adds a channel of ones; the
  next conv is ABPN's first, with weight ``-0.5 * sum(W)`` on the ones channel. Zero padding
  zeroes the ones channel too, so this is ``W * pad0(x - 0.5)`` exactly. Compact then has one
  more conv than the ABPN (``num_conv = num_convs + 1``) and about 37K more weights.
- ``rcan`` as ``RCAN``: the same modules and key names (the authors' code). spandrel's RCAN
  multiplies the input by 255 and divides the output by 255 around its mean-shift convolutions,
  which the file sets so that the whole is hubsr's ``x - mean`` ... ``+ mean``.

The other architectures have no spandrel counterpart that computes the same function (see
:data:`CANNOT`). :func:`load_spandrel` reads both layouts back (safetensors only, nothing is
unpickled); a Compact file must hold ReLU activations and the centring prologue written here.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..atomic import atomic_file, check_output
from ..errors import HubSRError
from ..state_dicts import state_dict_problems

__all__ = [
    "CANNOT",
    "SPANDREL_ARCHITECTURES",
    "export_spandrel",
    "from_spandrel",
    "load_spandrel",
    "spandrel_problem",
    "to_spandrel",
]

# hubsr architecture -> the spandrel architecture id its export is detected as.
SPANDREL_ARCHITECTURES = {"abpn": "Compact", "rcan": "RCAN"}
# Why the others cannot be expressed (spandrel 0.4.2).
CANNOT = {
    "edsr": "spandrel has no EDSR architecture",
    "span": "spandrel's SPAN has exactly 6 blocks, no anchor, and centres its input on the "
    "DIV2K mean, not 0.5",
    "espcn": "spandrel has no ESPCN architecture (tanh activations, 5x5 first conv)",
    "srcnn": "spandrel has no SRCNN architecture (MATLAB bicubic pre-upsampling)",
    "vdsr": "spandrel has no VDSR architecture (MATLAB bicubic pre-upsampling)",
    "bicubic": "a weightless MATLAB bicubic has no spandrel architecture",
    "swinir": "hubsr does not write spandrel's SwinIR layout yet",
}
_RGB_RANGE = 255.0  # spandrel's RCAN works in [0, 255] (its rgb_range, not in the file)


def _supported() -> str:
    return ", ".join(f"{k} (as {v})" for k, v in SPANDREL_ARCHITECTURES.items())


def spandrel_problem(model) -> str | None:
    """Why ``model`` cannot be written in a spandrel layout, or None if it can."""
    arch = getattr(model, "architecture", "") or type(model).__name__
    if arch not in SPANDREL_ARCHITECTURES:
        reason = CANNOT.get(arch, "no spandrel architecture computes it")
        return f"{arch} cannot be exported for spandrel ({reason}); these can: {_supported()}"
    if arch == "abpn" and getattr(model, "linear_skip", None) is not None:
        return "abpn with a linear_skip cannot be exported for spandrel (Compact has no such path)"
    if arch == "abpn" and model.body[0].out_channels < model.in_channels + 1:
        return (
            f"abpn with {model.body[0].out_channels} channels cannot be exported for spandrel: "
            f"the centring prologue needs at least in_channels + 1 = {model.in_channels + 1}"
        )
    if arch == "rcan" and model.in_channels != 3:
        return "rcan cannot be exported for spandrel with in_channels != 3 (its mean shift is RGB)"
    return None


def to_spandrel(model) -> dict[str, torch.Tensor]:
    """``model``'s weights as a float32 state dict in the layout spandrel detects."""
    problem = spandrel_problem(model)
    if problem:
        raise HubSRError(problem)
    state = {k: v.detach().to("cpu", torch.float32) for k, v in model.state_dict().items()}
    layout = _abpn_to_compact if model.architecture == "abpn" else _rcan_to_spandrel
    return {k: v.contiguous() for k, v in layout(model, state).items()}


def export_spandrel(model, path: str | os.PathLike) -> Path:
    """Write :func:`to_spandrel` of ``model`` to ``path`` (``.safetensors``), atomically."""
    from safetensors.torch import save_file

    state = to_spandrel(model)
    path = check_output(path, ".safetensors", "spandrel weights")
    metadata = {"format": "pt", "hubsr_architecture": model.architecture}
    with atomic_file(path) as tmp:
        save_file(state, str(tmp), metadata=metadata)
    return path


def load_spandrel(path: str | os.PathLike):
    """The hubsr model (eval mode, CPU) of a spandrel-layout ``.safetensors`` file."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path).expanduser()
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise HubSRError(f"{path} is not a readable safetensors file: {exc}") from None
    return from_spandrel(state, source=str(path))


def from_spandrel(state: dict[str, torch.Tensor], source: str = "the state dict"):
    """The hubsr model computing what the spandrel-layout ``state`` computes.

    Raises:
        HubSRError: a layout hubsr does not read, or a file of such a layout that hubsr's
            architecture cannot express (e.g. PReLU slopes other than 0 in a Compact file).
    """
    state = {k: v.float() for k, v in state.items()}
    if "body.0.weight" in state and "body.1.weight" in state and "head.0.weight" not in state:
        convert, layout = _compact_to_abpn, "Compact"
    elif "tail.1.weight" in state and "body.0.body.0.body.3.conv_du.0.weight" in state:
        convert, layout = _rcan_from_spandrel, "RCAN"
    else:
        raise HubSRError(
            f"{source} is not in a spandrel layout hubsr reads (Compact from abpn, RCAN from "
            "rcan); a hubsr model.safetensors is loaded from its folder, with its config.json"
        )
    try:
        model = convert(state, source)
    except HubSRError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError) as exc:
        # Key names of the layout, tensors of another shape: not a file hubsr wrote.
        raise HubSRError(f"{source} has {layout} key names but not its shapes: {exc}") from None
    return model.eval()


# -- abpn <-> Compact ---------------------------------------------------------------------------
def _abpn_to_compact(model, state: dict) -> dict:
    c = model.in_channels
    w0, b0 = state["body.0.weight"], state["body.0.bias"]
    width = w0.shape[0]
    pass_through = torch.zeros(width, c, 3, 3)
    for i in range(c):
        pass_through[i, i, 1, 1] = 1.0
    ones = torch.zeros(width)
    ones[c] = 1.0
    identity = torch.zeros(width)
    identity[: c + 1] = 1.0  # PReLU slope 1: the image and the ones pass unchanged
    first = torch.zeros(width, width, 3, 3)
    first[:, :c] = w0
    first[:, c] = -0.5 * w0.sum(dim=1)
    out = {
        "body.0.weight": pass_through,
        "body.0.bias": ones,
        "body.1.weight": identity,
        "body.2.weight": first,
        "body.2.bias": b0,
        "body.3.weight": torch.zeros(width),
    }
    last = len(model.body) - 1
    for i in range(2, last + 1, 2):  # ABPN's convs after the first, two places later
        out[f"body.{i + 2}.weight"] = state[f"body.{i}.weight"]
        out[f"body.{i + 2}.bias"] = state[f"body.{i}.bias"]
        if i < last:
            out[f"body.{i + 3}.weight"] = torch.zeros(width)  # PReLU slope 0 is ReLU
    return out


def _compact_to_abpn(state: dict, source: str):
    from ..registry import get_architecture

    last = max(int(k.split(".")[1]) for k in state if k.startswith("body."))
    w = state["body.0.weight"]
    width, c = w.shape[0], w.shape[1]
    out_channels = state[f"body.{last}.bias"].shape[0]
    scale = round((out_channels / c) ** 0.5)
    if scale * scale * c != out_channels or last < 4 or last % 2:
        raise HubSRError(f"{source}: a Compact model of this shape is not an ABPN")
    pass_through = torch.zeros(width, c, 3, 3)
    for i in range(c):
        pass_through[i, i, 1, 1] = 1.0
    ones = torch.zeros(width)
    ones[c] = 1.0
    first = state["body.2.weight"]
    prologue = (
        w.shape[2:] == (3, 3)
        and width > c
        and torch.equal(w, pass_through)
        and torch.equal(state["body.0.bias"], ones)
        and torch.equal(state["body.1.weight"][: c + 1], torch.ones(c + 1))
        and torch.allclose(first[:, c], -0.5 * first[:, :c].sum(dim=1), rtol=1e-5, atol=1e-7)
    )
    if not prologue:
        raise HubSRError(
            f"{source} is a Compact model without the centring prologue hubsr writes: hubsr's "
            "ABPN computes body(x - 0.5) with zero padding, which a plain Compact cannot, so "
            "only files from `hubsr export --format spandrel` load as abpn"
        )
    slopes = [state[f"body.{i}.weight"] for i in range(3, last, 2)]
    if any(s.abs().max() != 0 for s in slopes):
        raise HubSRError(
            f"{source} has PReLU slopes other than 0; hubsr's ABPN has ReLU (slope 0) only"
        )
    model = get_architecture("abpn")(
        scale=scale, in_channels=c, channels=width, num_convs=(last - 4) // 2
    )
    mine = {"body.0.weight": first[:, :c], "body.0.bias": state["body.2.bias"]}
    for i in range(2, last - 1, 2):
        mine[f"body.{i}.weight"] = state[f"body.{i + 2}.weight"]
        mine[f"body.{i}.bias"] = state[f"body.{i + 2}.bias"]
    _load(model, mine, source)
    return model


# -- rcan <-> RCAN ------------------------------------------------------------------------------
def _mean() -> torch.Tensor:
    from ..layers import DIV2K_RGB_MEAN

    return torch.tensor(DIV2K_RGB_MEAN, dtype=torch.float32)


def _rcan_to_spandrel(model, state: dict) -> dict:
    eye = torch.eye(3).view(3, 3, 1, 1)
    # spandrel: sub_mean(255 x) -> head ... tail -> add_mean(y) / 255. These give x - mean and
    # (255 (y + mean)) / 255 = y + mean: hubsr's MeanShift buffers, which state_dict omits.
    return {
        **state,
        "sub_mean.weight": eye / _RGB_RANGE,
        "sub_mean.bias": -_mean(),
        "add_mean.weight": eye * _RGB_RANGE,
        "add_mean.bias": _mean() * _RGB_RANGE,
    }


def _diagonal_scalar(weight: torch.Tensor, name: str, source: str) -> float:
    value = weight.reshape(3, 3)[0, 0]
    if weight.shape != (3, 3, 1, 1) or not torch.allclose(
        weight.reshape(3, 3), value * torch.eye(3)
    ):
        raise HubSRError(f"{source}: {name} is not a uniform scaling, which hubsr's RCAN needs")
    return float(value)


def _rcan_from_spandrel(state: dict, source: str):
    from ..registry import get_architecture

    if "head.1.weight" in state:
        raise HubSRError(f"{source} is an RCAN with pixel-unshuffle input, which hubsr lacks")
    if "sub_mean.weight" not in state or "add_mean.weight" not in state:
        raise HubSRError(
            f"{source} is an RCAN without mean shift (sub_mean/add_mean); hubsr's RCAN subtracts "
            "the DIV2K mean. A hubsr model.safetensors is loaded from its folder (config.json)"
        )
    if state["tail.1.weight"].shape[0] != 3:
        raise HubSRError(f"{source}: hubsr's RCAN is RGB; this one has other channels")
    # Fold spandrel's mean shifts: sub_mean(255 x) = 255 a x + c must be 255 a (x - mean), and
    # add_mean(y) / 255 = (b y + d) / 255 must be (b / 255) y + mean.
    a = _diagonal_scalar(state.pop("sub_mean.weight"), "sub_mean", source)
    b = _diagonal_scalar(state.pop("add_mean.weight"), "add_mean", source)
    c, d = state.pop("sub_mean.bias"), state.pop("add_mean.bias")
    mean = _mean()
    if not (
        torch.allclose(c, -_RGB_RANGE * a * mean, rtol=1e-4)
        and torch.allclose(d, _RGB_RANGE * mean, rtol=1e-4)
    ):
        raise HubSRError(f"{source}: its mean shift is not the DIV2K mean that hubsr's RCAN uses")
    state["head.0.weight"] = state["head.0.weight"] * (_RGB_RANGE * a)
    state["tail.1.weight"] = state["tail.1.weight"] * (b / _RGB_RANGE)
    state["tail.1.bias"] = state["tail.1.bias"] * (b / _RGB_RANGE)

    features = state["head.0.weight"].shape[0]
    if state["head.0.weight"].shape[2:] != (3, 3):
        raise HubSRError(f"{source}: hubsr's RCAN has 3x3 convolutions only")
    groups = 1 + max(
        int(k.split(".")[1]) for k in state if k.startswith("body.") and k.count(".") > 2
    )
    blocks = 1 + max(
        int(k.split(".")[3]) for k in state if k.startswith("body.0.body.") and k.count(".") > 4
    )
    squeeze = state["body.0.body.0.body.3.conv_du.0.weight"].shape[0]
    ups = sorted(
        int(k.split(".")[2]) for k in state if k.startswith("tail.0.") and k.endswith(".weight")
    )
    widths = [state[f"tail.0.{i}.weight"].shape[0] // features for i in ups]
    scale = {(4,): 2, (9,): 3, (4, 4): 4}.get(tuple(widths))
    if scale is None:
        raise HubSRError(f"{source}: an RCAN upsampler of x{widths} is not x2, x3 or x4")
    try:
        model = get_architecture("rcan")(
            scale=scale,
            feature_channels=features,
            num_groups=groups,
            num_blocks=blocks,
            reduction=features // squeeze,
        )
    except ValueError as exc:
        raise HubSRError(f"{source}: {exc}") from None
    _load(model, state, source)
    return model


def _load(model, state: dict, source: str) -> None:
    problems = state_dict_problems(model.state_dict(), state)
    if problems:
        raise HubSRError(f"{source} does not fit {type(model).__name__}: " + "; ".join(problems))
    model.load_state_dict(state, strict=True)
