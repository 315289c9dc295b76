"""A copy of the recording that every browser plays, for calls whose upload it cannot.

Rapport accepts what call recorders write (mp4, mov, webm, mkv, avi), but browsers only
play H.264/AV1 in MP4 and VP8/VP9/AV1 in WebM. An AVI, an HEVC .mov or an H.264 .mkv would
leave the review page without a player, and a file that states no length (a browser's live WebM:
MediaRecorder writes no Duration or Cues; a fragmented MP4) plays with an endless time bar that
cannot be dragged (a new-user trial, 11: "0:00" and no total on a Chrome recording). For those the
analysis job writes a copy beside the call's other renders (`config.review_copy_path`):
- a picture a browser plays (H.264, VP8, VP9, AV1; 8-bit 4:2:0) in another container (H.264 or VP9 in MKV) or with no stated
  length: its packets as they are, remuxed into that codec's family's container (`review.mp4` or `review.webm`),
  which then states its length and indexes its keyframes, with the sound copied, or encoded again (AAC, Opus) where
  the family does not play it: 0.02 s for a minute of 1366x768 H.264 in MKV, against 17.7 s to transcode it (new-user
  trial 21: the copy took 40-78% of each analysis);
- else (HEVC, MJPEG, MPEG-4, anything in AVI, High 4:4:4 or 10-bit, or a picture the player would have to turn):
  `review.mp4`, H.264 + AAC 480 lines high.
Every MP4 copy has its moov atom first, so it starts at once. Playable uploads are left alone
(no time spent, nothing stored twice). A damaged stretch (packets that do not decode) is skipped as the analysis skips
it (`pipeline.video.sample_frames`): the last good picture stays on screen, and FFmpeg's own complaints stay off the
terminal (new-user trial 21: an AVI with a corrupt middle lost its whole player, with 26 lines of "No JPEG data found
in image" and a traceback).
"""

from __future__ import annotations

import heapq
from collections import deque
from pathlib import Path

import av

from pipeline.liveness import PARTIAL_INFIX
from pipeline.video import VideoInfo, decoded, picture_yuv, video_stream

SHORT_SIDE = 480
"""Pixels along the copy's shorter side: faces stay readable in a player a third of the page wide (1280x720 -> 854x480).
A portrait phone recording keeps 480 across: held to 480 lines high it was 270x480, blurry in the player (new-user
trial 14)."""
CRF = 28  # x264 constant quality (lower is better and larger)
PRESET = "veryfast"  # x264 speed: ~2x "medium" for a slightly larger file
AUDIO_RATE = 48_000
AUDIO_BIT_RATE = 96_000

# What a browser plays, per container family FFmpeg reports (`VideoInfo.container` lists aliases:
# "mov,mp4,..." for both MP4 and QuickTime, "matroska,webm" for both Matroska and WebM).
PLAYABLE = {
    "mp4": ({"h264", "av1"}, {"aac", "mp3"}),
    "webm": ({"vp8", "vp9", "av1"}, {"opus", "vorbis"}),
}


REMUXED_PIXEL_FORMATS = ("yuv420p", "yuvj420p")
"""Pictures whose packets a copy keeps: 8-bit 4:2:0. Browsers decode no H.264 High 4:4:4 or High 10 (a code review found
a yuv444p MKV remuxed into an MP4 no browser plays)."""
AUDIO_ENCODERS = {"mp4": "aac", "webm": "libopus"}
REORDER_FRAMES = 4
"""Decoded pictures a transcode holds back to give them their times in order: the smallest time label among them goes
to the next picture out. An AVI keeps no presentation times, and FFmpeg labels its H.264 pictures in decode order
(1, 3, 4, 2, 6, 7, 5, ... at one B-frame), which an MP4 refuses ("non monotonically increasing dts"): a code review's
H.264 AVI got no copy. Pictures with times in order pass unchanged."""
"""What a remux encodes the sound as where the copy's family does not play the upload's (AAC beside VP9 in an MKV)."""


def _playable_family(info: VideoInfo) -> str | None:
    """The container family ("mp4", "webm") whose browsers play `info`'s codecs, as its container is one; else None."""
    families = set(info.container.split(","))
    return next((family for family, (video_codecs, audio_codecs) in PLAYABLE.items()
                 if family in families and info.codec in video_codecs and set(info.audio_codecs) <= audio_codecs), None)


def browser_plays(info: VideoInfo) -> bool:
    """True when the upload itself can go to the player: a container and codecs every browser handles, and a length
    the player can show (`VideoInfo.length_stated`)."""
    return info.length_stated and _playable_family(info) is not None


def _remux_family(info: VideoInfo) -> str | None:
    """The family to remux `info` into when its picture's packets can be kept as they are (a codec a browser plays,
    its own container's family first; an upright 8-bit 4:2:0 picture of square pixels: a remux keeps no rotation the
    player would honour, not every player honours a stored pixel aspect, and `REMUXED_PIXEL_FORMATS`; not from an AVI,
    whose H.264 copied came out a frame off); None: transcode."""
    if (info.rotation != 0 or info.pixel_aspect != 1.0 or info.pixel_format not in REMUXED_PIXEL_FORMATS
            or "avi" in info.container.split(",")):  # AVI keeps no presentation times: FFmpeg's guesses moved B-frames
        return None
    families = [family for family, (video_codecs, _) in PLAYABLE.items() if info.codec in video_codecs]
    own = set(info.container.split(","))
    return next((family for family in families if family in own), families[0] if families else None)


def copy_suffix(info: VideoInfo) -> str:
    """The suffix (`config.REVIEW_COPY_SUFFIXES`) of `info`'s playable copy: ".webm" for a remuxed WebM, else ".mp4"."""
    return ".webm" if _remux_family(info) == "webm" else ".mp4"


def write_review_copy(info: VideoInfo, target: Path) -> Path:
    """Write `info`'s playable copy to `target` (its suffix from `copy_suffix`) under a temporary name and rename it,
    so a reader never sees half a file. A remux keeps every packet; a transcode (H.264 + AAC MP4) writes every
    picture as a player shows it (`pipeline.video.picture_yuv`:
    turned upright, pixel aspect applied, one of another shape fitted inside, never stretched), `SHORT_SIDE` pixels
    along its shorter side at the first picture's shape: a smaller first picture is enlarged, as a WebRTC recording that starts at
    320x180 is 720p seconds later (a new-user trial, 30: its whole copy was 320x180)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(PARTIAL_INFIX + target.suffix)
    family = _remux_family(info)
    try:
        if family is not None:
            _remux(info, partial, family)
        else:
            scale = SHORT_SIDE / min(info.width, info.height)
            _transcode(info, partial, round(info.width * scale / 2) * 2, round(info.height * scale / 2) * 2)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    return target


def _remux(info: VideoInfo, path: Path, family: str) -> None:
    """Copy the picture's packets, timestamps unchanged, and the first audio stream's (encoded again as
    `AUDIO_ENCODERS` says where `family` does not play it) into a new `family` container."""
    options = {"movflags": "+faststart"} if family == "mp4" else {}
    with (av.logging.Capture(local=False), av.open(str(info.path), metadata_errors="ignore") as source,
          av.open(str(path), "w", format=family, options=options) as out):
        video_in, audio_in = video_stream(source), _audio_stream(source)
        # opaque: the packets' codec as it is (by its decoder's name a template would look for an AV1 encoder "libdav1d")
        into = {video_in.index: out.add_stream_from_template(video_in, opaque=True)}
        sound = None
        if audio_in is not None and audio_in.codec_context.name in PLAYABLE[family][1]:
            into[audio_in.index] = out.add_stream_from_template(audio_in, opaque=True)
        elif audio_in is not None:
            sound = _Sound(out, AUDIO_ENCODERS[family])
        for packet in source.demux([s for s in (video_in, audio_in) if s is not None]):
            if not packet.size:  # the demuxer's flush packet (a Matroska's first B-frames come with no dts: kept)
                continue
            if packet.stream.index in into:
                packet.stream = into[packet.stream.index]
                out.mux(packet)
            else:
                sound.add(decoded(packet))
        if sound is not None:
            sound.close()


class _Sound:
    """An audio stream of `out` in `codec` (stereo, `AUDIO_RATE`), fed decoded frames of any layout and rate."""

    def __init__(self, out, codec: str):
        self._out, self._stream = out, out.add_stream(codec, rate=AUDIO_RATE, layout="stereo")
        self._stream.bit_rate = AUDIO_BIT_RATE
        self._resampler = av.AudioResampler(format=self._stream.codec_context.codec.audio_formats[0].name,
                                            layout="stereo", rate=AUDIO_RATE)

    def add(self, frames) -> None:
        for frame in frames:
            for chunk in self._resampler.resample(frame):
                self._out.mux(self._stream.encode(chunk))

    def close(self) -> None:
        for chunk in self._resampler.resample(None):
            self._out.mux(self._stream.encode(chunk))
        self._out.mux(self._stream.encode(None))


def _audio_stream(container):
    """The first audio stream FFmpeg can decode (as `pipeline.video.probe` lists them), or None."""
    return next((s for s in container.streams.audio if s.codec_context is not None), None)


def _transcode(info: VideoInfo, path: Path, width: int, height: int) -> None:
    with (av.logging.Capture(local=False), av.open(str(info.path), metadata_errors="ignore") as source,
          av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as out):
        video_in = video_stream(source)
        video_in.thread_type = "AUTO"  # its decoder threads log too: captured from every thread
        audio_in = _audio_stream(source)
        video_out = out.add_stream("libx264", rate=video_in.average_rate or round(info.fps),
                                   options={"crf": str(CRF), "preset": PRESET})
        video_out.width, video_out.height, video_out.pix_fmt = width, height, "yuv420p"
        video_out.codec_context.time_base = video_in.time_base  # keep the source's timestamps (variable rate too)
        sound = _Sound(out, AUDIO_ENCODERS["mp4"]) if audio_in is not None else None
        held: deque = deque()  # decoded pictures waiting for their time (`REORDER_FRAMES`)
        times: list[int] = []  # a heap of the held pictures' time labels
        last = -1

        def write(frame: av.VideoFrame) -> None:
            nonlocal last
            last = max(heapq.heappop(times), last + 1)
            shown = picture_yuv(frame, info.display, (width, height))
            shown.pts, shown.time_base = last, frame.time_base
            out.mux(video_out.encode(shown))

        for packet in source.demux([s for s in (video_in, audio_in) if s is not None]):
            frames = decoded(packet)  # damaged: skipped, the last good picture stays on screen
            if packet.stream is video_in:
                for frame in (f for f in frames if f.pts is not None):
                    heapq.heappush(times, frame.pts)
                    held.append(frame)
                    if len(held) > REORDER_FRAMES:
                        write(held.popleft())
            else:
                sound.add(frames)
        while held:
            write(held.popleft())
        out.mux(video_out.encode(None))
        if sound is not None:
            sound.close()
