"""``hubsr report``: write the course report (PDF) from the files the runs recorded."""

from __future__ import annotations

import argparse
from pathlib import Path

DESCRIPTION = """Write a PDF report of one or more models from what their runs recorded.

Sections: title with the code link and commit; introduction; method (evaluation protocol, data
and pre-processing, architectures, hyperparameters, training curves); results against bicubic
and the published methods trained on the same 291 images, the visual comparison sheet and
per-image Set14 PSNR; the Set5 ablations that chose the recipe (from the experiment log that
--ablations names); findings computed from the measured differences. Every number is read from
the records, none is typed in.

MODEL: a bundled model name (see `hubsr models`) or a model folder with config.json,
train_config.json, train_summary.json and training_curve.png. Its numbers come from the
benchmark JSON (default: model_cards/results/benchmark.json, with benchmark-tta.json when
present). Needs fpdf2: pip install "hubsr[report]"."""

EPILOG = """examples:
  hubsr report abpn-x3 -o report.pdf
  hubsr report abpn-x3 edsr-x3 vdsr-x3 -o report.pdf --code-url https://github.com/me/hubsr
  hubsr benchmark --model runs/mine --model bicubic --json mine.json
  hubsr report runs/mine -o mine.pdf --benchmark mine.json --comparison sheet.png"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write a PDF report of models from their recorded runs",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("models", nargs="+", metavar="MODEL", help="bundled names or folders")
    parser.add_argument(
        "-o", "--output", required=True, type=Path, metavar="PDF", help="the PDF to write"
    )
    parser.add_argument(
        "--benchmark", metavar="JSON", help="`hubsr benchmark --json` output with the models"
    )
    parser.add_argument(
        "--tta-benchmark", metavar="JSON", help="the same, measured with --tta (optional)"
    )
    parser.add_argument(
        "--comparison",
        metavar="PNG",
        help="the visual comparison sheet (default: model_cards/results/comparison.png)",
    )
    parser.add_argument(
        "--published",
        metavar="JSON",
        help="published reference PSNR by scale (default: model_cards/results/published.json "
        "when present, written by training/release/generate.py)",
    )
    parser.add_argument(
        "--ablations",
        type=Path,
        metavar="DIR",
        help="the experiment log: <run>-train_config.json and <run>-metrics.jsonl files, directly "
        "in DIR or one folder a round (without it the section says it is not available)",
    )
    parser.add_argument(
        "--code-url", metavar="URL", help="link to the code (default: the git remote origin)"
    )
    parser.add_argument("--title", help="the report's title (default: scale and model names)")
    parser.add_argument(
        "--core-fonts",
        action="store_true",
        help="use the PDF core fonts (latin-1 text) even where DejaVu Sans is installed",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..report import write_report

    path = write_report(
        args.models,
        args.output,
        benchmark=args.benchmark,
        tta_benchmark=args.tta_benchmark,
        comparison=args.comparison,
        ablations=args.ablations,
        code_url=args.code_url,
        title=args.title,
        unicode_font=not args.core_fonts,
        published=args.published,
    )
    print(f"wrote {path}")
    return 0
