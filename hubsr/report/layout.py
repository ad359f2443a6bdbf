"""Lay out the report as an A4 PDF with fpdf2 (the ``report`` extra), from gathered records.

Every number printed here is read from :class:`~hubsr.report.records.ReportRecords`; the text
around it only says what each number is. Text is set in DejaVu Sans when the system has it
(embedded, any Unicode), else in the PDF core font Helvetica, which is latin-1 only: then
``×``, ``–``, ``σ`` and the like are spelled out by :func:`latin1`.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from PIL import Image

from ..protocol import PROTOCOL
from ..registry import get_architecture
from .findings import (
    PUBLISHED_291,
    describe_changes,
    findings,
    format_setting,
    held_out_sets,
    set14_images,
)
from .records import ModelRecord, ReportRecords

__all__ = ["SECTIONS", "build_pdf", "find_unicode_font", "latin1"]

# The numbered sections, in order; tests look for these titles in the PDF.
SECTIONS = ("Introduction", "Method", "Results", "Ablations", "Findings")

# Folders where Linux distributions put DejaVu Sans (Debian/Ubuntu, Arch, Fedora).
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/share/fonts/dejavu-sans-fonts"),
)

# Labels of the hubsr.protocol.PROTOCOL entries, in the protocol section.
PROTOCOL_LABELS = {
    "hr": "HR",
    "lr": "LR",
    "resize": "Resize",
    "metric_space": "Metrics on",
    "crop_border": "Border cropped",
}

# Labels of the other entries of a benchmark JSON's protocol block that the section shows.
RECORDED_LABELS = {"grayscale": "Grey images", "mean": "Per set", "lr_source": "LR made by"}

# (train_config.json key, label) of the data and pre-processing table.
DATA_SETTINGS = (
    ("train_dirs", "Training images"),
    ("eval_dir", "Checkpoint selection set"),
    ("scale_aug", "HR down-scaling factors (augmentation)"),
    ("patch", "LR patch side (px)"),
    ("batch", "Patches per step"),
    ("detail_oversample", "Patches drawn per patch kept (most detail)"),
)

# Settings that name folders: shown by folder name ("T91 + BSDS200").
DIR_SETTINGS = ("train_dirs", "eval_dir")

# (train_config.json key, label) of the hyperparameter table.
TRAIN_SETTINGS = (
    ("optimizer", "Optimizer"),
    ("lr", "Peak learning rate"),
    ("muon_scale", "Muon step multiplier"),
    ("beta2", "Adam beta2"),
    ("weight_decay", "Weight decay"),
    ("warmup", "Warm-up (fraction of training)"),
    ("min_lr", "Final LR (fraction of peak)"),
    ("loss", "Loss"),
    ("l2_tail", "L2 for the last fraction"),
    ("grad_clip", "Gradient clipping (norm)"),
    ("ema", "EMA decay of the weights"),
    ("minutes", "Training budget (minutes)"),
    ("mixed_precision", "Mixed precision"),
    ("compile", "torch.compile"),
    ("threads", "CPU threads (0: all)"),
    ("seed", "Seed"),
)

_LATIN1 = str.maketrans(
    {
        "×": "x",
        "–": "-",
        "—": "-",
        "−": "-",
        "‘": "'",
        "’": "'",
        "“": '"',
        "”": '"',
        "…": "...",
        "≈": "~",
        "≤": "<=",
        "≥": ">=",
        "→": "->",
        "σ": "sigma",
        "•": "-",
    }
)


def latin1(text: str) -> str:
    """``text`` in latin-1, for the core fonts: common symbols spelled out, others as ``?``."""
    return text.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")


def find_unicode_font() -> tuple[Path, Path] | None:
    """(regular, bold) DejaVu Sans TTF files of this system, or ``None``."""
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


class _Document(FPDF):
    """FPDF with the report's fonts, page numbers and a few block helpers."""

    def __init__(self, font_files: tuple[Path, Path] | None):
        super().__init__(format="A4")
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(True, margin=16)
        if font_files is None:
            self.family = "Helvetica"
        else:
            self.family = "DejaVu"
            self.add_font(self.family, "", font_files[0])
            self.add_font(self.family, "B", font_files[1])
        self.set_font(self.family, size=10)

    def normalize_text(self, text: str) -> str:
        return super().normalize_text(text if self.is_ttf_font else latin1(text))

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.family, size=8)
        self.cell(0, 6, f"{self.page_no()}", align="C")

    def heading(self, text: str, level: int = 0, keep: float = 20) -> None:
        """A numbered heading (an outline entry too), kept with ``keep`` mm of what follows."""
        size = (15, 12, 10.5)[level]
        if self.will_page_break(size + keep):
            self.add_page(orientation=self.cur_orientation)
        self.ln(3 if level else 5)
        self.start_section(text, level)
        self.set_font(self.family, "B", size)
        self.multi_cell(0, size * 0.5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1.5)
        self.set_font(self.family, size=10)

    def paragraph(self, text: str, size: float = 10) -> None:
        self.set_font(self.family, size=size)
        self.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1.5)
        self.set_font(self.family, size=10)

    def bullets(self, items: list[str]) -> None:
        for item in items:
            self.set_x(self.l_margin + 2)
            self.multi_cell(0, 5, f"• {item}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1.5)

    def grid(self, header, rows, widths=None, align: str = "", size: float = 8) -> None:
        """A table; ``align``: L, C or R per column (default: the first left, others right)."""
        align = align or "L" + "R" * (len(header) - 1)
        self.set_font(self.family, size=size)
        with self.table(
            col_widths=widths,
            text_align=tuple({"L": "LEFT", "C": "CENTER", "R": "RIGHT"}[a] for a in align),
            line_height=size * 0.5,
            padding=0.8,
        ) as table:
            for cells in [header, *rows]:
                row = table.row()
                for cell in cells:
                    row.cell(str(cell))
        self.ln(2)
        self.set_font(self.family, size=10)

    def figure(self, path: Path, caption: str) -> None:
        """An image as wide as the text, with its caption on the same page."""
        with Image.open(path) as image:
            height = self.epw * image.height / image.width
        if self.will_page_break(height + 10):
            self.add_page(orientation=self.cur_orientation)
        self.image(path, x=self.l_margin, w=self.epw)
        self.set_font(self.family, size=8)
        self.multi_cell(0, 4, caption, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(2)
        self.set_font(self.family, size=10)


def build_pdf(records: ReportRecords, title: str | None = None, unicode_font: bool = True) -> bytes:
    """The report's PDF file contents. ``unicode_font=False`` keeps to the core fonts."""
    pdf = _Document(find_unicode_font() if unicode_font else None)
    title = title or f"x{records.scale} single-image super-resolution: " + ", ".join(
        m.name for m in records.models
    )
    pdf.set_title(title)
    pdf.set_creator("hubsr report")
    pdf.add_page()
    _title_block(pdf, records, title)
    _introduction(pdf, records)
    _method(pdf, records)
    _results(pdf, records)
    _ablations(pdf, records)
    pdf.heading(f"5 {SECTIONS[4]}")
    pdf.bullets(findings(records))
    return bytes(pdf.output())


# -- sections --------------------------------------------------------------------------------------
def _title_block(pdf: _Document, records: ReportRecords, title: str) -> None:
    pdf.set_font(pdf.family, "B", 17)
    pdf.multi_cell(0, 8, title, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    code = records.code
    commit = code.commit or "unknown (no git repository and no commit in train_summary.json)"
    if code.commit:
        commit += f" (from {code.source})"
    if code.dirty:
        commit += "; the working tree had uncommitted changes to tracked files"
    pdf.paragraph(
        f"Code: {code.url or 'no remote recorded (pass --code-url)'}\nCommit: {commit}\n"
        f"Generated by `hubsr report` on {date.today().isoformat()} from the files the runs "
        "recorded; no number in it is typed in by hand.",
        size=9,
    )


def _introduction(pdf: _Document, records: ReportRecords) -> None:
    pdf.heading(f"1 {SECTIONS[0]}")
    models = "; ".join(
        f"{m.name} ({_arch(m).__name__}, {m.params:,} parameters)" for m in records.models
    )
    train_sets = sorted({_sets(m.train_config.get("train_dirs")) for m in records.models})
    selection = sorted({m.selection_set for m in records.models})
    pdf.paragraph(
        f"Single-image super-resolution recovers an image {records.scale} times as wide and as "
        f"high from a low-resolution one. This report covers {len(records.models)} model(s) "
        f"for x{records.scale}: {models}. Each was trained from scratch on "
        f"{' / '.join(train_sets)} and its released weights were picked on "
        f"{', '.join(selection)}; {', '.join(held_out_sets(records))} are held out. They are "
        "measured by the protocol below against bicubic interpolation, the baseline"
        + (
            ", and set beside the published PSNR of methods trained on the 291 images "
            f"(T91 + BSDS200): {', '.join(_published_291(records))}"
            if _published_291(records)
            else ""
        )
        + ". Every number is read from the records: each model "
        "folder's config.json, train_config.json, train_summary.json and training curve, the "
        f"benchmark JSON {records.benchmark.name} and the ablation logs."
    )


def _method(pdf: _Document, records: ReportRecords) -> None:
    pdf.heading(f"2 {SECTIONS[1]}")
    pdf.heading("2.1 Evaluation protocol", 1)
    recorded = records.protocol
    lines = []
    for key, now in PROTOCOL.items():
        value = recorded.get(key, "not recorded")
        if key == "crop_border" and "crop_border_pixels" in recorded:
            value = f"{recorded['crop_border_pixels']} pixels ({value})"
        drift = "" if recorded.get(key) == now else f" [hubsr.protocol now: {now}]"
        lines.append(f"{PROTOCOL_LABELS.get(key, key)}: {value}{drift}")
    for key, label in RECORDED_LABELS.items():
        if key in recorded:
            lines.append(f"{label}: {recorded[key]}")
    pdf.bullets(lines)
    first = records.models[0].results
    pdf.grid(
        ("Set", "Images", "SHA-256 of file names and contents"),
        [(d, first[d]["num_images"], first[d]["protocol"]["dataset_checksum"]) for d in first],
        widths=(14, 12, 100),
        align="LRL",
        size=7,
    )

    pdf.heading("2.2 Data and pre-processing", 1)
    pdf.paragraph(
        "Each training image is scaled by every HR down-scaling factor below, and each HR "
        "image of that pyramid gets its LR image by the same bicubic degradation as the test "
        "images (hubsr.protocol.make_lr). A step cuts random aligned LR/HR patches, each "
        "randomly flipped and rotated. training/data.py and training/train.py at the commit "
        "of each run (git_commit in its train_summary.json, where recorded; each run folder "
        "keeps its own copy in code/) are the exact pre-processing."
    )
    _settings_table(pdf, records.models, DATA_SETTINGS)

    pdf.heading("2.3 Architectures", 1)
    for model in records.models:
        arch = _arch(model)
        args = ", ".join(f"{k}={v}" for k, v in model.config.items() if k != "architecture")
        summary = _first_paragraph(sys.modules[arch.__module__]) or f"{arch.__name__}."
        pdf.paragraph(f"{model.name}: {summary} config.json: {args}; {model.params:,} parameters.")

    pdf.heading("2.4 Hyperparameters and training", 1)
    _settings_table(pdf, records.models, TRAIN_SETTINGS)
    pdf.grid(
        ("Run", "Steps", "Released step", "Training minutes", "Device", "torch"),
        [
            (
                m.name,
                _count(m.train_summary.get("steps")),
                _count(m.train_summary.get("best_step")),
                _minutes(m.train_summary.get("train_seconds")),
                m.train_summary.get("device", "—"),
                m.train_summary.get("torch", "—"),
            )
            for m in records.models
        ],
        widths=(24, 14, 16, 18, 24, 24),
    )
    notes: dict[str, list[str]] = {}  # the GPU runs of one call share their note
    for model in records.models:
        if model.train_summary.get("notes"):
            notes.setdefault(model.train_summary["notes"], []).append(model.name)
    for note, names in notes.items():
        pdf.paragraph(f"{', '.join(names)}: {note}", size=9)
    for model in records.models:
        pdf.figure(
            model.curve,
            f"{model.name}: training loss and {model.selection_set} PSNR during training "
            f"({model.curve.name}).",
        )


def _results(pdf: _Document, records: ReportRecords) -> None:
    pdf.heading(f"3 {SECTIONS[2]}")
    datasets = records.datasets
    selection = sorted({m.selection_set for m in records.models})
    published = "" if records.published else " No published references were given."
    if _published_291(records):
        published = (
            " Published rows are the PSNR the papers report for methods trained on the 291 "
            f"images (T91 + BSDS200), from {_shown(records.published_source)}, not re-measured."
        )
    pdf.paragraph(
        f"x{records.scale}, PSNR (dB) / SSIM on Y, measured by `hubsr benchmark` "
        f"({records.benchmark.name}). {', '.join(selection)} picked the checkpoints, so only "
        f"{', '.join(held_out_sets(records))} are held-out numbers.{published}"
    )
    rows = [("Bicubic (baseline)", "0", *_cells(records.bicubic, datasets), "measured")]
    for model in records.models:
        rows.append((model.name, f"{model.params:,}", *_cells(model.results, datasets), "measured"))
        if model.tta_results:
            cells = _cells(model.tta_results, datasets)
            rows.append((f"{model.name} + x8 TTA", f"{model.params:,}", *cells, "measured"))
    if records.scale == 3:
        for method in _published_291(records):
            ref = records.published[method]
            cells = ["—" if ref.get(d) is None else f"{ref[d]:.2f}" for d in datasets]
            rows.append((method, "", *cells, f"published: {ref['ref']}"))
    pdf.grid(
        ("Method", "Params", *datasets, "Source"),
        rows,
        widths=(30, 17, *(21,) * len(datasets), 40),
        align="LR" + "R" * len(datasets) + "L",
    )

    pdf.add_page(orientation="L")  # the sheet has a column per model: use the page's length
    pdf.heading("3.1 Visual comparison", 1)
    pdf.figure(
        records.comparison,
        "The same HR crops of Set14 images, enlarged with nearest neighbour: HR, bicubic and "
        f"each bundled model, labelled with whole-image PSNR ({records.comparison.name}, "
        "written by training/release/generate.py).",
    )

    names = set14_images(records)
    pdf.add_page(orientation="P")
    pdf.heading("3.2 Set14 PSNR per image", 1)
    if not names:
        pdf.paragraph("Not available: the benchmark JSON has no Set14 results.")
        return
    columns = [("bicubic", records.bicubic["Set14"])]
    columns += [(m.name, m.results["Set14"]) for m in records.models if "Set14" in m.results]
    per_image = [{i["name"]: i["psnr"] for i in row["images"]} for _, row in columns]
    pdf.grid(
        ("Image", *(name for name, _ in columns)),
        [(n, *(f"{psnr[n]:.2f}" for psnr in per_image)) for n in names]
        + [("mean", *(f"{row['psnr']:.2f}" for _, row in columns))],
        size=7.5,
    )


def _ablations(pdf: _Document, records: ReportRecords) -> None:
    pdf.heading(f"4 {SECTIONS[3]}")
    ablations = records.ablations
    if ablations is None:
        pdf.paragraph(
            "Not available: no ablation folder with <run>-train_config.json and "
            "<run>-metrics.jsonl files was given or found."
        )
        return
    usual = "; ".join(f"{k} {format_setting(v)}" for k, v in ablations.usual.items())
    base = ablations.baseline
    pdf.paragraph(
        f"The short runs that chose the recipe, each scored on {ablations.selection_set} only "
        f"(its last logged PSNR), read from {_shown(ablations.folder)}. Settings that varied "
        f"between runs, at their most common value: {usual}. Each run lists where it differs"
        + (f"; the last column is its PSNR minus {base.name}'s." if base else ".")
    )
    header = ["Run", "Changed settings", "Steps", f"{ablations.selection_set} PSNR"]
    rows = [
        [r.name, describe_changes(r.changes), f"{r.steps:,}", f"{r.psnr:.2f}"]
        for r in ablations.runs
    ]
    if base:
        header.append(f"vs {base.name}")
        for row, run in zip(rows, ablations.runs, strict=True):
            row.append("" if run is base else f"{run.psnr - base.psnr:+.2f}")
    pdf.grid(header, rows, widths=(10, 104, 15, 17, 14)[: len(header)], align="LLRRR")


# -- small helpers ---------------------------------------------------------------------------------
def _settings_table(pdf: _Document, models: list[ModelRecord], settings) -> None:
    def shown(key, config):
        if key not in config:
            return "—"
        return _sets(config[key]) if key in DIR_SETTINGS else format_setting(config[key])

    rows = [
        (label, *(shown(key, m.train_config) for m in models))
        for key, label in settings
        if any(key in m.train_config for m in models)
    ]
    label_width = 30 + 40 / len(models)  # mm; the models share the rest of the text width
    widths = (label_width, *((pdf.epw - label_width) / len(models),) * len(models))
    pdf.grid(("Setting", *(m.name for m in models)), rows, widths, "L" + "R" * len(models))


def _count(value) -> str:
    return f"{value:,}" if isinstance(value, int) else "—"


def _minutes(seconds) -> str:
    return f"{seconds / 60:.1f}" if isinstance(seconds, (int, float)) else "—"


def _cells(rows: dict[str, dict], datasets: list[str]) -> list[str]:
    return [
        f"{rows[d]['psnr']:.2f} / {rows[d]['ssim']:.4f}" if d in rows else "—" for d in datasets
    ]


def _arch(model: ModelRecord):
    return get_architecture(model.config["architecture"])


def _first_paragraph(module) -> str:
    return (module.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")


def _sets(train_dirs) -> str:
    return " + ".join(Path(d).name for d in str(train_dirs or "not recorded").split(","))


def _shown(path: Path) -> str:
    """``path`` relative to the working directory where it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _published_291(records: ReportRecords) -> list[str]:
    """The published methods trained on the 291 images that the report's references hold."""
    if records.scale != 3:
        return []
    return [method for method in PUBLISHED_291 if method in records.published]
