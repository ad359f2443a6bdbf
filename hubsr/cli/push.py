"""``hubsr push``: upload a model folder as a Hub model repo (or stage that repo locally)."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  hubsr push runs/abpn-x3 you/abpn-x3                 create or update the repo, upload
  hubsr push runs/abpn-x3 you/abpn-x3 --stage repo/   write the repo's files to repo/ only

Then anyone can run: hubsr upscale photo.png -o out/ --model you/abpn-x3"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "push",
        help="upload a model folder to the Hub (card, config, weights, training record)",
        description=(
            "Upload MODEL_DIR as the Hub model repo REPO_ID: README.md (the card, from hubsr\n"
            "card), config.json and model.safetensors, plus the training record where present\n"
            "(train_config.json, train_summary.json, metrics.jsonl, train.log,\n"
            "training_curve.png). Nothing else in the folder is uploaded. Needs a Hub token\n"
            "(hf auth login or HF_TOKEN)."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model_dir", metavar="MODEL_DIR", help="the model folder")
    parser.add_argument("repo_id", metavar="REPO_ID", help="user/name on the Hub")
    parser.add_argument("--private", action="store_true", help="create the repo private")
    parser.add_argument(
        "--stage",
        metavar="DIR",
        help="write the repo's files into the new folder DIR instead of uploading",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..publish import push_to_hub, stage_for_hub

    if args.stage:
        staged = stage_for_hub(args.model_dir, args.stage)
        names = ", ".join(sorted(p.name for p in staged.iterdir()))
        print(f"staged {args.repo_id} in {staged}: {names}")
        return 0
    url = push_to_hub(args.model_dir, args.repo_id, private=args.private)
    print(f"uploaded {args.model_dir} to {args.repo_id}: {url}")
    return 0
