// An image folder as a dataset: PNG, JPEG and WebP files, decoded and
// preprocessed (preprocess.ts) on demand by a worker thread (image-decoder.ts).
//
// DIR/<class>/... (one subfolder per class) gives labels: the classes are the
// sorted subfolder names, or the lines of DIR/classes.txt in their order.
// DIR with the images directly in it has no labels. Files are taken in sorted
// path order (class by class), so a run sees the same order every time.
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileError } from '../util/errors.js';
import { readInputFile } from '../util/files.js';
import type { ValueSpec } from '../onnx/graph.js';
import { sizeOf } from '../onnx/tensor.js';
import { ImageDecoder } from './image-decoder.js';
import { channelCount, fixedSize, loadPreprocess, type Preprocess, type Size } from './preprocess.js';
import type { DatasetInput, FolderLabels } from './dataset.js';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp']);
export const CLASSES_FILE = 'classes.txt';

/** The image files of a folder and its labels, if it has class subfolders. */
export interface ImageListing {
  files: string[];
  labels?: FolderLabels;
}

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function entries(dir: string) {
  return readdirSync(dir, { withFileTypes: true }).filter((e) => !e.name.startsWith('.')).sort((a, b) => byCodePoint(a.name, b.name));
}

/** Every image under `dir`, depth first, in sorted order. */
function imagesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of entries(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...imagesUnder(p));
    else if (IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) out.push(p);
  }
  return out;
}

export function listImages(dir: string): ImageListing {
  const all = entries(dir);
  const topImages = all.filter((e) => !e.isDirectory() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase()));
  const subfolders = all.filter((e) => e.isDirectory()).map((e) => e.name);
  if (subfolders.length === 0) {
    if (topImages.length === 0) throw fileError(dir, 'is a folder without PNG, JPEG or WebP images; --data takes a .npy or .npz file, an image folder or a text file');
    return { files: topImages.map((e) => join(dir, e.name)) };
  }
  if (topImages.length) {
    throw fileError(dir, `holds both images (${topImages[0]!.name}) and subfolders (${subfolders[0]}); put every image in its class's subfolder, or none in subfolders`);
  }
  const classes = classNames(dir, subfolders);
  const files: string[] = [];
  const ids: number[] = [];
  classes.forEach((name, c) => {
    if (!subfolders.includes(name)) return; // a class of classes.txt without images
    for (const f of imagesUnder(join(dir, name))) {
      files.push(f);
      ids.push(c);
    }
  });
  if (files.length === 0) throw fileError(dir, 'holds no PNG, JPEG or WebP images in its class subfolders');
  return { files, labels: { values: Int32Array.from(ids), classes, source: dir } };
}

/** The sorted subfolder names, or classes.txt's lines (each subfolder must be one). */
function classNames(dir: string, subfolders: string[]): string[] {
  const listed = entries(dir).some((e) => e.name === CLASSES_FILE && !e.isDirectory());
  if (!listed) return subfolders;
  const path = join(dir, CLASSES_FILE);
  const names = readInputFile(path).toString('utf8').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw fileError(path, `class '${n}' is listed twice`);
    seen.add(n);
  }
  const unlisted = subfolders.filter((s) => !seen.has(s));
  if (unlisted.length) throw fileError(path, `does not list the subfolder '${unlisted[0]}'; list every class folder, one per line`);
  return names;
}

/** PNG, JPEG or WebP by their first bytes: a misnamed or empty file is named before any work. */
function checkSignature(file: string): void {
  const head = Buffer.alloc(12);
  const fd = openSync(file, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, 12, 0);
  } finally {
    closeSync(fd);
  }
  const png = n >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const jpeg = n >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff;
  const webp = n >= 12 && head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP';
  if (!png && !jpeg && !webp) throw fileError(file, 'cannot read this image (not a PNG, JPEG or WebP file)');
}

/** The output size: the spec's, else the model's fixed spatial dims, which must agree. */
function targetSize(p: Preprocess, where: string, spec: ValueSpec): Size {
  const fromSpec = fixedSize(p);
  const d = spec.dims;
  const [h, w] = d?.length === 4 ? (p.layout === 'nchw' ? [d[2], d[3]] : [d[1], d[2]]) : [undefined, undefined];
  const fromModel = typeof h === 'number' && h > 0 && typeof w === 'number' && w > 0 ? { height: h, width: w } : undefined;
  if (fromSpec && fromModel && (fromSpec.height !== fromModel.height || fromSpec.width !== fromModel.width)) {
    throw fileError(where, `makes ${fromSpec.height}x${fromSpec.width} (H x W) images; input '${spec.name}' takes ${fromModel.height}x${fromModel.width}`);
  }
  const size = fromSpec ?? fromModel;
  if (!size) throw fileError(where, `sets no image size (resize or centerCrop) and input '${spec.name}' does not fix one`);
  return size;
}

/**
 * The per-sample shape: the spec's [C, H, W] or [H, W, C], or the model's
 * own fixed shape when it holds the same values in another rank ([N, 784]
 * for flattened gray 28x28 digits).
 */
function sampleShape(p: Preprocess, size: Size, spec: ValueSpec): number[] {
  const c = channelCount(p);
  const own = p.layout === 'nchw' ? [c, size.height, size.width] : [size.height, size.width, c];
  const model = spec.dims?.slice(1);
  if (model && model.length !== own.length && model.every((d) => typeof d === 'number' && d > 0) && sizeOf(model as number[]) === sizeOf(own)) {
    return model as number[];
  }
  return own;
}

export interface ImageFolderSource {
  count: number;
  input: DatasetInput;
  labels?: FolderLabels;
}

/** The folder as the one input of `spec`; the preprocessing from a file or inline (the config's). */
export function openImageFolder(dir: string, spec: ValueSpec, preprocess: string | object | undefined, preprocessWhere?: string): ImageFolderSource {
  const { files, labels } = listImages(dir);
  if (preprocess === undefined) throw fileError(dir, 'is an image folder; give --preprocess FILE.json (or data.preprocess in the config)');
  const where = preprocessWhere ?? (typeof preprocess === 'string' ? preprocess : 'preprocess');
  const p = loadPreprocess(preprocess, where);
  if (spec.type !== 'float32' && spec.type !== 'unknown') throw fileError(dir, `images become float32; input '${spec.name}' is ${spec.type}`);
  for (const f of files) checkSignature(f);
  const size = targetSize(p, where, spec);
  const decoder = new ImageDecoder(files, p, size, channelCount(p));
  const shape = [files.length, ...sampleShape(p, size, spec)];
  const input: DatasetInput = {
    spec, type: 'float32', shape, source: 'disk',
    rows: (start, n) => {
      if (!Number.isInteger(start) || !Number.isInteger(n) || start < 0 || n < 0 || start + n > files.length) {
        throw new RangeError(`rows: samples [${start}, ${start + n}) outside 0..${files.length} of ${dir}`);
      }
      return decoder.samples(start, n);
    },
  };
  return { count: files.length, input, ...(labels && { labels }) };
}
