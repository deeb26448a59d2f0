#!/usr/bin/env python3
"""ONNX Runtime's quantize_static on the outlier models, next to qtool's PTQ passes.

    node dist/bench/ptq-passes.bench.js bench/out/ptq-passes      # writes the outlier models
    python3 bench/ort_ptq_outliers.py bench/out/ptq-passes/outlier-resnet.onnx --per-tensor
    python3 bench/ort_ptq_outliers.py bench/out/ptq-passes/outlier-transformer.onnx

Needs `python3 -m pip install onnx onnxruntime numpy`. For each calibrator
(MinMax, Entropy, Percentile, ORT's defaults) the model goes through
quant_pre_process and quantize_static in QDQ format with QUInt8 activations
and QInt8 weights (per channel, or per tensor with --per-tensor), calibrated
on samples/mnist/calib_x.npy (1000 digits), and is scored by top-1 on
samples/mnist/eval_x.npy / eval_y.npy (3000 digits), as qtool calibrate
--eval scores its models. ORT's own SmoothQuant option needs Intel's
neural-compressor, which is not installed here, so it is not run.
One JSON line per method on stdout.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST = os.path.join(ROOT, "samples", "mnist")


def top1(path: str, x, y) -> float:
    import numpy as np
    import onnxruntime as ort
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    pred = np.concatenate([sess.run(None, {name: x[i:i + 100]})[0].argmax(-1) for i in range(0, len(x), 100)])
    return round(100.0 * float((pred == y).mean()), 2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--per-tensor", action="store_true", help="one weight scale per tensor (per_channel=False)")
    args = ap.parse_args()
    import numpy as np
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    calib = np.load(os.path.join(MNIST, "calib_x.npy")).astype(np.float32)
    x = np.load(os.path.join(MNIST, "eval_x.npy")).astype(np.float32)
    y = np.load(os.path.join(MNIST, "eval_y.npy"))

    class Reader:
        def __init__(self, name: str) -> None:
            self.name, self.i = name, 0

        def get_next(self):
            if self.i >= len(calib):
                return None
            self.i += 100
            return {self.name: calib[self.i - 100:self.i]}

        def rewind(self) -> None:
            self.i = 0

    fp32 = top1(args.model, x, y)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = os.path.join(tmp, "prep.onnx")
        quant_pre_process(args.model, prepared)
        import onnxruntime as ort
        name = ort.InferenceSession(prepared, providers=["CPUExecutionProvider"]).get_inputs()[0].name
        for method in ("MinMax", "Entropy", "Percentile"):
            out = os.path.join(tmp, f"{method}.onnx")
            quantize_static(prepared, out, Reader(name), quant_format=QuantFormat.QDQ, per_channel=not args.per_tensor,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=getattr(CalibrationMethod, method))
            print(json.dumps({"model": os.path.basename(args.model), "per_channel": not args.per_tensor, "method": method,
                              "fp32_top1": fp32, "int8_top1": top1(out, x, y)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
