"""training/flat_scan.py: every 8-bit colour as an endless flat image, the colours found off
re-measured on the model's own kernels, a picture and a seed file for train.py."""

from __future__ import annotations

import pytest
import torch
from flat_scan import cube_levels, main, scan
from PIL import Image
from test_flat_colour import OffOnOnePatch


def test_the_levels_run_from_0_to_255_at_any_step():
    assert cube_levels(1).tolist() == list(range(256))
    assert cube_levels(51).tolist() == [0, 51, 102, 153, 204, 255]
    assert cube_levels(100).tolist() == [0, 100, 200, 255]


def test_every_colour_is_measured_and_a_narrow_patch_is_found_exactly():
    """All 16.7 M colours: the 7 x 7 x 7 colours around the patch's centre, and only they, come
    out 10 levels off; random colours would have missed most of them."""
    model = OffOnOnePatch(centre=(142, 211, 180))
    errors = scan(model, cube_levels(1), batch=65536)
    assert errors.shape == (256, 256, 256) and errors.dtype == torch.uint8
    off = (errors > 2).nonzero()
    assert len(off) == 7**3 and set(errors[errors > 0].tolist()) == {10}
    assert off.min(dim=0).values.tolist() == [139, 208, 177]
    assert off.max(dim=0).values.tolist() == [145, 214, 183]


def test_the_script_prints_a_row_and_writes_a_picture_and_the_colours_near_the_limit(
    capsys, tmp_path
):
    assert main(["--models", "espcn-x3", "--step", "51", "--out", str(tmp_path)]) == 0
    header, _, *rows = capsys.readouterr().out.splitlines()
    assert "Worst of 216 colours (collapsed)" in header
    assert [row.split(" | ")[:2] for row in rows] == [
        ["| espcn-x3", "float32"],
        ["| espcn-x3", "bf16"],
    ]
    for precision in ("float32", "bf16"):
        picture = Image.open(tmp_path / f"espcn-x3-{precision}.png")
        assert picture.width > 3 * 200 and picture.mode == "RGB"
        found = torch.load(tmp_path / f"espcn-x3-{precision}.pt", weights_only=True)
        assert len(found["colours"]) == len(found["collapsed"]) == len(found["kernels"])
        assert (found["collapsed"] >= 2).all()  # within a level of the limit, or beyond it
        assert set(found["colours"].flatten().tolist()) <= set(cube_levels(51).tolist())


def test_a_step_outside_the_cube_is_refused(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--step", "0"])
    assert stop.value.code == 2
    assert "--step must be between 1 and 255" in capsys.readouterr().err
