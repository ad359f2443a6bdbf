"""Models that other tools can run: ONNX files and spandrel-loadable safetensors.

- ``onnx`` (:mod:`hubsr.export.onnx`): one ``.onnx`` file with dynamic batch, height and width,
  fp32 or fp16, run by onnxruntime or any other ONNX runtime; :class:`OnnxModel` runs it with
  the hubsr pipeline (``hubsr benchmark --model FILE.onnx``).
- ``spandrel`` (:mod:`hubsr.export.spandrel`): the same weights under the key layout spandrel
  detects (``abpn`` as Compact, ``rcan`` as RCAN), readable back with
  ``HubSR.from_pretrained(FILE.safetensors)``.

The packages these need (onnx, onnxscript, onnxruntime) come with ``pip install
'hubsr[export]'``; importing hubsr never needs them, and a missing one is an error naming that
extra. Every file is written to a temporary name beside the target and renamed when complete.

Example::

    from hubsr import HubSR
    from hubsr.export import export_model, supported_exports
    model = HubSR.from_pretrained("abpn-x3")
    supported_exports(model)  # ["onnx", "spandrel"]
    export_model(model, "abpn-x3.onnx", format="onnx")
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import HubSRError
from .onnx import OnnxModel, export_onnx, onnx_problem
from .spandrel import export_spandrel, load_spandrel, spandrel_problem

__all__ = [
    "FORMATS",
    "OnnxModel",
    "export_model",
    "export_onnx",
    "export_problem",
    "export_spandrel",
    "load_spandrel",
    "supported_exports",
]

FORMATS = ("onnx", "spandrel")
_PROBLEMS = {"onnx": onnx_problem, "spandrel": spandrel_problem}


def export_problem(model, format: str) -> str | None:
    """Why ``model`` cannot be exported to ``format``, or None if it can."""
    if format not in _PROBLEMS:
        raise HubSRError(f"unknown export format {format!r}; choose one of {', '.join(FORMATS)}")
    return _PROBLEMS[format](model)


def supported_exports(model) -> list[str]:
    """The export formats ``model`` can be written in, in :data:`FORMATS` order."""
    return [f for f in FORMATS if export_problem(model, f) is None]


def export_model(model, path: str | os.PathLike, *, format: str, precision: str = "fp32") -> Path:
    """Write ``model`` to ``path`` in ``format`` (``"onnx"`` or ``"spandrel"``).

    ``precision`` is the ONNX file's (``"fp32"`` or ``"fp16"``); spandrel files are float32.
    Returns the path written. Raises :class:`HubSRError` for an unknown format, a model the
    format cannot express (the message names those it can), a bad path or a failed export.
    """
    problem = export_problem(model, format)
    if problem:
        raise HubSRError(problem)
    if format == "onnx":
        return export_onnx(model, path, precision=precision)
    if str(precision).lower() not in ("fp32", "float32"):
        raise HubSRError(f"spandrel files hold float32 weights; --precision {precision} is ONNX's")
    return export_spandrel(model, path)
