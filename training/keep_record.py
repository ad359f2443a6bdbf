"""Keep a speedrun record (#46): a finished run's command, machine, clock and curve, in one folder.

    python training/train.py --preset speedrun --output runs/speedrun-a
    python training/time_to_psnr.py runs/speedrun-a --dataset Set14 --threshold 29.77
    python training/keep_record.py runs/speedrun-a --name cpu-2core-5min-a

writes ``training/records/<name>/`` (``record.json`` with the machine and the headline numbers,
beside the run's ``command.txt``, ``train_config.json``, ``train_summary.json``,
``metrics.jsonl``, ``time_to_psnr.json`` and ``training_curve.png``; ``set14_clock.png`` draws
the Set14 clock) and rewrites the records
table in ``training/records/README.md`` and in the README's training section. A record counts
when it reproduces: keep its rerun too (``--rerun-of NAME``); the table shows both.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
from datetime import date
from pathlib import Path

import torch

from hubsr.precision import cpu_bf16_pays

REPO = Path(__file__).resolve().parent.parent
RECORDS = REPO / "training" / "records"
COPIED = (
    "command.txt",
    "train_config.json",
    "train_summary.json",
    "metrics.jsonl",
    "time_to_psnr.json",
    "training_curve.png",
)
START, END = "<!-- records:start -->", "<!-- records:end -->"


def machine() -> dict:
    """What the run's clock depends on: the processor, its cores and whether bf16 pays on it."""
    flags = set()
    cpu = platform.processor() or platform.machine()
    if Path("/proc/cpuinfo").exists():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                cpu = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "avx512_bf16": "avx512_bf16" in flags,
        "amx_bf16": "amx_bf16" in flags,
        "cpu_bf16_pays": cpu_bf16_pays(),
        "gpu": gpu,
        "torch": torch.__version__,
    }


def record_of(run: Path, name: str, rerun_of: str | None) -> dict:
    """``record.json`` of a finished run that ``time_to_psnr.py`` has measured."""
    summary = json.loads((run / "train_summary.json").read_text())
    config = json.loads((run / "train_config.json").read_text())
    passed = json.loads((run / "time_to_psnr.json").read_text())
    first = passed["first_pass"]
    return {
        "name": name,
        "rerun_of": rerun_of,
        "date": date.today().isoformat(),
        "machine": machine(),
        "preset": config.get("preset") or None,
        "model": config["model"] or config["arch"],
        "processes": summary["processes"],
        "threads": config["threads"] or torch.get_num_threads(),
        "precision": summary["mixed_precision"],
        "train_seconds": round(summary["train_seconds"], 1),
        "steps": summary["steps"],
        "threshold_db": passed["threshold_db"],
        "first_pass_s": None if first is None else round(first["elapsed_s"], 1),
        "first_pass_psnr": None if first is None else round(first["psnr"], 3),
        "set5": round(summary["results"]["set5"]["psnr"], 3),
        "set14": round(summary["results"]["set14"]["psnr"], 3),
    }


def plot_clock(passed: dict, png_path: Path, title: str) -> None:
    """Set14 PSNR of the run's EMA snapshots against training seconds, with the bar drawn."""
    import matplotlib

    matplotlib.use("Agg")  # no display on training machines
    import matplotlib.pyplot as plt

    rows = passed["snapshots"]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot([r["elapsed_s"] for r in rows], [r["psnr"] for r in rows], "o-", ms=3)
    ax.axhline(passed["threshold_db"], color="grey", ls="--", lw=1)
    ax.text(
        rows[0]["elapsed_s"],
        passed["threshold_db"],
        f" VDSR {passed['threshold_db']} dB",
        va="bottom",
    )
    if passed["first_pass"]:
        ax.axvline(passed["first_pass"]["elapsed_s"], color="C1", lw=1)
    ax.set(xlabel="training seconds", ylabel="Set14 x3 PSNR-Y (dB, EMA snapshot)", title=title)
    ax.set_ylim(max(min(r["psnr"] for r in rows), passed["threshold_db"] - 0.6), None)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)


def read_records(folder: Path = RECORDS) -> list[dict]:
    """Every ``record.json`` under ``folder``, fastest first pass first (never-passed last), each
    rerun below its record."""
    records = {
        r["name"]: r for r in (json.loads(p.read_text()) for p in folder.glob("*/record.json"))
    }

    def order(r: dict) -> tuple:  # a rerun right below its record
        first = records.get(r["rerun_of"], r)["first_pass_s"]
        return (first is None, first or 0, r["rerun_of"] or r["name"], r["rerun_of"] is not None)

    return sorted(records.values(), key=order)


def render_table(records: list[dict]) -> str:
    """The records as a markdown table; each time is the training loop's own clock."""
    lines = [
        "| Record | Machine | Precision | Trained | Set14 first ≥ 29.77 dB | Set14 / Set5 at end |",
        "|---|---|---|---:|---:|---:|",
    ]
    for r in records:
        m = r["machine"]
        where = m["gpu"] or f"{m['cpu']}, {r['processes']} x {r['threads']} threads"
        first = "never" if r["first_pass_s"] is None else f"{r['first_pass_s']:.0f} s"
        name = f"[{r['name']}](training/records/{r['name']}/)"
        if r["rerun_of"]:
            name += f" (rerun of {r['rerun_of']})"
        lines.append(
            f"| {name} | {where} | {r['precision']} | {r['train_seconds']:.0f} s | {first} "
            f"| {r['set14']:.2f} / {r['set5']:.2f} dB |"
        )
    return "\n".join(lines)


def replace_between_markers(text: str, table: str, relative_to: str = "") -> str:
    """``text`` with the table between the records markers (links made relative to the file)."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"the file has no {START} ... {END} markers for the records table")
    body = table.replace("](training/records/", f"]({relative_to}") if relative_to else table
    return text[: start + len(START)] + "\n" + body + "\n" + text[end:]


def write_tables(records: list[dict]) -> None:
    table = render_table(records)
    readme = RECORDS / "README.md"
    readme.write_text(replace_between_markers(readme.read_text(), table, relative_to="./"))
    top = REPO / "README.md"
    top.write_text(replace_between_markers(top.read_text(), table))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a finished train.py output folder")
    parser.add_argument("--name", required=True, help="the record's folder name")
    parser.add_argument("--rerun-of", default=None, help="the record this run reproduces")
    args = parser.parse_args(argv)
    if not (args.run / "time_to_psnr.json").is_file():
        raise SystemExit(f"{args.run} has no time_to_psnr.json: run training/time_to_psnr.py first")
    folder = RECORDS / args.name
    if folder.exists():
        raise SystemExit(f"{folder} exists: records are kept, not replaced; choose another --name")
    record = record_of(args.run, args.name, args.rerun_of)
    folder.mkdir(parents=True)
    for name in COPIED:
        if (args.run / name).is_file():
            shutil.copy2(args.run / name, folder / name)
    (folder / "record.json").write_text(json.dumps(record, indent=2) + "\n")
    passed = json.loads((folder / "time_to_psnr.json").read_text())
    plot_clock(passed, folder / "set14_clock.png", args.name)
    write_tables(read_records())
    print(json.dumps(record, indent=2))
    return record


if __name__ == "__main__":
    main()
