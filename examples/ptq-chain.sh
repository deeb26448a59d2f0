#!/usr/bin/env bash
# Post-training quantization as a CI job: three qtool stages chained through
# their artifacts in OUT/.
#   calibrate    -> calibration.json, model.int8.onnx, calibrate.json
#   sensitivity  -> sensitivity.json (which layers cost accuracy)
#   partial      -> model.partial.onnx, partial.json (float layers until the budget is met)
# Exit code: 0 when the partial model is within MAX_DROP points of FP32; 1 when
# no set of float layers meets the budget (the best model is still written);
# 2 on bad input. `set -e` passes it on, so the CI job fails with it.
#
# Usage: examples/ptq-chain.sh [MODEL] [CALIB_X] [EVAL_X] [EVAL_Y]
# Environment: OUT (default qtool-out/ptq-chain), MAX_DROP (points, default 0.5),
#   FLOAT_TYPE (fp32|fp16), MAX_SAMPLES (evaluation samples for sensitivity and
#   partial, default 1000), QTOOL (the qtool command, default: this checkout's).
# Defaults: the bundled MLP on sklearn digits. The ResNet on MNIST:
#   examples/ptq-chain.sh samples/resnet/model.onnx samples/mnist/{calib_x,eval_x,eval_y}.npy
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODEL="${1:-$root/samples/mlp/model.onnx}"
CALIB_X="${2:-$root/samples/digits/calib_x.npy}"
EVAL_X="${3:-$root/samples/digits/eval_x.npy}"
EVAL_Y="${4:-$root/samples/digits/eval_y.npy}"
OUT="${OUT:-qtool-out/ptq-chain}"
MAX_DROP="${MAX_DROP:-0.5}"
FLOAT_TYPE="${FLOAT_TYPE:-fp32}"
MAX_SAMPLES="${MAX_SAMPLES:-1000}"

qtool() {
  if [[ -n "${QTOOL:-}" ]]; then
    $QTOOL "$@" # word-split on purpose: QTOOL="npx qtool"
  else
    node "$root/bin/qtool.js" "$@"
  fi
}

qtool calibrate "$MODEL" --data "$CALIB_X" --eval "$EVAL_X" --labels "$EVAL_Y" --select best --out "$OUT"
qtool sensitivity "$MODEL" --calibration "$OUT/calibration.json" \
  --data "$EVAL_X" --labels "$EVAL_Y" --max-samples "$MAX_SAMPLES" --out "$OUT"
qtool partial "$MODEL" --calibration "$OUT/calibration.json" --sensitivity "$OUT/sensitivity.json" \
  --data "$EVAL_X" --labels "$EVAL_Y" --max-drop "$MAX_DROP" --float-type "$FLOAT_TYPE" \
  --max-samples "$MAX_SAMPLES" --out "$OUT"
