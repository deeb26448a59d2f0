#!/usr/bin/env python3
"""ONNX Runtime's quantize_static with MinMax on any model and .npz: the reference for the scale benchmarks.

    python3 bench/ort_minmax.py MODEL DATA.npz OUT.onnx [--batch 32] [--mem-gb 12]

DATA.npz holds one array per model input (qtool's format). quantize_static in
QDQ format, per_channel=True, activations QUInt8, weights QInt8 (qtool's
defaults), CalibrationMethod.MinMax with ORT's default options, fed in
batches of --batch, no pre-processing. The process caps its own address space
at --mem-gb (resource.RLIMIT_AS), so that ORT, which keeps every calibration
output of every tensor before it computes ranges, fails instead of taking a
shared machine down; a failure for lack of memory prints status "exceeded".
Prints one JSON line: {"status", "seconds", "memGb", "error"?}. Needs onnx,
onnxruntime and numpy.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--mem-gb", type=float, default=12.0)
    args = ap.parse_args()
    cap = int(args.mem_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    import numpy as np
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

    arrays = dict(np.load(args.data))
    count = len(next(iter(arrays.values())))

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.start = 0

        def get_next(self):
            if self.start >= count:
                return None
            feed = {k: v[self.start:self.start + args.batch] for k, v in arrays.items()}
            self.start += args.batch
            return feed

        def rewind(self) -> None:
            self.start = 0

    t0 = time.perf_counter()
    result = {"status": "ok", "memGb": args.mem_gb}
    try:
        quantize_static(args.model, args.out, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
    except MemoryError as e:
        result.update(status="exceeded", error=f"MemoryError {e}"[:200])
    except Exception as e:  # onnxruntime reports a failed allocation as its own exception
        text = str(e)
        memory = any(w in text.lower() for w in ("bad_alloc", "allocate", "memory"))
        result.update(status="exceeded" if memory else "failed", error=text.split("\n")[0][:200])
    result["seconds"] = time.perf_counter() - t0
    print(json.dumps(result), flush=True)
    return 0 if result["status"] != "failed" else 1


if __name__ == "__main__":
    sys.exit(main())
