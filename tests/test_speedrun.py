"""The speedrun (#46): ``--preset speedrun`` sets the recipe and yields to flags; every record in
``training/records/`` agrees with its own run files, and both records tables are rendered from
them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from keep_record import END, RECORDS, START, read_records, render_table
from presets import PRESETS
from train import parse_settings

REPO = Path(__file__).resolve().parent.parent


def test_preset_sets_its_recipe_and_flags_still_win():
    s = parse_settings(["--preset", "speedrun"])
    for key, value in PRESETS["speedrun"].items():
        assert getattr(s, key) == value, key
    assert s.preset == "speedrun"
    assert parse_settings(["--preset", "speedrun", "--minutes", "10"]).minutes == 10
    assert parse_settings([]).minutes == 0  # no preset: train.py's own defaults


def test_unknown_preset_is_one_line(capsys):
    with pytest.raises(SystemExit):
        parse_settings(["--preset", "fastest"])
    assert "--preset must be one of speedrun, got 'fastest'" in capsys.readouterr().err


def test_the_speedrun_trains_from_scratch():
    recipe = PRESETS["speedrun"]
    assert not {"init_from", "teacher"} & set(recipe), "a record starts from random weights"


@pytest.mark.parametrize(
    "folder", sorted(RECORDS.glob("*/record.json")), ids=lambda p: p.parent.name
)
def test_record_agrees_with_its_run(folder: Path):
    record = json.loads(folder.read_text())
    run = folder.parent
    summary = json.loads((run / "train_summary.json").read_text())
    passed = json.loads((run / "time_to_psnr.json").read_text())
    config = json.loads((run / "train_config.json").read_text())
    assert record["set14"] == round(summary["results"]["set14"]["psnr"], 3)
    assert record["set5"] == round(summary["results"]["set5"]["psnr"], 3)
    assert record["train_seconds"] == round(summary["train_seconds"], 1)
    first = passed["first_pass"]
    assert record["first_pass_s"] == (None if first is None else round(first["elapsed_s"], 1))
    if first is not None:  # the snapshot that passed did pass, and no earlier one did
        assert first["psnr"] >= passed["threshold_db"]
        earlier = [r for r in passed["snapshots"] if r["elapsed_s"] < first["elapsed_s"]]
        assert all(r["psnr"] < passed["threshold_db"] for r in earlier)
    assert passed["dataset"] == "Set14" and passed["threshold_db"] == 29.77
    assert not config["init_from"] and not config["teacher"], "records train from scratch"
    assert (run / "command.txt").read_text().startswith(("python ", "accelerate launch "))
    if record["rerun_of"]:
        original = json.loads((RECORDS / record["rerun_of"] / "record.json").read_text())
        again = json.loads((RECORDS / record["rerun_of"] / "train_config.json").read_text())
        assert {k: v for k, v in config.items() if k != "output"} == {
            k: v for k, v in again.items() if k != "output"
        }, "a rerun repeats its record's settings"
        assert original["machine"]["cpu"] == record["machine"]["cpu"]


def _between_markers(text: str) -> str:
    return text[text.index(START) + len(START) : text.index(END)].strip()


def test_records_tables_are_rendered_from_the_records():
    table = render_table(read_records())
    assert _between_markers((REPO / "README.md").read_text()) == table
    local = table.replace("](training/records/", "](./")
    assert _between_markers((RECORDS / "README.md").read_text()) == local
