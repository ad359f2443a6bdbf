"""Every command the README and ``hubsr ... --help`` show is run here, so none of them fails
for the first person who copies it.

The commands are read from the README's ``bash`` (and ``python``) blocks and from the
``examples:`` epilog of every argparse parser, not copied here. Each block runs in a fresh
working folder of its own, in order, with the repository's ``data/``, ``training/``, ``spaces/``
and ``tests/`` linked in (read only) and the placeholder inputs the examples name
(``photo.png``, ``test_lr/``, ``runs/abpn-x3``, ...) made there, so every output lands in that
folder. ``hubsr`` runs in process, the rest as subprocesses. Each command must exit 0, report
no error and write the files it names (``-o``, ``--output``, ``--json``, ``--plot``).

What is not run as written is listed below with the reason: ``NOT_RUN`` (installs, the test
suite itself, GPU-only and release scripts) and ``SHORTENED`` (benchmarks and training on tiny
data). A listed command that the documentation no longer shows fails the test too, so the lists
cannot go stale.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hubsr.cli import COMMANDS, build_parser, main
from hubsr.imageio import list_images, read_image, save_image_atomic

pytestmark = pytest.mark.slow  # runs every documented command

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
BUNDLED = REPO / "model_cards" / "abpn-x3"  # what placeholder model folders are copies of

NOT_RUN = {
    "python3 -m venv .venv": "makes the virtual environment these tests already run in",
    ".venv/bin/pip install -e .": "an install from the package index (minutes); done already",
    ".venv/bin/pip install -e .[dev]": "an install from the package index; done already",
    ".venv/bin/pip install -e .[report]": "an install from the package index; done already",
    "pip install -e .[train]": "an install from the package index; done already",
    ".venv/bin/python -m pytest": "the whole test suite, this file included",
    "hubsr push runs/abpn-x3 you/abpn-x3": "uploads to the Hub: needs a token and the network",
    "accelerate launch --multi_gpu --num_processes 2 -m hubsr.cli upscale albums/ -o big/ -r": (
        "several processes; tests/test_collections.py runs this split with 2 CPU processes"
    ),
    "python training/release/generate.py": "re-measures every bundled model (many minutes) and "
    "rewrites the shipped cards, figures and README table: the release step, not an example",
}
# Benchmarks of Set5, Set14 and BSD100 take minutes per model: they run on two 48x48 crops of
# each set (HUBSR_DATA_DIR), unless they score given LR files, which must match the real sets.
TINY_SETS_REASON = "Set5, Set14 and BSD100 replaced by two 48x48 crops each (HUBSR_DATA_DIR)"
TRAINING = (
    "accelerate launch training/train.py --minutes 82 --steps 0 --compile --output runs/abpn-x3"
)
SPEEDRUN = "python training/train.py --preset speedrun --output runs/speedrun"
SHORTENED = {
    TRAINING: "4 steps of a tiny ABPN on 4 small crops instead of 82 minutes on the 291 images "
    "(and no torch.compile, which alone takes a minute on a CPU)",
    SPEEDRUN: "the preset's recipe for 4 steps of a tiny ABPN on 4 small crops instead of 5 "
    "minutes on the 291 images, without torch.compile",
}


# -- what the documentation shows -----------------------------------------------------------------
def _tokens(command: str) -> list[str]:
    return shlex.split(command, comments=True)


def readme_blocks(language: str) -> list[str]:
    """The README's fenced blocks of ``language``, each as its text."""
    return re.findall(rf"^```{language}\n(.*?)^```", README.read_text(), re.M | re.S)


def readme_commands() -> list[list[str]]:
    """Each bash block's commands (continued lines joined, comments dropped)."""
    blocks = []
    for block in readme_blocks("bash"):
        text = block.replace("\\\n", " ")
        blocks.append([line for line in text.splitlines() if _tokens(line)])
    return blocks


def _parsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    found = {"hubsr": parser}
    for action in parser._subparsers._group_actions:
        for name, sub in action.choices.items():
            found[f"hubsr {name}"] = sub
    return found


def epilog_commands(epilog: str) -> list[str]:
    """The commands of an ``examples:`` epilog: lines indented by two spaces, continued by a
    trailing backslash; three or more spaces end the command and start its description."""
    commands, pending = [], None
    for line in epilog.split("examples:", 1)[-1].splitlines():
        if pending is None and not re.match(r"  \S", line):
            continue  # blank, or a description continued on its own line
        part = re.split(r"\s{3,}", line.strip())[0]
        if part.endswith("\\"):
            pending = (pending or "") + part[:-1] + " "
            continue
        commands.append((pending or "") + part)
        pending = None
    return commands


def documented_blocks() -> dict[str, list[str]]:
    blocks = {f"README bash #{i + 1}": cmds for i, cmds in enumerate(readme_commands())}
    for name, parser in _parsers().items():
        blocks[f"{name} --help"] = epilog_commands(parser.epilog or "")
    return blocks


def _steps(command: str) -> list[str]:
    """A command line split at ``&&``, each step as its canonical text."""
    steps, current = [], []
    for token in [*_tokens(command), "&&"]:
        if token == "&&":
            steps.append(" ".join(current))
            current = []
        else:
            current.append(token)
    return steps


# -- the working folder ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_sets(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny-sets")
    for name in ("Set5", "Set14", "BSD100"):
        (root / name).mkdir()
        for path in list_images(REPO / "data" / name)[:2]:
            crop = Image.open(path).convert("RGB").crop((30, 30, 78, 78))
            crop.save(root / name / f"{path.stem}.png")
    return root


@pytest.fixture(scope="module")
def tiny_training(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny-training")
    for split, source, count, size in (("train", "Set14", 4, 72), ("eval", "Set5", 2, 48)):
        (root / split).mkdir()
        for path in sorted((REPO / "data" / source).glob("*.png"))[:count]:
            crop = Image.open(path).convert("RGB").crop((0, 0, size, size))
            crop.save(root / split / path.name)
    return root


def _image(path: Path, size=(48, 40), seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(arr).save(path)


def _clip(path: Path, frames: int = 3, size=(16, 12)) -> None:
    """A tiny H.264 clip with an AAC track, for the video examples."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        sound = out.add_stream("aac", rate=48000, layout="mono")
        for i in range(frames):
            arr = np.full((size[1], size[0], 3), 40 * i, np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")))
        out.mux(stream.encode(None))
        tone = av.AudioFrame.from_ndarray(
            np.zeros((1, 6000), np.float32), format="fltp", layout="mono"
        )
        tone.sample_rate, tone.pts = 48000, 0
        out.mux(sound.encode(tone))
        out.mux(sound.encode(None))


def make_workdir(root: Path) -> Path:
    """A working folder with the repository folders that examples read linked in, and every
    placeholder input."""
    root.mkdir()
    for name in ("data", "training", "spaces", "tests"):
        (root / name).symlink_to(REPO / name, target_is_directory=True)
    _image(root / "photo.png")
    _image(root / "scan.tif", size=(64, 48))
    _image(root / "sheet.png", size=(120, 80))
    save_image_atomic(
        np.random.default_rng(1).integers(0, 65536, (20, 24, 3), dtype=np.uint16),
        root / "scan16.tif",
    )
    _clip(root / "clip.mp4")
    for folder in ("photos", "lr", "test_lr"):
        (root / folder).mkdir()
        for i in range(2):
            _image(root / folder / f"img{i}.png", size=(24, 20), seed=i)
    # The README's community checkpoint: a small spandrel Compact x4, as chaiNNer users load.
    from spandrel.architectures.Compact import Compact

    torch.manual_seed(0)
    torch.save(Compact(num_feat=8, num_conv=2, upscale=4).state_dict(), root / "4x-community.pth")
    return root


def _model_copy(folder: Path) -> None:
    if not folder.exists():
        shutil.copytree(BUNDLED, folder)


def placeholders_for(argv: list[str], env: dict[str, str], workdir: Path) -> None:
    """Model folders the command reads (``runs/NAME``, and ``HUBSR_MODELS_DIR``), as copies of
    a bundled model; a folder the command writes (``--output``) is left to it."""
    outputs = {argv[i + 1] for i, token in enumerate(argv[:-1]) if token == "--output"}
    for token in argv:
        if re.fullmatch(r"runs/[\w.-]+", token) and token not in outputs:
            _model_copy(workdir / token)
    if "HUBSR_MODELS_DIR" in env:
        _model_copy(workdir / env["HUBSR_MODELS_DIR"] / BUNDLED.name)


def expected_outputs(argv: list[str]) -> list[str]:
    return [
        argv[i + 1]
        for i, token in enumerate(argv[:-1])
        if token in ("-o", "--output", "--json", "--plot", "--save-dir")
    ]


# -- running ----------------------------------------------------------------------------------
def run_step(step: str, workdir: Path, sets: Path, training: Path, monkeypatch, capsys) -> str:
    """Run one command in ``workdir``; returns what it printed. Fails on a non-zero exit."""
    tokens = _tokens(step)
    env = {}
    while tokens and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", tokens[0]):
        name, value = tokens.pop(0).split("=", 1)
        env[name] = value
    program, args = tokens[0], tokens[1:]
    if program in ("hubsr", ".venv/bin/hubsr"):
        if args[:1] == ["benchmark"] and "--lr-dir" not in args:
            env["HUBSR_DATA_DIR"] = str(sets)  # see TINY_SETS_REASON
        placeholders_for(args, env, workdir)
        with monkeypatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            try:
                code = main(args)
            except SystemExit as exit_info:  # --help and --version
                code = exit_info.code
        captured = capsys.readouterr()
        printed = captured.out + captured.err
    elif step in (TRAINING, SPEEDRUN):
        preset = ["--preset", "speedrun", "--no-compile"] if step == SPEEDRUN else []
        args = [
            "training/train.py", *preset, "--steps", "4", "--output", expected_outputs(args)[0],
            "--train-dirs", str(training / "train"), "--eval-dir", str(training / "eval"),
            "--test-dirs", str(training / "eval"), "--cache-dir", str(workdir / "cache"),
            "--model-args", json.dumps({"channels": 8, "num_convs": 2}),
            "--scale-aug", "1.0,0.8", "--batch", "4", "--patch", "8",
            "--eval-every", "4", "--log-every", "2", "--threads", "1",
        ]  # fmt: skip
        accelerate = Path(sys.executable).with_name("accelerate")
        environ = {**os.environ, **env, "OMP_NUM_THREADS": "1"}
        launcher = [sys.executable] if step == SPEEDRUN else [str(accelerate), "launch"]
        done = subprocess.run(
            [*launcher, *args],
            cwd=workdir,
            env=environ,
            capture_output=True,
            text=True,
            timeout=240,
        )
        code, printed = done.returncode, done.stdout + done.stderr
    else:
        pytest.fail(f"no way to run {step!r}: add it to NOT_RUN or SHORTENED with the reason")
    assert code == 0, f"{step!r} exited {code}:\n{printed[-3000:]}"
    assert not re.search(r"^(hubsr: )?error:|Traceback", printed, re.M), f"{step!r}:\n{printed}"
    for output in expected_outputs(args):
        path = workdir / output
        assert path.exists() and (path.is_file() or any(path.iterdir())), f"{step!r}: {output}"
    return printed


BLOCKS = documented_blocks()


@pytest.mark.parametrize("name", BLOCKS)
def test_documented_commands_run(name, tmp_path, tiny_sets, tiny_training, monkeypatch, capsys):
    workdir = make_workdir(tmp_path / "work")
    monkeypatch.chdir(workdir)
    ran = 0
    for command in BLOCKS[name]:
        for step in _steps(command):
            if step in NOT_RUN:
                continue
            if step == "hubsr COMMAND --help":  # one per command
                for command_name in COMMANDS:
                    printed = run_step(
                        f"hubsr {command_name} --help", workdir, tiny_sets, tiny_training,
                        monkeypatch, capsys,
                    )  # fmt: skip
                    assert printed.startswith(f"usage: hubsr {command_name}")
                ran += 1
                continue
            run_step(step, workdir, tiny_sets, tiny_training, monkeypatch, capsys)
            ran += 1
    everything_skipped = all(s in NOT_RUN for c in BLOCKS[name] for s in _steps(c))
    assert ran or everything_skipped, f"{name} shows no command"


def test_readme_python_runs(tmp_path, monkeypatch):
    """The README's Python blocks, one after the other in one namespace (as in a notebook)."""
    monkeypatch.chdir(make_workdir(tmp_path / "work"))
    namespace: dict = {"__name__": "readme"}
    blocks = readme_blocks("python")
    assert blocks
    for code in blocks:
        exec(compile(code, str(README), "exec"), namespace)
    assert Image.open("photo_x3.png").size == (3 * 48, 3 * 40)
    deep = read_image("scan16_x3.tif").pixels
    assert isinstance(deep, np.ndarray) and deep.dtype == np.uint16 and deep.shape == (60, 72, 3)


def test_every_listed_exception_is_still_documented():
    shown = {step for commands in BLOCKS.values() for c in commands for step in _steps(c)}
    assert set(NOT_RUN) <= shown, set(NOT_RUN) - shown
    assert set(SHORTENED) <= shown, set(SHORTENED) - shown
    assert "hubsr COMMAND --help" in shown and "hubsr --version" in shown
    assert any(c.startswith("hubsr benchmark") and "--lr-dir" not in c for c in shown)


def test_no_example_names_a_missing_repository_path():
    """Relative paths under data/, model_cards/, training/, spaces/ or tests/ that an example
    reads exist."""
    shown = [c for commands in BLOCKS.values() for c in commands]
    for command in shown:
        for token in _tokens(command):
            if re.match(r"(data|model_cards|training|spaces|tests)/", token):
                assert (REPO / token).exists(), f"{command!r} names {token}, which does not exist"
