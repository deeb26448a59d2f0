// The preprocessing spec of an image folder (`--preprocess P.json`, or
// `data.preprocess` in the config) and the pure parts of applying it: the
// geometry of each image (resize, crop, pad) and 8-bit pixels to float32.
// Decoding and resampling are sharp's (image-worker.ts).
import { z } from 'zod';
import { fileError } from '../util/errors.js';
import { readInputFile } from '../util/files.js';

const CHANNELS = ['rgb', 'bgr', 'gray'] as const;
const LAYOUTS = ['nchw', 'nhwc'] as const;
/** Resampling filters, as sharp names its kernels. */
export const INTERPOLATIONS = ['nearest', 'linear', 'cubic', 'lanczos3'] as const;

const side = z.number().int('expected a whole number').positive('expected a whole number > 0');
const size = z.tuple([side, side], { error: 'expected [height, width]' });

export const preprocessSchema = z.object({
  channels: z.enum(CHANNELS).default('rgb'),
  resize: z.union([
    size,
    z.object({ shorter: side }).strict(),
    z.object({ height: side, maxWidth: side, pad: z.number().default(0) }).strict(),
  ], { error: 'expected [height, width], {"shorter": N} or {"height": H, "maxWidth": W, "pad": V}' }).optional(),
  centerCrop: size.optional(),
  interpolation: z.enum(INTERPOLATIONS).default('linear'),
  scale: z.number().default(1),
  mean: z.array(z.number()).min(1).optional(),
  std: z.array(z.number().refine((v) => v !== 0, 'expected non-zero values')).min(1).optional(),
  layout: z.enum(LAYOUTS).default('nchw'),
}).strict();

export type Preprocess = z.output<typeof preprocessSchema>;

export const channelCount = (p: Preprocess): number => (p.channels === 'gray' ? 1 : 3);

/** `key: problem` for the first issue, naming an unknown key by its name. */
function issueText(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    if (issue.path.length) return `unknown preprocessing key '${issue.path.join('.')}.${issue.keys[0]}'`;
    return `unknown preprocessing key '${issue.keys[0]}' (expected ${Object.keys(preprocessSchema.shape).join(', ')})`;
  }
  return `${issue.path.join('.') || '(top level)'}: ${issue.message}`;
}

/**
 * The spec from a JSON file, or an object given inline (the config's
 * `data.preprocess`; `where` then names the config and the key).
 */
export function loadPreprocess(source: string | object, where = typeof source === 'string' ? source : 'preprocess'): Preprocess {
  let raw: unknown = source;
  if (typeof source === 'string') {
    try {
      raw = JSON.parse(readInputFile(source).toString('utf8'));
    } catch (e) {
      if (e instanceof SyntaxError) throw fileError(where, `not valid JSON (${e.message})`);
      throw e;
    }
  }
  const parsed = preprocessSchema.safeParse(raw);
  if (!parsed.success) throw fileError(where, issueText(parsed.error.issues[0]!));
  const p = parsed.data;
  const c = channelCount(p);
  for (const key of ['mean', 'std'] as const) {
    const v = p[key];
    if (v && v.length !== 1 && v.length !== c) throw fileError(where, `${key}: ${v.length} values for ${c} channel${c > 1 ? 's' : ''} (${p.channels})`);
  }
  if (p.resize && 'shorter' in p.resize && !p.centerCrop) {
    throw fileError(where, 'resize {"shorter": N} gives images of different sizes; add centerCrop [H, W]');
  }
  return p;
}

export interface Size { height: number; width: number }

/** The output size the spec fixes whatever the image's size, if it does. */
export function fixedSize(p: Preprocess): Size | undefined {
  if (p.centerCrop) return { height: p.centerCrop[0], width: p.centerCrop[1] };
  if (Array.isArray(p.resize)) return { height: p.resize[0], width: p.resize[1] };
  if (p.resize && 'maxWidth' in p.resize) return { height: p.resize.height, width: p.resize.maxWidth };
  return undefined;
}

/** What to do with one image: resize to, then crop, then pad on the right to `out`. */
export interface Geometry {
  resize?: Size;
  crop?: { left: number; top: number } & Size;
  /** The final size; wider than the resized (and cropped) image when padding. */
  out: Size;
  pad: number;
}

/** Python's round(): halves to even, as torchvision's center crop rounds. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The geometry for an image of `image` size. Sizes are computed as
 * torchvision (shorter side: the longer one is int(N * long / short)) and
 * PaddleOCR (height and maximum width: ceil(W * H / h), then padded) do.
 * A problem (an image smaller than the crop, or of the wrong size without a
 * resize) is returned as text for the caller to name the file.
 */
export function planGeometry(image: Size, p: Preprocess, target: Size): Geometry | string {
  let cur = image;
  let resize: Size | undefined;
  let padTo: number | undefined;
  const r = p.resize;
  if (Array.isArray(r)) resize = { height: r[0], width: r[1] };
  else if (r && 'shorter' in r) {
    resize = image.width <= image.height
      ? { width: r.shorter, height: Math.floor((r.shorter * image.height) / image.width) }
      : { height: r.shorter, width: Math.floor((r.shorter * image.width) / image.height) };
  } else if (r) {
    resize = { height: r.height, width: Math.min(r.maxWidth, Math.ceil((image.width * r.height) / image.height)) };
    padTo = r.maxWidth;
  }
  if (resize) cur = resize;
  let crop: Geometry['crop'];
  if (p.centerCrop) {
    const [height, width] = p.centerCrop;
    if (cur.height < height || cur.width < width) {
      return `is ${cur.width}x${cur.height} (W x H)${resize ? ' after resizing' : ''}, smaller than centerCrop [${height}, ${width}]`;
    }
    crop = { top: roundHalfEven((cur.height - height) / 2), left: roundHalfEven((cur.width - width) / 2), height, width };
    cur = { height, width };
  }
  const out = { height: cur.height, width: padTo ?? cur.width };
  if (out.height !== target.height || out.width !== target.width) {
    return `is ${image.width}x${image.height} (W x H); the model takes ${target.width}x${target.height}: add "resize" (or "centerCrop") to the preprocessing`;
  }
  const pad = r && !Array.isArray(r) && 'pad' in r ? r.pad : 0;
  return { ...(resize && { resize }), ...(crop && { crop }), out, pad };
}

/**
 * 8-bit interleaved pixels (`width` x `height`, `channels` each, as decoded:
 * RGB or gray) to float32 (p * scale - mean) / std in the spec's channel order
 * and layout, written at `dst[offset..]`. Columns from `width` to out.width
 * are padding: `pad` in pixel units, normalised like a pixel.
 */
export function writePixels(dst: Float32Array, offset: number, px: Uint8Array, width: number, out: Size, pad: number, p: Preprocess): void {
  const c = channelCount(p);
  const { height, width: W } = out;
  const mean = p.mean ?? [0];
  const std = p.std ?? [1];
  const nchw = p.layout === 'nchw';
  const scale = p.scale;
  for (let k = 0; k < c; k++) {
    const src = p.channels === 'bgr' ? 2 - k : k;
    const m = mean.length === 1 ? mean[0]! : mean[k]!;
    const s = std.length === 1 ? std[0]! : std[k]!;
    const padValue = (pad * scale - m) / s;
    // Where (k, y, x) goes: base + y * rowStep + x * colStep.
    const base = offset + (nchw ? k * height * W : k);
    const rowStep = nchw ? W : W * c;
    const colStep = nchw ? 1 : c;
    const filled = Math.min(width, W);
    for (let y = 0; y < height; y++) {
      let at = base + y * rowStep;
      let from = y * width * c + src;
      for (let x = 0; x < filled; x++, at += colStep, from += c) dst[at] = (px[from]! * scale - m) / s;
      for (let x = filled; x < W; x++, at += colStep) dst[at] = padValue;
    }
  }
}
