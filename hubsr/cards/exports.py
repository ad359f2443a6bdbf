"""A card's Export section: which ``hubsr export`` formats the model supports, and ONNX speed."""

from __future__ import annotations

__all__ = ["export_section"]


def export_section(name: str, arch_cls, config: dict, onnx_speed: dict | None = None) -> str:
    """Which of ``hubsr export``'s formats this architecture supports (and why not the rest),
    and how fast the ONNX file runs in onnxruntime against torch, where measured."""
    from ..export import export_problem  # imports no export backend

    model = arch_cls(**{k: v for k, v in config.items() if k != "architecture"})
    lines = []
    for fmt, what in (("onnx", "ONNX Runtime and what reads ONNX"), ("spandrel", "spandrel")):
        problem = export_problem(model, fmt)
        if problem is None:
            command = f"hubsr export {name} --format {fmt} -o {name}.{SUFFIX[fmt]}"
            lines.append(f"- **{fmt}** ({what}): `{command}`")
        else:
            lines.append(f"- {fmt}: not supported ({problem})")
    rows = (onnx_speed or {}).get("models", [])
    row = next((r for r in rows if r["model"] == name.split("/")[-1]), None)
    if row is not None:
        # Each row names its own machine (training/measure/onnx_speed.py --models re-times only
        # some); files written before that name one for all.
        machine = row.get("machine", onnx_speed["machine"])
        dataset = row.get("dataset", onnx_speed["dataset"])
        lines.append(
            f"\nSpeed of the ONNX file in onnxruntime {machine['onnxruntime']} against torch "
            f"(float32, {machine['threads']} thread{'s' * (machine['threads'] != 1)} on "
            f"{machine['cpu']}, "
            f"{dataset} seconds per image, each image timed both ways in turn; "
            f"`python training/measure/onnx_speed.py`): torch {row['torch_float32_s']:.3f} s, "
            f"onnxruntime {row['onnxruntime_float32_s']:.3f} s, so onnxruntime takes "
            f"**{row['onnx_over_torch']:.2f}x** torch's time; outputs within "
            f"{row['max_grey_level_difference']} grey level(s)."
        )
    return "## Export\n\n" + "\n".join(lines)


SUFFIX = {"onnx": "onnx", "spandrel": "safetensors"}
