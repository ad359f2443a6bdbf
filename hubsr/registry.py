"""Architecture registry: name -> HubSR subclass, filled by explicit decorators (no scans)."""

from __future__ import annotations

from .errors import HubSRError

_ARCHITECTURES: dict[str, type] = {}


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
