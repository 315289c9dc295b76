"""Where a training step's time goes: prints figures, asserts nothing.

    python -m model.train_bench [--datasets FILE.npz|DIR] [--steps 40]

Per net (stage 2's widths, and twice as wide) and batch size: one batch built on one thread; the training
`PyDataset`'s throughput as this machine builds it (`Precision.batch_processes` or `DATA_WORKERS` threads); the
floor, a step on one fixed batch (compute and dispatch alone); and a `model.fit` step, with the fit step as a
multiple of the floor. On a GPU machine (`scripts/train_on_device.sh timing`, ~70 s) a ratio near 1 means the
GPU is busy; the H200 of 2026-12-04 read 4.5 with threads (model card, "Where a step's time goes").
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from model.train import DATA_WORKERS, DATASETS, STAGES, Precision, class_weights, compile_model, devices, load_splits, make_dataset

WIDTHS = {"stage 2": STAGES[2].widths, "2x stage 2": tuple(2 * w for w in STAGES[2].widths)}
CASES = (("stage 2", 128), ("stage 2", 512), ("2x stage 2", 128))


def seconds_per(function, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        function()
    return (time.perf_counter() - start) / n


def main(argv: list[str] | None = None) -> None:
    from model.net import build_model

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=Path, default=DATASETS, help="the datasets' root or a --pack file")
    parser.add_argument("--steps", type=int, default=40, help="steps timed per measurement")
    args = parser.parse_args(argv)
    train = load_splits(args.datasets)["train"]
    weights, precision = class_weights(train.labels), Precision.for_this_machine()
    builders = dict(workers=precision.batch_processes or DATA_WORKERS, processes=precision.batch_processes > 0)
    print(f"{devices()}, {precision.policy}, XLA {'on' if precision.jit_compile else 'off'}, "
          f"batches by {builders['workers']} {'processes' if builders['processes'] else 'threads'}", flush=True)
    for name, batch_size in CASES:
        batches = make_dataset(train, STAGES[2], weights, batch_size=batch_size, **builders)
        one_thread = seconds_per(lambda: batches[0], 5)
        start, seen = time.perf_counter(), 0
        for _ in batches:  # iterating a PyDataset uses its workers, as fit does
            seen += 1
            if seen == args.steps:
                break
        built = (time.perf_counter() - start) / seen
        model = build_model(WIDTHS[name], precision.policy)
        compile_model(model, STAGES[2], len(batches), precision.jit_compile)
        x, y, w = batches[0]
        compile_s = seconds_per(lambda: model.train_on_batch(x, y, sample_weight=w), 1)
        floor = seconds_per(lambda: model.train_on_batch(x, y, sample_weight=w), args.steps)
        model.fit(batches, steps_per_epoch=3, epochs=1, verbose=0)  # the fit step's own compilation
        fit = seconds_per(lambda: model.fit(batches, steps_per_epoch=args.steps, epochs=1, verbose=0), 1) / args.steps
        print(f"{name} {WIDTHS[name]}, batch {batch_size}: a batch built on 1 thread {one_thread * 1e3:.0f} ms, "
              f"by the builders {built * 1e3:.1f} ms; floor (fixed-batch step) {floor * 1e3:.1f} ms; "
              f"fit step {fit * 1e3:.1f} ms = {fit / floor:.1f}x the floor; first step {compile_s:.1f} s; "
              f"an epoch ~{len(batches) * fit:.1f} s", flush=True)


if __name__ == "__main__":
    main()
