"""The measured sections of a card: results table, model-index entries, precision, speed and
the evaluation protocol, all from ``hubsr benchmark --json`` rows."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import EvalResult

__all__ = [
    "BF16_TOLERANCE_DB",
    "eval_results",
    "params_words",
    "precision_section",
    "protocol_section",
    "results_section",
    "speed_section",
]

# The largest PSNR change (dB, on any of Set5, Set14, BSD100) that lets a model run in bf16 by
# default (``bf16_safe``); beyond it, float32 stays its default.
BF16_TOLERANCE_DB = 0.01


def metric_args(result: dict) -> dict:
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


def eval_results(plain: dict, tta: dict, datasets: list[str], scale: int) -> list[EvalResult]:
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
                        metric_args=metric_args(r),
                    )
                )
    return out


def results_section(name, plain, tta, bicubic, datasets, scale, train_config, references) -> str:
    header = "| Method | Params | " + " | ".join(datasets) + " | Source |"
    rule = "|---|---:|" + "---:|" * len(datasets) + "---|"
    lines = [header, rule]
    if bicubic:
        cells = " | ".join(cell(bicubic.get(d)) for d in datasets)
        lines.append(f"| Bicubic | 0 | {cells} | measured (hubsr) |")
    size = params_words(next(iter(plain.values()))["params"])
    cells = " | ".join(cell(plain.get(d)) for d in datasets)
    lines.append(f"| **{name}** | {size} | {cells} | measured (hubsr) |")
    if tta:
        cells = " | ".join(cell(tta.get(d)) for d in datasets)
        lines.append(f"| **{name}** + x8 TTA | {size} | {cells} | measured (hubsr) |")
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


def cell(result: dict | None, metric_digits=(("psnr", 2), ("ssim", 4))) -> str:
    if result is None:
        return "—"
    return " / ".join(f"{result[m]:.{d}f}" for m, d in metric_digits)


def params_words(n: int) -> str:
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1e3:.0f}K"
    return f"{n / 1e6:.2f}M"


def precision_section(name, plain, fast, datasets) -> str:
    """PSNR in the default precision next to float32, and whether that default is allowed."""
    shared = [d for d in datasets if d in fast and d in plain]
    if not shared:
        return ""
    precision = row_precision(fast[shared[0]])
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


def row_precision(row: dict) -> str:
    """The compute precision a benchmark row was measured in (float32 before it was recorded)."""
    return row.get("protocol", {}).get("precision", "float32")


def speed_section(plain, tta, datasets, fast=None) -> str:
    fast = fast or {}
    env = next(iter(plain.values())).get("environment", {})
    header = "| Set | Images | s / image | s / image (x8 TTA) |"
    rule = "|---|---:|---:|---:|"
    shown = any(d in fast for d in datasets)
    if shown:
        precision = row_precision(next(fast[d] for d in datasets if d in fast))
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


def protocol_section(row: dict, plain: dict) -> str:
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
