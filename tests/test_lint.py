"""PEP 8 and formatting, as the project's tests (ruff's settings live in pyproject.toml)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("args", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff(args):
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run([str(ruff), *args, "."], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_library_never_imports_training_spaces_or_tests():
    forbidden = {"training", "spaces", "tests", "dataset", "report", "app"}
    forbidden |= {"release", "generate", "published", "readme_table"}  # release/ and its modules
    for path in (REPO / "hubsr").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{path} imports {name}"
