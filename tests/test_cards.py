"""Model cards parse as Hub cards with a model-index; the README table is what the JSON renders.

The README table and the published references are release tooling (``training/release/``), not
library.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from huggingface_hub import ModelCard
from PIL import Image

from hubsr import HubSRError, get_architecture
from hubsr.benchmark import benchmark
from hubsr.cards import load_published, write_card
from hubsr.cli import main
from hubsr.testsets import BENCHMARK_SETS, dataset_dir, load_rgb

from published import PUBLISHED, published_json
from readme_table import (
    README_END,
    README_START,
    readme_section,
    render_readme_section,
    render_results_table,
    replace_readme_section,
)

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "model_cards" / "results"


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """A tiny SPAN x3 folder with training files, and benchmark JSONs in the CLI's format.

    One real benchmark result (two small Set5 crops) is made per model and copied under each
    set name, so the card consumes exactly what ``benchmark`` writes, at a fraction of the cost.
    """
    root = tmp_path_factory.mktemp("card")
    images = root / "images"
    images.mkdir()
    for name in ("baby", "bird"):
        Image.fromarray(load_rgb(dataset_dir("Set5") / f"{name}.png")[:48, :48]).save(
            images / f"{name}.png"
        )
    folder = root / "span-tiny-x3"
    model = get_architecture("span")(scale=3, feature_channels=8, num_blocks=2)
    model.save_pretrained(folder)
    summary = {"arch": "span", "model_args": {"scale": 3, "feature_channels": 8}, "params": 1}
    summary |= {"best_step": 40, "steps": 50, "train_seconds": 90.0, "device": "cpu"}
    summary |= {"processes": 1, "torch": "2.x", "results": {"Set14": {"psnr": 28.1, "ssim": 0.8}}}
    (folder / "train_summary.json").write_text(json.dumps(summary))
    config = {"arch": "span", "train_dirs": "data/T91,data/BSDS200", "eval_dir": "data/Set5"}
    (folder / "train_config.json").write_text(json.dumps(config | {"minutes": 1.5}))

    def results(model, name, tta):
        one = benchmark(model, images, 3, tta=tta, progress=False)
        rows = []
        for i, dataset in enumerate(BENCHMARK_SETS):
            row = copy.deepcopy(one) | {"model": name, "model_source": name, "dataset": dataset}
            row["psnr"] += i
            row["protocol"]["dataset"] = dataset
            rows.append(row)
        return rows

    bicubic = get_architecture("bicubic")(scale=3)
    plain = {"scale": 3, "results": results(bicubic, "bicubic", False)}
    plain["results"] += results(model, folder.name, False)
    tta = {"scale": 3, "results": results(model, folder.name, True)}
    (root / "bench.json").write_text(json.dumps(plain))
    (root / "tta.json").write_text(json.dumps(tta))
    return folder, root / "bench.json", root / "tta.json", plain, tta


@pytest.fixture(scope="module")
def card(measured):
    folder, bench, tta, _, _ = measured
    argv = ["card", str(folder), "--benchmark", str(bench), "--tta-benchmark", str(tta)]
    assert main([*argv, "--published", str(RESULTS / "published.json")]) == 0
    return ModelCard.load(folder / "README.md")


def test_card_metadata(card):
    assert card.data.library_name == "hubsr"
    assert card.data.pipeline_tag == "image-to-image"
    assert card.data.license == "mit"
    assert {"super-resolution", "span"} <= set(card.data.tags)
    assert card.data.datasets == ["T91", "BSDS200"]


def test_model_index_has_every_metric_with_its_protocol(card, measured):
    _, _, _, plain, tta = measured
    results = card.data.eval_results
    assert len(results) == len(BENCHMARK_SETS) * 2 * 2  # sets x (PSNR, SSIM) x (plain, TTA)
    expected = {
        (r["dataset"], r["tta"]): r
        for r in plain["results"] + tta["results"]
        if r["model"] == "span-tiny-x3"
    }
    for result in results:
        args = result.metric_args
        measured_row = expected[(result.dataset_type, args["tta"])]
        digits = 2 if result.metric_type == "psnr" else 4
        assert result.metric_value == round(measured_row[result.metric_type], digits)
        assert args["y_channel"] is True and args["crop_border"] == 3
        assert "MATLAB" in args["lr"] and "MATLAB bicubic" in args["resize"]
        checksum = measured_row["protocol"]["dataset_checksum"]
        assert args["dataset_checksum"] == f"sha256:{checksum}"
        assert result.dataset_name == f"{result.dataset_type} x3"


def test_card_body(card, measured):
    text = card.text
    usage = 'from hubsr import HubSR\nmodel = HubSR.from_pretrained("span-tiny-x3")\n'
    assert usage + 'model.upscale("input.png").save("output.png")' in text
    assert "| Bicubic | 0 |" in text and "| **span-tiny-x3** + x8 TTA |" in text
    assert "published: Kim et al., CVPR 2016" in text and "33.66" in text
    assert "Set5 was used to pick the checkpoint" in text
    assert "50 steps in 1.5 minutes" in text and '"train_dirs"' in text
    assert "@inproceedings{wan2024swift" in text  # BibTeX from the SPAN module docstring
    assert "## Limitations" in text
    export = text.split("## Export")[1].split("\n## ")[0]
    assert "`hubsr export span-tiny-x3 --format onnx -o span-tiny-x3.onnx`" in export
    assert "- spandrel: not supported (span cannot be exported" in export  # 4 blocks, not 6


def _in_bf16(plain: dict, change: float) -> dict:
    """``plain`` as if measured with ``--dtype auto`` on a CPU with bf16 units."""
    fast = copy.deepcopy(plain)
    for row in fast["results"]:
        if row["model"] != "bicubic":
            row["psnr"] += change
            row["seconds_per_image"] /= 4
            row["protocol"]["precision"] = "bfloat16"
    return fast


@pytest.mark.parametrize("change, verdict", [(-0.004, "within"), (-0.03, "**outside**")])
def test_card_states_the_bf16_psnr_next_to_float32(measured, tmp_path, change, verdict):
    folder, bench, tta, plain, _ = measured
    (tmp_path / "fast.json").write_text(json.dumps(_in_bf16(plain, change)))
    argv = ["card", str(folder), "--benchmark", str(bench), "--tta-benchmark", str(tta)]
    assert main([*argv, "--fast-benchmark", str(tmp_path / "fast.json")]) == 0
    text = ModelCard.load(folder / "README.md").text
    mine = {r["dataset"]: r for r in plain["results"] if r["model"] == folder.name}
    for dataset, row in mine.items():
        bf16 = row["psnr"] + change
        assert f"| {dataset} | {row['psnr']:.3f} | {bf16:.3f} | {change:+.3f} dB |" in text
    assert f"largest change {abs(change):.3f} dB, {verdict} the 0.01 dB" in text
    assert "s / image (bfloat16, the default) |" in text
    seconds = mine["Set14"]["seconds_per_image"]
    speed_rows = [line for line in text.split("## Speed")[1].splitlines() if "| Set14 |" in line]
    assert speed_rows[0].endswith(f"| {seconds / 4:.3f} |")
    assert f"| {seconds:.3f} |" in speed_rows[0]


def test_readme_table_times_the_default_precision(measured):
    _, _, _, plain, tta = measured
    table = render_results_table(plain, tta, _in_bf16(plain, -0.004))
    assert "| CPU s/img (BSD100, default precision) |" in table.splitlines()[0]
    rows = {line.split("|")[1].strip(): line for line in table.splitlines()[2:]}
    assert rows["bicubic"].endswith(" (fp32) |")
    assert rows["span-tiny-x3"].endswith(" (bf16) |")
    assert rows["span-tiny-x3 + x8 TTA"].endswith(" (fp32) |")  # TTA is timed in float32
    # PSNR stays float32: the same cells as without the fast JSON.
    plain_rows = {
        line.split("|")[1].strip(): line
        for line in render_results_table(plain, tta).splitlines()[2:]
    }
    assert rows["span-tiny-x3"].rsplit("|", 2)[0] == plain_rows["span-tiny-x3"].rsplit("|", 2)[0]


def test_card_refuses_a_json_without_the_model(measured, tmp_path):
    folder, _, _, plain, _ = measured
    other = {"results": [r for r in plain["results"] if r["model"] == "bicubic"]}
    (tmp_path / "other.json").write_text(json.dumps(other))
    with pytest.raises(HubSRError, match="no results for span-tiny-x3 .it has: bicubic"):
        write_card(folder, tmp_path / "other.json")


# -- the repository README table ------------------------------------------------------------------
def test_results_table_renders_every_model_and_changes_with_the_json(measured):
    _, _, _, plain, tta = measured
    table = render_results_table(plain, tta).splitlines()
    assert table[0].startswith("| Model (x3) | Params | Set5 PSNR / SSIM | Set14")
    labels = [line.split("|")[1].strip() for line in table[2:]]
    assert labels == ["bicubic", "span-tiny-x3", "span-tiny-x3 + x8 TTA"]
    section = render_readme_section(plain, tta)
    changed = copy.deepcopy(plain)
    changed["results"][0]["psnr"] += 0.01
    assert render_readme_section(changed, tta) != section


def test_replace_readme_section_round_trip(measured):
    _, _, _, plain, tta = measured
    section = render_readme_section(plain, tta)
    text = replace_readme_section("# Project\n\nIntro.\n", section)
    assert readme_section(text) == section and text.startswith("# Project\n\nIntro.")
    again = replace_readme_section(text.replace(section, "\nstale\n"), section)
    assert again == text


def test_readme_results_match_the_results_json():
    """Once README.md has the markers, its table must be exactly what the JSON renders.

    Skipped only while both are still empty: no README section and no results JSON yet.
    """
    readme = REPO / "README.md"
    section = readme_section(readme.read_text()) if readme.is_file() else None
    if section is None:
        pytest.skip(f"README.md has no {README_START} ... {README_END} section yet")
    bench = RESULTS / "benchmark.json"
    if not section.strip() and not bench.is_file():
        pytest.skip("README.md has empty results markers and nothing is generated yet")
    assert bench.is_file(), f"README.md has a results section but {bench} is missing"
    import generate  # the release script: one table per bundled scale

    expected = generate.readme_results(generate.bundled_scales())
    assert section == expected, (
        "README results differ from model_cards/results/*.json: run "
        "python training/release/generate.py --skip-benchmark"
    )


def test_time_to_quality_section_comes_from_the_folders_report(measured, tmp_path):
    folder, bench, _, _, _ = measured
    timed = tmp_path / folder.name
    timed.mkdir()
    for name in ("config.json", "model.safetensors"):
        (timed / name).write_bytes((folder / name).read_bytes())
    assert "## Time to quality" not in write_card(timed, bench).read_text()
    snapshots = [
        {"file": "a", "elapsed_s": 10.2, "step": 350, "psnr": 28.96, "ssim": 0.81},
        {"file": "b", "elapsed_s": 260.1, "step": 10020, "psnr": 29.771, "ssim": 0.83},
    ]
    report = {"dataset": "Set14", "threshold_db": 29.77, "snapshots": snapshots}
    (timed / "time_to_psnr.json").write_text(json.dumps(report | {"first_pass": snapshots[1]}))
    text = write_card(timed, bench).read_text()
    assert "## Time to quality" in text
    assert "First at or above 29.77 dB on Set14: **260 s** of training (step 10020" in text
    assert "| 10 | 350 | 28.960 |" in text
    assert "student's seconds alone" not in text  # no teacher in this record
    summary = json.loads((folder / "train_summary.json").read_text())
    summary |= {"teacher": "model_cards/edsr-x3", "distill_weight": 1.0}
    text = write_card(timed, bench, train_summary=summary | {"teacher_on": "images"}).read_text()
    assert "the teacher (`model_cards/edsr-x3`) was trained, and its targets computed" in text
    text = write_card(timed, bench, train_summary=summary | {"teacher_on": "patches"}).read_text()
    assert "the teacher (`model_cards/edsr-x3`) was trained before this run" in text
    (timed / "time_to_psnr.json").write_text(json.dumps(report | {"first_pass": None}))
    assert "No snapshot reached 29.77 dB on Set14." in write_card(timed, bench).read_text()


def test_export_section_reports_the_measured_onnx_speed(measured, tmp_path):
    folder, bench, tta, plain, tta_json = measured
    speed = {
        "dataset": "Set14",
        "machine": {"cpu": "Test CPU", "threads": 2, "onnxruntime": "1.0"},
        "models": [
            {
                "model": folder.name,
                "torch_float32_s": 0.200,
                "onnxruntime_float32_s": 0.150,
                "onnx_over_torch": 0.75,
                "max_grey_level_difference": 1,
            }
        ],
    }
    write_card(folder, plain, tta_json, onnx_speed=speed)
    export = ModelCard.load(folder / "README.md").text.split("## Export")[1].split("\n## ")[0]
    assert "torch 0.200 s, onnxruntime 0.150 s" in export
    assert "**0.75x** torch's time" in export
    assert "2 threads on Test CPU" in export
    # A row re-timed alone (training/measure/onnx_speed.py --models) names its own machine and set.
    speed["models"][0]["machine"] = {"cpu": "Other CPU", "threads": 1, "onnxruntime": "2.0"}
    speed["models"][0]["dataset"] = "Set5"
    write_card(folder, plain, tta_json, onnx_speed=speed)
    export = ModelCard.load(folder / "README.md").text.split("## Export")[1].split("\n## ")[0]
    assert "onnxruntime 2.0 against torch (float32, 1 thread on Other CPU, Set5 seconds" in export
    speed["models"][0]["model"] = "another-model"  # a JSON without this model's row
    write_card(folder, plain, tta_json, onnx_speed=speed)
    assert "onnxruntime takes" not in ModelCard.load(folder / "README.md").text


def test_published_json_is_what_release_published_py_holds():
    assert (RESULTS / "published.json").read_text() == published_json(), (
        "model_cards/results/published.json differs from training/release/published.py: run "
        "python training/release/generate.py --skip-benchmark"
    )
    assert load_published(RESULTS / "published.json") == PUBLISHED


def test_card_without_published_references_has_no_published_rows(measured, tmp_path):
    folder, bench, _, _, _ = measured
    text = write_card(folder, bench).read_text()
    assert "| Bicubic | 0 |" in text and "published:" not in text.split("## Results")[1]
    write_card(folder, bench, published={4: PUBLISHED[4]})  # another scale's references
    assert "33.66" not in ModelCard.load(folder / "README.md").text


def test_the_card_of_the_training_record_alone(measured, tmp_path):
    """What training/train.py writes at the end of a run: no benchmark JSON yet."""
    folder, _, _, _, _ = measured
    text = write_card(folder).read_text()
    card = ModelCard(text)
    assert card.data.library_name == "hubsr" and card.data.datasets == ["T91", "BSDS200"]
    assert not card.data.eval_results  # no protocol record: no model-index
    results = text.split("## Results")[1].split("\n## ")[0]
    assert "| Set14 | 28.10 | 0.8000 |" in results and "Set5 picked the checkpoint" in results
    assert "50 steps in 1.5 minutes" in text and "## Speed" not in text
    assert "- code:" not in text  # an older record without the code version
    summary = json.loads((folder / "train_summary.json").read_text())
    version = {"git_commit": "a" * 40, "git_diff_sha256": "b" * 64, "hubsr_version": "0.1.0"}
    text = write_card(folder, train_summary=summary | version).read_text()
    assert f"- code: commit `{'a' * 40}` with uncommitted changes" in text
    assert f"sha256 {'b' * 64}), hubsr 0.1.0" in text
    assert "warm start" not in text and "distilled" not in text
    lineage = {"init_from": "model_cards/edsr-x3", "init_skip": "tail.0"}
    lineage |= {"teacher": "model_cards/edsr-x3", "distill_weight": 0.25}
    text = write_card(folder, train_summary=summary | lineage).read_text()
    assert (
        "- warm start: weights from `model_cards/edsr-x3` (freshly initialised: `tail.0`)" in text
    )
    assert "- distilled from `model_cards/edsr-x3`: the loss is 0.75 x loss(SR, HR)" in text
    assert "+ 0.25 x loss(SR, teacher's SR)" in text and "self-ensemble" not in text
    text = write_card(folder, train_summary=summary | lineage | {"teacher_tta": "random"})
    assert "one random flip/rotation of each batch" in text.read_text()
    once = {"teacher_tta": "x8", "teacher_on": "images"}
    text = write_card(folder, train_summary=summary | lineage | once).read_text()
    assert "its x8 self-ensemble (mean over the 8 flips/rotations), computed once on each " in text
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "config.json").write_bytes((folder / "config.json").read_bytes())
    with pytest.raises(HubSRError, match="no train_summary.json"):
        write_card(tmp_path / "bare")


def test_a_warm_started_runs_budget_is_named_as_its_last_stage(measured, tmp_path):
    folder, _, _, _, _ = measured
    warm = tmp_path / "warm"
    shutil.copytree(folder, warm)
    config = json.loads((folder / "train_config.json").read_text())
    assert "Trained for a fixed budget of 1.5 minutes" in write_card(warm).read_text()
    config |= {"init_from": "model_cards/abpn-x3"}
    (warm / "train_config.json").write_text(json.dumps(config))
    text = write_card(warm).read_text()
    assert "Trained for a fixed budget" not in text
    assert (
        "The last stage trained for a fixed budget of 1.5 minutes, continuing the weights of "
        "`model_cards/abpn-x3`" in text
    )
    assert "see its card)" in text  # a record without its commit names none
    # A run that replaced its own starting folder: the earlier card lives at the run's commit.
    summary = json.loads((folder / "train_summary.json").read_text())
    text = write_card(warm, train_summary=summary | {"git_commit": "c0ffee" * 6 + "abcd"})
    assert "comes on top; see its card at commit `c0ffeec0ffee`)" in text.read_text()
    dirty = {"git_commit": "c0ffee" * 6 + "abcd", "git_diff_sha256": "d" * 64}
    text = write_card(warm, train_summary=summary | dirty).read_text()
    assert "see its card)" in text  # uncommitted changes: the folder may not be the commit's
