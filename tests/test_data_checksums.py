"""data/SHA256SUMS describes exactly the bundled images, and agrees with the source list."""

from __future__ import annotations

import hashlib
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
NOT_LISTED = {"README.md", "MANIFEST.source.md", "SHA256SUMS", "SHA256SUMS.source"}


def read_sums(path: Path) -> dict[str, str]:
    sums = {}
    for line in path.read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        assert len(digest) == 64 and name.startswith("./"), line
        sums[name[2:]] = digest
    return sums


def test_sha256sums_match_the_files():
    sums = read_sums(DATA / "SHA256SUMS")
    on_disk = {
        p.relative_to(DATA).as_posix()
        for p in DATA.rglob("*")
        if p.is_file() and p.relative_to(DATA).as_posix() not in NOT_LISTED
    }
    assert on_disk == set(sums), (
        f"unlisted: {sorted(on_disk - set(sums))}; missing: {sorted(set(sums) - on_disk)}"
    )
    wrong = [n for n, d in sums.items() if hashlib.sha256((DATA / n).read_bytes()).hexdigest() != d]
    assert not wrong, f"checksum mismatch: {wrong}"


def test_only_the_bmp_conversions_differ_from_the_source():
    here, source = read_sums(DATA / "SHA256SUMS"), read_sums(DATA / "SHA256SUMS.source")
    converted = {n for n in source if n.endswith(".bmp")}
    assert {n[: -len(".bmp")] + ".png" for n in converted} | (set(source) - converted) == set(here)
    assert all(here[n] == source[n] for n in set(source) - converted)
    assert {n.split("/")[0] for n in converted} == {"T91", "Set14"}
