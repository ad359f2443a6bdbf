"""``hubsr upscale`` on collections: folder trees, output formats, metadata, resuming, and the
split between processes started by ``accelerate launch`` (run for real with 2 CPU processes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image, ImageCms

from hubsr import precision
from hubsr.cli import main
from hubsr.cli.upscale import same_cpu_precision
from hubsr.collections_io import (
    SHAPE_CACHE_CAPACITY,
    ProcessShare,
    bound_shape_caches,
    exif_for_output,
    release_memory,
)

BICUBIC = ["--model", "bicubic", "--scale", "2"]


def _image(path, size=(6, 5), seed=0, **save):
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, **save)
    return path


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "in"
    _image(root / "top.bmp")
    _image(root / "a" / "x.png", seed=1)
    _image(root / "a" / "b" / "y.jpg", seed=2)
    _image(root / "a" / "b" / "z.tif", seed=3)
    _image(root / ".cache" / "hidden.png", seed=4)  # hidden folders are left out
    (root / "a" / "notes.txt").write_text("not an image")
    return root


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_recursive_mirrors_the_tree(tree, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["upscale", str(tree), "-o", str(out), "--recursive", *BICUBIC]) == 0
    assert _files(out) == ["a/b/y.png", "a/b/z.tif", "a/x.png", "top.bmp"]
    assert Image.open(out / "a" / "b" / "y.png").size == (12, 10)
    err = capsys.readouterr().err
    assert "written 4, skipped 0, failed 0" in err and "notes.txt" in err


def test_without_recursive_only_the_top_folder(tree, tmp_path):
    out = tmp_path / "out"
    assert main(["upscale", str(tree), "-o", str(out), *BICUBIC]) == 0
    assert _files(out) == ["top.bmp"]


@pytest.mark.parametrize(
    ("fmt", "pillow_format", "names"),
    [
        ("jpg", "JPEG", ["a/b/y.jpg", "a/b/z.jpg", "a/x.jpg", "top.jpg"]),
        ("webp", "WEBP", ["a/b/y.webp", "a/b/z.webp", "a/x.webp", "top.webp"]),
        ("tiff", "TIFF", ["a/b/y.tif", "a/b/z.tif", "a/x.tif", "top.tif"]),
        ("png", "PNG", ["a/b/y.png", "a/b/z.png", "a/x.png", "top.png"]),
    ],
)
def test_format_names_and_writes_every_result(tree, tmp_path, fmt, pillow_format, names):
    out = tmp_path / "out"
    assert main(["upscale", str(tree), "-o", str(out), "-r", "--format", fmt, *BICUBIC]) == 0
    assert _files(out) == names
    assert {Image.open(out / name).format for name in names} == {pillow_format}


def test_quality_reaches_the_lossy_writer(tmp_path):
    src = _image(tmp_path / "in" / "p.png", size=(40, 30))
    sizes = []
    for quality in (10, 95):
        out = tmp_path / f"q{quality}"
        args = ["upscale", str(src), "-o", str(out), "--format", "jpg", "--quality", str(quality)]
        assert main([*args, *BICUBIC]) == 0
        sizes.append((out / "p.jpg").stat().st_size)
    assert sizes[0] < sizes[1] / 2


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--quality", "90"], "--quality is for lossy results"),
        (["--format", "png", "--quality", "90"], "--quality is for lossy results"),
        (["--format", "jpg", "--quality", "0"], "--quality must be 1 to 100"),
    ],
)
def test_bad_quality_is_refused(tmp_path, capsys, flags, message):
    src = _image(tmp_path / "p.png")
    assert main(["upscale", str(src), "-o", str(tmp_path / "out"), *flags, *BICUBIC]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.fixture
def photo(tmp_path):
    """A 6x4 JPEG stored on its side (EXIF orientation 6: turn 90 degrees clockwise), with a
    camera make and an sRGB profile."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "hubsr-camera"
    exif[ExifTags.Base.Orientation] = 6
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return _image(tmp_path / "in" / "photo.jpg", size=(6, 4), exif=exif.tobytes(), icc_profile=icc)


@pytest.mark.parametrize(
    ("fmt", "name"),
    [(None, "photo.png"), ("jpg", "photo.jpg"), ("tiff", "photo.tif"), ("webp", "photo.webp")],
)
def test_icc_and_exif_carried_and_orientation_applied_once(photo, tmp_path, fmt, name):
    out = tmp_path / "out"
    args = ["upscale", str(photo), "-o", str(out), *BICUBIC]
    assert main(args + (["--format", fmt] if fmt else [])) == 0
    with Image.open(out / name) as result:
        assert result.size == (8, 12)  # upright: 4x6, then x2; not turned back by a viewer
        exif = result.getexif()
        assert exif.get(ExifTags.Base.Make) == "hubsr-camera"
        assert exif.get(ExifTags.Base.Orientation, 1) == 1
        assert result.info.get("icc_profile") == Image.open(photo).info["icc_profile"]


def test_exif_for_output_is_none_without_exif(tmp_path):
    assert exif_for_output(Image.open(_image(tmp_path / "plain.png"))) is None
    assert exif_for_output(np.zeros((2, 2, 3), np.uint16)) is None


def test_skip_existing_resumes_a_tree_byte_for_byte(tree, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["upscale", str(tree), "-o", str(out), "-r", *BICUBIC]
    assert main(args) == 0
    whole = {name: (out / name).read_bytes() for name in _files(out)}
    # As after a kill: two results never written (a killed run never renames a partial file).
    (out / "a" / "b" / "y.png").unlink()
    (out / "top.bmp").unlink()
    capsys.readouterr()
    assert main([*args, "--skip-existing"]) == 0
    assert "written 2, skipped 2, failed 0" in capsys.readouterr().err
    assert {name: (out / name).read_bytes() for name in _files(out)} == whole


def _rss_bytes() -> int:
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_release_memory_gives_freed_heap_pages_back():
    """What glibc keeps after a file (free pieces under a live block) goes back to the system."""
    blocks = [bytes(4000) for _ in range(20_000)]  # 80 MB of heap, each block under mmap's size
    pinned = bytes(4000)  # allocated last: free() alone cannot shrink the heap below it
    del blocks
    before = _rss_bytes()
    if not release_memory():
        pytest.skip("no malloc_trim: not glibc")
    assert before - _rss_bytes() > 40_000_000
    del pinned


def test_the_command_bounds_the_caches_and_releases_memory_after_each_file(
    tree, tmp_path, monkeypatch
):
    """What keeps a long run's memory flat is done by ``hubsr upscale`` itself: the caches
    bounded before any work, the freed memory handed back after every file, failed ones too."""
    import hubsr.cli.upscale as command

    calls = []
    monkeypatch.setattr(command, "bound_shape_caches", lambda: calls.append("bound"))
    monkeypatch.setattr(command, "release_memory", lambda: calls.append("release"))
    (tree / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    assert main(["upscale", str(tree), "-o", str(tmp_path / "out"), "-r", *BICUBIC]) == 1
    # 4 images written; the broken one fails at its header, before the loop's model work
    assert calls == ["bound"] + ["release"] * 4


def test_bound_shape_caches_keeps_the_users_own_sizes(monkeypatch):
    monkeypatch.setenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "7")
    monkeypatch.delenv("LRU_CACHE_CAPACITY", raising=False)
    bound_shape_caches()
    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == "7"
    assert os.environ["LRU_CACHE_CAPACITY"] == str(SHAPE_CACHE_CAPACITY)


def test_the_split_between_processes_takes_each_file_once():
    files = list(range(11))
    shares = [ProcessShare(i, 3).take(files) for i in range(3)]
    assert sorted(sum(shares, [])) == files
    assert shares[1] == [1, 4, 7, 10]


@pytest.mark.parametrize("main_pays", [True, False])
def test_every_process_takes_the_main_process_precision(monkeypatch, main_pays):
    monkeypatch.delenv("HUBSR_CPU_BF16", raising=False)
    monkeypatch.setattr(ProcessShare, "gather", lambda self, value: [main_pays, not main_pays])
    same_cpu_precision(ProcessShare(1, 2))
    assert precision.cpu_bf16_pays() is main_pays
    monkeypatch.delenv("HUBSR_CPU_BF16")
    precision.cpu_bf16_units.cache_clear()


@pytest.mark.slow
def test_two_accelerate_processes_write_the_same_bytes_as_one(tmp_path):
    """``accelerate launch --multi_gpu --num_processes 2`` on the CPU: each file written once,
    by one process, byte-identical to a one-process run; the main process reports the run."""
    for i in range(7):
        _image(tmp_path / "in" / f"d{i % 2}" / f"im{i}.png", size=(9, 7), seed=i)
    # The default precision (bf16 where it pays) is decided by timing, once per run: fixed
    # here so that the two runs, timed under different loads, cannot decide differently.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HUBSR_CPU_BF16": "1"}
    common = ["upscale", str(tmp_path / "in"), "-r", "--model", "abpn-x2"]
    one = subprocess.run(
        [sys.executable, "-m", "hubsr.cli", *common, "-o", str(tmp_path / "one")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert one.returncode == 0, one.stderr
    # --multi_gpu starts the processes (torchrun); without a GPU each runs on the CPU.
    # (`--cpu` would start one process: Accelerate's multi-CPU launcher is mpirun.)
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu"]
    launch += ["--num_processes", "2"]
    launch += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    two = subprocess.run(
        [*launch, "-m", "hubsr.cli", *common, "-o", str(tmp_path / "two")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert two.returncode == 0, two.stderr
    assert "process 1/2: written 4, skipped 0, failed 0" in two.stderr
    assert "process 2/2: written 3, skipped 0, failed 0" in two.stderr
    assert "written 7, skipped 0, failed 0 by 2 processes" in two.stderr
    names = _files(tmp_path / "one")
    assert len(names) == 7 and _files(tmp_path / "two") == names
    for name in names:
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()


def _count_results(folder) -> int:
    """Visible files under ``folder`` (a killed writer's temporary is hidden)."""
    if not folder.exists():
        return 0
    return sum(1 for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_bytes(tmp_path):
    """SIGKILL partway through a 60-file tree, then ``--skip-existing``: every result once,
    byte-identical to an uninterrupted run (training/measure/collection_bench.py does 2,000)."""
    for i in range(60):
        folder = tmp_path / "in" / f"a{i // 20}" / f"b{i // 10 % 2}" / f"c{i // 5 % 2}"
        _image(folder / f"im{i:02d}.png", size=(40, 32), seed=i)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HUBSR_CPU_BF16": "1"}

    def command(out):
        cli = [sys.executable, "-m", "hubsr.cli", "upscale", str(tmp_path / "in"), "-r"]
        return [*cli, "-o", str(out), "--model", "abpn-x2"]

    whole = subprocess.run(command(tmp_path / "whole"), env=env, capture_output=True, timeout=300)
    assert whole.returncode == 0, whole.stderr
    out = tmp_path / "resumed"
    run = subprocess.Popen(command(out), env=env, stderr=subprocess.DEVNULL)
    while run.poll() is None and _count_results(out) < 15:
        time.sleep(0.01)
    run.kill()
    assert run.wait(timeout=60) == -signal.SIGKILL
    present = _count_results(out)
    assert 15 <= present < 60
    done = subprocess.run(
        [*command(out), "--skip-existing"], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert f"written {60 - present}, skipped {present}, failed 0" in done.stderr
    names = _files(tmp_path / "whole")
    assert len(names) == 60
    assert _files(out) == names  # the temporary of the file being written when killed: gone
    for name in names:
        assert (out / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name


def test_resuming_removes_what_a_killed_writer_left(tree, tmp_path, capsys):
    out = tmp_path / "out"
    (out / "a").mkdir(parents=True)
    _image(out / "a" / "x.png", seed=9)  # done before the kill: kept as it is
    kept = (out / "a" / "x.png").read_bytes()
    left = out / "a" / "b" / ".y.png.0123abcd.tmp"  # the kill came while y.png was written
    left.parent.mkdir()
    left.write_bytes(b"half a PNG")
    other = out / "a" / ".notes.txt.0123abcd.tmp"  # no result of this run: not ours to remove
    other.write_bytes(b"")
    args = ["upscale", str(tree), "-o", str(out), "-r", "--skip-existing", *BICUBIC]
    assert main(args) == 0
    assert "written 3, skipped 1, failed 0" in capsys.readouterr().err
    assert not left.exists() and other.exists()
    assert (out / "a" / "x.png").read_bytes() == kept
    assert Image.open(out / "a" / "b" / "y.png").size == (12, 10)


def test_readme_collection_numbers_are_the_measured_ones():
    """The README's collection table quotes model_cards/results/collection-*.json (written by
    training/measure/collection_bench.py), and the memory target holds there: the last 100
    files' peak within 10% of the first 100's."""
    repo = Path(__file__).resolve().parent.parent
    readme = (repo / "README.md").read_text()
    rss = json.loads((repo / "model_cards/results/collection-rss.json").read_text())
    first, last = rss["rss_peak_first100_mib"], rss["rss_peak_last100_mib"]
    assert rss["files"] == 2000 and last <= 1.1 * first
    assert f"{rss['files'] / rss['seconds']:.1f} images/s; peak RSS {first:.0f} MiB" in readme
    assert f"{last:.0f} MiB over the last 100" in readme
    video = json.loads((repo / "model_cards/results/collection-video-10s-854x480.json").read_text())
    assert video["frames_kept"] and video["fps_kept"] and video["audio_packets_identical"]
    assert f"{video['frames_per_s_wall']:.2f} frames/s" in readme
