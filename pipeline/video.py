"""Video source: probe a recording, then yield sampled frames with exact timestamps.

PyAV (FFmpeg) decodes every container a manager will have (mp4/m4v/mov, webm,
mkv, avi). Frames are converted straight to a small BGR image in the same step
(cheaper than converting at full size), and when the analysis rate is well below
the video's frame rate the decoder skips non-reference frames, which nothing
depends on, so only frames that could be sampled are decoded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from pipeline.errors import CorruptVideo, EmptyFile, FileTooLarge, NotAVideo, UnsupportedCodec


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    container: str
    codec: str
    fps: float  # 29.97 stays 29.97
    duration_s: float
    width: int  # as displayed, i.e. after rotation
    height: int
    rotation: int  # degrees counter-clockwise the stored picture is turned for display
    audio_codecs: tuple[str, ...]  # one per audio stream (the review player needs browser-playable ones)

    @property
    def n_seconds(self) -> int:
        """Length of the per-second timeline: one row per started second (a last sliver under half a frame does not count)."""
        return seconds_in(self.duration_s, self.fps)


def seconds_in(duration_s: float, fps: float) -> int:
    return max(1, math.ceil(duration_s - 0.5 / fps))


@dataclass(frozen=True)
class SampledFrame:
    index: int  # sample number, 0-based
    t: float  # presentation time in seconds from the start of the video
    image: np.ndarray  # BGR uint8 at analysis size


def _open(path: Path):
    try:
        return av.open(str(path), metadata_errors="ignore")
    except av.error.InvalidDataError as error:
        raise NotAVideo(f"{path.name}: not a video file FFmpeg can read, or it is truncated ({error.strerror})") from error
    except av.error.FFmpegError as error:
        raise CorruptVideo(f"{path.name}: could not open the recording ({error})") from error


def probe(path: str | Path, max_bytes: int | None = None) -> VideoInfo:
    """Read the container header and the first frame; raise an `InputError` saying what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise NotAVideo(f"{path}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise EmptyFile(f"{path.name}: the file is empty (0 bytes)")
    if max_bytes is not None and size > max_bytes:
        raise FileTooLarge(f"{path.name}: {size / 2**20:.0f} MB is over the {max_bytes / 2**20:.0f} MB upload limit")
    with _open(path) as container:
        if not container.streams.video:
            raise NotAVideo(f"{path.name}: the file has no video stream (audio-only or not a recording)")
        stream = container.streams.video[0]
        if stream.codec_context is None:  # FFmpeg knows no decoder for the stream's codec tag
            raise UnsupportedCodec(f"{path.name}: cannot decode its video: the codec is not one FFmpeg supports")
        codec = stream.codec_context.name
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate:
            raise CorruptVideo(f"{path.name}: the video stream has no frame rate")
        try:
            first = next(container.decode(stream))
        except StopIteration:
            raise CorruptVideo(f"{path.name}: the video stream holds no decodable frame") from None
        except av.error.FFmpegError as error:
            raise UnsupportedCodec(f"{path.name}: cannot decode its {codec!r} video ({error})") from error
        duration = _duration(container, stream)
        rotation = int(first.rotation or 0) % 360
        width, height = first.width, first.height
        if rotation in (90, 270):
            width, height = height, width
        audio = tuple(s.codec_context.name for s in container.streams.audio if s.codec_context is not None)
        return VideoInfo(path, container.format.name, codec, float(rate), duration, width, height, rotation, audio)


def _duration(container, stream) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    if stream.frames and stream.average_rate:
        return float(stream.frames / stream.average_rate)
    raise CorruptVideo(f"{container.name}: the recording does not say how long it is")


def _to_bgr(frame: av.VideoFrame, rotation: int, width: int | None) -> np.ndarray:
    """Convert (and downscale in the same step) to BGR, then turn upright."""
    displayed_width = frame.height if rotation in (90, 270) else frame.width
    if width and displayed_width > width:
        scale = width / displayed_width
        size = {"width": round(frame.width * scale) // 2 * 2, "height": round(frame.height * scale) // 2 * 2}
    else:
        size = {}
    image = frame.to_ndarray(format="bgr24", **size)
    if rotation:
        image = np.ascontiguousarray(np.rot90(image, k=rotation // 90))
    return image


def sample_frames(info: VideoInfo, rate: float = 4.0, width: int | None = 640) -> Iterator[SampledFrame]:
    """Yield frames at `rate` per second (the first frame at or after each tick), resized to `width`."""
    if rate <= 0:
        raise ValueError("the analysis rate must be positive")
    with _open(info.path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if rate * 2 < info.fps:
            stream.codec_context.skip_frame = "NONREF"
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        step = 1.0 / rate
        next_tick, index = 0.0, 0
        half_frame = 0.5 / info.fps
        try:
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                t = float(frame.pts * stream.time_base) - start
                if t + half_frame < next_tick:
                    continue
                yield SampledFrame(index, t, _to_bgr(frame, info.rotation, width))
                index += 1
                next_tick = (math.floor((t + half_frame) / step + 1e-6) + 1) * step
        except av.error.FFmpegError as error:
            raise CorruptVideo(f"{info.path.name}: the recording is corrupt at {next_tick:.1f} s ({error})") from error


def read_frames_at(path: str | Path, times: list[float], width: int | None = None) -> Iterator[np.ndarray]:
    """The BGR frames shown at each of `times`: one probe and one open file for all of them
    (seek to the keyframe before each time, decode forward)."""
    info = probe(path)
    with _open(info.path) as container:
        stream = container.streams.video[0]
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        for t in times:
            container.seek(int((t + start) / stream.time_base), stream=stream, backward=True)
            last = None
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                if last is not None and float(frame.pts * stream.time_base) - start > t + 0.5 / info.fps:
                    break
                last = frame
            if last is None:
                raise CorruptVideo(f"{info.path.name}: no frame at {t:.1f} s")
            yield _to_bgr(last, info.rotation, width)


def read_frame_at(path: str | Path, t: float, width: int | None = None) -> np.ndarray:
    """The BGR frame shown at time `t`."""
    return next(read_frames_at(path, [t], width))
