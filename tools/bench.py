"""Throughput benchmark: prints figures, asserts nothing.

    python -m tools.bench --minutes 2 10 30 [--detector blazeface|haar|mtcnn] [--fps 4] [--container avi]

For each length it generates (once, cached under the data folder) two 1280x720,
30 fps two-person gallery calls of real face photos (H.264 MP4; `--container avi`:
MPEG-4 part 2 in AVI, which browsers can't play, so the analysis also writes the
review copy and its time shows as the "review copy" stage):

* easy: both faces always there, upright, drifting slowly;
* realistic: the rep is off camera a third of the time (10 s of every 30), the
  prospect's head tilts 20-25 degrees either way for a third of the time (a still
  photo cannot turn away; tilted it is the hard case for detectors) and both heads
  move (25-px drift); it talks (eSpeak NG voices, three turns every 30 s, one while
  the rep's camera is off), so the "speech" stage (audio decode, voice activity,
  mouth motion) is measured on real audio; its share of the analysis is printed;

then measures each in a fresh child process (peak memory: the analysis', from the models loaded to the stored rows):

* the floor: decode-only throughput, every frame (`grab`-like) and as the
  pipeline samples (same rate, size and non-reference skipping), with the CPU seconds of the latter;
* full analysis at the given settings, stored in a throwaway SQLite store:
  seconds of call per wall second, per-stage time, CPU seconds (all threads: the
  work done, which a busy machine does not change as much as wall time), peak RSS, and
  the work per second of call that no load changes: BlazeFace windows read (~2.3 ms each
  on a quiet core) and faces the classifier read, mirrored reads included.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from config import REPO_ROOT, get_settings

if TYPE_CHECKING:
    from tools.synthetic import CallScript


def realistic_script(duration_s: float) -> CallScript:
    """The realistic layout (see the module docstring), repeating every 30 s."""
    from tools.synthetic import Appearance, CallScript

    from tools.synthetic import Utterance

    rep, prospect, speech = [], [], []
    for start in range(0, int(duration_s) + 1, 30):
        rep += [Appearance(start, "hopper"), Appearance(start + 20, None)]
        prospect += [Appearance(start, "astronaut"), Appearance(start + 10, "astronaut", tilt_deg=25),
                     Appearance(start + 15, "astronaut"), Appearance(start + 25, "astronaut", tilt_deg=-20)]
        speech += [Utterance("rep", start + 1, "Thanks for taking the time today, let me walk you through the plan."),
                   Utterance("prospect", start + 8, "Sounds good. What does it cost for a team of ten people?"),
                   Utterance("rep", start + 22, "For ten seats it is two hundred a month, billed yearly.")]
    return CallScript(duration_s=duration_s, fps=30.0, size=(1280, 720), motion_px=25,
                      rep=tuple(rep), prospect=tuple(prospect), speech=tuple(s for s in speech if s.start_s < duration_s - 6))


LAYOUTS = ("easy", "realistic")


def bench_video(minutes: float, container: str = "mp4", layout: str = "easy") -> Path:
    from tools.synthetic import CallScript, write_call_video

    name = "gallery" if layout == "easy" else "realistic-talking"
    path = get_settings().data_dir / "bench" / f"{name}-{minutes:g}min-720p30.{container}"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        tmp = path.with_suffix(f".partial.{container}")
        script = (CallScript(duration_s=minutes * 60, fps=30.0, size=(1280, 720), motion_px=12) if layout == "easy"
                  else realistic_script(minutes * 60))
        write_call_video(tmp, script)
        tmp.replace(path)
        print(f"generated {path.name} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return path


def decode_all_frames(path: Path) -> float:
    import av

    start = time.perf_counter()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in container.decode(stream):
            pass
    return time.perf_counter() - start


def measure(video: Path, detector: str, fps: float) -> dict:
    """Runs in the child process: floor, then the full analysis."""
    from db.session import init_db
    from model.classifier import load_classifier
    from pipeline.analyze import AnalysisSettings
    from calls.intake import create_call
    from pipeline.store import analyze_call
    from pipeline.video import probe, sample_frames

    info = probe(video)
    all_frames_s = decode_all_frames(video)
    start, cpu_start = time.perf_counter(), _cpu_s()
    n = sum(1 for _ in sample_frames(info, fps, 640))
    sampled_s, sampled_cpu_s = time.perf_counter() - start, _cpu_s() - cpu_start

    classifier = load_classifier()
    from model.detect import shared_detector

    from model.identity import shared_embedder

    network = shared_detector(detector)  # build outside the timed part, as a long-running worker would
    shared_embedder()  # dlib's two models: ~0.6 s to load, once per worker process, not per call
    windows_before, reads_before = getattr(network, "windows_read", 0), classifier.faces_read
    init_db()
    call_id = create_call(video, title="bench", analysis=AnalysisSettings(fps=fps, detector=detector))
    _reset_peak_rss()  # the floor's decoding above is not the analysis' memory
    start, cpu_start = time.perf_counter(), _cpu_s()
    result = analyze_call(call_id, classifier)
    total_s, cpu_s = time.perf_counter() - start, _cpu_s() - cpu_start
    stages = {k: round(v, 2) for k, v in result.timings.items()}  # decode runs on its own thread, beside the rest
    return {
        "call_s": info.duration_s,
        "sampled_frames": n,
        "floor_decode_all_x": info.duration_s / all_frames_s,
        "floor_decode_sampled_x": info.duration_s / sampled_s,
        "floor_cpu_s": sampled_cpu_s,
        "analysis_x": info.duration_s / total_s,
        "analysis_wall_s": total_s,
        "analysis_cpu_s": cpu_s,
        # work per second of call, load-independent: BlazeFace windows and classifier reads (mirrored ones included)
        "windows_per_s": (getattr(network, "windows_read", 0) - windows_before) / info.duration_s,
        "reads_per_s": (classifier.faces_read - reads_before) / info.duration_s,
        "stages_s": stages,
        "faces_found": result.faces_found,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _reset_peak_rss() -> None:
    """Start this process's peak RSS afresh from its current RSS (Linux: `/proc/self/clear_refs`, value 5)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass  # elsewhere the peak counts from the process's start


def _peak_rss_mb() -> float:
    """Peak resident memory, MB, since `_reset_peak_rss` (VmHWM), or since the process started where there is no /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    """CPU seconds this process has used, all threads (a load-independent measure of the work done)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


HARD_CASES = ("upright", "tilt -30", "tilt -20", "tilt +20", "tilt +30", "dark 15%", "backlit")
THUMBNAIL_WIDTHS = (120, 60, 40)


def hard_case(image, case: str):
    """A photo as a hard call would show it: tilted (degrees, counter-clockwise positive), at 15% of its
    brightness, or backlit (the face at 30% in the middle of a bright window twice its size)."""
    import cv2
    import numpy as np

    if case.startswith("tilt"):
        h, w = image.shape[:2]
        turn = cv2.getRotationMatrix2D((w / 2, h / 2), float(case.split()[1]), 1.0)
        return cv2.warpAffine(image, turn, (w, h), borderMode=cv2.BORDER_REPLICATE)
    if case == "dark 15%":
        return cv2.convertScaleAbs(image, alpha=0.15)
    if case == "backlit":
        h, w = image.shape[:2]
        frame = np.full((2 * h, 2 * w, 3), 250, np.uint8)
        frame[h // 2 : h // 2 + h, w // 2 : w // 2 + w] = cv2.convertScaleAbs(image, alpha=0.3)
        return frame
    return image


def compare_detectors(stills: Path, video: Path, names: list[str], n_stills: int = 100, n_frames: int = 20) -> None:
    """Per detector: photos whose face is found (the box returned covers the photo's centre, where these
    photos' faces are) as shot and in each hard case; photo thumbnails pasted into a 640x360 frame; and
    ms per 640-px frame of a generated gallery call."""
    import random

    import cv2
    import numpy as np

    from model.data import list_images
    from model.detect import find_face_in_still, make_detector
    from pipeline.video import probe, read_frame_at

    photos = [cv2.imread(str(p)) for p, _ in random.Random(0).sample(list_images(stills), n_stills)]
    info = probe(video)
    frames = [read_frame_at(video, t, width=640) for t in np.linspace(1, info.duration_s - 1, n_frames)]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; {n_stills} photos from {stills}")
    print(f"{'detector':<10}" + "".join(f"{c:>10}" for c in HARD_CASES)
          + "".join(f"{f'thumb {w}px':>11}" for w in THUMBNAIL_WIDTHS) + f"{'ms/frame':>10}{'faces/frame':>12}")
    rng = random.Random(1)
    for name in names:
        detector = make_detector(name)
        detector.detect(frames[0])  # warm-up
        row = f"{name:<10}"
        for case in HARD_CASES:
            hits = 0
            for photo in photos:
                image = hard_case(photo, case)
                found = find_face_in_still(image, detector)
                cy, cx = image.shape[0] / 2, image.shape[1] / 2
                hits += found is not None and found.xyxy[0, 0] < cx < found.xyxy[0, 2] and found.xyxy[0, 1] < cy < found.xyxy[0, 3]
            row += f"{hits / len(photos):>10.0%}"
        for width in THUMBNAIL_WIDTHS:
            hits = 0
            for photo in photos:
                frame = np.full((360, 640, 3), 90, np.uint8)
                thumb = cv2.resize(photo, (width, round(photo.shape[0] * width / photo.shape[1])), interpolation=cv2.INTER_AREA)
                x, y = rng.randrange(0, 640 - width), rng.randrange(0, 360 - thumb.shape[0])
                frame[y : y + thumb.shape[0], x : x + width] = thumb
                centres = detector.detect(frame).xyxy.reshape(-1, 2, 2).mean(1)
                hits += bool(np.any((centres[:, 0] > x) & (centres[:, 0] < x + width)
                                    & (centres[:, 1] > y) & (centres[:, 1] < y + thumb.shape[0])))
            row += f"{hits / len(photos):>11.0%}"
        times, counts = [], []
        for frame in frames:
            t0 = time.perf_counter()
            counts.append(len(detector.detect(frame)))
            times.append(time.perf_counter() - t0)
        print(row + f"{np.median(times) * 1000:>10.1f}{np.mean(counts):>12.2f}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[2.0])
    parser.add_argument("--detector", default=get_settings().detector)
    parser.add_argument("--compare-detectors", type=Path, metavar="STILLS",
                        help="instead: compare detectors on STILLS (an <emotion>/<image> tree, one face each), "
                             "their hard cases and thumbnails, and call frames")
    parser.add_argument("--detectors", nargs="+", default=["blazeface", "haar"],
                        help="with --compare-detectors: which (mtcnn: slow, and mtcnn 1.0 fails on some tiny inputs)")
    parser.add_argument("--fps", type=float, default=4.0)
    parser.add_argument("--rep-analysis", choices=["on", "off"], default="on",
                        help="off: the analysis that holds every crop until the roles are known and never classifies the "
                             "rep (default: %(default)s)")
    parser.add_argument("--container", choices=["mp4", "avi"], default="mp4",
                        help="avi: a recording browsers can't play, so analysis also makes the review copy")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # child-process mode
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.detector, args.fps)))
        return
    if args.compare_detectors:
        compare_detectors(args.compare_detectors, bench_video(args.minutes[0]), args.detectors)
        return

    print(f"{args.container}, detector {args.detector}, {args.fps:g} frames/s, rep analysis {args.rep_analysis}. Seconds of call per wall "
          "second (x real time); 'vs floor' = analysis / sampled decode; decode runs on its own thread, "
          f"'wait for frames' is the main thread idle on it. Load average at start: {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    print("CPU s: all threads, the sampled-decode floor's / the analysis' (decoding included): the analysis can reach "
          "the floor's speed on N cores only if its CPU seconds are at most N times the floor's wall time.")
    print(f"{'call':>8} {'layout':>10} {'floor all':>10} {'floor sampled':>14} {'analysis':>9} {'vs floor':>9} {'CPU s':>11} {'windows/s':>9} {'reads/s':>7} {'peak RSS':>9}  stages (s)")
    for minutes, layout in ((m, layout) for m in args.minutes for layout in LAYOUTS):
        video = bench_video(minutes, args.container, layout)
        with tempfile.TemporaryDirectory() as data:
            env = {**os.environ, "RAPPORT_DATA_DIR": data, "RAPPORT_DB_URL": f"sqlite:///{data}/bench.db",
                   "RAPPORT_REP_ANALYSIS": args.rep_analysis}
            child = subprocess.run([sys.executable, "-m", "tools.bench", "--measure", str(video), "--detector",
                                    args.detector, "--fps", str(args.fps)], cwd=REPO_ROOT, env=env,
                                   capture_output=True, text=True, check=True)
        r = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"{minutes:>6g}min {layout:>10} {r['floor_decode_all_x']:>9.1f}x {r['floor_decode_sampled_x']:>13.1f}x "
              f"{r['analysis_x']:>8.1f}x {r['analysis_x'] / r['floor_decode_sampled_x']:>8.0%} {r['floor_cpu_s']:>4.1f} / {r['analysis_cpu_s']:>4.1f} {r['windows_per_s']:>9.1f} {r['reads_per_s']:>7.1f} {r['peak_rss_mb']:>7.0f}MB  "
              + ", ".join(f"{k} {v}" for k, v in r["stages_s"].items())
              + f"; speech {r['stages_s'].get('speech', 0.0) / r['analysis_wall_s']:.1%} of the analysis", flush=True)


if __name__ == "__main__":
    main()
