"""``hubsr upscale`` on video files (:mod:`hubsr.video`): synthetic clips made with PyAV, upscaled
for real, then decoded again to check frames, timing and the copied audio."""

from __future__ import annotations

import re
import subprocess
import sys
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from hubsr import load, video
from hubsr.cli import main
from hubsr.collections_io import output_name
from hubsr.errors import HubSRError
from hubsr.pipeline import upscale

av = pytest.importorskip("av")

BICUBIC = ["--model", "bicubic", "--scale", "2"]


def _moving(index: int, width: int, height: int) -> np.ndarray:
    """Frame ``index`` of a pattern that moves: each frame differs from the others."""
    yy, xx = np.mgrid[0:height, 0:width]
    channels = [(xx * 4 + index * 8) % 256, (yy * 5 + index * 2) % 256, (xx + yy * 2) % 256]
    return np.stack(channels, -1).astype(np.uint8)


def make_clip(
    path,
    frames=12,
    size=(64, 48),
    fps=24,
    audio="aac",
    video_codec="libx264",
    container=None,
    pix_fmt="yuv420p",
):
    """A clip of ``frames`` moving frames and, unless ``audio`` is None, a tone as long."""
    width, height = size
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(video_codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        sound = None
        if audio:
            sound = out.add_stream(audio, rate=48000)
            sound.layout = "stereo"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(_moving(i, width, height), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        if sound is not None:
            samples = 48000 * frames // fps
            tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / 48000)
            layout = sound.codec_context.format.name
            for start in range(0, samples, 1024):
                chunk = np.tile(tone[start : start + 1024], (2, 1))
                if layout == "s16":  # interleaved 16-bit (PCM)
                    data = (chunk.T.reshape(1, -1) * 32767).astype(np.int16)
                else:
                    data = chunk.astype(np.float32)
                block = av.AudioFrame.from_ndarray(data, format=layout, layout="stereo")
                block.sample_rate, block.pts = 48000, start
                out.mux(sound.encode(block))
            out.mux(sound.encode(None))
    return path


def _audio_packets(path) -> list[tuple[bytes, Fraction]]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return [(bytes(p), p.pts * p.time_base) for p in container.demux(stream) if p.size]


def _frames(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255**2 / max(mse, 1e-10))


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_a_clip_upscaled_x2_keeps_its_frames_timing_and_audio(tmp_path, capsys):
    clip = make_clip(tmp_path / "clip.mp4")
    out = tmp_path / "out"
    assert main(["upscale", str(clip), "-o", str(out), "--model", "abpn-x2"]) == 0
    assert "written 1, skipped 0, failed 0" in capsys.readouterr().err
    assert _files(out) == ["clip.mp4"]  # no temporary file left beside it
    before, after = video.probe_video(clip), video.probe_video(out / "clip.mp4")
    assert (after.width, after.height) == (128, 96)
    assert (after.frames, after.rate) == (before.frames, before.rate) == (12, 24)
    assert after.duration == pytest.approx(before.duration, abs=1e-3)
    assert after.audio == ("aac",)
    assert _audio_packets(out / "clip.mp4") == _audio_packets(clip)  # remuxed, not re-encoded
    with av.open(str(out / "clip.mp4")) as result:
        stream = result.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.pix_fmt) == ("h264", "yuv420p")
    # Each frame is the model's upscale of the same input frame (up to H.264's loss), in order.
    model = load("abpn-x2")
    expected = [upscale(model, frame) for frame in _frames(clip)]
    for i, frame in enumerate(_frames(out / "clip.mp4")):
        scores = [_psnr(frame, e) for e in expected]
        assert int(np.argmax(scores)) == i and scores[i] > 35, (i, scores)


def test_a_container_without_h264_becomes_matroska_with_its_audio(tmp_path):
    # AVI with MPEG-4 video and PCM audio: Matroska holds both; the audio is copied as it is.
    clip = make_clip(tmp_path / "old.avi", frames=6, video_codec="mpeg4", audio="pcm_s16le")
    assert output_name(clip, "jpg") == "old.mkv"  # --format is for images
    out = tmp_path / "out"
    assert main(["upscale", str(clip), "-o", str(out), *BICUBIC]) == 0
    assert _files(out) == ["old.mkv"]
    result = video.probe_video(out / "old.mkv")
    assert (result.width, result.height, result.audio) == (128, 96, ("pcm_s16le",))
    assert len(_frames(out / "old.mkv")) == 6
    assert [data for data, _ in _audio_packets(out / "old.mkv")] == [
        data for data, _ in _audio_packets(clip)
    ]


def test_folders_take_videos_beside_images(tmp_path, capsys):
    make_clip(tmp_path / "in" / "a" / "clip.mov", frames=3, size=(16, 12), container="mov")
    Image.fromarray(_moving(0, 10, 8)).save(tmp_path / "in" / "still.png")
    (tmp_path / "in" / "notes.txt").write_text("not a picture")
    flat, tree = tmp_path / "flat", tmp_path / "tree"
    assert main(["upscale", str(tmp_path / "in" / "a"), "-o", str(flat), *BICUBIC]) == 0
    assert _files(flat) == ["clip.mov"]
    assert main(["upscale", str(tmp_path / "in"), "-o", str(tree), "-r", *BICUBIC]) == 0
    assert _files(tree) == ["a/clip.mov", "still.png"]
    assert "notes.txt" in capsys.readouterr().err


def _corrupt(path):
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, np.uint8).tobytes())


def _truncated(path):
    make_clip(path.with_name("whole.mp4"))
    path.write_bytes(path.with_name("whole.mp4").read_bytes()[:3000])
    path.with_name("whole.mp4").unlink()


def _audio_only(path):
    with av.open(str(path), "w", format="mp4") as out:
        sound = out.add_stream("aac", rate=48000)
        block = av.AudioFrame.from_ndarray(
            np.zeros((1, 4096), np.float32), format="fltp", layout="mono"
        )
        block.sample_rate, block.pts = 48000, 0
        out.mux(sound.encode(block))
        out.mux(sound.encode(None))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_corrupt, r"bad\.mp4 is not a video hubsr can read \("),
        (_truncated, r"bad\.mp4 is not a video hubsr can read \("),
        (_audio_only, r"bad\.mp4 holds no video stream"),
    ],
)
def test_a_bad_video_is_one_line_and_the_batch_goes_on(tmp_path, capsys, make, message):
    (tmp_path / "in").mkdir()
    make(tmp_path / "in" / "bad.mp4")
    Image.fromarray(_moving(0, 10, 8)).save(tmp_path / "in" / "good.png")
    out = tmp_path / "out"
    assert main(["upscale", str(tmp_path / "in"), "-o", str(out), *BICUBIC]) == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and "Traceback" not in err
    assert re.search(message, errors[0]), errors[0]
    assert "written 1, skipped 0, failed 1" in err
    assert _files(out) == ["good.png"]


def test_an_interrupted_video_leaves_no_file(tmp_path, monkeypatch):
    clip = make_clip(tmp_path / "clip.mp4", frames=8)
    done = []

    def stop_at_the_fifth_frame(model, pixels, **options):
        done.append(1)
        if len(done) == 5:
            raise KeyboardInterrupt
        return upscale(model, pixels, **options)

    monkeypatch.setattr(video, "upscale", stop_at_the_fifth_frame)
    out = tmp_path / "out"
    assert main(["upscale", str(clip), "-o", str(out), *BICUBIC]) == 130
    assert not out.exists() or not any(out.rglob("*"))  # neither the result nor a temporary


def test_crf_reaches_the_encoder(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", frames=4, audio=None)
    sizes = []
    for crf in ("0", "40"):
        out = tmp_path / f"crf{crf}"
        assert main(["upscale", str(clip), "-o", str(out), "--crf", crf, *BICUBIC]) == 0
        sizes.append((out / "clip.mp4").stat().st_size)
    assert sizes[1] < sizes[0] / 3


def test_bad_crf_and_oversized_frames_are_refused(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", frames=2, audio=None)
    model = load("bicubic", scale=2)
    with pytest.raises(HubSRError, match="crf must be an integer from 0 to 51"):
        video.upscale_video(model, clip, tmp_path / "x.mp4", crf=52)
    with pytest.raises(HubSRError, match=r"64x48 = 3,072 pixels per frame, more than"):
        video.upscale_video(model, clip, tmp_path / "x.mp4", max_pixels=3000)
    assert not (tmp_path / "x.mp4").exists()


def test_an_odd_size_is_cut_to_even_with_a_note(tmp_path, capsys):
    # 17x9 RGB frames (FFV1: lossless, any size) x3 = 51x27: yuv420p needs even sides.
    clip = make_clip(
        tmp_path / "odd.mkv", frames=3, size=(17, 9), audio=None, video_codec="ffv1",
        container="matroska", pix_fmt="bgr0",
    )  # fmt: skip
    out = tmp_path / "out"
    assert main(["upscale", str(clip), "-o", str(out), "--model", "bicubic", "--scale", "3"]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "note:" in line]
    assert len(notes) == 1 and "51x27 is cut to 50x26" in notes[0]
    result = video.probe_video(out / "odd.mkv")
    assert (result.width, result.height) == (50, 26)
    assert len(_frames(out / "odd.mkv")) == 3


def test_the_display_rotation_is_applied_to_the_pixels():
    pixels = np.arange(6, dtype=np.uint8).reshape(2, 3, 1)  # 2 rows, 3 columns
    # FFmpeg's rotation is counterclockwise; a phone held upright records -90 (clockwise).
    turned = video._upright(pixels, SimpleNamespace(rotation=-90))
    assert turned[..., 0].tolist() == [[3, 0], [4, 1], [5, 2]]
    assert video._upright(pixels, SimpleNamespace(rotation=0)) is pixels


def test_without_pyav_one_line_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)  # as if not installed: import fails
    with pytest.raises(HubSRError, match=r"needs PyAV: pip install 'hubsr\[video\]'"):
        video.check_video(tmp_path / "clip.mp4")


def test_importing_hubsr_and_its_cli_does_not_need_pyav():
    code = "import sys, hubsr, hubsr.cli; hubsr.cli.build_parser(); print('av' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
