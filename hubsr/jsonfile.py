"""Reading the JSON files hubsr writes (configs, training records, benchmark results)."""

from __future__ import annotations

import json
from pathlib import Path

from .errors import HubSRError

__all__ = ["read_json"]


def read_json(path: str | Path, what: str):
    """The parsed contents of ``path``; a :class:`HubSRError` naming the file and ``what`` it
    should have been (e.g. ``"training summary"``) if it is missing, unreadable or not JSON."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HubSRError(f"{path} is not a readable {what}: {exc}") from None
