"""Registries filled by explicit calls (no scans): architectures and their named variants.

An *architecture* is a :class:`hubsr.HubSR` subclass, registered by its ``architecture`` name
with :func:`register`. A *variant* is data: a name and the constructor arguments of one
architecture, registered at the bottom of that architecture's module with
:func:`register_variants` (timm style). The variant name is what users type: the bundled model
folder, the Hub repo name and ``train.py --model NAME`` are all called by it.
"""

from __future__ import annotations

import inspect
import json
import warnings
from dataclasses import dataclass

from .errors import HubSRError, ScaleError

_ARCHITECTURES: dict[str, type] = {}
_VARIANTS: dict[str, Variant] = {}

# Names that stand for a variant at the scale the caller asks for (3 if none): ``bicubic`` is
# the weightless baseline at any scale it has a variant of (``bicubic-x2`` ... ``bicubic-x4``).
ALIASES = ("bicubic",)
DEFAULT_ALIAS_SCALE = 3

# Old name -> new name of each renamed variant (and its bundled folder): the old name still
# loads wherever a name is taken (get_variant, HubSR.from_pretrained and so hubsr.load, the
# command line, the Space), with a FutureWarning naming the new one, and is listed nowhere.
RENAMED = {"abpn-gpu-x3": "abpn-plain-x3"}  # issue #43: the plain ABPN, not "trained on a GPU"


def register(cls):
    """Class decorator: make ``cls`` loadable by its ``architecture`` name."""
    name = cls.architecture
    if name in _ARCHITECTURES and _ARCHITECTURES[name] is not cls:
        raise RuntimeError(f"architecture {name!r} registered twice")
    _ARCHITECTURES[name] = cls
    return cls


def get_architecture(name: str) -> type:
    """The registered class for ``name``; a clear error listing the known names otherwise."""
    try:
        return _ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(sorted(_ARCHITECTURES))
        raise HubSRError(f"unknown architecture {name!r}; known architectures: {known}") from None


def list_architectures() -> list[str]:
    """Sorted names of all registered architectures."""
    return sorted(_ARCHITECTURES)


# -- variants ------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Variant:
    """A named set of constructor arguments of one architecture (``args`` includes ``scale``)."""

    name: str
    cls: type
    args: dict

    @property
    def architecture(self) -> str:
        return self.cls.architecture

    @property
    def scale(self) -> int:
        return self.args["scale"]

    @property
    def config(self) -> dict:
        """What ``save_pretrained`` writes to ``config.json`` for this variant: every
        constructor argument (defaults filled in, JSON values) plus ``architecture``."""
        params = list(inspect.signature(self.cls.__init__).parameters.values())[1:]
        full = {p.name: p.default for p in params} | self.args
        return {"architecture": self.architecture, **json.loads(json.dumps(full))}

    def build(self, **overrides):
        """A fresh, untrained model of this variant; ``overrides`` replace its arguments."""
        try:
            return self.cls(**{**self.args, **overrides})
        except (TypeError, ValueError) as exc:  # an unknown argument, or a value __init__ rejects
            raise HubSRError(f"{self.name} with {overrides}: {exc}") from None


def register_variants(cls, variants: dict[str, dict]) -> None:
    """Register named constructor arguments of ``cls`` (each must give ``scale``); an argument
    ``cls`` does not take fails here, at import, not when the variant is first built."""
    signature = inspect.signature(cls.__init__)
    for name, args in variants.items():
        if name in _VARIANTS or name in ALIASES:
            raise RuntimeError(f"variant {name!r} registered twice")
        if name in RENAMED:
            raise RuntimeError(f"variant {name!r} was renamed to {RENAMED[name]!r}")
        if "scale" not in args:
            raise RuntimeError(f"variant {name!r} must give its scale")
        signature.bind(None, **args)  # TypeError for a misspelt argument
        _VARIANTS[name] = Variant(name, cls, dict(args))


def current_name(name: str) -> str:
    """``name``, or for an old name in :data:`RENAMED` the variant's name now, with a
    FutureWarning that names it."""
    new = RENAMED.get(name)
    if new is None:
        return name
    warnings.warn(
        f"{name} is now called {new}; the old name will stop working in a future release",
        FutureWarning,
        stacklevel=3,
    )
    return new


def get_variant(name: str) -> Variant:
    """The variant called ``name`` (an old name of :data:`RENAMED` too, with a warning); a clear
    error listing the known names otherwise."""
    try:
        return _VARIANTS[current_name(name)]
    except KeyError:
        known = ", ".join(_VARIANTS)
        raise HubSRError(f"unknown variant {name!r}; known variants: {known}") from None


def find_variant(name: str) -> Variant | None:
    return _VARIANTS.get(name)


def list_variants() -> list[str]:
    """Names of all registered variants, in registration order (by module, then as written)."""
    return list(_VARIANTS)


def create_model(name: str, **overrides):
    """A fresh (untrained) model of variant ``name``, as timm's ``create_model``; keyword
    ``overrides`` replace the variant's arguments. ``create_model("edsr-x2")`` is the EDSR
    baseline (64 channels, 16 blocks) at x2. Trained weights: :func:`hubsr.load`."""
    return get_variant(name).build(**overrides)


def alias_variant(name: str, scale: int | None = None) -> str | None:
    """The variant an alias (:data:`ALIASES`) stands for at ``scale`` (default 3), e.g.
    ``bicubic`` -> ``bicubic-x3``; None if ``name`` is no alias. A scale the alias has no
    variant of raises :class:`ScaleError` naming the scales it has."""
    if name not in ALIASES:
        return None
    scale = DEFAULT_ALIAS_SCALE if scale is None else scale
    target = f"{name}-x{scale}"
    if target not in _VARIANTS:
        family = [v for v in _VARIANTS.values() if v.name.startswith(f"{name}-x")]
        scales = sorted(v.scale for v in family)
        have = ", ".join(map(str, scales[:-1])) + f" and {scales[-1]}" if scales else "none"
        cls = family[0].cls.__name__ if family else name
        raise ScaleError(name, scale, None, [], reason=f"{cls} supports scales {have}, got {scale}")
    return target


def bicubic_refusal(scale: int) -> str | None:
    """Why ``bicubic`` does not load at ``scale`` (the reason :func:`alias_variant` gives), or
    None if it does: a hint offers bicubic only where it works (:class:`ScaleError`)."""
    try:
        alias_variant("bicubic", scale)
    except ScaleError as exc:
        return exc.reason
    return None
