"""``hubsr export``: write a model as an ONNX file or as spandrel-loadable safetensors."""

from __future__ import annotations

import argparse

DESCRIPTION = """Write a model in a format other tools run.

  onnx       one .onnx file, dynamic batch, height and width (opset 18), fp32 or fp16;
             input N x C x H x W in [0, 1], output N x C x sH x sW (clamp it yourself)
  spandrel   a .safetensors file in the key layout spandrel (chaiNNer) detects: abpn as
             Compact, rcan as RCAN; HubSR.from_pretrained(FILE) reads it back

Needs the export extra: pip install 'hubsr[export]'."""

EPILOG = """examples:
  hubsr export edsr-x3 --format onnx -o edsr-x3.onnx
  hubsr benchmark --model edsr-x3 --model edsr-x3.onnx --datasets Set5   both, side by side
  hubsr export abpn-x3 --format onnx --precision fp16 -o abpn-x3-fp16.onnx
  hubsr export abpn-plain-x3 --format spandrel -o abpn-plain-x3.safetensors"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a model as ONNX or as spandrel-loadable safetensors",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "model",
        metavar="MODEL",
        help="a bundled model name (e.g. abpn-x3), a model folder, a Hub repo id in the cache, "
        "or a spandrel-layout .safetensors file",
    )
    parser.add_argument("--format", required=True, metavar="FORMAT", help="onnx or spandrel")
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="the file to write")
    parser.add_argument(
        "--precision",
        default="fp32",
        metavar="P",
        help="ONNX weights, input and output: fp32 (default) or fp16",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..export import export_model, export_problem
    from ..hub import HubSR

    model = HubSR.from_pretrained(args.model)
    problem = export_problem(model, args.format)  # before any slow step; names what can
    if problem:
        from ..errors import HubSRError

        raise HubSRError(problem)
    path = export_model(model, args.output, format=args.format, precision=args.precision)
    print(f"wrote {path} ({args.format}, {type(model).__name__} x{model.scale})")
    return 0
