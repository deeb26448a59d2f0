"""How PaddleOCR's outputs are scored on samples/ocr, shared by samples/make_ocr_data.py
(FP32 figures) and bench/ort_quantize_baseline.py (INT8 figures). numpy only."""
from __future__ import annotations

import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DICT_PATH = os.path.join(ROOT, "node_modules", "@gutenye", "ocr-models", "assets", "ppocr_keys_v1.txt")


def load_dictionary() -> list[str]:
    """CTC classes as PaddleOCR's CTCLabelDecode builds them: blank, the dictionary, ' ' (use_space_char)."""
    with open(DICT_PATH, encoding="utf-8") as f:
        chars = [line.rstrip("\r\n") for line in f]
    return ["<blank>"] + chars + [" "]


def ctc_greedy(ids: np.ndarray, classes: list[str]) -> list[str]:
    """Per-position argmax ids -> strings: repeats merged, blanks (index 0) dropped."""
    out = []
    for seq in ids:
        keep = np.ones(len(seq), bool)
        keep[1:] = seq[1:] != seq[:-1]
        keep &= seq != 0
        out.append("".join(classes[i] for i in seq[keep]))
    return out


def det_box_recall(prob: np.ndarray, pages: list[list[dict]], thresh: float = 0.3) -> float:
    """Share of text boxes whose area the detector marks (prob > thresh) at >= 30 %
    (DBNet's shrunk kernels cover roughly the inner half of a line's box)."""
    hit = total = 0
    for p, boxes in zip(prob[:, 0], pages):
        for b in boxes:
            x0, y0, x1, y1 = b["box"]
            region = p[y0:y1, x0:x1]
            total += 1
            hit += int(region.size > 0 and (region > thresh).mean() >= 0.3)
    return 100.0 * hit / max(1, total)
