#!/usr/bin/env python3
"""BERT-base at full size for the scale benchmarks: a Hugging Face
BertForSequenceClassification (12 layers, hidden 768, 12 heads, FFN 3072,
vocabulary 30522; random weights, seeded, built from BertConfig in code, no hub
download), exported by torch.onnx.export (TorchScript exporter, opset 17,
dynamic batch and sequence axes), and calibration/evaluation data as .npz
with input_ids, attention_mask and token_type_ids at sequence length 128.

    python3 -m pip install torch transformers onnx onnxruntime numpy
    python3 bench/bert_base.py [--out bench/out/bert-base] [--samples 64,256]

Writes OUT/model.onnx (about 440 MB; not committed), OUT/calib-N.npz for each N
of --samples, OUT/eval.npz (256 rows) with OUT/eval_labels.npy (the FP32
model's own argmax: random weights have no task, so agreement is the metric),
and OUT/manifest.json. Each row is [CLS] words [SEP] words [SEP] then padding,
lengths uniform in [32, 128], so the attention mask pads most rows.
"""
import argparse
import json
import os
import time
import warnings

import numpy as np

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
SEQ = 128
VOCAB = 30522
PAD, CLS, SEP = 0, 101, 102


def make_data(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.RandomState(seed)
    ids = np.full((n, SEQ), PAD, np.int64)
    mask = np.zeros((n, SEQ), np.int64)
    types = np.zeros((n, SEQ), np.int64)
    for r in range(n):
        length = rng.randint(32, SEQ + 1)
        words = rng.randint(1000, VOCAB, size=length - 3)
        split = 1 + len(words) // 2
        ids[r, :length] = [CLS, *words[:split - 1], SEP, *words[split - 1:], SEP]
        mask[r, :length] = 1
        types[r, split + 1:length] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def save_npz(path: str, arrays: dict[str, np.ndarray]) -> None:
    tmp = path + ".tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out", "bert-base"))
    ap.add_argument("--samples", default="64,256", help="comma-separated calibration set sizes")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    import torch
    import onnxruntime as ort
    import transformers
    from transformers import BertConfig, BertForSequenceClassification

    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    model = BertForSequenceClassification(BertConfig(num_labels=2)).eval()  # BERT-base defaults
    path = os.path.join(args.out, "model.onnx")
    example = make_data(2, args.seed + 100)
    t0 = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, tuple(torch.from_numpy(example[k]) for k in INPUTS), path + ".tmp",
            dynamo=False, opset_version=17, input_names=list(INPUTS), output_names=["logits"],
            dynamic_axes={**{k: {0: "batch", 1: "sequence"} for k in INPUTS}, "logits": {0: "batch"}},
            do_constant_folding=True,
        )
    os.replace(path + ".tmp", path)
    export_s = time.time() - t0

    sizes = [int(s) for s in args.samples.split(",") if s]
    for n in sizes:
        save_npz(os.path.join(args.out, f"calib-{n}.npz"), make_data(n, args.seed + n))
    eval_x = make_data(256, args.seed + 7)
    save_npz(os.path.join(args.out, "eval.npz"), eval_x)

    # Check against torch on a few rows, and label the eval rows with the FP32 argmax.
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    logits = np.concatenate([sess.run(None, {k: v[i:i + 32] for k, v in eval_x.items()})[0] for i in range(0, 256, 32)])
    with torch.no_grad():
        ref = model(**{k: torch.from_numpy(v[:8]) for k, v in eval_x.items()}).logits.numpy()
    diff = float(np.abs(logits[:8] - ref).max())
    assert diff < 1e-3, f"onnxruntime vs torch max |diff| {diff}"
    labels = logits.argmax(1).astype(np.int64)
    np.save(os.path.join(args.out, "eval_labels.npy"), labels)
    manifest = {
        "model": "BertForSequenceClassification(BertConfig(num_labels=2)), random init, seed %d" % args.seed,
        "exporter": "torch.onnx.export(dynamo=False, opset_version=17)",
        "bytes": os.path.getsize(path), "sequence": SEQ, "calib": sizes, "eval": 256,
        "max_abs_diff_vs_torch": diff, "export_seconds": round(export_s, 1),
        "torch": torch.__version__, "transformers": transformers.__version__, "onnxruntime": ort.__version__,
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    print(json.dumps(manifest))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
