"""Video source: probe a recording, then yield what the player shows at each sampled tick.

PyAV (FFmpeg) decodes every container a manager will have (mp4/m4v/mov, webm,
mkv, avi). Frames are converted straight to a small BGR image in the same step
(cheaper than converting at full size), and when the analysis rate is well below
the video's frame rate the decoder skips non-reference frames, which nothing
depends on, so only frames that could be sampled are decoded.

Time is the player's: the call clock starts at the container's start, not the
video stream's (a video track may start seconds after the audio), and the call
lasts as long as the container. A frame stays on screen until the next one, so
each tick of the analysis clock gets the last frame shown by then (held frames,
variable and very low frame rates); ticks before the first frame or after the
video's end show no video. What could not be read (damaged packets, a file cut
off before its stated end) is recorded in a `DecodeReport`, not raised: the
readable part is analysed and the call says what was lost.
"""

from __future__ import annotations

import math
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import av
import av.logging
import numpy as np

from config import VIDEO_EXTENSIONS_WORDS, Settings
from pipeline.errors import (CorruptVideo, EmptyFile, FileTooLarge, NoSuchFile, NotAVideo, StillImage, TooLong,
                             UnsupportedCodec)

LAST_SLIVER_S = 0.25
"""A last started second shorter than this gets no row of its own (audio often outlasts the picture by a few ms)."""
CUT_OFF_TOLERANCE_S = 0.5
"""A file whose data ends this much before its stated length was cut off while being written."""
TIMESTAMP_JITTER_S = 0.002
"""A frame stamped at most this long after a tick is that tick's picture: containers round presentation times
to their time base (WebM/Matroska 1 ms), so a frame meant for the tick can carry a stamp a hair after it. Any
later frame is not yet on screen. (Half a frame, as before, was 0.5 s at 1 frame/s: a new-user trial's face
came back, and was read, half a second before the player showed it.)"""
ENDED_EARLY_LOG = "File ended prematurely"
"""What FFmpeg's Matroska/WebM demuxer logs (as an error) when the file stops inside an element: a live WebM cut off
while being written, whose length the file never stated, so `CUT_OFF_TOLERANCE_S` cannot tell (a new-user trial's
half-uploaded browser recording was analysed as a complete 15-s call)."""
DAMAGE_MERGE_S = 1.0
"""Undecodable stretches closer than this are one damaged stretch (frames after a bad one fail until a keyframe)."""
BLANK_MAX_LEVEL = 24
"""Brightest value (0-255, any colour channel) of a picture that shows nothing: black, as recorders write before
anyone's video is on (a new-user trial: 12 s of black read as "face not seen", where "no video" means nothing on
screen). Encoded black decodes to 0-3 with H.264/VP8 noise; a face at 15% brightness still reaches ~40, and
any text or UI on a dark screen far more. Measured on the analysis canvas after scaling."""
PIXEL_ASPECT_RANGE = (0.25, 4.0)
"""Sample aspect ratios a file may state and be believed (`Display`); outside it (a muxer's garbage) pixels are square.
Real ones: DV 0.89 / 1.19 (NTSC) and 1.07 / 1.42 (PAL), HDV 1.33, 2:1 and 1:2 test pictures."""
READ_AHEAD_S = 5.0
"""`read_frames_at` decodes on to a frame at most this far after the previous one rather than seek: a seek
decodes from the keyframe before the time (recorders put one every 2-10 s), so nearby stills cost less read on."""
av.logging.set_level(av.logging.ERROR)  # FFmpeg's errors reach Python (`sample_frames` reads ENDED_EARLY_LOG)...
av.logging.set_skip_repeated(False)  # ...every time: the same message from an earlier read is not swallowed

STILL_IMAGE_FORMATS = ("image2", "_pipe", "gif", "apng", "webp")
"""FFmpeg demuxers of single pictures (`png_pipe`, `jpeg_pipe`, ...): an image renamed .mp4, not a recording."""
TEXT_FORMATS = ("tty", "bin", "xbin", "adf", "idf")
"""FFmpeg demuxers that render text files as a picture of the text (ANSI art: `.txt`, `.nfo`, `.asc`, `.ans`, ...):
a new-user trial's `readme.txt` was taken as a 10-s recording, stored, and failed at decoding."""


@dataclass(frozen=True)
class Display:
    """How a player shows a stored picture: turned `rotation` degrees counter-clockwise (a phone's display matrix),
    each stored pixel `pixel_aspect` times as wide as it is high (the sample aspect ratio of anamorphic video: DV's
    720x480 at 4:3, broadcast and some camera files). A new-user trial (30): a 640x720 picture at 2:1 read squeezed
    made the rep's neutral face "fear" 15 of 20 seconds and hid the prospect's smile."""

    rotation: int = 0
    pixel_aspect: float = 1.0

    def size(self, frame: av.VideoFrame) -> tuple[int, int]:
        """(width, height) of a decoded frame as displayed: pixel aspect applied, turned upright."""
        width = max(1, round(frame.width * self.pixel_aspect))
        return (frame.height, width) if self.rotation in (90, 270) else (width, frame.height)


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    container: str
    codec: str
    fps: float  # 29.97 stays 29.97
    duration_s: float  # the container's: what the player shows as the call's length
    width: int  # as displayed: pixel aspect applied, after rotation (`Display.size`)
    height: int
    rotation: int  # degrees counter-clockwise the stored picture is turned for display
    audio_codecs: tuple[str, ...]  # one per audio stream (the review player needs browser-playable ones)
    video_start_s: float = 0.0  # when the first frame is shown, on the call clock (a late video track: > 0)
    video_end_s: float | None = None  # where the video stream says it ends, on the call clock (None: the call's end)
    clock_origin_s: float = 0.0  # the container's start time: call time = stream time - this
    display_name: str = ""  # the name the user knows the file by (their upload's), for messages
    pixel_aspect: float = 1.0  # a stored pixel's displayed width / height (`Display`)
    pixel_format: str = "yuv420p"  # the first picture's, as FFmpeg names it ("yuvj420p", "yuv444p", "yuv420p10le", ...)
    length_stated: bool = True
    """The file states its length (an MP4's sample tables, a Matroska Duration). A live WebM states none, and a
    fragmented MP4 (browser recorders, OBS) has only the fragments FFmpeg read: `duration_s` is then how far the
    data goes, so a cut-off file cannot say what it lost (`pipeline.store.partial_note`)."""

    @property
    def display(self) -> Display:
        return Display(self.rotation, self.pixel_aspect)

    @property
    def n_seconds(self) -> int:
        """Length of the per-second timeline: one row per started second of the call."""
        return seconds_in(self.duration_s)

    @property
    def name(self) -> str:
        return self.display_name or self.path.name


def seconds_in(duration_s: float) -> int:
    """Rows of a call `duration_s` long: every started second, less a last sliver under `LAST_SLIVER_S`."""
    return max(1, math.ceil(duration_s - LAST_SLIVER_S))


NEW_CANVAS_ASPECT = 1.5
"""A picture whose shape (width / height) differs from the recording's first picture's by more than this factor is
shown on a canvas of its own shape (`canvas_for`): a phone turned mid-call (9:16 <-> 16:9, a factor of 3.2). Fitted
inside the first canvas, a turned picture is shown at a third of its area (a 1280x720 gallery at 640x360 inside
640x1138) and its faces are missed (new-user trial 29: both faces lost from the turn on). A WebRTC size step keeps
the shape, and 4:3 <-> 16:9 (1.33) stays on one canvas at most a quarter smaller."""


def _canvas_size(displayed: tuple[int, int], width: int | None) -> tuple[int, int]:
    """(width, height) a picture of `displayed` size is analysed at: scaled to `width` (enlarged too), even sides;
    None: its own size."""
    if not width or width == displayed[0]:
        return displayed
    return width // 2 * 2, max(2, round(displayed[1] * width / displayed[0] / 2) * 2)


def canvas_for(info: VideoInfo, displayed: tuple[int, int], width: int | None) -> tuple[int, int]:
    """(width, height) of the canvas a picture of `displayed` size is shown on: the first picture's
    (`_canvas_size` of the recording's size), so a WebRTC recording that starts at 320x180 and ramps up to 720p is
    analysed at one size throughout; a picture of another shape (`NEW_CANVAS_ASPECT`) gets its own. Analysis that
    keeps state between frames starts again where the canvas changes (`pipeline.analyze`). `width` None: the canvas
    on which this picture keeps its own size (for stills: a call that starts at 320x180 is shown at 720p later)."""
    first = _canvas_size((info.width, info.height), width or info.width)
    ratio = displayed[0] * first[1] / (displayed[1] * first[0])
    canvas = first if max(ratio, 1 / ratio) <= NEW_CANVAS_ASPECT else _canvas_size(displayed, width)
    if width:
        return canvas
    scale = _placement(displayed, canvas)[0]  # canvas pixels per picture pixel
    return _canvas_size(canvas, round(canvas[0] / scale))


def _placement(displayed: tuple[int, int], canvas: tuple[int, int]) -> tuple[float, int, int, int, int]:
    """(scale, x0, y0, width, height): a picture of `displayed` size fitted inside `canvas`, centred (canvas pixels
    per source pixel; where it sits and its size there, even sides). A picture of the canvas's shape (within the
    rounding of even sides) fills it."""
    scale = min(canvas[0] / displayed[0], canvas[1] / displayed[1])
    w, h = (max(2, round(side * scale / 2) * 2) for side in displayed)
    if abs(w - canvas[0]) <= 2 and abs(h - canvas[1]) <= 2:
        return scale, 0, 0, *canvas
    return scale, (canvas[0] - w) // 2, (canvas[1] - h) // 2, w, h


class SourcePicture:
    """One decoded picture at the recording's own resolution, turned upright and converted to BGR only if asked
    (`bgr`): for the rare steps that need a small face's own pixels (a filmstrip thumbnail's identity,
    `pipeline.people.IdentityWatch`; the small-face search along the edges, `model.detect.discover`). It holds the
    decoded frame (YUV: 1.4 MB at 720p) while it lives, and where it sits on the analysis canvas (`canvas_for`), so
    analysis boxes map to its pixels and back (`to_source`, `to_canvas`)."""

    def __init__(self, frame: av.VideoFrame, display: Display, canvas: tuple[int, int]):
        self._frame, self._display = frame, display
        displayed = display.size(frame)
        self.width = displayed[0]
        """Displayed width, source pixels."""
        scale, self._x0, self._y0, _, _ = _placement(displayed, canvas)
        self.scale = 1.0 / scale
        """Source pixels per analysis (canvas) pixel: this picture's own, as a recording's picture size can change."""

    def to_source(self, xyxy: np.ndarray) -> np.ndarray:
        """(N, 4) boxes in analysis (canvas) pixels -> the same boxes in this picture's pixels."""
        return (np.asarray(xyxy, np.float64) - [self._x0, self._y0, self._x0, self._y0]) * self.scale

    def to_canvas(self, points: np.ndarray) -> np.ndarray:
        """(..., 2) points (x, y) in this picture's pixels -> the same points in analysis (canvas) pixels."""
        return np.asarray(points, np.float64) / self.scale + [self._x0, self._y0]

    def bgr(self) -> np.ndarray:
        """(height, width, 3) uint8 BGR, upright."""
        return picture_bgr(self._frame, self._display, None)


@dataclass(frozen=True)
class SampledFrame:
    index: int  # sample number, 0-based
    t: float  # the tick: call-clock seconds at which the player shows this picture
    image: np.ndarray  # BGR uint8 at analysis size
    frame_t: float | None = None  # call-clock time the picture was first shown (<= t; earlier for a held frame)
    source: SourcePicture | None = None  # the same picture at the recording's resolution
    damaged: bool = False  # the tick falls in a stretch that could not be decoded: the picture is the last good one


@dataclass
class DecodeReport:
    """What reading a recording found, filled in by `sample_frames` as it goes (seconds on the call clock)."""

    shown_from_s: float | None = None  # the first frame's time
    shown_until_s: float | None = None  # the end of the last frame shown
    damaged: list[tuple[float, float]] = field(default_factory=list)  # (start, end) of unreadable video the player skips
    data_end_s: float | None = None  # where the file's data ends, when that is before its stated length (cut off)
    ticks: Counter[int] = field(default_factory=Counter)  # second -> ticks that showed a picture in it
    blank_ticks: Counter[int] = field(default_factory=Counter)  # second -> those whose picture was blank (black)

    def add_damage(self, start_s: float, end_s: float) -> None:
        if self.damaged and start_s - self.damaged[-1][1] < DAMAGE_MERGE_S:
            self.damaged[-1] = (self.damaged[-1][0], max(end_s, self.damaged[-1][1]))
        else:
            self.damaged.append((start_s, end_s))

    def video_present(self, n_seconds: int) -> np.ndarray:
        """(n_seconds,) bool: seconds during which the player shows a picture (held and damaged frames included) that
        is not blank at every sampled tick (`BLANK_MAX_LEVEL`)."""
        present = np.zeros(n_seconds, bool)
        if self.shown_from_s is not None and self.shown_until_s is not None:
            first = max(0, math.floor(self.shown_from_s))
            last = min(n_seconds, math.ceil(self.shown_until_s - LAST_SLIVER_S))
            present[first:max(first, last)] = True
        for second, blank in self.blank_ticks.items():
            if second < n_seconds and blank == self.ticks[second]:
                present[second] = False
        return present


MISSING_INDEX_LOG = "moov atom not found"
"""FFmpeg's words for an MP4 / MOV without its index (the "moov" box an app writes when it stops recording); it says
them of any file it reads as MP4 by its name, so the file's first box must say it is one (`MP4_FIRST_BOXES`)."""
MP4_FIRST_BOXES = (b"ftyp", b"wide", b"free", b"skip", b"mdat")
"""Types of the box an MP4 / MOV file starts with (bytes 4-8): ISO/IEC 14496-12's "ftyp", or older QuickTime's."""


def _open(path: Path, name: str):
    try:
        with av.logging.Capture() as ffmpeg_log:  # FFmpeg's own lines are not the user's message
            return av.open(str(path), metadata_errors="ignore")
    except av.error.InvalidDataError as error:
        # the decoder's own words ("Invalid data found when processing input") stay with the exception's cause
        with open(path, "rb") as head:
            mp4 = head.read(8)[4:] in MP4_FIRST_BOXES
        if mp4 and any(MISSING_INDEX_LOG in message for _, _, message in ffmpeg_log):
            raise CorruptVideo(f"{name}: the recording is incomplete: its index, which the app writes when recording "
                            "stops, is missing, so no player can read it. It was most likely cut off while being saved "
                            "or copied; upload the complete file as the call app saved it.") from error
        raise NotAVideo(f"{name}: not a video file Rapport can read: another kind of file, or a recording cut off "
                        "before its video began. Upload the recording as the call app saved it "
                        f"({VIDEO_EXTENSIONS_WORDS}).") from error
    except av.error.FFmpegError as error:
        raise CorruptVideo(f"{name}: could not open the recording ({error.strerror})") from error


def video_stream(container):
    """The recording's picture: the first video stream that is not cover art (an attached picture)."""
    return next((s for s in container.streams.video
                 if not s.disposition & av.stream.Disposition.attached_pic), None)


def probe(path: str | Path, max_bytes: int | None = None, *, display_name: str | None = None,
          max_pixels: int | None = None, max_duration_s: float | None = None) -> VideoInfo:
    """Read the container header and the first frame; raise an `InputError` saying what is wrong.

    Messages name `display_name` (the user's upload name; default: the file's). Size limits
    (`max_bytes`, `max_pixels` per frame) are checked before any frame is decoded, `max_duration_s` before
    any is sampled.
    """
    path = Path(path)
    name = display_name or path.name
    if path.is_dir():
        raise NotAVideo(f"{name}: is a folder, not a recording; give the recording's file")
    if not path.is_file():
        raise NoSuchFile(f"{name}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise EmptyFile(f"{name}: the file is empty (0 bytes)")
    if max_bytes is not None and size > max_bytes:
        raise FileTooLarge(f"{name}: {size / 2**20:.0f} MB is over the {max_bytes / 2**20:.0f} MB upload limit")
    with _open(path, name) as container:
        if any(part.endswith(STILL_IMAGE_FORMATS) for part in container.format.name.split(",")):
            raise StillImage(f"{name}: this is a still image, not a recording")
        if container.format.name in TEXT_FORMATS:
            raise NotAVideo(f"{name}: this is a text file, not a recording")
        stream = video_stream(container)
        if stream is None:
            raise NotAVideo(f"{name}: the file has no video stream (audio-only or not a recording)")
        if stream.codec_context is None:  # FFmpeg knows no decoder for the stream's codec tag
            raise UnsupportedCodec(f"{name}: cannot decode its video: the codec is not one FFmpeg supports")
        codec = stream.codec_context.codec.canonical_name  # "av1", not the decoder's "libdav1d"
        stored_w, stored_h = stream.codec_context.width, stream.codec_context.height
        if max_pixels is not None and stored_w * stored_h > max_pixels:
            widest = int((max_pixels * 16 / 9) ** 0.5) // 16 * 16  # the largest 16:9 picture allowed
            raise FileTooLarge(f"{name}: its picture is {stored_w}×{stored_h}, larger than Rapport analyses "
                               f"({max_pixels / 1e6:.1f} megapixels at most, e.g. {widest}×{widest * 9 // 16})")
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate:
            raise CorruptVideo(f"{name}: the video stream has no frame rate")
        try:
            first = next(container.decode(stream))
        except StopIteration:
            raise CorruptVideo(f"{name}: the video stream holds no decodable frame") from None
        except av.error.FFmpegError as error:
            raise UnsupportedCodec(f"{name}: cannot decode its {codec!r} video ({error.strerror})") from error
        origin = container.start_time / av.time_base if container.start_time is not None else 0.0
        origin = min(origin, _first_packet_time(path, name, origin))
        duration = _duration(container, stream, origin)
        if duration is None:
            raise CorruptVideo(f"{name}: the recording holds no timed frames")
        if max_duration_s is not None and duration > max_duration_s:
            raise TooLong(f"{name}: it is {_hms(duration)} long; Rapport analyses calls up to {_hms(max_duration_s)}")
        if duration <= 0:
            raise StillImage(f"{name}: this is a still image, not a recording")
        if container.format.name in TEXT_FORMATS:
            raise NotAVideo(f"{name}: this is a text file, not a recording")
        start = float(stream.start_time * stream.time_base) - origin if stream.start_time is not None else 0.0
        end = float((stream.start_time or 0) + stream.duration) * float(stream.time_base) - origin if stream.duration else None
        aspect = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio  # None: unknown, square
        display = Display(int(first.rotation or 0) % 360,
                          float(aspect) if aspect and PIXEL_ASPECT_RANGE[0] <= aspect <= PIXEL_ASPECT_RANGE[1] else 1.0)
        width, height = display.size(first)
        audio = tuple(s.codec_context.name for s in container.streams.audio if s.codec_context is not None)
        fragmented = "mp4" in container.format.name and not stream.frames  # no sample table: its fragments have it
        return VideoInfo(path, container.format.name, codec, float(rate), duration, width, height, display.rotation,
                         audio, video_start_s=max(0.0, start), video_end_s=end, clock_origin_s=origin,
                         display_name=name, length_stated=bool(container.duration) and not fragmented,
                         pixel_aspect=display.pixel_aspect, pixel_format=first.format.name)


def probe_upload(video: Path, display_name: str, settings: Settings) -> VideoInfo:
    """`probe` with the workspace's limits (`config.Settings`: size, picture, length); messages name `display_name`.

    Upload, re-analysis and the CLI's early check alike (it lives here, not in `pipeline.store`, so a bad file
    is refused without importing the analysis).
    """
    return probe(video, max_bytes=settings.max_upload_mb * 2**20, display_name=display_name,
                 max_pixels=settings.max_frame_pixels, max_duration_s=settings.max_call_minutes * 60)


def _hms(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _duration(container, stream, origin: float) -> float | None:
    """The call's length on the player's clock: the container's duration, else the video stream's, else (a live
    WebM without Duration or Cues) found by reading every packet's time. None if no packet has a time."""
    if container.duration:
        return container.duration / av.time_base
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if stream.frames and stream.average_rate:
        return float(stream.frames / stream.average_rate)
    return _scan_end(container, origin)


FIRST_PACKET_SCAN_S = 60.0
"""`_first_packet_time` stops reading this many seconds (stream clock) past the earliest packet it has seen: a stream
with no packet that early (an empty audio track) would otherwise make it read the whole file."""


def _first_packet_time(path: Path, name: str, known: float) -> float:
    """When the recording's audio or video starts (seconds, stream clock), or `known` if that is earlier.

    FFmpeg's probe reads only the first seconds of a file, so in a file that holds seconds of video before its first
    audio packet (a muxer that did not interleave; measured: the first audio packet of a generated WebM 10 s of video
    in, its audio from 0 and video from 3 s) it leaves the audio's start unknown (a live WebM) or takes the video's
    (a finished WebM or MKV: a new-user trial, 29, found the audio's start given as 2.5 s, the video's, though its
    first packet was at 0), and a late video track was shown from 0 s. Reads packets until each stream has one: at
    once in an interleaved file, `FIRST_PACKET_SCAN_S` of it at worst. Video packets are not decoded; an audio stream's
    first packets are, as its start is its first sample heard: the encoder's priming before it (AAC's 1,024 samples,
    Opus's pre-skip), stamped earlier, is discarded by every player."""
    earliest = known
    with _open(path, name) as container:
        streams = [s for s in (video_stream(container), *container.streams.audio) if s is not None]
        waiting = {s.index for s in streams}
        try:
            for packet in container.demux(streams):
                if packet.pts is None or not packet.time_base:
                    continue
                t = float(packet.pts * packet.time_base)
                if t > earliest + FIRST_PACKET_SCAN_S:
                    break
                if packet.stream.index not in waiting:
                    continue
                if packet.stream.type == "audio":
                    heard = [frame.time for frame in packet.decode() if frame.time is not None]
                    if not heard:
                        continue
                    t = heard[0]
                earliest = min(earliest, t)
                waiting.discard(packet.stream.index)
                if not waiting:
                    break
        except av.error.FFmpegError:
            pass  # a cut-off tail or an undecodable audio packet: what could be read
    return earliest


def _scan_end(container, origin: float) -> float | None:
    """End of the last packet of any stream, on the call clock (reads the whole file, decodes nothing)."""
    end = None
    try:
        for packet in container.demux():
            if packet.pts is not None and packet.time_base:
                t = float((packet.pts + (packet.duration or 0)) * packet.time_base) - origin
                end = t if end is None else max(end, t)
    except av.error.FFmpegError:
        pass  # a cut-off tail: the length is what could be read
    return end


def picture_bgr(frame: av.VideoFrame, display: Display, canvas: tuple[int, int] | None) -> np.ndarray:
    """(height, width, 3) uint8 BGR of `frame` as a player shows it on `canvas` (width, height): scaled in the same
    step as the conversion (pixel aspect applied), then turned upright. A picture of another shape (a WebRTC
    recording whose size changes with bandwidth, a phone turned mid-call) is fitted inside the canvas, centred on
    black. None: the picture's own displayed size."""
    displayed = display.size(frame)
    canvas = canvas or displayed
    _, x0, y0, w, h = _placement(displayed, canvas)
    stored = (h, w) if display.rotation in (90, 270) else (w, h)  # the size to convert at, before turning
    size = {} if stored == (frame.width, frame.height) else {"width": stored[0], "height": stored[1]}
    image = frame.to_ndarray(format="bgr24", **size)
    if display.rotation:
        image = np.ascontiguousarray(np.rot90(image, k=display.rotation // 90))
    if (w, h) == canvas:
        return image
    placed = np.zeros((canvas[1], canvas[0], 3), np.uint8)
    placed[y0 : y0 + h, x0 : x0 + w] = image
    return placed


def picture_yuv(frame: av.VideoFrame, display: Display, canvas: tuple[int, int]) -> av.VideoFrame:
    """`picture_bgr`'s picture as a yuv420p frame in the limited ("MPEG") range every player assumes of an untagged
    stream (one scaling step when it needs no turning or fitting). A full-range source (MJPEG, a yuvj420p phone
    recording) is converted, not copied: copied, its darks played darker (34 -> 21 grey levels, new-user trial 21's
    AVI)."""
    _, _, _, w, h = _placement(display.size(frame), canvas)
    if display.rotation == 0 and (w, h) == canvas:
        return frame.reformat(w, h, "yuv420p", src_color_range=frame.color_range, dst_color_range="MPEG")
    return av.VideoFrame.from_ndarray(picture_bgr(frame, display, canvas), format="bgr24").reformat(format="yuv420p")


class _Shown:
    """The frame on screen: converted to BGR only once, and only if a tick samples it."""

    def __init__(self, frame: av.VideoFrame, t: float, info: VideoInfo, width: int | None):
        canvas = canvas_for(info, info.display.size(frame), width)
        self.frame, self.t, self._args, self._image = frame, t, (info.display, canvas), None
        self.source = SourcePicture(frame, info.display, canvas)
        self.blank = False

    @property
    def image(self) -> np.ndarray:
        if self._image is None:
            self._image = picture_bgr(self.frame, *self._args)
            self.blank = int(self._image.max()) <= BLANK_MAX_LEVEL
        return self._image


@contextmanager
def _frame_threads(stream) -> Iterator:
    """`stream` decoded on FFmpeg's frame threads, which are drained on leaving, however early. Freeing a decoder
    waits for the frames still in its threads while holding Python's GIL, and a thread that logs (PyAV's log
    callback) waits for the GIL: a deadlock (PyAV issues #751, #909), which hung a test run. Readers stopped after
    their first frame (`/root/rapport-runs/s25/deadlock.py`, a loaded 2-core host) hung within 10-48 reads in three
    runs; drained, none in 2,400. A cancelled or failed analysis stops its reader early too. Draining lets the
    threads finish with the GIL released."""
    stream.thread_type = "AUTO"
    try:
        yield stream
    finally:
        try:
            for _ in stream.codec_context.decode(None):
                pass
        except av.error.FFmpegError:
            pass  # drained already (the whole file was read), or a damaged tail


def sample_frames(info: VideoInfo, rate: float = 4.0, width: int | None = 640,
                  report: DecodeReport | None = None) -> Iterator[SampledFrame]:
    """Yield what the player shows at every tick of `rate` per second of the call, each picture on its `canvas_for`.

    At each tick k/rate the picture is the last frame whose presentation time is at or before it
    (within `TIMESTAMP_JITTER_S`); a held frame is yielded again at every tick it stays on screen. When ticks are
    sparser than half the frame rate, non-reference frames are not decoded (the decode floor's speed): a tick then
    shows the last reference frame, at most the encoder's run of B-frames old (2-3 frames, ~0.1 s at 30 fps). Ticks
    before the first frame or after the video's end yield nothing (no video). Damaged packets are
    skipped (the last good frame stays on screen, `SampledFrame.damaged`) and a cut-off tail ends the video; both
    are recorded in `report`, if given.
    """
    if rate <= 0:
        raise ValueError("the analysis rate must be positive")
    report = report if report is not None else DecodeReport()
    step = 1.0 / rate
    n_ticks = max(1, math.ceil(info.duration_s * rate - 1e-6))
    with (_open(info.path, info.name) as container, av.logging.Capture() as ffmpeg_log,  # this thread's messages
          _frame_threads(video_stream(container)) as stream):
        if rate * 2 < info.fps:
            stream.codec_context.skip_frame = "NONREF"
        time_base = float(stream.time_base)
        origin = info.clock_origin_s
        shown: _Shown | None = None
        tick = index = 0
        data_end = 0.0
        bad: list[float] | None = None  # [start, end] of the current run of undecodable packets

        def until(limit: float) -> Iterator[SampledFrame]:
            """The shown frame at every tick before `limit`."""
            nonlocal tick, index
            while tick < n_ticks and tick * step < limit:
                if shown is not None:
                    damaged = bool(report.damaged) and report.damaged[-1][0] <= tick * step < report.damaged[-1][1]
                    sampled = SampledFrame(index, tick * step, shown.image, shown.t, shown.source, damaged)
                    second = int(sampled.t)
                    report.ticks[second] += 1
                    report.blank_ticks[second] += shown.blank
                    yield sampled
                    index += 1
                tick += 1

        packets = container.demux()
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.error.FFmpegError:
                break  # an unreadable tail: what came before is the recording
            if packet.pts is not None and packet.time_base and packet.size:
                data_end = max(data_end, float((packet.pts + (packet.duration or 0)) * packet.time_base) - origin)
            if packet.stream.index != stream.index:
                continue
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                if packet.pts is not None:
                    start = float(packet.pts * time_base) - origin
                    end = start + (float(packet.duration * time_base) if packet.duration else 1.0 / info.fps)
                    bad = [min(bad[0], start), max(bad[1], end)] if bad else [start, end]
                continue
            for frame in frames:
                if frame.pts is None:
                    continue
                t = float(frame.pts * time_base) - origin
                if shown is not None and t <= shown.t:
                    continue
                if bad is not None:
                    report.add_damage(*bad)
                    bad = None
                if shown is None:  # the picture starts where the stream says it does (AVI's first pts is a guess)
                    report.shown_from_s = min(t, info.video_start_s)
                    yield from until(report.shown_from_s - TIMESTAMP_JITTER_S)  # no video yet: ticks pass, nothing shown
                    shown = _Shown(frame, report.shown_from_s, info, width)
                yield from until(t - TIMESTAMP_JITTER_S)
                shown = _Shown(frame, t, info, width)
                last_duration = float(frame.duration * time_base) if frame.duration else 1.0 / info.fps
        if shown is None:
            raise CorruptVideo(f"{info.name}: no frame of its video could be decoded")
        cut_off = (data_end < info.duration_s - CUT_OFF_TOLERANCE_S
                   or any(ENDED_EARLY_LOG in message for _, _, message in ffmpeg_log))
        if bad is not None and not cut_off:  # damage at the very end of a complete file
            report.add_damage(*bad)
        end = max(shown.t + last_duration, info.video_end_s or info.duration_s)
        if cut_off:
            report.data_end_s = data_end
            end = min(end, data_end)
        report.shown_until_s = min(end, info.duration_s)
        yield from until(report.shown_until_s)


def read_frames_at(path: str | Path, times: list[float], width: int | None = None, *,
                   display_name: str | None = None) -> Iterator[np.ndarray]:
    """The BGR frames the player shows at each of `times` (call-clock seconds): one probe and one open file
    for all of them. A time up to `READ_AHEAD_S` after the previous one is reached by decoding on; any
    other is reached by a seek to the keyframe before it (which decodes from there). Undecodable packets are
    skipped, as `sample_frames` does; a time inside damage that reaches back past its keyframe gets the first good
    picture after it (new-user trial 34: a still at 11.5 s of a damaged WebM failed the whole analysis, "no frame at
    11.5 s"). Raises `CorruptVideo` (naming `display_name`, default the file's name) only when no picture is left."""
    info = probe(path, display_name=display_name)
    with _open(info.path, info.name) as container:
        stream = video_stream(container)
        frames: Iterator[tuple[av.VideoFrame, float]] | None = None
        last = upcoming = None  # (frame, call-clock time): the latest frame decoded at or before the previous time, the one after
        previous_t = -math.inf
        for t in times:
            if frames is None or not previous_t <= t <= previous_t + READ_AHEAD_S:
                container.seek(int((t + info.clock_origin_s) / stream.time_base), stream=stream, backward=True)
                frames = _timed_frames(container, stream, info.clock_origin_s)
                last, upcoming = None, next(frames, None)
            while upcoming is not None and (last is None or upcoming[1] <= t + TIMESTAMP_JITTER_S):
                last, upcoming = upcoming, next(frames, None)  # a cut-off tail ends it: the last good one is shown
            if last is None:
                raise CorruptVideo(f"{info.name}: no picture could be decoded at or after {t:.1f} s")
            previous_t = t
            yield picture_bgr(last[0], info.display, canvas_for(info, info.display.size(last[0]), width))


def _timed_frames(container, stream, origin: float) -> Iterator[tuple[av.VideoFrame, float]]:
    """Decoded frames with their call-clock times, from the container's position until the end or an unreadable
    tail; packets that cannot be decoded (damage) are skipped."""
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except (StopIteration, av.error.FFmpegError):
            return
        for frame in decoded(packet):
            if frame.pts is not None:
                yield frame, float(frame.pts * stream.time_base) - origin


def decoded(packet: av.Packet) -> list[av.VideoFrame]:
    """The packet's frames; none where it is damaged (skipped as a player skips it, its complaints kept off the
    terminal: they are not the user's message)."""
    try:
        with av.logging.Capture():
            return packet.decode()
    except av.error.FFmpegError:
        return []


def read_frame_at(path: str | Path, t: float, width: int | None = None) -> np.ndarray:
    """The BGR frame shown at time `t`."""
    return next(read_frames_at(path, [t], width))
