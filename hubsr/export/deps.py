"""The optional packages of the ``export`` extra, imported only when an export needs them."""

from __future__ import annotations

import importlib

__all__ = ["EXTRA_HINT", "require"]

EXTRA_HINT = "pip install 'hubsr[export]'"


def require(module: str, purpose: str):
    """Import ``module`` or raise :class:`HubSRError` naming the extra that installs it."""
    from ..errors import HubSRError

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise HubSRError(
            f"{purpose} needs the package {module.split('.')[0]} ({exc}): {EXTRA_HINT}"
        ) from None
