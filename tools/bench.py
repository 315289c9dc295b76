"""Throughput benchmark: prints figures, asserts nothing.

    python -m tools.bench --minutes 2 10 30 [--detector mtcnn|haar] [--fps 4] [--container avi]

For each length it generates (once, cached under the data folder) a 1280x720,
30 fps two-person gallery call of real face photos (H.264 MP4; `--container avi`:
MPEG-4 part 2 in AVI, which browsers can't play, so the analysis also writes the
review copy and its time shows as the "review copy" stage), then measures in a
fresh child process, so peak memory belongs to that one measurement:

* the floor: decode-only throughput, every frame (`grab`-like) and as the
  pipeline samples (same rate, size and non-reference skipping);
* full analysis at the given settings, stored in a throwaway SQLite store:
  seconds of call per wall second, per-stage time, peak RSS.
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

from config import REPO_ROOT, get_settings


def bench_video(minutes: float, container: str = "mp4") -> Path:
    from tools.synthetic import CallScript, write_call_video

    path = get_settings().data_dir / "bench" / f"gallery-{minutes:g}min-720p30.{container}"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        tmp = path.with_suffix(f".partial.{container}")
        write_call_video(tmp, CallScript(duration_s=minutes * 60, fps=30.0, size=(1280, 720), motion_px=12))
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
    start = time.perf_counter()
    n = sum(1 for _ in sample_frames(info, fps, 640))
    sampled_s = time.perf_counter() - start

    classifier = load_classifier()
    from model.detect import shared_detector

    shared_detector(detector)  # build outside the timed part, as a long-running worker would
    init_db()
    call_id = create_call(video, title="bench", analysis=AnalysisSettings(fps=fps, detector=detector))
    start = time.perf_counter()
    result = analyze_call(call_id, classifier)
    total_s = time.perf_counter() - start
    stages = {k: round(v, 2) for k, v in result.timings.items()}  # decode runs on its own thread, beside the rest
    return {
        "call_s": info.duration_s,
        "sampled_frames": n,
        "floor_decode_all_x": info.duration_s / all_frames_s,
        "floor_decode_sampled_x": info.duration_s / sampled_s,
        "analysis_x": info.duration_s / total_s,
        "analysis_wall_s": total_s,
        "stages_s": stages,
        "faces_found": result.faces_found,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def compare_detectors(stills: Path, video: Path, n_stills: int = 300, n_frames: int = 20) -> None:
    """Hit rate on labelled photos (each holds one face) and cost on 640-px call frames, per detector."""
    import random

    import cv2
    import numpy as np

    from model.data import list_images
    from model.detect import DETECTORS, find_face_in_still, make_detector
    from pipeline.video import probe, read_frame_at

    photos = random.Random(0).sample(list_images(stills), n_stills)
    info = probe(video)
    frames = [read_frame_at(video, t, width=640) for t in np.linspace(1, info.duration_s - 1, n_frames)]
    print(f"{'detector':<8} {'photos with a face found':>25} {'ms/photo':>9} {'ms per 640px frame':>19} {'faces/frame (2 expected)':>25}")
    for name in DETECTORS:
        detector = make_detector(name)
        detector.detect(frames[0])  # warm-up
        start = time.perf_counter()
        hits = sum(find_face_in_still(cv2.imread(str(p)), detector) is not None for p, _ in photos)
        per_photo = (time.perf_counter() - start) / len(photos) * 1000
        times, counts = [], []
        for frame in frames:
            t0 = time.perf_counter()
            counts.append(len(detector.detect(frame)))
            times.append(time.perf_counter() - t0)
        print(f"{name:<8} {hits:>16}/{len(photos)} ({hits / len(photos):.0%}) {per_photo:>9.1f} "
              f"{np.median(times) * 1000:>12.1f} (med) {np.mean(counts):>20.2f}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[2.0])
    parser.add_argument("--detector", default=get_settings().detector)
    parser.add_argument("--compare-detectors", type=Path, metavar="STILLS",
                        help="instead: compare detectors on STILLS (an <emotion>/<image> tree, one face each) and call frames")
    parser.add_argument("--fps", type=float, default=4.0)
    parser.add_argument("--rep-analysis", choices=["on", "off"], default="on",
                        help="off: the two-pass analysis that never classifies the rep (default: %(default)s)")
    parser.add_argument("--container", choices=["mp4", "avi"], default="mp4",
                        help="avi: a recording browsers can't play, so analysis also makes the review copy")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # child-process mode
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.detector, args.fps)))
        return
    if args.compare_detectors:
        compare_detectors(args.compare_detectors, bench_video(args.minutes[0]))
        return

    print(f"{args.container}, detector {args.detector}, {args.fps:g} frames/s, rep analysis {args.rep_analysis}. Seconds of call per wall "
          "second (x real time); 'vs floor' = analysis / sampled decode; decode runs on its own thread, "
          "'wait for frames' is the main thread idle on it")
    print(f"{'call':>8} {'floor all':>10} {'floor sampled':>14} {'analysis':>9} {'vs floor':>9} {'peak RSS':>9}  stages (s)")
    for minutes in args.minutes:
        video = bench_video(minutes, args.container)
        with tempfile.TemporaryDirectory() as data:
            env = {**os.environ, "RAPPORT_DATA_DIR": data, "RAPPORT_DB_URL": f"sqlite:///{data}/bench.db",
                   "RAPPORT_REP_ANALYSIS": args.rep_analysis}
            child = subprocess.run([sys.executable, "-m", "tools.bench", "--measure", str(video), "--detector",
                                    args.detector, "--fps", str(args.fps)], cwd=REPO_ROOT, env=env,
                                   capture_output=True, text=True, check=True)
        r = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"{minutes:>6g}min {r['floor_decode_all_x']:>9.1f}x {r['floor_decode_sampled_x']:>13.1f}x "
              f"{r['analysis_x']:>8.1f}x {r['analysis_x'] / r['floor_decode_sampled_x']:>8.0%} {r['peak_rss_mb']:>7.0f}MB  "
              + ", ".join(f"{k} {v}" for k, v in r["stages_s"].items()), flush=True)


if __name__ == "__main__":
    main()
