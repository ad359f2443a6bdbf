"""``hubsr push``: a model folder becomes exactly the files of a Hub model repo, nothing else."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

import hubsr.publish
from hubsr import HubSR, HubSRError
from hubsr.cli import main

REPO = Path(__file__).resolve().parent.parent
TRAINED = REPO / "model_cards" / "abpn-x3"


@pytest.fixture
def run_folder(tmp_path):
    """A trained model's folder as a run leaves it: artifacts plus things that are not."""
    folder = tmp_path / "runs" / "abpn-x3"
    shutil.copytree(TRAINED, folder)
    (folder / "train.py").write_text("# a source copy\n")
    (folder / "checkpoint").mkdir()
    (folder / "checkpoint" / "optimizer.bin").write_bytes(b"state")
    return folder


def test_stage_keeps_the_hub_files_only_and_they_load(run_folder, tmp_path, capsys):
    argv = ["push", str(run_folder), "you/abpn-x3", "--stage", str(tmp_path / "repo")]
    assert main(argv) == 0
    staged = sorted(p.name for p in (tmp_path / "repo").iterdir())
    expected = [*hubsr.publish.HUB_FILES, *hubsr.publish.RECORD_FILES]
    assert staged == sorted(n for n in expected if (run_folder / n).is_file())
    assert {"README.md", "config.json", "model.safetensors"} <= set(staged)
    assert "train.py" not in staged and "checkpoint" not in staged
    assert HubSR.from_pretrained(tmp_path / "repo").scale == 3
    ModelCard.load(tmp_path / "repo" / "README.md")
    assert "staged you/abpn-x3 in" in capsys.readouterr().out


def test_a_folder_without_a_card_or_weights_is_refused(run_folder, tmp_path):
    (run_folder / "README.md").unlink()
    with pytest.raises(HubSRError, match="has no README.md .write the card with hubsr card"):
        hubsr.publish.stage_for_hub(run_folder, tmp_path / "repo")
    (run_folder / "model.safetensors").unlink()
    with pytest.raises(HubSRError, match="has no README.md, model.safetensors"):
        hubsr.publish.stage_for_hub(run_folder, tmp_path / "repo")
    assert not (tmp_path / "repo").exists()


def test_stage_never_writes_into_an_existing_folder(run_folder, tmp_path):
    (tmp_path / "repo").mkdir()
    with pytest.raises(HubSRError, match="exists; stage into a new folder"):
        hubsr.publish.stage_for_hub(run_folder, tmp_path / "repo")
    assert list((tmp_path / "repo").iterdir()) == []


def test_push_creates_the_repo_and_uploads_the_staged_files(run_folder, monkeypatch):
    calls = {}

    class FakeApi:
        def __init__(self, token=None):
            calls["token"] = token

        def create_repo(self, repo_id, **kwargs):
            calls["create"] = (repo_id, kwargs)

        def upload_folder(self, *, repo_id, folder_path, **kwargs):
            calls["files"] = sorted(p.name for p in Path(folder_path).iterdir())
            return "https://huggingface.co/you/abpn-x3/commit/abc"

    monkeypatch.setattr("huggingface_hub.HfApi", FakeApi)
    url = hubsr.publish.push_to_hub(run_folder, "you/abpn-x3", private=True)
    assert url.endswith("/commit/abc")
    assert calls["create"] == (
        "you/abpn-x3",
        {"repo_type": "model", "private": True, "exist_ok": True},
    )
    assert "model.safetensors" in calls["files"] and "train.py" not in calls["files"]
