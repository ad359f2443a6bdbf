"""``hubsr card``: write a model folder's README.md (Hub model card) from benchmark JSON."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  hubsr benchmark --model runs/abpn-x3 --model bicubic --json bench.json
  hubsr card runs/abpn-x3 --benchmark bench.json      the card of a model you trained
  python training/release/generate.py   regenerate every bundled card, figure and README table"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "card",
        help="write a model folder's README.md (Hub model card) from benchmark JSON",
        description=(
            "Write MODEL_DIR/README.md: Hub metadata with a model-index that records the\n"
            "protocol, usage, measured results next to bicubic (and published references,\n"
            "with --published), speed, training recipe, limitations and citation."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model_dir", metavar="MODEL_DIR", help="the model folder")
    parser.add_argument(
        "--benchmark",
        required=True,
        metavar="JSON",
        help="`hubsr benchmark --json` output with this model (and ideally bicubic)",
    )
    parser.add_argument(
        "--tta-benchmark", metavar="JSON", help="the same, measured with --tta (optional)"
    )
    parser.add_argument(
        "--fast-benchmark",
        metavar="JSON",
        help="the same, measured with --dtype auto: the default precision's PSNR and speed "
        "(optional)",
    )
    parser.add_argument(
        "--train-summary",
        metavar="FILE",
        help="train_summary.json of the run (default: MODEL_DIR/train_summary.json if present)",
    )
    parser.add_argument(
        "--published",
        metavar="JSON",
        help="published reference PSNR to list next to the measured rows, by scale "
        "(model_cards/results/published.json, written by training/release/generate.py; optional)",
    )
    parser.add_argument(
        "--degraded",
        metavar="JSON",
        help="`hubsr benchmark --degradation ... --json` output with this model: the card's "
        "section on degraded inputs (photos; optional)",
    )
    parser.add_argument(
        "--repo-id",
        metavar="ID",
        help="name shown in the usage example and model-index (default: the folder name)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..cards import write_card

    path = write_card(
        args.model_dir,
        args.benchmark,
        tta_benchmark=args.tta_benchmark,
        train_summary=args.train_summary,
        repo_id=args.repo_id,
        fast_benchmark=args.fast_benchmark,
        published=args.published,
        degraded=args.degraded,
    )
    print(f"wrote {path}")
    return 0
