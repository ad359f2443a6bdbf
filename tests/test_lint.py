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


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path: Path, tree: ast.AST) -> set[str]:
    """The ``hubsr`` modules ``path`` imports anywhere in it (inside functions too: an import
    put off until a call is an arrow all the same), relative imports made absolute. A name
    taken from a package counts as its submodule where one has that name."""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *filter(None, [base])])
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    modules = {_module_name(p) for p in LIBRARY.rglob("*.py")}
    return {name for name in found if name in modules} - {_module_name(path)}


def _library_imports() -> dict[str, set[str]]:
    """Module -> the modules it imports. The package itself (``hubsr/__init__.py``) is left
    out: it gathers the public names from its parts, which may take a name from it."""
    return {
        _module_name(path): _imported_modules(path, tree) - {"hubsr"}
        for path, tree in library_trees()
        if path != LIBRARY / "__init__.py"
    }


# Arrows that would run the wrong way: the pipeline knows the model contract only (not which
# models ship, nor how models are built or loaded), and every module raises hubsr's errors, so
# that module imports none of hubsr.
FORBIDDEN_IMPORTS = {
    "hubsr.pipeline": {"hubsr.bundled", "hubsr.hub", "hubsr.loading", "hubsr.models"},
    "hubsr.errors": "anything",
}


def test_the_pipeline_and_the_errors_import_nothing_above_them():
    imports = _library_imports()
    for module, forbidden in FORBIDDEN_IMPORTS.items():
        wrong = imports[module] if forbidden == "anything" else imports[module] & forbidden
        assert not wrong, f"{module} imports {', '.join(sorted(wrong))}"


def test_no_module_of_the_library_imports_itself_round_a_circle():
    imports = _library_imports()

    def circle_from(start: str, module: str, path: list[str]) -> list[str] | None:
        for imported in sorted(imports.get(module, ())):
            if imported == start:
                return [*path, start]
            if imported not in path and imported not in done:
                found = circle_from(start, imported, [*path, imported])
                if found:
                    return found
        return None

    done: set[str] = set()
    for module in sorted(imports):
        circle = circle_from(module, module, [module])
        assert circle is None, "an import circle: " + " -> ".join(circle)
        done.add(module)


def test_the_import_check_sees_relative_and_deferred_imports():
    code = """
from . import models
from .errors import HubSRError
from ..imageio import read_image

def later():
    from .registry import alias_variant
"""
    found = _imported_modules(LIBRARY / "cli" / "upscale.py", ast.parse(code))
    assert {"hubsr.imageio", "hubsr.cli.models"} <= found
    found = _imported_modules(LIBRARY / "pipeline.py", ast.parse(code))
    assert {"hubsr.models", "hubsr.errors", "hubsr.registry"} <= found
