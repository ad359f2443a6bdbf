"""``hubsr report``: the PDF opens, has its sections, and its numbers are the records' numbers.

The expected numbers are read here from the bundled cards (README.md), the benchmark JSON and
the ablation logs, independently of hubsr.report, and looked for in the PDF's extracted text.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from hubsr import HubSRError
from hubsr.cli import main
from hubsr.report import write_report
from hubsr.report.layout import SECTIONS
from hubsr.report.records import BOOKKEEPING, _token, read_ablations

from published import PUBLISHED_X3  # training/release/, on pytest's pythonpath

REPO = Path(__file__).resolve().parent.parent
CARDS = REPO / "model_cards"
BENCHMARK = CARDS / "results" / "benchmark.json"
ABLATIONS = REPO / "training" / "ablations"
MODELS = ("abpn-x3", "edsr-x3")


def pdf_text(path: Path) -> str:
    """All pages' text, whitespace collapsed (justified lines extract with extra spaces)."""
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(path).pages))


def rows_of(model: str, tta: bool = False) -> dict[str, dict]:
    results = json.loads(BENCHMARK.with_stem("benchmark-tta" if tta else "benchmark").read_text())
    return {r["dataset"]: r for r in results["results"] if r["model"] == model}


def card_row(model: str, label: str) -> list[str]:
    """The PSNR / SSIM cells of one row of the model card's results table."""
    for line in (CARDS / model / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == label:
            return cells[2:-1]
    raise AssertionError(f"{model}'s card has no row {label!r}")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("report") / "report.pdf"
    assert main(["report", *MODELS, "-o", str(path), "--ablations", str(ABLATIONS)]) == 0
    return path, pdf_text(path)


def test_the_pdf_opens_with_its_sections_in_order(report):
    path, text = report
    reader = PdfReader(path)
    assert len(reader.pages) >= 3
    top_level = [item.title for item in reader.outline if not isinstance(item, list)]
    assert top_level == [f"{i} {name}" for i, name in enumerate(SECTIONS, start=1)]
    positions = [text.index(f"{i} {name}") for i, name in enumerate(SECTIONS, start=1)]
    assert positions == sorted(positions)
    for subsection in ("Evaluation protocol", "Data and pre-processing", "Hyperparameters"):
        assert subsection in text
    assert len(reader.pages[0].images) == 0 and sum(len(p.images) for p in reader.pages) == 3


def test_the_code_commit_is_the_checkouts(report):
    _, text = report
    done = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True)
    commit = done.stdout.decode().strip() if done.returncode == 0 else "unknown"
    assert f"Commit: {commit}" in text


def test_results_rows_are_the_cards_numbers(report):
    _, text = report
    for model in MODELS:
        params = f"{rows_of(model)['Set5']['params']:,}"
        measured = " ".join(card_row(model, f"**{model}**"))
        assert f"{model} {params} {measured} measured" in text
        tta = " ".join(card_row(model, f"**{model}** + x8 TTA"))
        assert f"{model} + x8 TTA {params} {tta} measured" in text
        assert f"Bicubic (baseline) 0 {' '.join(card_row(model, 'Bicubic'))}" in text
        for method in ("VDSR", "DRRN", "MemNet"):
            assert f"{method} {' '.join(card_row(model, method))} published:" in text
    assert "SRCNN" not in text.split("3 Results")[1].split("3.1 Visual")[0]  # ImageNet-trained


def test_per_image_set14_psnr_comes_from_the_benchmark_json(report):
    _, text = report
    columns = [rows_of(name)["Set14"]["images"] for name in ("bicubic", *MODELS)]
    for images in zip(*columns, strict=True):
        assert len({i["name"] for i in images}) == 1
        cells = " ".join(f"{i['psnr']:.2f}" for i in images)
        assert f"{images[0]['name']} {cells}" in text


def test_findings_are_the_measured_differences(report):
    _, text = report
    bicubic = rows_of("bicubic")["Set14"]["psnr"]
    vdsr = PUBLISHED_X3["VDSR"]["Set14"]
    for model in MODELS:
        ours = rows_of(model)["Set14"]["psnr"]
        assert f"{ours - bicubic:.2f} dB above on Set14 ({ours:.2f} against {bicubic:.2f})" in text
        side = "above" if ours >= vdsr else "below"
        assert f"{abs(ours - vdsr):.2f} dB {side} on Set14 ({ours:.2f} against {vdsr:.2f})" in text
        gain = rows_of(model, tta=True)["Set14"]["psnr"] - ours
        assert f"x8 self-ensemble (TTA) on {model}: {gain:+.2f} dB on Set14" in text


def test_ablations_show_each_runs_last_set5_and_changed_settings(report):
    _, text = report
    logs = sorted(ABLATIONS.glob("*/*-metrics.jsonl"))  # one folder a round
    assert logs, "the repository's ablation logs are missing"
    shown = photo = 0
    for log in logs:
        settings = json.loads(
            Path(str(log).replace("-metrics.jsonl", "-train_config.json")).read_text()
        )
        if settings.get("degrade", "none") != "none":  # photo runs: another question
            photo += 1
            continue
        last = [json.loads(line) for line in log.read_text().splitlines() if "set5_psnr" in line]
        line = f"{last[-1]['step']:,} {last[-1]['set5_psnr']:.2f}"
        if settings["scale"] == 3:  # the x3 report shows the x3 runs
            assert line in text
            shown += 1
    assert 0 < shown < len(logs) - photo  # the x2/x4 runs are in the log, but not in this report
    assert photo and "x3-A" not in {r.name for r in read_ablations(ABLATIONS, scale=3).runs}

    def config(run):
        (path,) = ABLATIONS.glob(f"*/{run}-train_config.json")
        return json.loads(path.read_text())

    runs = {r.name: r for r in read_ablations(ABLATIONS, scale=3).runs}
    assert {r.name for r in read_ablations(ABLATIONS, scale=2).runs} >= {"X-edsr-x2", "SE-edsr-x2"}
    base, other = config("B"), config("C")  # C ran B's recipe with other batch and patch sizes
    expected = {k: v for k, v in other.items() if base.get(k) != v and k not in BOOKKEEPING}
    assert expected and runs["C"].changes == runs["B"].changes | expected
    for run in runs.values():  # a run at the usual value of everything is said to be one
        assert (f"{run.name} the usual settings" in text) == (not run.changes)
    # The same --model-args spelled with and without spaces are one setting, not a change.
    assert _token('{"channels": 64, "num_convs": 7}') == _token('{"num_convs":7,"channels":64}')
    assert _token('{"channels": 64}') != _token('{"channels": 48}')


def test_the_log_reads_the_same_runs_flat_or_one_folder_a_round(tmp_path):
    """A folder of runs and a folder of rounds give the same runs; photo runs stay out."""
    runs = ["B", "C", "M3"]
    flat, rounds = tmp_path / "flat", tmp_path / "rounds"
    flat.mkdir()
    for name in runs:
        (config,) = ABLATIONS.glob(f"*/{name}-train_config.json")
        (rounds / config.parent.name).mkdir(parents=True, exist_ok=True)
        for source in (config, config.with_name(f"{name}-metrics.jsonl")):
            shutil.copy(source, flat / source.name)
            shutil.copy(source, rounds / config.parent.name / source.name)
    shutil.copytree(ABLATIONS / "PA-photo", rounds / "PA-photo")  # degraded inputs
    flat, by_round = read_ablations(flat), read_ablations(rounds)
    assert [r.name for r in flat.runs] == [r.name for r in by_round.runs] == runs
    assert [(r.steps, r.psnr, r.changes) for r in flat.runs] == [
        (r.steps, r.psnr, r.changes) for r in by_round.runs
    ]
    shutil.copy(rounds / "PA-photo" / "x3-A-train_config.json", rounds / "B-train_config.json")
    with pytest.raises(HubSRError, match="two runs of the same name"):
        read_ablations(rounds)


def test_without_ablations_and_with_core_fonts(tmp_path):
    path = write_report(
        ["abpn-x3"],
        tmp_path / "report.pdf",
        ablations=tmp_path / "no-such-folder",
        title="ABPN × 3 – σ",
        unicode_font=False,
    )
    text = pdf_text(path)
    assert "ABPN x 3 - sigma" in text  # latin-1 spellings of what the core fonts lack
    assert "?" not in text  # and no character without one
    assert "4 Ablations Not available" in text and "5 Findings" in text
    fonts = PdfReader(path).pages[0]["/Resources"]["/Font"]
    assert {fonts[f]["/BaseFont"] for f in fonts} <= {"/Helvetica", "/Helvetica-Bold"}


@pytest.mark.parametrize("missing", ["training_curve.png", "train_config.json", "benchmark"])
def test_a_missing_record_names_the_file_and_keeps_the_old_pdf(missing, tmp_path, capsys):
    folder = tmp_path / "abpn-x3"  # named like the bundled model, so its benchmark rows match
    shutil.copytree(CARDS / "abpn-x3", folder, ignore=shutil.ignore_patterns("*.safetensors"))
    argv = ["report", str(folder), "-o", str(tmp_path / "report.pdf")]
    if missing == "benchmark":
        missing = "absent.json"
        argv += ["--benchmark", str(tmp_path / missing)]
    else:
        (folder / missing).unlink()
    (tmp_path / "report.pdf").write_bytes(b"the previous report")
    assert main(argv) == 2
    assert missing in capsys.readouterr().err
    assert (tmp_path / "report.pdf").read_bytes() == b"the previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["abpn-x3", "report.pdf"]


def test_without_fpdf2_the_error_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "fpdf", None)  # makes `import fpdf` fail
    monkeypatch.delitem(sys.modules, "hubsr.report.layout", raising=False)
    with pytest.raises(HubSRError, match=r"hubsr\[report\]"):
        write_report(["abpn-x3"], tmp_path / "report.pdf")
    assert not (tmp_path / "report.pdf").exists()


def test_importing_hubsr_and_its_cli_does_not_need_fpdf2():
    code = "import sys, hubsr, hubsr.cli; hubsr.cli.build_parser(); print('fpdf' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
