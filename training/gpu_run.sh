#!/usr/bin/env bash
# One-shot training run of the bundled detector on the GPU machine (also runs, tiny, on CPU).
#
#   OUT=/path/to/results bash training/gpu_run.sh          # from the repository root
#
# Uses the machine's python3 (torch, numpy, opencv, onnx, onnxruntime); needs no venv and no ROS:
# argos_sim / argos_inference / argos_common are put on PYTHONPATH from src/. Renders the dataset with one process
# per core into $WORK (default runs/gpu_run, git-ignored; not $OUT: the images are ~15 GB), trains for a fixed time budget, evaluates on the
# held-out split, exports ONNX fp32 + int8 and writes to $OUT:
#   models/argos-traffic-v1.onnx  models/argos-traffic-v1-int8.onnx  models/argos-traffic-v1.json
#   metrics.json  train.log  best.pt  data_meta/{train,val}.json  run.log (all output of this script)
# Size knobs (defaults = the GPU run, ~7-8 min on one H100): ARGOS_DEVICE, ARGOS_TRAIN_SCENES,
# ARGOS_VAL_SCENES, ARGOS_FRAMES, ARGOS_VAL_FRAMES, ARGOS_EPOCHS, ARGOS_BATCH, ARGOS_BUDGET_S
# (training-loop seconds), ARGOS_EVAL_EVERY, ARGOS_CALIB, ARGOS_WORKERS, ARGOS_INIT (a best.pt to start from),
# ARGOS_VIEWS (scene views in turn, e.g. top,pole,pole).
set -euo pipefail
: "${OUT:?set OUT to the results folder}"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p "$OUT/models" "$OUT/data_meta"
exec > >(tee -a "$OUT/run.log") 2>&1
WORK=${WORK:-$PWD/runs/gpu_run}
rm -rf "$WORK/data" "$WORK/run"; mkdir -p "$WORK"
export PYTHONPATH="$PWD/src/argos_sim:$PWD/src/argos_inference:$PWD/src/argos_common:$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore::DeprecationWarning
PY=${PYTHON:-python3}
DEV=${ARGOS_DEVICE:-cuda}
echo "== $(date -u +%FT%TZ) argos-traffic run: device $DEV, work $WORK, out $OUT"
$PY -c 'import sys, torch, numpy, cv2, onnx, onnxruntime as o; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.cuda.is_available(), "numpy", numpy.__version__, "cv2", cv2.__version__, "onnx", onnx.__version__, "ort", o.__version__)'
[ "$DEV" = cuda ] && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
df -h "$WORK" | tail -1; nproc
$PY -m training.dataset --out "$WORK/data" --workers "${ARGOS_WORKERS:-$(nproc)}" \
  --train-scenes "${ARGOS_TRAIN_SCENES:-100}" --frames "${ARGOS_FRAMES:-200}" \
  --val-scenes "${ARGOS_VAL_SCENES:-12}" --val-frames "${ARGOS_VAL_FRAMES:-100}" ${ARGOS_VIEWS:+--views "$ARGOS_VIEWS"}
set +e
$PY -m training.train --device "$DEV" --out "$WORK/run" --data "$WORK/data" \
  --epochs "${ARGOS_EPOCHS:-60}" --batch "${ARGOS_BATCH:-64}" --lr 2e-3 --time-budget "${ARGOS_BUDGET_S:-240}" \
  --eval-every "${ARGOS_EVAL_EVERY:-4}" --calib "${ARGOS_CALIB:-100}" --seed 0 ${ARGOS_INIT:+--init "$ARGOS_INIT"} ${ARGOS_VIEWS:+--views "$ARGOS_VIEWS"}
rc=$?
set -e
cp -f "$WORK/run/models/"* "$OUT/models/" 2>/dev/null || true
for f in metrics.json train.log best.pt; do cp -f "$WORK/run/$f" "$OUT/" 2>/dev/null || true; done
cp -f "$WORK/data/train/meta.json" "$OUT/data_meta/train.json"; cp -f "$WORK/data/val/meta.json" "$OUT/data_meta/val.json"
ls -la "$OUT" "$OUT/models"
echo "== $(date -u +%FT%TZ) done, train rc=$rc"
exit $rc
