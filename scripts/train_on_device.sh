#!/usr/bin/env bash
# Train the emotion CNN's whole recipe (model/train.py: both stages, distilling the shipped file) on a lent GPU
# machine in one 10-minute `run` call, and bring the best net back. See model/MODEL_CARD.md, "Training on a lent GPU",
# for the rule a result must pass before it ships.
#
#   1. here, once per machine (~4 min; .gpu/ and .whl/ are in .git/info/exclude, never committed):
#        bash scripts/train_on_device.sh prepare
#   2. on the device (the `run` tool; ~49 MiB travel with the repository, under the 64 MiB limit):
#        run(command="bash scripts/train_on_device.sh train", carry=[".gpu", ".whl"], timeout_s=600)
#      or two runs side by side, as on 2026-12-04 (the GPU and 16 cores have room; JAX must not take the whole GPU
#      for each; the second starts once the first has installed Keras, and trains that much less to end in time):
#        export XLA_PYTHON_CLIENT_PREALLOCATE=false; TRAIN_S=480 TAG=a RUN=/tmp/a bash scripts/train_on_device.sh train &
#        sleep 30; TRAIN_S=450 TAG=b RUN=/tmp/b TEACHER= bash scripts/train_on_device.sh train; wait
#      A teacher twice as wide (model.train --width-multiplier; ~71 MB as net.keras, 5 chunks + logs: one such run per call):
#        run(command="TEACHER= TRAIN_ARGS='--width-multiplier 2' bash scripts/train_on_device.sh train", carry=[".gpu", ".whl"])
#   3. here, with the folder the files came back to (FILES_AT/TAG for a tagged run) and a run folder outside the repo:
#        bash scripts/train_on_device.sh import FILES_AT /root/rapport-runs/cnn-gpu1
#      which reassembles best.keras, exports it to int8 and scores it on every held-out split (report.txt).
#      (IMPORT_ARGS: more model.train flags there, e.g. --datasets; smoke-tested on CPU with TRAIN_ARGS="--epochs 1".)
set -euo pipefail
cd "$(dirname "$0")/.."

TRAIN_S=${TRAIN_S:-480}  # the device call is cut at 600 s: installing, compiling and packing back need the rest
CHUNK=15M                # files come back at most 16 MiB each, 8 files
PY=${PY:-python3}        # the device's Python (it holds JAX); TRAIN_ARGS: more model.train flags (smoke runs)

install_keras() {  # on the device: the wheels `prepare` downloaded, once per machine
  [ -d /tmp/site/keras ] || "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
}

case "${1:-}" in
prepare)
  mkdir -p .gpu .whl
  .venv/bin/python -m model.train --pack .gpu/faces.npz --teacher model/emotion_cnn.tflite
  # Keras and the two packages it needs that the device's image lacks (it has JAX, numpy, h5py, rich, absl, ml-dtypes).
  .venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    -d .whl "keras==$(.venv/bin/python -c 'import keras; print(keras.__version__)')" namex optree
  du -sh .gpu .whl
  ;;
train)
  # TAG names this run's folder under $OUT, so that two runs can share one call (each brings back 3 files:
  # 2 chunks of the net and logs.tar, within the 8 a call returns). TEACHER="" trains on the labels alone.
  teacher=${TEACHER-model/emotion_cnn.tflite} run=${RUN:-/tmp/run} out="$OUT/${TAG:-.}"
  install_keras
  export PYTHONPATH="/tmp/site:$PWD" KERAS_BACKEND=jax PYTHONUNBUFFERED=1
  mkdir -p "$run" "$out"
  [ -z "$teacher" ] || cp .gpu/faces.teacher_probs.npy "$run/teacher_probs.npy"  # the device has no LiteRT
  nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv | tee "$run/gpu.txt" || true
  # Stopped at TRAIN_S if not done: best.keras is the best epoch so far (saved whole, `save_whole`).
  timeout --signal=INT "$TRAIN_S" "$PY" -m model.train --run-dir "$run" --datasets .gpu/faces.npz \
    ${teacher:+--teacher "$teacher"} ${TRAIN_ARGS:-} 2>&1 | tee "$run/train.log" || true
  tar -cf "$out/logs.tar" -C "$run" state.json training_log.csv hparams.json train.log gpu.txt
  "$PY" -c "import keras; keras.models.load_model('$run/best.keras', compile=False).save('$run/net.keras')"
  split -b "$CHUNK" "$run/net.keras" "$out/best.keras.part-"  # the net without its optimizer: ~18 MB
  ls -la "$out"
  ;;
timing)
  # Where a step's time goes (model/train_bench.py, ~70 s on the H200): the fit step against a fixed batch's.
  #   run(command="bash scripts/train_on_device.sh timing", carry=[".gpu", ".whl"], timeout_s=240)
  install_keras
  PYTHONPATH="/tmp/site:$PWD" KERAS_BACKEND=jax PYTHONUNBUFFERED=1 "$PY" -m model.train_bench --datasets .gpu/faces.npz \
    ${BENCH_ARGS:-}
  ;;
import)
  files="$2" run="$3"
  mkdir -p "$run"
  cat "$files"/best.keras.part-* > "$run/best.keras"
  tar -xf "$files/logs.tar" -C "$run"
  # What the device trained is the run: mark it finished, so resuming here only exports and reports.
  .venv/bin/python -c "import json, sys; p = sys.argv[1]; d = json.load(open(p)); d['finished'] = True; json.dump(d, open(p, 'w'), indent=2)" "$run/state.json"
  .venv/bin/python -m model.train --run-dir "$run" --resume ${IMPORT_ARGS:-}
  ;;
*)
  echo "usage: $0 prepare | train | import FILES_AT RUN_DIR" >&2
  exit 2
  ;;
esac
