"""Upscale video files: decode the frames, upscale each through :func:`hubsr.pipeline.upscale`
(the model, tiles and precision of an image), encode them, and copy the audio as it is.

    hubsr upscale clip.mp4 -o big/ --model abpn-x2

Needs PyAV (``pip install hubsr[video]``), imported only when a video is read: the rest of
hubsr works without it. The video is written as H.264 (libx264, ``yuv420p``, ``crf`` for the
quality: 0 lossless, 18 the default and close to it, 23 libx264's own default, 51 the
worst) under the input's name: ``.mp4``, ``.m4v``, ``.mov`` and ``.mkv`` keep their container,
others (``.webm``, ``.avi``) become ``.mkv``, which holds H.264 and any audio. Every frame keeps
its timestamp, so the frame rate (constant or variable), the frame count and the duration are
the input's. Audio streams are remuxed packet for packet, never re-encoded; subtitle and data
streams are left out. A display rotation (phone videos) is applied to the pixels once, as the
EXIF orientation of a photo. The colour matrix and range of the input are kept for the
conversion to RGB and back, and tagged on the output.

The result is written to a hidden temporary file beside it and renamed into place when
complete (:mod:`hubsr.atomic`): a failed, interrupted or killed run leaves no partial video
under the result's name. Every problem with the input (not a video, corrupt, no video stream,
an audio codec the container cannot hold) is a one-line :class:`~hubsr.errors.HubSRError`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .atomic import atomic_file
from .errors import HubSRError
from .imageio import DEFAULT_MAX_PIXELS
from .pipeline import upscale

__all__ = [
    "DEFAULT_CRF",
    "VIDEO_SUFFIXES",
    "VideoInfo",
    "add_video_arguments",
    "check_video",
    "is_video",
    "probe_video",
    "upscale_video",
    "upscale_video_file",
    "video_output_name",
]

# Files taken as videos, by suffix (any case), in folders as well as when named. (.mpg is
# left out: Pillow claims it as an image format.)
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi")
# The containers a result keeps (FFmpeg's muxer for each); any other input becomes Matroska.
_MUXERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
_FALLBACK_SUFFIX = ".mkv"
DEFAULT_CRF = 18  # libx264's scale: 0 lossless .. 51; 18 is close to lossless to the eye
_CODEC, _PIXEL_FORMAT = "libx264", "yuv420p"  # what every player and browser decodes
_INSTALL = "reading videos needs PyAV: pip install 'hubsr[video]' (or pip install av)"


def is_video(path: str | Path) -> bool:
    """Whether ``path`` is taken as a video (by its suffix: :data:`VIDEO_SUFFIXES`)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def video_output_name(src: Path) -> str:
    """The result's file name: ``src``'s own if its container is kept, else ``STEM.mkv``."""
    return src.name if src.suffix.lower() in _MUXERS else src.stem + _FALLBACK_SUFFIX


@dataclass(frozen=True)
class VideoInfo:
    """What a video holds, as far as the result must keep it."""

    width: int
    height: int
    frames: int  # from the container's header; 0 where it does not say (e.g. Matroska)
    rate: Fraction  # frames per second (the average, for a variable frame rate)
    duration: float  # seconds (0.0 where the container does not say)
    audio: tuple[str, ...]  # the codec of each audio stream

    def __str__(self) -> str:
        audio = f", audio {'+'.join(self.audio)}" if self.audio else ", no audio"
        return (
            f"{self.width}x{self.height}, {self.frames} frames at {float(self.rate):.3g} fps, "
            f"{self.duration:.2f} s{audio}"
        )


def _av():
    try:
        import av
    except ImportError:
        raise HubSRError(_INSTALL) from None
    return av


def _open(src: Path):
    """``src`` opened for reading, and its first video stream; a one-line error otherwise."""
    av = _av()
    if not src.is_file():
        raise HubSRError(f"{src} does not exist" if not src.exists() else f"{src} is not a file")
    try:
        container = av.open(str(src), metadata_errors="replace")
    except av.FFmpegError as exc:
        raise HubSRError(f"{src} is not a video hubsr can read ({_reason(exc)})") from None
    if not container.streams.video:
        container.close()
        raise HubSRError(f"{src} holds no video stream")
    return container, container.streams.video[0]


def _reason(exc: Exception) -> str:
    """FFmpeg's words for ``exc``, without the file name PyAV adds."""
    return getattr(exc, "strerror", None) or str(exc).splitlines()[0]


def _info(container, stream) -> VideoInfo:
    rate = stream.average_rate or stream.guessed_rate or Fraction(0)
    if stream.duration is not None and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    else:  # the container's, in microseconds
        duration = (container.duration or 0) / 1_000_000
    codec = stream.codec_context
    audio = tuple(a.codec_context.name for a in container.streams.audio)
    return VideoInfo(codec.width, codec.height, stream.frames, Fraction(rate), duration, audio)


def probe_video(src: str | Path) -> VideoInfo:
    """Read ``src``'s header only (no frame is decoded)."""
    src = Path(src)
    container, stream = _open(src)
    with container:
        return _info(container, stream)


def check_video(src: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> None:
    """Refuse ``src`` now, from its header, if it is no readable video or its frames have more
    than ``max_pixels`` pixels (``None`` or 0: no limit)."""
    info = probe_video(src)
    if not info.width or not info.height:
        raise HubSRError(f"{src}: its video stream says no frame size; the file may be damaged")
    if max_pixels and info.width * info.height > max_pixels:
        raise HubSRError(
            f"{src} has {info.width}x{info.height} = {info.width * info.height:,} pixels per "
            f"frame, more than --max-pixels {max_pixels:,}; raise --max-pixels (0: no limit)"
        )


def upscale_video(
    model,
    src: str | Path,
    dst: str | Path,
    *,
    crf: int = DEFAULT_CRF,
    tile: int | None = None,
    tile_overlap: int = 32,
    tta: bool = False,
    device=None,
    dtype=None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    memory_budget: int | str | None = None,
    progress: bool = True,
) -> int:
    """Upscale every frame of the video ``src`` with ``model`` and write the result to ``dst``
    (its suffix picks the container: .mp4, .m4v, .mov or .mkv), the audio copied.

    ``tile``, ``tile_overlap``, ``tta``, ``device``, ``dtype``, ``memory_budget`` and
    ``max_pixels`` (per frame) are as for :func:`hubsr.pipeline.upscale`; ``crf`` is libx264's
    quality (0..51, lower is better); ``progress`` shows a tqdm bar in frames. Returns the
    number of frames written.

    Raises:
        HubSRError: ``src`` is no readable video, is corrupt, has frames over ``max_pixels``;
            an audio codec the container of ``dst`` cannot hold; a bad ``crf``. Nothing is left
            at ``dst`` then (nor while it is written: see :mod:`hubsr.atomic`).
    """
    src, dst = Path(src), Path(dst)
    if not isinstance(crf, int) or isinstance(crf, bool) or not 0 <= crf <= 51:
        raise HubSRError(f"crf must be an integer from 0 to 51, got {crf!r}")
    muxer = _MUXERS.get(dst.suffix.lower())
    if muxer is None:
        raise HubSRError(f"cannot write {dst}: a video result ends in {', '.join(_MUXERS)}")
    check_video(src, max_pixels)
    av = _av()
    frame_options = dict(
        tile=tile,
        tile_overlap=tile_overlap,
        tta=tta,
        device=device,
        dtype=dtype,
        max_pixels=None,  # checked once, from the header
        memory_budget=memory_budget,
    )
    container, stream = _open(src)
    with container, atomic_file(dst) as tmp:
        stream.thread_type = "AUTO"  # decode on every core: the model is the slow part anyway
        info = _info(container, stream)  # Matroska gives no frame count: from the duration
        total = info.frames or round(info.duration * info.rate) or None
        bar = tqdm(total=total, desc=src.name, unit="frame", leave=False, disable=not progress)
        try:
            with av.open(str(tmp), mode="w", format=muxer) as output:
                writer = _Writer(av, output, container, stream, model.scale, crf)
                for packet in container.demux(stream, *container.streams.audio):
                    if packet.stream.type == "audio":
                        writer.copy(packet)
                        continue
                    for frame in packet.decode():
                        pixels = _upright(_rgb(frame), frame)
                        writer.write(upscale(model, pixels, **frame_options), frame)
                        bar.update()
                writer.finish()
        except av.FFmpegError as exc:
            raise HubSRError(f"{src}: {_ffmpeg_failure(exc)}") from None
        finally:
            bar.close()
        if writer.count == 0:
            raise HubSRError(f"{src}: its video stream holds no frame")
    return writer.count


def _ffmpeg_failure(exc: Exception) -> str:
    """One line for an FFmpeg error while reading or writing."""
    return f"FFmpeg: {_reason(exc)} (a damaged file, or a codec this build cannot handle)"


def _rgb(frame) -> np.ndarray:
    """A decoded frame as ``HxWx3`` ``uint8`` RGB, by its own colour matrix and range."""
    return frame.reformat(format="rgb24", src_color_range=frame.color_range).to_ndarray()


def _upright(pixels: np.ndarray, frame) -> np.ndarray:
    """The pixels turned as the display matrix says (``rotation``: degrees counterclockwise),
    so that the result, which carries no matrix, shows the way the input did."""
    turns = round((frame.rotation or 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(pixels, turns)) if turns else pixels


class _Writer:
    """The output container: an H.264 stream for the upscaled frames, and a copy of each audio
    stream of the input."""

    def __init__(self, av, output, container, stream, scale: int, crf: int):
        self.av, self.output, self.count = av, output, 0
        codec = stream.codec_context
        self.colour = dict(
            dst_colorspace=codec.colorspace or None, dst_color_range=codec.color_range or None
        )
        # Made at the first frame, whose size after rotation is the stream's; no packet may be
        # muxed before (a stream added after the header is written crashes FFmpeg), so the
        # audio that comes first waits in ``pending``.
        self.video = None
        self.pending = []
        self.stream, self.scale, self.crf = stream, scale, crf
        self.audio = {}
        for audio in container.streams.audio:
            out = output.add_stream_from_template(audio)
            out.metadata.update(audio.metadata)  # the language, the title
            self.audio[audio.index] = out
        output.metadata.update(container.metadata)

    def _open_video(self, height: int, width: int) -> None:
        if height % 2 or width % 2:  # yuv420p has one colour sample per 2x2 pixels
            warnings.warn(
                f"{width}x{height} is cut to {width - width % 2}x{height - height % 2}: H.264 "
                "in yuv420p needs an even width and height",
                stacklevel=3,
            )
        video = self.output.add_stream(_CODEC, options={"crf": str(self.crf)})
        video.width, video.height = width - width % 2, height - height % 2
        video.pix_fmt = _PIXEL_FORMAT
        video.time_base = self.stream.time_base  # every frame keeps its own timestamp
        codec, source = video.codec_context, self.stream.codec_context
        codec.time_base = self.stream.time_base
        codec.framerate = self.stream.average_rate or self.stream.guessed_rate
        for tag in ("colorspace", "color_range", "color_primaries", "color_trc"):
            setattr(codec, tag, getattr(source, tag))
        self.video = video
        for packet in self.pending:
            self.output.mux(packet)
        self.pending.clear()

    def write(self, pixels: np.ndarray, source_frame) -> None:
        if self.video is None:
            self._open_video(*pixels.shape[:2])
        pixels = pixels[: self.video.height, : self.video.width]
        frame = self.av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
        frame = frame.reformat(format=_PIXEL_FORMAT, **self.colour)
        frame.pts, frame.time_base = source_frame.pts, source_frame.time_base
        frame.duration = source_frame.duration
        self.output.mux(self.video.encode(frame))
        self.count += 1

    def copy(self, packet) -> None:
        if packet.dts is None:  # the demuxer's flush packet, no data
            return
        packet.stream = self.audio[packet.stream.index]
        if self.video is None:
            self.pending.append(packet)
        else:
            self.output.mux(packet)

    def finish(self) -> None:
        if self.video is not None:
            self.output.mux(self.video.encode(None))  # the frames the encoder still holds


def add_video_arguments(parser) -> None:
    """The options of ``hubsr upscale`` that only videos take."""
    parser.add_argument(
        "--crf",
        type=int,
        default=DEFAULT_CRF,
        metavar="N",
        help=f"video quality, 0 (lossless) to 51 (H.264's CRF; default {DEFAULT_CRF}: close "
        "to lossless to the eye, 23: smaller files)",
    )


def upscale_video_file(model, src: Path, dst: Path, args, device, max_pixels) -> None:
    """``hubsr upscale``'s work on one video: the command's options, a bar in frames."""
    upscale_video(
        model,
        src,
        dst,
        crf=getattr(args, "crf", DEFAULT_CRF),
        tile=args.tile,
        tile_overlap=args.tile_overlap,
        tta=args.tta,
        device=device,
        dtype=args.dtype,
        max_pixels=max_pixels,
        memory_budget=getattr(args, "memory_budget", None),
    )
