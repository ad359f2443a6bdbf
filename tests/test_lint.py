"""PEP 8 and formatting, as the project's tests (ruff's settings live in pyproject.toml); the
library's layering: it imports nothing of the checkout and builds no path into it."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LIBRARY = REPO / "hubsr"
# The folders of a checkout that the installed library does not have (perf/ and release/: the
# names these scripts had before they moved under training/).
CHECKOUT_FOLDERS = {"training", "tests", "spaces", "perf", "release", "data"}
# The two things the library looks up in a checkout by path, each with an override: the bundled
# models (model_cards/, hubsr.bundled, $HUBSR_MODELS_DIR) and the benchmark sets (data/,
# hubsr.testsets, $HUBSR_DATA_DIR).
CHECKOUT_LOOKUPS = {("testsets.py", "data")}


@pytest.mark.parametrize("args", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff(args):
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run([str(ruff), *args, "."], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def library_trees():
    for path in sorted(LIBRARY.rglob("*.py")):
        yield path, ast.parse(path.read_text())


def test_library_never_imports_training_spaces_or_tests():
    # Every module a script or test could be imported as (its file name, as the scripts import
    # their siblings), and the folders themselves.
    outside = [REPO / "training", REPO / "spaces", REPO / "tests"]
    forbidden = {p.stem for folder in outside for p in folder.rglob("*.py")}
    forbidden |= {"training", "spaces", "tests", "release", "measure", "dataset"}
    assert {"train", "generate", "cpu_speed", "app"} <= forbidden
    for path, tree in library_trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{path} imports {name}"


def _path_literals(tree: ast.AST):
    """The string constants a path is built from: operands of ``/`` and the arguments of
    ``Path(...)``, ``open(...)`` and ``os.path.join(...)`` (prose, such as help text and
    docstrings that name a script, is not a path)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            operands = [node.left, node.right]
        elif isinstance(node, ast.Call):
            callee = node.func.attr if isinstance(node.func, ast.Attribute) else node.func
            name = callee if isinstance(callee, str) else getattr(callee, "id", "")
            if name not in {"Path", "PurePath", "open", "join"}:
                continue
            operands = node.args
        else:
            continue
        for operand in operands:
            if isinstance(operand, ast.Constant) and isinstance(operand.value, str):
                yield operand.value


def test_library_builds_no_path_into_the_checkout():
    found = []
    for path, tree in library_trees():
        for literal in _path_literals(tree):
            top = literal.strip("./").split("/")[0]
            if top in CHECKOUT_FOLDERS and (path.name, top) not in CHECKOUT_LOOKUPS:
                found.append(f"{path.relative_to(REPO)}: {literal!r}")
    assert not found, "the library reads the checkout by path: " + "; ".join(found)


def test_the_path_check_sees_the_ways_a_path_is_built():
    code = """
from pathlib import Path
import os
a = Path(__file__).parents[2] / "training" / "ablations"
b = Path("tests/data")
c = os.path.join(root, "spaces")
d = open("data/Set5/baby.png")
e = "training/train.py is a script"  # prose, not a path
"""
    found = sorted(_path_literals(ast.parse(code)))
    assert found == ["ablations", "data/Set5/baby.png", "spaces", "tests/data", "training"]
