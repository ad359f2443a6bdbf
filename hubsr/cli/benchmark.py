"""``hubsr benchmark``: PSNR/SSIM/speed of models on Set5, Set14 and BSD100 by the x3 protocol."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from itertools import product
from pathlib import Path

from ..degradations import DEGRADATIONS
from ..precision import DTYPE_CHOICES
from ..testsets import BENCHMARK_SETS, DATA_DIR_ENV

EPILOG = """examples:
  hubsr benchmark --model abpn-x3 --model bicubic                  Set5, Set14, BSD100 at x3
  hubsr benchmark --model runs/my-model --datasets Set5 --per-image
  hubsr benchmark --model abpn-x3 --json results.json --plot psnr_vs_time.png
  hubsr benchmark --model abpn-x3 --tta --json results-tta.json     x8 self-ensemble
  hubsr benchmark --model photo-x3 --model bicubic --degradation jpeg50 noise10 mixed
  hubsr benchmark --model abpn-x3 --datasets Set5 \\
      --lr-dir tests/data/reference_lr_x3/Set5/edsr_benchmark/LR_bicubic/X3
                                                                 given LR files (MATLAB's)"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "benchmark",
        help="measure models on Set5/Set14/BSD100 (PSNR, SSIM, params, seconds per image)",
        description=(
            "Measure models by the benchmark protocol: HR cropped to a multiple of the scale,\n"
            "LR by MATLAB bicubic, PSNR/SSIM on Y with crop border = scale. Prints a table;\n"
            "--json writes every number with the protocol and dataset checksums."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--model",
        action="append",
        required=True,
        metavar="PATH|NAME|bicubic",
        help="a model folder, a bundled model name (e.g. abpn-x3), a Hub repo id, an .onnx "
        "file, or 'bicubic' (at --scale); any name hubsr.load takes. Repeat for several models",
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        default=list(BENCHMARK_SETS),
        metavar="SET",
        help="set names under the data folder, or folders of HR images (default: %(default)s)",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help=f"folder holding the sets (default: ${DATA_DIR_ENV}, else the repository's data/)",
    )
    parser.add_argument("--scale", type=int, default=3, help="scale factor (default: 3)")
    parser.add_argument("--tta", action="store_true", help="x8 self-ensemble (8x slower)")
    parser.add_argument("--tile", type=int, metavar="N", help="upscale in N x N LR tiles")
    parser.add_argument(
        "--dtype",
        default="fp32",
        choices=DTYPE_CHOICES,
        help="compute precision (default: fp32, as the published figures; bf16 or auto "
        "measure the fast path that `hubsr upscale` takes by default)",
    )
    parser.add_argument(
        "--lr-dir",
        metavar="DIR",
        help="read LR images from DIR instead of making them (one dataset only; files matched "
        "to HR by name, e.g. baby.png, babyx3.png, baby_LR.png)",
    )
    parser.add_argument(
        "--degradation",
        nargs="+",
        default=["clean"],
        choices=list(DEGRADATIONS),
        metavar="NAME",
        help="degrade each LR image first (fixed seeds; scored against the clean HR): "
        + "; ".join(f"{k}: {v.describe()}" for k, v in DEGRADATIONS.items())
        + " (default: clean). Several names measure each in turn",
    )
    parser.add_argument(
        "--per-image", action="store_true", help="print per-image rows (the JSON always has them)"
    )
    parser.add_argument(
        "--save-dir", metavar="DIR", help="save SR images as DIR/<model>/<dataset>/<name>.png"
    )
    parser.add_argument("--json", metavar="FILE", help="write all results to this JSON file")
    parser.add_argument(
        "--plot",
        metavar="FILE.png",
        help="plot PSNR against seconds per image, one point per model (needs matplotlib)",
    )
    parser.add_argument(
        "--plot-dataset",
        metavar="SET",
        help="the dataset of the plot (default: Set14 if measured, else the first)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..atomic import write_bytes_atomic
    from ..benchmark import benchmark, format_table, load_benchmark_model, plot_psnr_vs_time
    from ..errors import HubSRError

    if args.lr_dir is not None and len(args.datasets) != 1:
        raise HubSRError("--lr-dir holds the LR images of one dataset: pass one --datasets")
    if args.plot_dataset is not None and args.plot_dataset not in args.datasets:
        raise HubSRError(f"--plot-dataset {args.plot_dataset} is not among --datasets")
    # Load every model first: a bad name or a scale mismatch fails before any measuring.
    models = [(spec, *load_benchmark_model(spec, args.scale)) for spec in args.model]
    names = [name for _, name, _ in models]
    if len(set(names)) != len(names):
        raise HubSRError(f"models with the same name would be mixed up: {', '.join(names)}")
    results = []
    for spec, name, model in models:
        for dataset, degradation in product(args.datasets, args.degradation):
            save_dir = None
            if args.save_dir is not None:
                save_dir = Path(args.save_dir) / name.replace("/", "--") / Path(dataset).name
                if degradation != "clean":
                    save_dir = save_dir.with_name(f"{save_dir.name}-{degradation}")
            result = benchmark(
                model,
                dataset,
                args.scale,
                tta=args.tta,
                tile=args.tile,
                lr_dir=args.lr_dir,
                save_dir=save_dir,
                progress=not args.quiet,
                data_dir=args.data_dir,
                dtype=args.dtype,
                degradation=degradation,
            )
            results.append({"model": name, "model_source": spec, **result})
    print(format_table(results, per_image=args.per_image))
    if args.json is not None:
        document = {
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "scale": args.scale,
            "tta": args.tta,
            "results": results,
        }
        write_bytes_atomic(args.json, (json.dumps(document, indent=2) + "\n").encode())
        print(f"wrote {args.json}")
    if args.plot is not None:
        plot_psnr_vs_time(results, args.plot, dataset=args.plot_dataset)
        print(f"wrote {args.plot}")
    return 0
