"""A model folder as a Hub model repo: exactly the files the Hub needs, staged, then uploaded.

A Hub model repo for hubsr holds the card (``README.md``), ``config.json`` and
``model.safetensors``, plus the training record where the folder has it (settings, summary,
metrics, log, curve). Anything else in the folder (source copies, checkpoints, snapshots,
ONNX files) stays out: the repo is what ``HubSR.from_pretrained(repo_id)`` and a reader need.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from .atomic import atomic_folder
from .errors import HubSRError
from .record import MODEL_FILES, RECORD_FILES

__all__ = ["HUB_FILES", "RECORD_FILES", "hub_files", "push_to_hub", "stage_for_hub"]

HUB_FILES = MODEL_FILES  # with RECORD_FILES: hubsr.record.ARTIFACTS, all a Hub repo holds


def hub_files(model_dir: str | os.PathLike) -> list[Path]:
    """The files of ``model_dir`` that belong in its Hub repo; HubSRError if one that must be
    there is missing or the folder does not load."""
    from .hub import HubSR

    folder = Path(model_dir).expanduser()
    if not folder.is_dir():
        raise HubSRError(f"{folder} is not a model folder")
    missing = [name for name in HUB_FILES if not (folder / name).is_file()]
    if missing:
        hint = " (write the card with hubsr card)" if "README.md" in missing else ""
        raise HubSRError(f"{folder} has no {', '.join(missing)}{hint}")
    HubSR.from_pretrained(folder)  # a repo that does not load is not worth uploading
    from huggingface_hub import ModelCard

    ModelCard.load(folder / "README.md")  # nor one whose card the Hub cannot parse
    for name in ("train_config.json", "train_summary.json"):
        if (folder / name).is_file():
            try:
                json.loads((folder / name).read_text())
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise HubSRError(f"{folder / name} is not valid JSON: {exc}") from None
    return [folder / n for n in (*HUB_FILES, *RECORD_FILES) if (folder / n).is_file()]


def stage_for_hub(model_dir: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Copy the Hub files of ``model_dir`` into the new folder ``dest`` (all or nothing)."""
    files = hub_files(model_dir)
    dest = Path(dest).expanduser()
    if dest.exists():
        raise HubSRError(f"{dest} exists; stage into a new folder")
    with atomic_folder(dest) as partial:
        for file in files:
            shutil.copy2(file, partial / file.name)
    return dest


def push_to_hub(
    model_dir: str | os.PathLike,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    commit_message: str = "Upload hubsr model",
) -> str:
    """Create ``repo_id`` (if needed) and upload the Hub files of ``model_dir``; the commit URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    with tempfile.TemporaryDirectory() as tmp:
        staged = stage_for_hub(model_dir, Path(tmp) / "repo")
        api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        info = api.upload_folder(
            repo_id=repo_id,
            folder_path=staged,
            repo_type="model",
            commit_message=commit_message,
        )
    return str(getattr(info, "commit_url", info))
