#!/usr/bin/env bash
# The whole quantization workflow as a CI job: the four qtool stages chained
# through their artifacts in OUT/.
#   calibrate     -> calibration.json, model.int8.onnx, calibrate.json
#   sensitivity   -> sensitivity.json (which layers cost accuracy)
#   partial       -> model.partial.onnx, partial.json (float layers until the budget is met)
#   qat-finetune  -> model.qat.onnx, qat.json (only when partial misses the
#                    budget, or always with QAT=always; needs TRAIN_X, TRAIN_Y)
# Exit code: 0 when the last model made is within MAX_DROP points of FP32; 1
# when it is not (the models are still written); 2 on bad input. `set -e`
# passes it on, so the CI job fails with it.
#
# Usage: examples/workflow.sh [MODEL] [CALIB_X] [EVAL_X] [EVAL_Y] [TRAIN_X] [TRAIN_Y]
# Environment: OUT (default qtool-out/workflow), MAX_DROP (points, default 0.5),
#   FLOAT_TYPE (fp32|fp16), MAX_SAMPLES (evaluation samples for sensitivity and
#   partial, default 1000), QAT (auto|always|never, default auto), EPOCHS
#   (default 2), LR (QAT's starting learning rate, default 1e-3),
#   QTOOL (the qtool command, default: this checkout's).
# Defaults: the bundled MLP on sklearn digits. The ResNet on MNIST:
#   examples/workflow.sh samples/resnet/model.onnx samples/mnist/{calib_x,eval_x,eval_y,train_x,train_y}.npy
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
digits="$root/samples/digits"
MODEL="${1:-$root/samples/mlp/model.onnx}"
CALIB_X="${2:-$digits/calib_x.npy}"
EVAL_X="${3:-$digits/eval_x.npy}"
EVAL_Y="${4:-$digits/eval_y.npy}"
TRAIN_X="${5:-$([[ $# -eq 0 ]] && echo "$digits/train_x.npy" || true)}"
TRAIN_Y="${6:-$([[ $# -eq 0 ]] && echo "$digits/train_y.npy" || true)}"
OUT="${OUT:-qtool-out/workflow}"
MAX_DROP="${MAX_DROP:-0.5}"
FLOAT_TYPE="${FLOAT_TYPE:-fp32}"
MAX_SAMPLES="${MAX_SAMPLES:-1000}"
QAT="${QAT:-auto}"
EPOCHS="${EPOCHS:-2}"
LR="${LR:-1e-3}"

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
# partial exits 1 when no set of float layers meets the budget: QAT's turn.
met=0
qtool partial "$MODEL" --calibration "$OUT/calibration.json" --sensitivity "$OUT/sensitivity.json" \
  --data "$EVAL_X" --labels "$EVAL_Y" --max-drop "$MAX_DROP" --float-type "$FLOAT_TYPE" \
  --max-samples "$MAX_SAMPLES" --out "$OUT" || met=$?
if [[ $met -gt 1 ]]; then exit "$met"; fi

if [[ "$QAT" == never || ( "$QAT" == auto && $met -eq 0 ) ]]; then exit "$met"; fi
if [[ -z "$TRAIN_X" || -z "$TRAIN_Y" ]]; then
  echo "workflow.sh: partial missed the budget and QAT needs TRAIN_X and TRAIN_Y (arguments 5 and 6)" >&2
  exit 1
fi
qtool qat-finetune "$MODEL" --calibration "$OUT/calibration.json" --partial "$OUT/partial.json" \
  --train "$TRAIN_X" --train-labels "$TRAIN_Y" --epochs "$EPOCHS" --lr "$LR" --learn-ranges \
  --eval "$EVAL_X" --labels "$EVAL_Y" --max-drop "$MAX_DROP" --out "$OUT"
