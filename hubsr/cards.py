"""Model cards (``README.md`` with Hub metadata), rendered from a model folder and benchmark JSON.

:func:`write_card` turns a model folder plus the JSON written by ``hubsr benchmark --json`` into
the folder's ``README.md``: YAML front matter with a ``model-index`` whose every result records
the measurement protocol in ``metric_args``, a three-line usage example, measured results next to
bicubic and to clearly marked published references (given by the caller, see
:func:`load_published`), speed, the training recipe, limitations and the architecture's citation
(the BibTeX in its module docstring). Without benchmark JSON the card shows what the training
record (:class:`~hubsr.record.TrainSummary`) measured: the card a training run leaves. Nothing
here runs a model.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .atomic import write_bytes_atomic
from .errors import HubSRError
from .jsonfile import read_json
from .record import TrainSummary, read_summary
from .registry import get_architecture
from .testsets import BENCHMARK_SETS

__all__ = [
    "BF16_TOLERANCE_DB",
    "load_benchmark_json",
    "load_published",
    "render_card",
    "write_card",
]

# The largest PSNR change (dB, on any of Set5, Set14, BSD100) that lets a model run in bf16 by
# default (``bf16_safe``); beyond it, float32 stays its default.
BF16_TOLERANCE_DB = 0.01

_TRAIN_SETS = {
    "T91": "T91 (91 images, Yang et al. 2010)",
    "BSDS200": "BSDS200 (the 200 BSDS300 training images, Martin et al. 2001)",
}


# -- reading benchmark JSON ------------------------------------------------------------------------
def load_benchmark_json(path: str | Path) -> dict:
    """A JSON file written by ``hubsr benchmark --json``; a clear error for anything else."""
    data = read_json(path, "benchmark JSON")
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise HubSRError(f"{path} has no 'results' list; write it with `hubsr benchmark --json`")
    return data


def load_published(path: str | Path) -> dict[int, dict[str, dict]]:
    """Published reference PSNR by scale from a JSON file: ``{"3": {"VDSR": {"Set5": 33.66,
    "Set14": 29.77, "BSD100": 28.82, "ref": "Kim et al., CVPR 2016"}, ...}, ...}`` (dB on Y;
    null: not reported), as ``release/generate.py`` writes ``model_cards/results/published.json``.
    """
    data = _read_json(Path(path), "published-results JSON")
    table = {}
    for scale, rows in data.items():
        if not scale.isdigit() or not isinstance(rows, dict):
            raise HubSRError(f"{path}: {scale!r} is not a scale with a table of methods")
        for method, ref in rows.items():
            if not isinstance(ref, dict) or not isinstance(ref.get("ref"), str):
                raise HubSRError(f"{path}: x{scale} {method} has no 'ref' (where it is from)")
        table[int(scale)] = rows
    return table


def _pick(results: list[dict], model: str, tta: bool) -> dict[str, dict]:
    return {r["dataset"]: r for r in results if r["model"] == model and r["tta"] == tta}


def _model_names(results: list[dict]) -> list[str]:
    return list(dict.fromkeys(r["model"] for r in results))


def _matches(result: dict, model_dir: Path) -> bool:
    if result["model"] == model_dir.name:
        return True
    source = result.get("model_source")
    return bool(source) and Path(source).is_dir() and Path(source).resolve() == model_dir.resolve()


# -- the model card --------------------------------------------------------------------------------
def render_card(
    model_dir: str | Path,
    benchmark: dict | None,
    tta_benchmark: dict | None = None,
    train_summary: TrainSummary | dict | None = None,
    train_config: dict | None = None,
    repo_id: str | None = None,
    fast_benchmark: dict | None = None,
    onnx_speed: dict | None = None,
    published: dict[int, dict[str, dict]] | None = None,
) -> str:
    """The text of ``model_dir``'s README.md (front matter + body); see the module docstring.

    ``benchmark`` (and ``tta_benchmark``) are benchmark JSON dicts; this model's rows are those
    named like the folder (or whose ``model_source`` is the folder), and ``bicubic`` rows, if
    present, give the measured baseline. ``fast_benchmark``, if given, is the same benchmark in
    the precision ``upscale`` picks by default (``hubsr benchmark --dtype auto``): its PSNR goes
    next to the float32 one and its speed into the speed table. ``repo_id`` (default: the folder
    name, which loads a bundled model) is used in the usage example and the model-index.
    ``onnx_speed``, if given, is the JSON of ``perf/onnx_speed.py``: this model's row goes into
    the Export section (onnxruntime's time as a multiple of torch's). ``published`` (scale ->
    method -> row, see :func:`load_published`) adds the rows of the card's scale to the results
    table. ``benchmark=None`` renders the card of the training record alone (``train_summary``
    is then required): its end-of-run PSNR/SSIM, no speed, protocol or model-index.
    """
    model_dir = Path(model_dir)
    config = _read_json(model_dir / "config.json", "model config")
    arch_cls = get_architecture(config.get("architecture", ""))
    name = repo_id or model_dir.name
    if isinstance(train_summary, dict):
        train_summary = TrainSummary.from_dict(train_summary)
    if benchmark is None:
        return _record_card(model_dir, name, config, arch_cls, train_summary, train_config)
    rows = [r for r in benchmark["results"] if _matches(r, model_dir)]
    if tta_benchmark is not None:
        rows += [r for r in tta_benchmark["results"] if _matches(r, model_dir)]
    if not rows:
        known = ", ".join(_model_names(benchmark["results"])) or "none"
        raise HubSRError(
            f"the benchmark JSON has no results for {model_dir.name} (it has: {known})"
        )
    plain = {r["dataset"]: r for r in rows if not r["tta"]}
    tta = {r["dataset"]: r for r in rows if r["tta"]}
    fast = {}
    if fast_benchmark is not None:
        fast = {
            r["dataset"]: r
            for r in fast_benchmark["results"]
            if _matches(r, model_dir) and not r["tta"]
        }
    if not plain:
        raise HubSRError(f"the benchmark JSON has only TTA results for {model_dir.name}")
    bicubic = _pick(benchmark["results"], "bicubic", False)
    any_row = next(iter(plain.values()))
    scale = any_row["scale"]
    if config.get("scale", scale) != scale:
        raise HubSRError(f"{model_dir} is a x{config['scale']} model; its benchmark is x{scale}")
    datasets = [d for d in BENCHMARK_SETS if d in plain] + [
        d for d in plain if d not in BENCHMARK_SETS
    ]
    train_sets = _train_sets(train_config)
    references = {int(k): v for k, v in (published or {}).items()}.get(scale, {})

    data = _card_data(name, arch_cls, scale, train_sets, _eval_results(plain, tta, datasets, scale))
    sections = [
        f"# {name}: {arch_cls.__name__} x{scale} super-resolution",
        _summary(arch_cls, any_row["params"], scale),
        _usage_section(name),
        _results_section(name, plain, tta, bicubic, datasets, scale, train_config, references),
        _precision_section(name, plain, fast, datasets),
        _speed_section(plain, tta, datasets, fast),
        _export_section(name, arch_cls, config, onnx_speed),
        _protocol_section(any_row, plain),
        _training_section(train_summary, train_config, train_sets),
        _time_to_quality_section(model_dir),
        _limitations_section(scale, train_config, train_sets, train_summary),
        _citation_section(arch_cls),
    ]
    body = "\n\n".join(section for section in sections if section)  # optional ones may be empty
    return f"---\n{data.to_yaml()}\n---\n\n{body}\n"


def _card_data(name, arch_cls, scale, train_sets, eval_results=None) -> ModelCardData:
    """The card's YAML header: what the Hub indexes (library, task, tags, data, results)."""
    return ModelCardData(
        library_name="hubsr",
        pipeline_tag="image-to-image",
        license="mit",
        tags=[
            "super-resolution",
            "image-super-resolution",
            "hubsr",
            arch_cls.architecture,
            f"x{scale}",
        ],
        datasets=train_sets or None,
        metrics=["psnr", "ssim"],
        model_name=name,
        eval_results=eval_results,
    )


def _usage_section(name: str) -> str:
    return (
        "## Usage\n\n```python\nfrom hubsr import HubSR\n"
        f'model = HubSR.from_pretrained("{name}")\n'
        'model.upscale("input.png").save("output.png")\n```'
    )


def _record_card(model_dir, name, config, arch_cls, summary, train_config) -> str:
    """The card of a model folder without benchmark JSON: the training record's numbers."""
    if summary is None:
        raise HubSRError(
            f"{model_dir} has no train_summary.json: give benchmark JSON (hubsr benchmark --json)"
        )
    scale = config.get("scale", summary.model_args.get("scale"))
    train_sets = _train_sets(train_config)
    data = _card_data(name, arch_cls, scale, train_sets)
    sections = [
        f"# {name}: {arch_cls.__name__} x{scale} super-resolution",
        _summary(arch_cls, summary.params, scale),
        _usage_section(name),
        _record_results_section(summary, train_config, scale),
        _export_section(name, arch_cls, config),
        _training_section(summary, train_config, train_sets),
        _time_to_quality_section(model_dir),
        _limitations_section(scale, train_config, train_sets, summary),
        _citation_section(arch_cls),
    ]
    body = "\n\n".join(section for section in sections if section)
    return f"---\n{data.to_yaml()}\n---\n\n{body}\n"


def _record_results_section(summary: TrainSummary, train_config: dict | None, scale) -> str:
    lines = ["| Set | PSNR | SSIM |", "|---|---:|---:|"]
    for dataset, r in summary.results.items():
        lines.append(f"| {dataset} | {r['psnr']:.2f} | {r['ssim']:.4f} |")
    selection = Path(str((train_config or {}).get("eval_dir", "Set5"))).name
    return (
        f"## Results\n\nx{scale}, PSNR (dB) / SSIM on the Y channel, {scale} border pixels "
        "cropped, measured by the training script at the end of the run (`hubsr.protocol`). "
        f"{selection} picked the checkpoint; the other sets were measured once, after training. "
        "For the full card (bicubic, published references, speed, the protocol's checksums): "
        "`hubsr benchmark --model FOLDER --model bicubic --json bench.json`, then "
        "`hubsr card FOLDER --benchmark bench.json`.\n\n" + "\n".join(lines)
    )


def write_card(
    model_dir: str | Path,
    benchmark: dict | str | Path | None = None,
    tta_benchmark: dict | str | Path | None = None,
    train_summary: TrainSummary | dict | str | Path | None = None,
    repo_id: str | None = None,
    fast_benchmark: dict | str | Path | None = None,
    onnx_speed: dict | str | Path | None = None,
    published: dict | str | Path | None = None,
) -> Path:
    """Render the card and write ``model_dir/README.md`` (atomically); returns its path.

    JSON arguments may be dicts or paths (``fast_benchmark``, ``onnx_speed``, ``published``
    and ``benchmark=None``: see :func:`render_card`).
    ``train_summary`` defaults to the folder's ``train_summary.json``; ``train_config.json``
    is read from the folder when present.
    """
    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise HubSRError(f"{model_dir} is not a model folder (no config.json)")
    if benchmark is not None and not isinstance(benchmark, dict):
        benchmark = load_benchmark_json(benchmark)
    if tta_benchmark is not None and not isinstance(tta_benchmark, dict):
        tta_benchmark = load_benchmark_json(tta_benchmark)
    if fast_benchmark is not None and not isinstance(fast_benchmark, dict):
        fast_benchmark = load_benchmark_json(fast_benchmark)
    if onnx_speed is not None and not isinstance(onnx_speed, dict):
        onnx_speed = _read_json(Path(onnx_speed), "ONNX speed JSON")
    if train_summary is None and (model_dir / "train_summary.json").is_file():
        train_summary = model_dir / "train_summary.json"
    if train_summary is not None and not isinstance(train_summary, (dict, TrainSummary)):
        train_summary = read_summary(train_summary)
    if published is not None and not isinstance(published, dict):
        published = load_published(published)
    config_path = model_dir / "train_config.json"
    train_config = _read_json(config_path, "training config") if config_path.is_file() else None
    text = render_card(
        model_dir,
        benchmark,
        tta_benchmark,
        train_summary,
        train_config,
        repo_id,
        fast_benchmark,
        onnx_speed,
        published,
    )
    ModelCard(text)  # refuse to write a card the Hub cannot parse
    return write_bytes_atomic(model_dir / "README.md", text.encode())


def _read_json(path: Path, what: str) -> dict:
    data = read_json(path, what)
    if not isinstance(data, dict):
        raise HubSRError(f"{path} is not a JSON object ({what})")
    return data


def _train_sets(train_config: dict | None) -> list[str]:
    if not train_config or not train_config.get("train_dirs"):
        return []
    return [Path(d).name for d in str(train_config["train_dirs"]).split(",") if d.strip()]


def _metric_args(result: dict) -> dict:
    protocol = result["protocol"]
    return {
        "y_channel": True,
        "color_space": protocol["metric_space"],
        "crop_border": result["scale"],
        "hr": protocol["hr"],
        "lr": protocol["lr"],
        "resize": protocol["resize"],
        "lr_source": protocol.get("lr_source", "hubsr.protocol.make_lr"),
        "tta": bool(result["tta"]),
        "dataset_checksum": f"sha256:{protocol['dataset_checksum']}",
        "num_images": result["num_images"],
    }


def _eval_results(plain: dict, tta: dict, datasets: list[str], scale: int) -> list[EvalResult]:
    out = []
    for rows, suffix in ((plain, ""), (tta, ", x8 TTA")):
        for dataset in datasets:
            if dataset not in rows:
                continue
            r = rows[dataset]
            for metric, label, digits in (("psnr", "PSNR", 2), ("ssim", "SSIM", 4)):
                out.append(
                    EvalResult(
                        task_type="image-to-image",
                        task_name=f"Image Super-Resolution x{scale}",
                        dataset_type=dataset,
                        dataset_name=f"{dataset} x{scale}",
                        dataset_split="test",
                        metric_type=metric,
                        metric_name=f"{label} (Y{suffix})",
                        metric_value=round(r[metric], digits),
                        metric_args=_metric_args(r),
                    )
                )
    return out


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n\n")[0].replace("\n", " ")


def _summary(arch_cls, params: int, scale: int) -> str:
    module_doc = sys.modules[arch_cls.__module__].__doc__
    return (
        f"{_first_line(module_doc)}\n\nA x{scale} single-image super-resolution model for the "
        f"`hubsr` library, with {params:,} parameters: it takes an RGB (or grey) image and "
        f"returns one {scale} times as wide and as high."
    )


def _cell(result: dict | None, metric_digits=(("psnr", 2), ("ssim", 4))) -> str:
    if result is None:
        return "—"
    return " / ".join(f"{result[m]:.{d}f}" for m, d in metric_digits)


def _results_section(name, plain, tta, bicubic, datasets, scale, train_config, references) -> str:
    header = "| Method | Params | " + " | ".join(datasets) + " | Source |"
    rule = "|---|---:|" + "---:|" * len(datasets) + "---|"
    lines = [header, rule]
    if bicubic:
        cells = " | ".join(_cell(bicubic.get(d)) for d in datasets)
        lines.append(f"| Bicubic | 0 | {cells} | measured (hubsr) |")
    params = next(iter(plain.values()))["params"]
    cells = " | ".join(_cell(plain.get(d)) for d in datasets)
    lines.append(f"| **{name}** | {_params(params)} | {cells} | measured (hubsr) |")
    if tta:
        cells = " | ".join(_cell(tta.get(d)) for d in datasets)
        lines.append(f"| **{name}** + x8 TTA | {_params(params)} | {cells} | measured (hubsr) |")
    for method, ref in references.items():
        cells = " | ".join("—" if ref.get(d) is None else f"{ref[d]:.2f}" for d in datasets)
        lines.append(f"| {method} | | {cells} | published: {ref['ref']} |")
    note = (
        f"x{scale}, PSNR (dB) / SSIM on the Y channel, {scale} border pixels cropped. "
        "*Measured* rows were computed by `hubsr benchmark` on the files described under "
        "*Evaluation protocol*; *published* rows are PSNR values copied from the papers (their "
        "SSIM and exact test images may differ slightly), not re-measured. — : not reported."
    )
    selection = Path(str((train_config or {}).get("eval_dir", ""))).name
    if selection in datasets:
        held_out = " and ".join(d for d in datasets if d != selection)
        note += (
            f" {selection} was used to pick the checkpoint during training, so only "
            f"{held_out} are held-out numbers."
        )
    return "## Results\n\n" + note + "\n\n" + "\n".join(lines)


def _params(n: int) -> str:
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1e3:.0f}K"
    return f"{n / 1e6:.2f}M"


def _precision(row: dict) -> str:
    """The compute precision a benchmark row was measured in (float32 before it was recorded)."""
    return row.get("protocol", {}).get("precision", "float32")


def _precision_section(name, plain, fast, datasets) -> str:
    """PSNR in the default precision next to float32, and whether that default is allowed."""
    shared = [d for d in datasets if d in fast and d in plain]
    if not shared:
        return ""
    precision = _precision(fast[shared[0]])
    if precision == "float32":
        return (
            "## Precision\n\n`upscale` runs this model in float32 by default on the machine "
            "of the speed table, so its default numbers are the float32 ones above."
        )
    lines = ["| Set | float32 PSNR | " + precision + " PSNR | change |", "|---|---:|---:|---:|"]
    for d in shared:
        a, b = plain[d]["psnr"], fast[d]["psnr"]
        lines.append(f"| {d} | {a:.3f} | {b:.3f} | {b - a:+.3f} dB |")
    worst = max(abs(fast[d]["psnr"] - plain[d]["psnr"]) for d in shared)
    verdict = "within" if worst <= BF16_TOLERANCE_DB else "**outside**"
    return (
        f"## Precision\n\nOn a CPU where bf16 measurably pays (`hubsr.precision.cpu_bf16_pays`) "
        f"and on CUDA, `upscale` runs {name} "
        f'under {precision} autocast by default (see the speed table); `dtype="float32"` '
        "(`--dtype fp32`) forces float32. The results above are float32, as published "
        f"figures are. Measured in {precision} by the same protocol (largest change "
        f"{worst:.3f} dB, {verdict} the {BF16_TOLERANCE_DB} dB that a bf16 default "
        "allows):\n\n" + "\n".join(lines)
    )


def _speed_section(plain, tta, datasets, fast=None) -> str:
    fast = fast or {}
    env = next(iter(plain.values())).get("environment", {})
    header = "| Set | Images | s / image | s / image (x8 TTA) |"
    rule = "|---|---:|---:|---:|"
    shown = any(d in fast for d in datasets)
    if shown:
        precision = _precision(next(fast[d] for d in datasets if d in fast))
        header += f" s / image ({precision}, the default) |"
        rule += "---:|"
    lines = [header, rule]
    for d in datasets:
        r = plain[d]
        t = f"{tta[d]['seconds_per_image']:.3f}" if d in tta else "—"
        line = f"| {d} | {r['num_images']} | {r['seconds_per_image']:.3f} | {t} |"
        if shown:
            line += f" {fast[d]['seconds_per_image']:.3f} |" if d in fast else " — |"
        lines.append(line)
    where = (
        f"{env.get('device', 'cpu')}, {env.get('torch_threads', '?')} torch threads "
        f"({env.get('cpu_count', '?')} cores, {env.get('machine', '?')}), torch "
        f"{env.get('torch', '?')}"
    )
    return (
        "## Speed\n\nWall-clock seconds of `model.upscale` per image (LR in, SR out, whole "
        f"images; float32 unless the column says otherwise), measured on {where}. Timings "
        "depend on the machine and its load; compare them only within one run of "
        "`hubsr benchmark`.\n\n" + "\n".join(lines)
    )


def _export_section(name: str, arch_cls, config: dict, onnx_speed: dict | None = None) -> str:
    """Which of ``hubsr export``'s formats this architecture supports (and why not the rest),
    and how fast the ONNX file runs in onnxruntime against torch, where measured."""
    from .export import export_problem  # imports no export backend

    model = arch_cls(**{k: v for k, v in config.items() if k != "architecture"})
    lines = []
    for fmt, what in (("onnx", "ONNX Runtime and what reads ONNX"), ("spandrel", "spandrel")):
        problem = export_problem(model, fmt)
        if problem is None:
            command = f"hubsr export {name} --format {fmt} -o {name}.{_SUFFIX[fmt]}"
            lines.append(f"- **{fmt}** ({what}): `{command}`")
        else:
            lines.append(f"- {fmt}: not supported ({problem})")
    rows = (onnx_speed or {}).get("models", [])
    row = next((r for r in rows if r["model"] == name.split("/")[-1]), None)
    if row is not None:
        machine = onnx_speed["machine"]
        lines.append(
            f"\nSpeed of the ONNX file in onnxruntime {machine['onnxruntime']} against torch "
            f"(float32, {machine['threads']} thread{'s' * (machine['threads'] != 1)} on "
            f"{machine['cpu']}, "
            f"{onnx_speed['dataset']} seconds per image, each image timed both ways in turn; "
            f"`python perf/onnx_speed.py`): torch {row['torch_float32_s']:.3f} s, "
            f"onnxruntime {row['onnxruntime_float32_s']:.3f} s, so onnxruntime takes "
            f"**{row['onnx_over_torch']:.2f}x** torch's time; outputs within "
            f"{row['max_grey_level_difference']} grey level(s)."
        )
    return "## Export\n\n" + "\n".join(lines)


_SUFFIX = {"onnx": "onnx", "spandrel": "safetensors"}

# How a card names the teacher's self-ensemble (train.py --teacher-tta).
TEACHER_TTA_WORDS = {
    "none": "",
    "random": ", the teacher's SR taken on one random flip/rotation of each batch and turned "
    "back (on average its x8 self-ensemble)",
    "x8": ", the teacher's SR its x8 self-ensemble (mean over the 8 flips/rotations)",
}


def _protocol_section(row: dict, plain: dict) -> str:
    p = row["protocol"]
    lines = [
        "## Evaluation protocol",
        "",
        f"- HR: {p['hr']}; grayscale images: {p.get('grayscale', 'as RGB')}.",
        f"- LR: {p['lr']}.",
        f"- Resize: {p['resize']}.",
        f"- Metrics: PSNR and SSIM on {p['metric_space']}, crop border = {row['scale']} pixels; "
        "the SR output is rounded to uint8 first; per-set numbers are means over images.",
        "- Data: the bundled `data/` folders of the hubsr repository (see `data/README.md` for "
        "sources and licenses). Dataset checksums (SHA-256 over file names and contents):",
        "",
        "| Set | Images | Checksum |",
        "|---|---:|---|",
    ]
    for d, r in plain.items():
        lines.append(f"| {d} | {r['num_images']} | `{r['protocol']['dataset_checksum']}` |")
    return "\n".join(lines)


def _training_section(
    summary: TrainSummary | None, config: dict | None, train_sets: list[str]
) -> str:
    parts = ["## Training"]
    if summary is None and config is None:
        parts.append("No `train_summary.json` or `train_config.json` was found in the folder.")
        return "\n\n".join(parts)
    if train_sets:
        described = [_TRAIN_SETS.get(s, s) for s in train_sets]
        data = " + ".join(described)
        if set(train_sets) == {"T91", "BSDS200"}:
            data += ' = the "291" set of VDSR, DRRN and MemNet'
        parts.append(f"Data: {data}.")
    if summary is not None:
        minutes = summary.train_seconds / 60
        facts = [
            f"- architecture `{summary.arch}` with arguments "
            f"`{json.dumps(summary.model_args, sort_keys=True)}`",
            f"- {summary.steps} steps in {minutes:.1f} minutes of training on "
            f"{summary.device} ({summary.processes} process(es), torch {summary.torch})",
            f"- released weights: step {summary.best_step}, the best on the "
            f"selection set ({Path(str((config or {}).get('eval_dir', 'Set5'))).name} PSNR)",
        ]
        if summary.init_from:
            fresh = f" (freshly initialised: `{summary.init_skip}`)" if summary.init_skip else ""
            facts.append(f"- warm start: weights from `{summary.init_from}`{fresh}")
        if summary.teacher:
            w = summary.distill_weight
            ensemble = TEACHER_TTA_WORDS.get(summary.teacher_tta or "none", "")
            if summary.teacher_on == "images":
                ensemble += (
                    ", computed once on each whole training image (LR) and cut into patches "
                    "alongside the HR image"
                )
            facts.append(
                f"- distilled from `{summary.teacher}`: the loss is {1 - w:g} x loss(SR, HR) "
                f"+ {w:g} x loss(SR, teacher's SR){ensemble}"
            )
        if summary.git_commit or summary.hubsr_version:
            facts.append(f"- code: {_code_words(summary)}")
        if summary.notes:
            facts.append(f"- {summary.notes}")
        results = summary.results
        if results:
            measured = ", ".join(
                f"{k} {v['psnr']:.2f} dB" for k, v in results.items() if "psnr" in v
            )
            facts.append(f"- PSNR measured by the training script at the end: {measured}")
        parts.append("\n".join(facts))
    if config is not None:
        parts.append(
            "All settings (`train_config.json`):\n\n```json\n"
            + json.dumps(config, indent=2)
            + "\n```"
        )
    return "\n\n".join(parts)


def _code_words(summary: TrainSummary) -> str:
    """The code version of the training record, in words."""
    if summary.git_commit is None:
        words = "not from a git checkout"
    else:
        words = f"commit `{summary.git_commit}`"
        if summary.git_diff_sha256:
            words += f" with uncommitted changes (`git diff HEAD` sha256 {summary.git_diff_sha256})"
    return words + (f", hubsr {summary.hubsr_version}" if summary.hubsr_version else "")


def _time_to_quality_section(model_dir: Path) -> str:
    """From ``time_to_psnr.json`` (``training/time_to_psnr.py``), if the folder has one."""
    path = model_dir / "time_to_psnr.json"
    if not path.is_file():
        return ""
    report = _read_json(path, "time-to-PSNR report")
    first, threshold = report.get("first_pass"), report["threshold_db"]
    dataset = report["dataset"]
    if first:
        verdict = (
            f"First at or above {threshold:.2f} dB on {dataset}: **{first['elapsed_s']:.0f} s** "
            f"of training (step {first['step']}, {first['psnr']:.3f} dB)."
        )
    else:
        verdict = f"No snapshot reached {threshold:.2f} dB on {dataset}."
    check = report.get("cpu_check")
    if check:
        verdict += (
            f" Re-measured on the CPU, that snapshot gives {check['psnr']:.3f} dB: GPU and CPU "
            "float32 kernels round a few output pixels differently (at most one grey level), "
            "which moves PSNR by a few thousandths of a dB."
        )
    lines = [f"| Training time (s) | Step | {dataset} PSNR (dB) |", "|---:|---:|---:|"]
    for row in report["snapshots"]:
        lines.append(f"| {row['elapsed_s']:.0f} | {row['step']} | {row['psnr']:.3f} |")
    return (
        "## Time to quality\n\nThe training script saved the EMA weights every few seconds of "
        "training time (the loop's own clock; evaluation and saving excluded); after the run, "
        f"`training/time_to_psnr.py` measured each snapshot on {dataset} by the protocol above "
        f"(on {_device_words(report.get('device', ''))}). "
        "Nothing was selected on these numbers. " + verdict + "\n\n" + "\n".join(lines)
    )


def _limitations_section(
    scale: int, config: dict | None, train_sets: list[str], summary: TrainSummary | None = None
) -> str:
    loss = str((config or {}).get("loss", "pixel")).upper().replace("PIXEL", "pixel")
    items = [
        f"Trained and evaluated only on the classic synthetic degradation (MATLAB bicubic x{scale}"
        " downscaling of clean images). Real photos with noise, blur or JPEG artifacts are a "
        "different problem; expect artifacts to be sharpened along with the detail.",
        f"Optimised for PSNR ({loss} loss): outputs are faithful but smooth; fine random "
        "texture (fur, foliage) is not hallucinated the way GAN-trained models do.",
        f"One fixed scale (x{scale}). Grey images run as three equal channels.",
        "Benchmark sets are tiny (5, 14, 100 images): differences below about 0.05 dB are "
        "within noise.",
    ]
    if "BSDS200" in train_sets:
        items.append(
            "The training images include BSDS (Berkeley), which is provided for non-commercial "
            "research and education; check its terms before commercial use of these weights."
        )
    if config is not None and config.get("minutes"):
        budget = f"Trained for a fixed budget of {config['minutes']:g} minutes"
        if config.get("init_from"):  # the budget is this stage's; the warm start's comes on top
            # A run that replaces the folder it started from overwrites that card: name the
            # commit whose checkout held it, where the earlier card can still be read. Only a
            # clean checkout says so; with uncommitted changes the folder may not be the commit's.
            clean = summary is not None and summary.git_commit and not summary.git_diff_sha256
            where = f" at commit `{summary.git_commit[:12]}`" if clean else ""
            budget = (
                f"The last stage trained for a fixed budget of {config['minutes']:g} minutes, "
                f"continuing the weights of `{config['init_from']}` (whose own training comes on "
                f"top; see its card{where})"
            )
        items.insert(
            2,
            f"{budget}, far less than the papers it is compared with; it is not a "
            "re-implementation of their results.",
        )
    return "## Limitations\n\n" + "\n".join(f"- {i}" for i in items)


def _bibtex(doc: str | None) -> list[str]:
    """Every BibTeX entry (``@type{...}`` with balanced braces) in a docstring."""
    doc = doc or ""
    entries = []
    for match in re.finditer(r"^\s*@\w+\{", doc, flags=re.MULTILINE):
        depth = 0
        for end in range(match.end() - 1, len(doc)):
            depth += {"{": 1, "}": -1}.get(doc[end], 0)
            if depth == 0:
                entries.append(doc[match.start() : end + 1].strip())
                break
    return entries


def _citation_section(arch_cls) -> str:
    entries = _bibtex(sys.modules[arch_cls.__module__].__doc__)
    if not entries:
        return "## Citation\n\nThe architecture module gives no BibTeX entry."
    return (
        f"## Citation\n\nIf you use this model, please cite the {arch_cls.__name__} paper:\n\n"
        "```bibtex\n" + "\n\n".join(entries) + "\n```"
    )


def _device_words(device: str) -> str:
    if device.startswith("cuda"):
        return "the GPU, CUDA float32"
    return device or "the training machine"
