"""A copy of the recording that every browser plays, for calls whose upload it cannot.

Rapport accepts what call recorders write (mp4, mov, webm, mkv, avi), but browsers only
play H.264/AV1 in MP4 and VP8/VP9/AV1 in WebM. An AVI, an HEVC .mov or an H.264 .mkv would
leave the review page without a player, so the analysis job writes `review.mp4` beside the
call's other renders: H.264 + AAC 480 lines high, moov atom first so it starts at once.
Playable uploads are left alone (no time spent, nothing stored twice).
"""

from __future__ import annotations

from pathlib import Path

import av

from pipeline.video import VideoInfo, picture_yuv

MAX_HEIGHT = 480  # lines: faces stay readable in a player a third of the page wide
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


def browser_plays(info: VideoInfo) -> bool:
    """True when the upload itself can go to the player: a container and codecs every browser handles."""
    families = set(info.container.split(","))
    return any(family in families and info.codec in video_codecs and set(info.audio_codecs) <= audio_codecs
               for family, (video_codecs, audio_codecs) in PLAYABLE.items())


def write_review_copy(info: VideoInfo, target: Path) -> Path:
    """Transcode `info`'s recording to `target` (H.264 + AAC MP4); written under a temporary name and
    renamed, so a reader never sees half a file. Every picture as a player shows it (`pipeline.video.picture_yuv`:
    turned upright, pixel aspect applied, one of another shape fitted inside, never stretched), `MAX_HEIGHT` lines
    high at the first picture's shape: a smaller first picture is enlarged, as a WebRTC recording that starts at
    320x180 is 720p seconds later (a new-user trial, 30: its whole copy was 320x180)."""
    height = MAX_HEIGHT
    width = round(info.width * height / info.height / 2) * 2
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial.mp4")
    try:
        _transcode(info, partial, width, height)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    return target


def _transcode(info: VideoInfo, path: Path, width: int, height: int) -> None:
    with (av.open(str(info.path), metadata_errors="ignore") as source,
          av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as out):
        video_in = source.streams.video[0]
        video_in.thread_type = "AUTO"
        audio_in = source.streams.audio[0] if source.streams.audio else None
        video_out = out.add_stream("libx264", rate=video_in.average_rate or round(info.fps),
                                   options={"crf": str(CRF), "preset": PRESET})
        video_out.width, video_out.height, video_out.pix_fmt = width, height, "yuv420p"
        video_out.codec_context.time_base = video_in.time_base  # keep the source's timestamps (variable rate too)
        audio_out = resampler = None
        if audio_in is not None:
            audio_out = out.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
            audio_out.bit_rate = AUDIO_BIT_RATE
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
        for packet in source.demux([s for s in (video_in, audio_in) if s is not None]):
            for frame in packet.decode():
                if packet.stream is video_in:
                    shown = picture_yuv(frame, info.display, (width, height))
                    shown.pts, shown.time_base = frame.pts, frame.time_base
                    out.mux(video_out.encode(shown))
                else:
                    for chunk in resampler.resample(frame):
                        out.mux(audio_out.encode(chunk))
        out.mux(video_out.encode(None))
        if audio_out is not None:
            for chunk in resampler.resample(None):
                out.mux(audio_out.encode(chunk))
            out.mux(audio_out.encode(None))
