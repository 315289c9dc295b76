"""Evaluate an emotion model on any `<emotion>/<image>` folder tree.

    python -m model.evaluate --data DIR [--weights PATH] [--detect-faces] [--tta] [--json]

Prints accuracy, macro-F1, the majority-class baseline and a per-class table,
and writes a confusion-matrix PNG. With `--detect-faces` the pipeline's face
detector runs on each image first and the largest face is classified; images
where no face is found count as errors and are reported. The end-to-end figure
(faces composed into call recordings and read by the whole pipeline) is
`python -m tools.video_eval`, which uses `score` and `format_table` from here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from config import EMOTIONS, SHIPPED_MODEL_PATH
from model.data import FaceSet, load_folder

NO_FACE = -1  # the "prediction" for an image whose face was not found


def score(labels: np.ndarray, predicted: np.ndarray, missed_labels: np.ndarray | None = None) -> dict:
    """Metrics as one JSON-able dict; images whose face was not found count as wrong."""
    from sklearn.metrics import precision_recall_fscore_support

    missed = np.zeros(0, np.int64) if missed_labels is None else np.asarray(missed_labels, np.int64)
    labels = np.concatenate([labels, missed]).astype(np.int64)
    predicted = np.concatenate([predicted, np.full(len(missed), NO_FACE)]).astype(np.int64)
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=list(range(len(EMOTIONS))), zero_division=0
    )
    majority = np.bincount(labels, minlength=len(EMOTIONS)).max() if len(labels) else 0
    return {
        "accuracy": float(np.mean(labels == predicted)) if len(labels) else 0.0,
        "macro_f1": float(np.mean(f1)),
        "baseline_accuracy": float(majority / max(1, len(labels))),
        "n_images": int(len(labels)),
        "n_no_face": int(len(missed)),
        "per_class": {
            name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(EMOTIONS, precision, recall, f1, support)
        },
    }


def evaluate(classifier, data: FaceSet, flip_tta: bool = False) -> tuple[dict, np.ndarray]:
    """Score `classifier` (anything with `predict(faces)`) on `data`; also return the confusion matrix."""
    from sklearn.metrics import confusion_matrix

    probs = classifier.predict(data.faces, flip_tta=flip_tta)
    predicted = np.argmax(probs, axis=1) if len(probs) else np.zeros(0, np.int64)
    matrix = confusion_matrix(data.labels, predicted, labels=list(range(len(EMOTIONS))))
    return score(data.labels, predicted, data.missed_labels), matrix


def format_table(metrics: dict, title: str = "") -> str:
    lines = [title] if title else []
    lines.append(
        f"accuracy {metrics['accuracy']:.3f}   macro-F1 {metrics['macro_f1']:.3f}   "
        f"majority baseline {metrics['baseline_accuracy']:.3f}   images {metrics['n_images']}"
        + (f"   no face found {metrics['n_no_face']}" if metrics["n_no_face"] else "")
    )
    lines.append(f"{'emotion':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
    for name, m in metrics["per_class"].items():
        lines.append(f"{name:<10}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>10.3f}{m['support']:>10d}")
    return "\n".join(lines)


def save_confusion_png(matrix: np.ndarray, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    normalised = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(EMOTIONS)):
        for j in range(len(EMOTIONS)):
            ax.text(j, i, f"{normalised[i, j]:.2f}\n({matrix[i, j]})", ha="center", va="center", fontsize=7,
                    color="white" if normalised[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(EMOTIONS)), EMOTIONS, rotation=45)
    ax.set_yticks(range(len(EMOTIONS)), EMOTIONS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_run_report(run_dir: Path, splits: dict[str, FaceSet]) -> dict:
    """After training: export the best checkpoint to int8 TFLite and score it on every held-out split."""
    from model.classifier import EmotionClassifier
    from model.export import export_tflite

    calibration = splits["train"].faces[np.random.default_rng(0).permutation(len(splits["train"]))[:500]]
    tflite = export_tflite(run_dir / "best.keras", run_dir / SHIPPED_MODEL_PATH.name, calibration)
    classifier = EmotionClassifier(tflite)
    report: dict = {"model": str(tflite), "version": classifier.version}
    text = []
    for name in ("fer2013_val", "wild_val", "wild_test"):
        for tta in (False, True):
            metrics, matrix = evaluate(classifier, splits[name], flip_tta=tta)
            key = f"{name}{'_tta' if tta else ''}"
            report[key] = metrics
            text.append(format_table(metrics, f"== {key}"))
            save_confusion_png(matrix, run_dir / f"confusion_{key}.png", key)
    (run_dir / "report.json").write_text(json.dumps(report, indent=2))
    (run_dir / "report.txt").write_text("\n\n".join(text) + "\n")
    print("\n\n".join(text))
    return report


def main(argv: list[str] | None = None) -> int:
    from model.classifier import EmotionClassifier, ModelFileError

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="folder of <emotion>/<image> files")
    parser.add_argument("--weights", type=Path, default=SHIPPED_MODEL_PATH, help="a .tflite or .keras file")
    parser.add_argument("--detect-faces", action="store_true", help="detect and crop the largest face first")
    parser.add_argument("--detector", help="face detector for --detect-faces (default: the pipeline's)")
    parser.add_argument("--tta", action="store_true", help="average with the horizontally flipped face")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--confusion", type=Path, default=Path("confusion_matrix.png"), help="where to write the PNG")
    args = parser.parse_args(argv)
    try:
        classifier = EmotionClassifier(args.weights)
        data = load_folder(args.data, detect_faces=args.detect_faces, detector=args.detector, use_cache=False)
    except (ModelFileError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    metrics, matrix = evaluate(classifier, data, flip_tta=args.tta)
    metrics["model"] = classifier.version
    metrics["tta"] = args.tta
    save_confusion_png(matrix, args.confusion, f"{args.data.name} ({classifier.path.name})")
    if args.json:
        print(json.dumps(metrics))
    else:
        print(format_table(metrics, f"{args.data} with {classifier.version}"))
        print(f"confusion matrix: {args.confusion}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
