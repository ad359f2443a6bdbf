"""The model card itself: :func:`render_card` puts the sections together, :func:`write_card`
reads a model folder and writes its ``README.md``."""

from __future__ import annotations

import sys
from pathlib import Path

from huggingface_hub import ModelCard, ModelCardData

from ..atomic import write_bytes_atomic
from ..errors import HubSRError
from ..record import TrainSummary, read_summary
from ..registry import get_architecture
from ..testsets import BENCHMARK_SETS
from .citation import citation_section
from .degraded import degraded_section
from .exports import export_section
from .inputs import (
    is_row_of,
    load_benchmark_json,
    load_published,
    model_names,
    read_object,
    rows_of,
)
from .measured import (
    eval_results,
    precision_section,
    protocol_section,
    results_section,
    speed_section,
)
from .training import limitations_section, time_to_quality_section, train_sets_of, training_section

__all__ = ["render_card", "write_card"]


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
    degraded: dict | None = None,
    experiment_log: str | None = None,
) -> str:
    """The text of ``model_dir``'s README.md (front matter + body); see the module docstring.

    ``benchmark`` (and ``tta_benchmark``) are benchmark JSON dicts; this model's rows are those
    named like the folder (or whose ``model_source`` is the folder), and ``bicubic`` rows, if
    present, give the measured baseline. ``fast_benchmark``, if given, is the same benchmark in
    the precision ``upscale`` picks by default (``hubsr benchmark --dtype auto``): its PSNR goes
    next to the float32 one and its speed into the speed table. ``repo_id`` (default: the folder
    name, which loads a bundled model) is used in the usage example and the model-index.
    ``onnx_speed``, if given, is the JSON of ``training/measure/onnx_speed.py``: this model's row
    goes into the Export section (onnxruntime's time as a multiple of torch's). ``published``
    (scale -> method -> row, see :func:`load_published`) adds the rows of the card's scale to the
    results table. ``degraded`` (``hubsr benchmark --degradation ... --json`` of this model beside
    bicubic and others) adds the section "On photos", with the folder's ``on_photos.png`` if it
    has one. ``benchmark=None`` renders the card of the training record alone (``train_summary``
    is then required): its end-of-run PSNR/SSIM, no speed, protocol or model-index.
    ``experiment_log``, if given, links the Training section to the round of the experiment log
    that made the model (a link relative to the card; the caller knows where the log lives).
    """
    model_dir = Path(model_dir)
    config = read_object(model_dir / "config.json", "model config")
    arch_cls = get_architecture(config.get("architecture", ""))
    name = repo_id or model_dir.name
    if isinstance(train_summary, dict):
        train_summary = TrainSummary.from_dict(train_summary)
    if benchmark is None:
        return _record_card(
            model_dir, name, config, arch_cls, train_summary, train_config, experiment_log
        )
    rows = [r for r in benchmark["results"] if is_row_of(r, model_dir)]
    if tta_benchmark is not None:
        rows += [r for r in tta_benchmark["results"] if is_row_of(r, model_dir)]
    if not rows:
        known = ", ".join(model_names(benchmark["results"])) or "none"
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
            if is_row_of(r, model_dir) and not r["tta"]
        }
    if not plain:
        raise HubSRError(f"the benchmark JSON has only TTA results for {model_dir.name}")
    bicubic = rows_of(benchmark["results"], "bicubic", False)
    any_row = next(iter(plain.values()))
    scale = any_row["scale"]
    if config.get("scale", scale) != scale:
        raise HubSRError(f"{model_dir} is a x{config['scale']} model; its benchmark is x{scale}")
    datasets = [d for d in BENCHMARK_SETS if d in plain] + [
        d for d in plain if d not in BENCHMARK_SETS
    ]
    train_sets = train_sets_of(train_config)
    references = {int(k): v for k, v in (published or {}).items()}.get(scale, {})

    data = _card_data(name, arch_cls, scale, train_sets, eval_results(plain, tta, datasets, scale))
    sections = [
        f"# {name}: {arch_cls.__name__} x{scale} super-resolution",
        _summary(arch_cls, any_row["params"], scale),
        _usage_section(name),
        results_section(name, plain, tta, bicubic, datasets, scale, train_config, references),
        precision_section(name, plain, fast, datasets),
        speed_section(plain, tta, datasets, fast),
        degraded_section(
            name, degraded, "on_photos.png" if (model_dir / "on_photos.png").is_file() else None
        ),
        export_section(name, arch_cls, config, onnx_speed),
        protocol_section(any_row, plain),
        training_section(train_summary, train_config, train_sets, experiment_log),
        time_to_quality_section(model_dir, train_summary),
        limitations_section(scale, train_config, train_sets, train_summary),
        citation_section(arch_cls),
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


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n\n")[0].replace("\n", " ")


def _summary(arch_cls, params: int, scale: int) -> str:
    module_doc = sys.modules[arch_cls.__module__].__doc__
    return (
        f"{_first_line(module_doc)}\n\nA x{scale} single-image super-resolution model for the "
        f"`hubsr` library, with {params:,} parameters: it takes an RGB (or grey) image and "
        f"returns one {scale} times as wide and as high."
    )


def _record_card(model_dir, name, config, arch_cls, summary, train_config, experiment_log) -> str:
    """The card of a model folder without benchmark JSON: the training record's numbers."""
    if summary is None:
        raise HubSRError(
            f"{model_dir} has no train_summary.json: give benchmark JSON (hubsr benchmark --json)"
        )
    scale = config.get("scale", summary.model_args.get("scale"))
    train_sets = train_sets_of(train_config)
    data = _card_data(name, arch_cls, scale, train_sets)
    sections = [
        f"# {name}: {arch_cls.__name__} x{scale} super-resolution",
        _summary(arch_cls, summary.params, scale),
        _usage_section(name),
        _record_results_section(summary, train_config, scale),
        export_section(name, arch_cls, config),
        training_section(summary, train_config, train_sets, experiment_log),
        time_to_quality_section(model_dir, summary),
        limitations_section(scale, train_config, train_sets, summary),
        citation_section(arch_cls),
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
    degraded: dict | str | Path | None = None,
    experiment_log: str | None = None,
) -> Path:
    """Render the card and write ``model_dir/README.md`` (atomically); returns its path.

    JSON arguments may be dicts or paths (``fast_benchmark``, ``onnx_speed``, ``published``,
    ``degraded`` and ``benchmark=None``: see :func:`render_card`; so is ``experiment_log``).
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
        onnx_speed = read_object(Path(onnx_speed), "ONNX speed JSON")
    if train_summary is None and (model_dir / "train_summary.json").is_file():
        train_summary = model_dir / "train_summary.json"
    if train_summary is not None and not isinstance(train_summary, (dict, TrainSummary)):
        train_summary = read_summary(train_summary)
    if published is not None and not isinstance(published, dict):
        published = load_published(published)
    if degraded is not None and not isinstance(degraded, dict):
        degraded = load_benchmark_json(degraded)
    config_path = model_dir / "train_config.json"
    train_config = read_object(config_path, "training config") if config_path.is_file() else None
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
        degraded,
        experiment_log,
    )
    ModelCard(text)  # refuse to write a card the Hub cannot parse
    return write_bytes_atomic(model_dir / "README.md", text.encode())
