"""One reader for hubsr's JSON files: a clear error naming the file and what it should be."""

from __future__ import annotations

import pytest

from hubsr import HubSRError
from hubsr.jsonfile import read_json


def test_reads_json(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('{"scale": 3}')
    assert read_json(path, "config") == {"scale": 3}


@pytest.mark.parametrize("content", [None, b"{not json", b"\xff\xfe\x00"])
def test_missing_or_broken_files_name_the_file_and_what_it_should_be(tmp_path, content):
    path = tmp_path / "summary.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(HubSRError, match=r"summary\.json is not a readable training summary: "):
        read_json(path, "training summary")
