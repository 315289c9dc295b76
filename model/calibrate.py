"""Calibrated confidence: fit the temperature that makes the classifier's percentages mean what they say.

    python -m model.calibrate [--weights model/emotion_cnn.tflite] [--datasets ROOT] [--run-dir DIR]

Temperature scaling (Guo et al., "On Calibration of Modern Neural Networks", ICML 2017): one number T,
probabilities become softmax(log p / T); the ranking (and so accuracy) is unchanged. T is fitted by
minimising the negative log-likelihood on the validation faces (FER2013 val + the wild val split, the
faces training selects its checkpoint on, never the wild test split), with flip TTA as the pipeline
classifies. Expected calibration error (ECE, 15 equal-width bins of the top probability) is reported
before and after on the validation faces and on the held-out wild test split. Writes:

* `<model>.calibration.json` beside the model file (the classifier reads it: see `model.classifier`),
  with the temperature, the model digest it belongs to and the ECE figures;
* `reliability.png` (reliability diagram before/after) and `calibration.json` in the run folder
  (default /root/rapport-runs/calibration, outside the repository), and a copy of the diagram at
  `docs/calibration-stills.png` for the model card.

With `--video-run RUN` the temperature is fitted instead on the end-to-end readings of the FER2013 val
faces of a `python -m tools.video_eval RUN` run (the domain where percentages are shown), ECE is
reported on every source of that run (the wild test faces held out) and the diagram goes to
`docs/calibration.png`. The shipped temperature was fitted this way (model/MODEL_CARD.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from config import REPO_ROOT, SHIPPED_MODEL_PATH

ECE_BINS = 15
"""Equal-width bins of the top probability for the expected calibration error."""
TEMPERATURE_RANGE = (0.2, 5.0)
"""Bounds of the temperature search."""
DEFAULT_RUN_DIR = Path("/root/rapport-runs/calibration")
DOCS_PLOT = REPO_ROOT / "docs" / "calibration.png"  # end to end (`--video-run`): the one the model card shows first
DOCS_STILLS_PLOT = REPO_ROOT / "docs" / "calibration-stills.png"


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE of the top probability: mean |accuracy - confidence| over equal-width confidence bins, weighted
    by each bin's share of the samples. `probs` (N, 7), `labels` (N,) int; NaN for N = 0."""
    if len(probs) == 0:
        return float("nan")
    confidence, correct = probs.max(axis=1), probs.argmax(axis=1) == labels
    index = np.clip(np.digitize(confidence, np.linspace(0, 1, bins + 1)[1:-1]), 0, bins - 1)
    return float(sum((index == b).mean() * abs(correct[index == b].mean() - confidence[index == b].mean())
                     for b in range(bins) if (index == b).any()))


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> list[dict]:
    """Per confidence bin: {low, high, n, confidence, accuracy} (bins without samples left out)."""
    confidence, correct = probs.max(axis=1), probs.argmax(axis=1) == labels
    edges = np.linspace(0, 1, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    return [{"low": float(edges[b]), "high": float(edges[b + 1]), "n": int((index == b).sum()),
             "confidence": float(confidence[index == b].mean()), "accuracy": float(correct[index == b].mean())}
            for b in range(bins) if (index == b).any()]


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising the mean negative log-likelihood of `labels` under `probs` (N, 7)."""
    from scipy.optimize import minimize_scalar

    from model.classifier import apply_temperature

    rows = np.arange(len(labels))

    def nll(t: float) -> float:
        return float(-np.mean(np.log(np.clip(apply_temperature(probs, t)[rows, labels], 1e-12, 1.0))))

    return float(minimize_scalar(nll, bounds=TEMPERATURE_RANGE, method="bounded").x)


def save_reliability_png(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, title: str) -> None:
    """One reliability diagram per named (probs, labels) pair, side by side, with its ECE."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(3.3 * len(curves), 3.4), squeeze=False)
    for ax, (name, (probs, labels)) in zip(axes[0], curves.items()):
        bins = reliability(probs, labels)
        centres = [(b["low"] + b["high"]) / 2 for b in bins]
        ax.bar(centres, [b["accuracy"] for b in bins], width=1 / ECE_BINS, edgecolor="#1f5fa8", color="#9cc3ea",
               label="accuracy")
        ax.plot([0, 1], [0, 1], "--", color="#888", lw=1, label="perfect")
        ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o", ms=3, color="#d7263d",
                label="mean confidence")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("top probability shown")
        ax.set_title(f"{name}\nECE {expected_calibration_error(probs, labels):.3f}", fontsize=9)
    axes[0][0].set_ylabel("share right")
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def calibrate(weights: Path, datasets: Path, run_dir: Path, docs_plot: Path | None = DOCS_STILLS_PLOT) -> dict:
    """Fit, report and write the sidecar for `weights`; see the module docstring."""
    from model.classifier import FLIP_TTA, EmotionClassifier, apply_temperature, calibration_path
    from model.data import FaceSet, load_folder, stratified_split
    from model.train import FER_VAL, WILD, WILD_DETECTOR

    classifier = EmotionClassifier(weights)
    tta = FLIP_TTA  # as analysis reads faces by default
    fer_val = load_folder(datasets / FER_VAL)
    _, wild_val, wild_test = stratified_split(load_folder(datasets / WILD, detect_faces=True, detector=WILD_DETECTOR))
    val = FaceSet.concat([fer_val, wild_val])
    raw = {name: classifier.predict(data.faces, flip_tta=tta, calibrated=False)
           for name, data in (("val", val), ("wild_test", wild_test))}
    labels = {"val": val.labels, "wild_test": wild_test.labels}
    temperature = fit_temperature(raw["val"], labels["val"])
    scaled = {name: apply_temperature(p, temperature) for name, p in raw.items()}
    ece = {name: {"before": expected_calibration_error(raw[name], labels[name]),
                  "after": expected_calibration_error(scaled[name], labels[name]), "n": int(len(labels[name]))}
           for name in raw}
    report = {"model": classifier.version, "model_digest": classifier.digest, "temperature": round(temperature, 4),
              "flip_tta": tta, "fitted_on": "FER2013 val + facial_expressions val split (validation, not test)",
              "fitted_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "ece_15_bins": ece,
              "reliability_val_after": reliability(scaled["val"], labels["val"])}
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "calibration.json").write_text(json.dumps(report, indent=2) + "\n")
    plot = run_dir / "reliability.png"
    save_reliability_png({"val, raw": (raw["val"], labels["val"]), f"val, T={temperature:.2f}": (scaled["val"], labels["val"]),
                          "wild test, raw": (raw["wild_test"], labels["wild_test"]),
                          f"wild test, T={temperature:.2f}": (scaled["wild_test"], labels["wild_test"])},
                         plot, f"{classifier.version}: reliability (15 bins, flip TTA)")
    if docs_plot is not None:
        docs_plot.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(plot, docs_plot)
    report["shown_as"] = {"measured_on": "validation faces", "ece_after": ece["val"]["after"]}
    sidecar = {k: report[k] for k in ("model", "model_digest", "temperature", "flip_tta", "fitted_on", "fitted_at",
                                      "ece_15_bins", "shown_as")}
    calibration_path(weights).write_text(json.dumps(sidecar, indent=2) + "\n")
    return report


def video_readings(video_run: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Raw (uncalibrated) end-to-end readings of a `tools.video_eval` run, per source: {source: (probs, labels)}.

    The run stored calibrated per-second probabilities; its temperature is undone (softmax(log p * T)
    inverts softmax(log p / T)). Faces the pipeline never read are left out."""
    import csv

    from model.classifier import apply_temperature

    report = json.loads((video_run / "video_eval.json").read_text())
    z = np.load(video_run / "video_eval_probs.npz")
    with (video_run / "video_eval_faces.csv").open() as f:
        sources = np.array([row["source"] for row in csv.DictReader(f)])
    probs = z["video_probs"]
    if report.get("temperature"):
        probs = apply_temperature(probs, 1.0 / report["temperature"])
    found = z["found"]
    labels, sources = z["labels"][found], sources[found]
    return {name: (probs[sources == name], labels[sources == name]) for name in sorted(set(sources))}


def calibrate_on_video(weights: Path, video_run: Path, run_dir: Path, fit_source: str = "fer2013_val",
                       docs_plot: Path | None = DOCS_PLOT) -> dict:
    """Fit the temperature on the end-to-end readings of validation faces (`fit_source`: FER2013 val, the
    faces training selects on) from a `tools.video_eval` run, and report ECE on every source (the wild test split
    is held out); write the sidecar and plots as `calibrate` does."""
    from model.classifier import EmotionClassifier, apply_temperature, calibration_path

    classifier = EmotionClassifier(weights)
    readings = video_readings(video_run)
    report_in = json.loads((video_run / "video_eval.json").read_text())
    if report_in["model"] != classifier.version:
        raise ValueError(f"{video_run} evaluated {report_in['model']}, not {classifier.version}")
    temperature = fit_temperature(*readings[fit_source])
    ece = {name: {"before": expected_calibration_error(p, y),
                  "after": expected_calibration_error(apply_temperature(p, temperature), y), "n": int(len(y))}
           for name, (p, y) in readings.items()}
    report = {"model": classifier.version, "model_digest": classifier.digest, "temperature": round(temperature, 4),
              "flip_tta": report_in.get("flip_tta", True),
              "fitted_on": f"end-to-end readings of {fit_source} faces composed into call recordings ({video_run.name}); "
                           "other sources held out",
              "fitted_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "ece_15_bins": {f"video_{k}": v for k, v in ece.items()},
              # what the screens say (reports.facts.confidence_words): held-out faces where there are any
              "shown_as": {"measured_on": "faces in call recordings",
                           "ece_after": ece.get("wild_test", ece[fit_source])["after"]}}
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "calibration.json").write_text(json.dumps(report, indent=2) + "\n")
    plot = run_dir / "reliability.png"
    curves = {}
    for name, (p, y) in readings.items():
        curves[f"{name} on video, raw"] = (p, y)
        curves[f"{name} on video, T={temperature:.2f}"] = (apply_temperature(p, temperature), y)
    save_reliability_png(curves, plot, f"{classifier.version}: reliability end to end (15 bins, flip TTA)")
    if docs_plot is not None:
        docs_plot.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(plot, docs_plot)
    calibration_path(weights).write_text(json.dumps(report, indent=2) + "\n")
    return report


def main(argv: list[str] | None = None) -> int:
    from model.classifier import ModelFileError
    from model.train import DATASETS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=SHIPPED_MODEL_PATH, help="a .tflite or .keras file")
    parser.add_argument("--datasets", type=Path, default=DATASETS, help="root holding fer2013/val and facial_expressions")
    parser.add_argument("--run-dir", type=Path, default=DEFAULT_RUN_DIR, help="where the plot and report go")
    parser.add_argument("--video-run", type=Path, help="fit on the end-to-end readings of this `tools.video_eval` "
                                                        "run's FER2013 val faces instead of on stills")
    args = parser.parse_args(argv)
    try:
        if args.video_run:
            report = calibrate_on_video(args.weights, args.video_run, args.run_dir)
            print(json.dumps(report["ece_15_bins"]), f"temperature {report['temperature']:.3f}")
            return 0
        report = calibrate(args.weights, args.datasets, args.run_dir)
    except (ModelFileError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    ece = report["ece_15_bins"]
    print(f"{report['model']}: temperature {report['temperature']:.3f}; ECE (15 bins) val {ece['val']['before']:.3f} -> "
          f"{ece['val']['after']:.3f}, wild test {ece['wild_test']['before']:.3f} -> {ece['wild_test']['after']:.3f}; "
          f"plot {args.run_dir / 'reliability.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
