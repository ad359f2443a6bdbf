"""An installed wheel works on its own: built from this tree, installed into a fresh venv, it
lists the packaged default models and upscales with them, offline, far from the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hubsr.bundled import DEFAULT_MODELS, PHOTO_MODELS

pytestmark = pytest.mark.slow  # builds a wheel and a venv

REPO = Path(__file__).resolve().parent.parent
# The defaults, the fast ones and the photo models.
PACKAGED = sorted(
    {*DEFAULT_MODELS.values(), "abpn-x2", "abpn-x3", "abpn-x4", *PHOTO_MODELS.values()}
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")  # keeps build/ out of the checkout
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         str(REPO), "-w", str(out)],
        check=True, capture_output=True, text=True, timeout=300, cwd=build,
        env={**os.environ, "PIP_NO_INPUT": "1"},
    )  # fmt: skip
    (found,) = out.glob("hubsr-*.whl")
    return found


def test_the_wheel_carries_the_default_models_and_no_scripts(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    packaged = {n.split("/")[2] for n in names if n.startswith("hubsr/model_cards/")}
    assert packaged == set(PACKAGED)
    for model in PACKAGED:
        for file in ("config.json", "model.safetensors", "README.md"):
            assert f"hubsr/model_cards/{model}/{file}" in names
    assert not [n for n in names if n.startswith("hubsr/model_cards/") and n.endswith(".py")]


def test_installed_wheel_upscales_offline_with_the_default_model(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    # The fresh venv borrows this environment's third-party packages (torch and the rest)
    # through a .pth line, but not its editable hubsr: that lives in a finder that a .pth of
    # this site-packages installs, which a borrowed path does not run.
    purelib = Path(sysconfig.get_paths(vars={"base": str(env_dir)})["purelib"])
    (purelib / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    python = env_dir / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
         str(wheel)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    image = tmp_path / "in.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (12, 10, 3), np.uint8)).save(image)
    env = {k: v for k, v in os.environ.items() if k not in ("HUBSR_MODELS_DIR", "PYTHONPATH")}
    env |= {"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}

    def hubsr(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(env_dir / "bin" / "hubsr"), *args],
            capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
        )  # fmt: skip

    where = subprocess.run(
        [str(python), "-c", "import hubsr.bundled as b; print(b.models_dir())"],
        capture_output=True, text=True, cwd=tmp_path, env=env, check=True,
    ).stdout.strip()  # fmt: skip
    assert where.startswith(str(purelib)), where  # the wheel's copy, not the checkout's
    listing = hubsr("models")
    assert listing.returncode == 0, listing.stderr
    for model in PACKAGED:
        assert model in listing.stdout
    done = hubsr("upscale", str(image), "-o", "out")
    assert done.returncode == 0, done.stderr
    print(done.stderr)  # the test's output, for the record
    assert f"model {DEFAULT_MODELS[3]}" in done.stderr
    assert Image.open(tmp_path / "out" / "in.png").size == (30, 36)
