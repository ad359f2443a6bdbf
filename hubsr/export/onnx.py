"""ONNX export of hubsr models, and :class:`OnnxModel`, which runs such a file with onnxruntime.

The file takes one input ``input``, ``N x C x H x W`` in [0, 1], and returns ``output``,
``N x C x sH x sW`` (unclamped), with batch, height and width dynamic: one file serves every
image size. It is made by ``torch.onnx.export(dynamo=True)`` at opset 18 (pixel shuffle becomes
``DepthToSpace``, available since opset 11), with every weight inside the one file. In float16
the input and output are float16 too. bfloat16 is refused: onnxruntime's CPU provider has no
bfloat16 convolution, so such a file could not be checked or run here.

The file's metadata (``hubsr_*`` keys) records the architecture, its config, the scale, the
channels, the precision and the parameter count, so :class:`OnnxModel` needs nothing else.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path

import torch
from torch import nn

from ..atomic import atomic_file, check_output
from ..errors import HubSRError
from .deps import require
from .traceable import traceable

__all__ = ["ONNX_ARCHITECTURES", "OPSET", "OnnxModel", "export_onnx", "onnx_problem"]

OPSET = 18
# Architectures whose export is checked against the model by the tests (every bundled one).
ONNX_ARCHITECTURES = ("abpn", "bicubic", "edsr", "espcn", "rcan", "span", "srcnn", "vdsr")
PRECISIONS = {
    "fp32": torch.float32,
    "float32": torch.float32,
    "fp16": torch.float16,
    "float16": torch.float16,
    "half": torch.float16,
}
_REFUSED = {
    "bf16": "onnxruntime's CPU provider has no bfloat16 convolution; use fp16 or fp32",
    "bfloat16": "onnxruntime's CPU provider has no bfloat16 convolution; use fp16 or fp32",
}
_ORT_TYPES = {"tensor(float)": "float32", "tensor(float16)": "float16"}
_TORCH_TYPES = {"float32": torch.float32, "float16": torch.float16}


def onnx_problem(model) -> str | None:
    """Why ``model`` cannot be exported to ONNX, or None if it can."""
    arch = getattr(model, "architecture", "")
    if arch not in ONNX_ARCHITECTURES:
        known = ", ".join(ONNX_ARCHITECTURES)
        reason = (
            "its attention masks are built in Python for each input size, so one graph cannot "
            "serve every size"
            if arch == "swinir"
            else "it is not among the architectures checked"
        )
        return f"{arch or type(model).__name__} cannot be exported to ONNX ({reason}); {known} can"
    return None


def resolve_precision(precision: str) -> torch.dtype:
    """The torch dtype of an export precision name; HubSRError for the others."""
    key = str(precision).lower()
    if key in _REFUSED:
        raise HubSRError(f"ONNX precision {precision}: {_REFUSED[key]}")
    if key not in PRECISIONS:
        raise HubSRError(f"unknown ONNX precision {precision!r}; use fp32 or fp16")
    return PRECISIONS[key]


def export_onnx(
    model, path: str | os.PathLike, *, precision: str = "fp32", opset: int = OPSET
) -> Path:
    """Write ``model`` as an ONNX file with dynamic batch, height and width; returns the path.

    Args:
        model: a hubsr model of one of :data:`ONNX_ARCHITECTURES` (it is not modified).
        path: the output file, ending in ``.onnx``; written atomically, parent folders created.
        precision: ``"fp32"`` or ``"fp16"`` (weights, input and output).
        opset: the ONNX opset (at least 11, where ``DepthToSpace`` has pixel shuffle's order).

    Raises:
        HubSRError: an architecture that cannot be exported, a bad precision, opset or path,
            the export packages missing (``pip install 'hubsr[export]'``), or a failed export.
    """
    problem = onnx_problem(model)
    if problem:
        raise HubSRError(problem)
    dtype = resolve_precision(precision)
    if not isinstance(opset, int) or opset < 11:
        raise HubSRError(f"ONNX opset must be an integer >= 11 (pixel shuffle), got {opset!r}")
    path = check_output(path, ".onnx", "ONNX")
    require("onnxscript", "ONNX export")
    require("onnx", "ONNX export")

    work = copy.deepcopy(model).to(device="cpu", dtype=dtype).eval()
    module = traceable(work).eval()
    example = torch.rand(2, model.in_channels, 20, 24, dtype=dtype)
    dims = {
        0: torch.export.Dim("batch", min=1, max=1024),
        2: torch.export.Dim("height", min=1),
        3: torch.export.Dim("width", min=1),
    }
    try:
        with torch.no_grad():
            program = torch.onnx.export(
                module,
                (example,),
                input_names=["input"],
                output_names=["output"],
                opset_version=opset,
                dynamo=True,
                dynamic_shapes=(dims,),
                verbose=False,
            )
    except Exception as exc:  # the exporter raises many kinds; the message is what matters
        raise HubSRError(
            f"torch.onnx could not export {model.architecture}: {_first_line(exc)}"
        ) from None
    program.model.metadata_props.update(_metadata(model, dtype))
    with atomic_file(path) as tmp:
        program.save(str(tmp), external_data=False)
    return path


def _first_line(exc: Exception) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()  # the exporter colours its text
    return text.splitlines()[0] if text else type(exc).__name__


def _metadata(model, dtype: torch.dtype) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        hubsr_version = version("hubsr")
    except PackageNotFoundError:
        hubsr_version = "not installed"
    config = dict(getattr(model, "config", {}) or {})
    return {
        "hubsr_architecture": model.architecture,
        "hubsr_config": json.dumps(config, sort_keys=True),
        "hubsr_scale": str(model.scale),
        "hubsr_in_channels": str(model.in_channels),
        "hubsr_precision": str(dtype).removeprefix("torch."),
        "hubsr_parameters": str(sum(p.numel() for p in model.parameters())),
        "hubsr_version": hubsr_version,
    }


class OnnxModel(nn.Module):
    """An ONNX file run by onnxruntime on the CPU, with the interface of a hubsr model.

    ``scale``, ``in_channels``, ``upscale(img, tile=, tta=, dtype=, ...)`` (the whole
    :func:`hubsr.pipeline.upscale`: image modes, tiles, self-ensemble) and ``forward`` on a
    float batch, so ``hubsr benchmark`` can time it beside the torch model. ``parameters()``
    yields the file's floating-point constants (weights, biases and fixed constants such as a
    mean shift or bicubic taps) as CPU tensors, for counting; they do not take part in the
    computation. The precision is the file's: ``upscale`` accepts ``dtype`` ``None``/``"auto"``
    or the file's own precision, and refuses any other.

    Args:
        path: the ``.onnx`` file.
        threads: onnxruntime's intra-op threads (default: ``torch.get_num_threads()``, so both
            runtimes use the same cores).
    """

    size_multiple = 1
    bf16_safe = False
    architecture = "onnx"

    def __init__(self, path: str | os.PathLike, *, threads: int | None = None):
        super().__init__()
        ort = require("onnxruntime", "running an ONNX file")
        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise HubSRError(f"ONNX file {self.path} does not exist")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(
                str(self.path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime's own error types, none exported stably
            raise HubSRError(f"onnxruntime cannot load {self.path}: {_first_line(exc)}") from None
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1 or len(inputs[0].shape) != 4:
            raise HubSRError(
                f"{self.path} is not an image model: it needs one N x C x H x W input and one "
                f"output, it has {len(inputs)} inputs and {len(outputs)} outputs"
            )
        if inputs[0].type not in _ORT_TYPES:
            raise HubSRError(f"{self.path} takes {inputs[0].type}; float32 or float16 are run")
        self.input_name, self.output_name = inputs[0].name, outputs[0].name
        self.precision = _ORT_TYPES[inputs[0].type]
        meta = self.session.get_modelmeta().custom_metadata_map
        self.source_architecture = meta.get("hubsr_architecture")
        self.source_config = json.loads(meta.get("hubsr_config", "{}"))
        channels = inputs[0].shape[1]
        self.in_channels = int(
            meta.get("hubsr_in_channels", channels if isinstance(channels, int) else 3)
        )
        self.scale = int(meta["hubsr_scale"]) if "hubsr_scale" in meta else self._probe_scale()
        self._constants = None

    def _probe_scale(self) -> int:
        probe = torch.zeros(1, self.in_channels, 8, 8)
        height = self.forward(probe).shape[2]
        if height % 8:
            raise HubSRError(f"{self.path} maps 8 rows to {height}: not an integer scale")
        return height // 8

    @property
    def config(self) -> dict:
        return {
            "architecture": self.architecture,
            "file": str(self.path),
            "precision": self.precision,
            "source_architecture": self.source_architecture,
            "source_config": self.source_config,
        }

    def parameters(self, recurse: bool = True):
        if self._constants is None:
            onnx = require("onnx", "counting an ONNX file's weights")
            from onnx import numpy_helper

            graph = onnx.load(str(self.path)).graph
            floats = (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)
            self._constants = [
                torch.from_numpy(numpy_helper.to_array(t).copy())
                for t in graph.initializer
                if t.data_type in floats
            ]
        return iter(self._constants)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        array = x.detach().to("cpu", _TORCH_TYPES[self.precision]).contiguous().numpy()
        (y,) = self.session.run([self.output_name], {self.input_name: array})
        return torch.from_numpy(y).to(device=x.device, dtype=torch.float32)

    def upscale(self, img, *, dtype=None, **kwargs):
        """:func:`hubsr.pipeline.upscale` with this file; ``dtype`` must be the file's."""
        from ..pipeline import resolve_amp_dtype, upscale

        if not (dtype is None or (isinstance(dtype, str) and dtype.lower() == "auto")):
            asked = resolve_amp_dtype(dtype, torch.device("cpu"), self)
            asked = "float32" if asked is None else str(asked).removeprefix("torch.")
            if asked != self.precision:
                raise HubSRError(
                    f"{self.path.name} computes in {self.precision}, not {asked}: pass "
                    f"dtype={self.precision!r} or export a {asked} file"
                )
        return upscale(self, img, dtype="float32", **kwargs)

    def extra_repr(self) -> str:
        return f"{self.path.name}, scale={self.scale}, {self.precision}"
