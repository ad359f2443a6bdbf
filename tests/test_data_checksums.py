"""Each SHA256SUMS describes exactly the images of its folder, and data/'s agrees with the source
list: data/ for the bundled training and benchmark images, tests/data/reference_lr_x3/ for the
MATLAB reference LR packs that only the protocol tests read."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"
REFERENCE_LR = REPO / "tests" / "data" / "reference_lr_x3"
NOT_LISTED = {"README.md", "MANIFEST.source.md", "SHA256SUMS", "SHA256SUMS.source"}


def read_sums(path: Path) -> dict[str, str]:
    sums = {}
    for line in path.read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        assert len(digest) == 64 and name.startswith("./"), line
        sums[name[2:]] = digest
    return sums


@pytest.mark.parametrize("folder", [DATA, REFERENCE_LR], ids=["data", "reference_lr_x3"])
def test_sha256sums_match_the_files(folder):
    sums = read_sums(folder / "SHA256SUMS")
    on_disk = {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.relative_to(folder).as_posix() not in NOT_LISTED
    }
    assert on_disk == set(sums), (
        f"unlisted: {sorted(on_disk - set(sums))}; missing: {sorted(set(sums) - on_disk)}"
    )
    wrong = [
        n for n, d in sums.items() if hashlib.sha256((folder / n).read_bytes()).hexdigest() != d
    ]
    assert not wrong, f"checksum mismatch: {wrong}"


def test_only_the_bmp_conversions_differ_from_the_source():
    here, source = read_sums(DATA / "SHA256SUMS"), read_sums(DATA / "SHA256SUMS.source")
    converted = {n for n in source if n.endswith(".bmp")}
    assert {n[: -len(".bmp")] + ".png" for n in converted} | (set(source) - converted) == set(here)
    assert all(here[n] == source[n] for n in set(source) - converted)
    assert {n.split("/")[0] for n in converted} == {"T91", "Set14"}
