"""Ship a run's best checkpoint as the product's model.

    python -m model.ship runs/cnn-v1

Exports `best.keras` to TFLite, scores it on every held-out split (the run's
report), copies it to `model/emotion_cnn.tflite`, fits its temperature on the validation
faces (`model.calibrate`: the calibration sidecar and plot) and writes
`model/model_card.json`, the measured figures the dashboard and reports show.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
from pathlib import Path

from config import MODEL_CARD_PATH as CARD_PATH, SHIPPED_MODEL_PATH


def ship(run_dir: Path, datasets: Path | None = None) -> dict:
    from model.evaluate import write_run_report
    from model.classifier import FLIP_TTA
    from model.train import DATASETS, load_splits

    report = write_run_report(run_dir, load_splits(datasets or DATASETS))
    tta = FLIP_TTA
    headline = {name: report[f"{name}{'_tta' if tta else ''}"] for name in ("fer2013_val", "wild_test")}
    shutil.copyfile(report["model"], SHIPPED_MODEL_PATH)
    from model.calibrate import calibrate

    calibrate(SHIPPED_MODEL_PATH, datasets or DATASETS, run_dir / "calibration")  # a new file needs its own temperature
    state = json.loads((run_dir / "state.json").read_text())
    hparams = json.loads((run_dir / "hparams.json").read_text())  # the run's recipe, not today's code
    import pandas as pd

    log = pd.read_csv(run_dir / "training_log.csv")
    best = log.loc[log["val_macro_f1"].idxmax()]
    card = {
        "model": SHIPPED_MODEL_PATH.name,
        "version": report["version"],
        "run": run_dir.name,
        "shipped_on": dt.date.today().isoformat(),
        "epochs_trained": len(log),
        "best_epoch": {"stage": int(best["stage"]), "epoch": int(best["epoch"]), "val_accuracy": float(best["val_accuracy"]),
                       "val_macro_f1": float(best["val_macro_f1"]),
                       "conv_widths": hparams["stages"][str(int(best["stage"]))].get("widths", hparams.get("conv_widths"))},  # before v4: one width per run
        "training_finished": state.get("finished", False),
        "flip_tta": tta,  # the headline figures are measured the way the pipeline classifies
        "fer2013_val_accuracy": headline["fer2013_val"]["accuracy"],
        "fer2013_val_macro_f1": headline["fer2013_val"]["macro_f1"],
        "wild_test_accuracy": headline["wild_test"]["accuracy"],
        "splits": {k: v for k, v in report.items() if isinstance(v, dict)},
    }
    CARD_PATH.write_text(json.dumps(card, indent=2) + "\n")
    write_results_section(card)
    return card


def write_results_section(card: dict) -> None:
    """Replace the Results section of MODEL_CARD.md with the shipped file's measured tables."""
    from model.evaluate import format_table

    best = card["best_epoch"]
    checkpoint = f"stage {best['stage']} epoch {best['epoch']}, channels {'/'.join(map(str, best['conv_widths']))}"
    lines = [f"Shipped `{card['version']}` from run `{card['run']}` on {card['shipped_on']}: the best of "
             f"{card['epochs_trained']} epochs ({checkpoint}, val macro-F1 "
             f"{best['val_macro_f1']:.3f}; training {'finished' if card['training_finished'] else 'still in progress'}).",
             "Measured on the shipped TFLite file (`python -m model.ship`), without and with flip TTA; "
             f"the pipeline classifies {'with' if card.get('flip_tta') else 'without'} it.", ""]
    titles = {"fer2013_val": "FER2013 val (PublicTest)", "wild_val": "facial_expressions val (20%)",
              "wild_test": "facial_expressions test (10%, held out)"}
    for key, title in titles.items():
        for suffix, label in (("", ""), ("_tta", " with flip TTA")):
            metrics = card["splits"].get(key + suffix)
            if metrics:
                lines += [f"**{title}{label}**", "```", format_table(metrics), "```", ""]
    path = CARD_PATH.with_name("MODEL_CARD.md")
    text = path.read_text()
    start, end = text.index("<!-- results:start -->"), text.index("<!-- results:end -->")
    path.write_text(text[: start + len("<!-- results:start -->")] + "\n" + "\n".join(lines) + text[end:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--datasets", type=Path, help="dataset root (default: the training recipe's)")
    args = parser.parse_args()
    card = ship(args.run_dir, args.datasets)
    print(f"shipped {card['version']}: FER2013 val accuracy {card['fer2013_val_accuracy']:.3f}, "
          f"macro-F1 {card['fer2013_val_macro_f1']:.3f}")


if __name__ == "__main__":
    main()
