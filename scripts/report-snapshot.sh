#!/usr/bin/env bash
# Runs every stage on every bundled sample and writes the reports into OUT,
# so that two versions of qtool can be compared with scripts/compare-reports.mjs:
#   scripts/report-snapshot.sh /tmp/before   (on the old commit)
#   scripts/report-snapshot.sh /tmp/after    (on the new one)
#   node scripts/compare-reports.mjs /tmp/before /tmp/after
# Small slices of the data keep it to a few minutes: sensitivity and partial
# on 500 evaluation samples, QAT for 20 steps (640 training samples, batch 32),
# and a run with a zero budget from entropy ranges and per-tensor weights, so
# that every stage of `qtool run` executes.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/report-snapshot.sh OUT_DIR (inside the checkout, so that report paths are the same for both versions)}
qtool=(node bin/qtool.js)
mkdir -p "$out"
echo "$out" > "$out/ROOT"

head_npy() { # SRC DST N: the first N samples of an .npy
  node --input-type=module -e "
    import { readFileSync, writeFileSync } from 'node:fs';
    const [src, dst, n] = process.argv.slice(1);
    const b = readFileSync(src);
    const hl = b.readUInt16LE(8), header = b.subarray(10, 10 + hl).toString('latin1');
    const shape = /'shape': \(([^)]*)\)/.exec(header)[1].split(',').filter((s) => s.trim()).map(Number);
    const descr = /'descr': '([^']+)'/.exec(header)[1];
    const item = Number(descr.slice(2)) * shape.slice(1).reduce((a, c) => a * c, 1);
    const rows = Math.min(Number(n), shape[0]);
    let h = header.replace(/'shape': \([^)]*\)/, \"'shape': (\" + [rows, ...shape.slice(1)].join(', ') + (shape.length === 1 ? ',' : '') + ')').trimEnd();
    const pad = 64 - ((10 + h.length + 1) % 64);
    h = h + ' '.repeat(pad % 64) + '\n';
    const head = Buffer.alloc(10); b.copy(head, 0, 0, 8); head.writeUInt16LE(h.length, 8);
    writeFileSync(dst, Buffer.concat([head, Buffer.from(h, 'latin1'), b.subarray(10 + hl, 10 + hl + rows * item)]));
  " "$1" "$2" "$3"
}

for sample in mlp resnet mobilenet transformer; do
  data=mnist; [[ $sample == mlp ]] && data=digits
  d="$out/$sample"; mkdir -p "$d/data"
  head_npy "samples/$data/eval_x.npy" "$d/data/eval_x.npy" 500
  head_npy "samples/$data/eval_y.npy" "$d/data/eval_y.npy" 500
  head_npy "samples/$data/train_x.npy" "$d/data/train_x.npy" 640
  head_npy "samples/$data/train_y.npy" "$d/data/train_y.npy" 640
  m="samples/$sample/model.onnx"
  echo "== $sample" >&2
  "${qtool[@]}" calibrate "$m" --data "samples/$data/calib_x.npy" --eval "$d/data/eval_x.npy" --labels "$d/data/eval_y.npy" \
    --method all --select best --out "$d/cal" >/dev/null
  "${qtool[@]}" sensitivity "$m" --calibration "$d/cal/calibration.json" --data "$d/data/eval_x.npy" --labels "$d/data/eval_y.npy" \
    --mode both --out "$d/cal" >/dev/null
  "${qtool[@]}" partial "$m" --calibration "$d/cal/calibration.json" --sensitivity "$d/cal/sensitivity.json" \
    --data "$d/data/eval_x.npy" --labels "$d/data/eval_y.npy" --keep-float 2 --float-type fp16 --out "$d/cal" >/dev/null
  "${qtool[@]}" qat-finetune "$m" --calibration "$d/cal/calibration.json" --partial "$d/cal/partial.json" \
    --train "$d/data/train_x.npy" --train-labels "$d/data/train_y.npy" --epochs 1 --lr 1e-4 \
    --eval "$d/data/eval_x.npy" --labels "$d/data/eval_y.npy" --out "$d/cal" >/dev/null 2>&1 || [[ $? == 1 ]]
  up=$(realpath --relative-to="$d" .)
  cat > "$d/config.json" <<JSON
{ "model": "$up/$m",
  "data": { "calibration": "$up/samples/$data/calib_x.npy", "eval": "data/eval_x.npy", "evalLabels": "data/eval_y.npy",
            "train": "data/train_x.npy", "trainLabels": "data/train_y.npy" },
  "maxDrop": 0,
  "calibrate": { "method": "entropy", "perChannel": false },
  "partial": { "maxFloatLayers": 1 },
  "qat": { "epochs": 1, "lr": 0.0001 } }
JSON
  "${qtool[@]}" run "$d/config.json" --out "$d/run" >/dev/null 2>&1 || [[ $? == 1 ]]
done
echo "reports in $out" >&2
