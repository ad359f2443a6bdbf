"""The course report as a PDF, generated from what the runs recorded (``hubsr report``).

:func:`write_report` gathers the records (:mod:`.records`: model folders, benchmark JSON,
comparison sheet, ablation logs, git commit), computes the findings (:mod:`.findings`) and lays
out the PDF (:mod:`.layout`, which needs fpdf2: ``pip install "hubsr[report]"``). No number in
the report is typed in; each is read from a file.
"""

from __future__ import annotations

from pathlib import Path

from ..atomic import write_bytes_atomic
from ..errors import HubSRError
from .records import ReportRecords, gather

__all__ = ["ReportRecords", "gather", "write_report"]


def write_report(
    models: list[str],
    output: str | Path,
    *,
    benchmark: str | Path | None = None,
    tta_benchmark: str | Path | None = None,
    comparison: str | Path | None = None,
    ablations: str | Path | None = None,
    code_url: str | None = None,
    title: str | None = None,
    unicode_font: bool = True,
    published: str | Path | None = None,
) -> Path:
    """Write the report of ``models`` (bundled names or model folders) to ``output``,
    atomically; returns its path. The other arguments are those of :func:`.records.gather`,
    the title (default: the scale and the model names), and ``unicode_font=False`` to keep to
    the PDF core fonts even where DejaVu Sans is installed."""
    try:
        from .layout import build_pdf
    except ModuleNotFoundError as exc:
        if exc.name != "fpdf":
            raise
        raise HubSRError(
            'hubsr report needs fpdf2, which is not installed: pip install "hubsr[report]"'
        ) from None
    records = gather(models, benchmark, tta_benchmark, comparison, ablations, code_url, published)
    return write_bytes_atomic(output, build_pdf(records, title, unicode_font))
