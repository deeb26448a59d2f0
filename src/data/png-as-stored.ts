// PNGs whose stored pixels are already the samples the preprocessing wants,
// decoded with fast-png (a maintained pure-JS PNG decoder) instead of sharp.
// libvips builds a pipeline per image that costs about half a millisecond of
// CPU even for a 28x28 digit, more than a small model's forward pass on it,
// so on MNIST-sized folders sharp alone could not keep up with onnxruntime.
// Only the plain case takes this path: 8 bits, no palette, no transparency
// key, no ICC profile, the channels asked for (gray from gray, RGB from RGB;
// alpha dropped, as sharp's removeAlpha does), and no resize or crop. For
// those, sharp's output is the stored bytes, which a test checks image by
// image; anything else, and any file fast-png cannot read, goes to sharp.
import { decode } from 'fast-png';
import type { Preprocess } from './preprocess.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The stored pixels, interleaved, with the preprocessing's channel count; undefined when sharp must decode. */
export function pngAsStored(file: Uint8Array, p: Preprocess): { width: number; height: number; data: Uint8Array } | undefined {
  if (file.length < 8 || PNG_SIGNATURE.some((b, i) => file[i] !== b)) return undefined;
  let png: ReturnType<typeof decode>;
  try {
    png = decode(file);
  } catch {
    return undefined; // sharp decodes it, or names what is wrong with it
  }
  if (png.depth !== 8 || png.palette || png.transparency || png.iccEmbeddedProfile) return undefined;
  const colour = png.channels === 1 || png.channels === 2 ? 1 : 3;
  if (colour !== (p.channels === 'gray' ? 1 : 3)) return undefined;
  const data = png.data as Uint8Array;
  if (png.channels === colour) return { width: png.width, height: png.height, data };
  // Drop the alpha channel.
  const pixels = png.width * png.height;
  const out = new Uint8Array(pixels * colour);
  for (let i = 0, from = 0, to = 0; i < pixels; i++, from++) {
    for (let k = 0; k < colour; k++) out[to++] = data[from++]!;
  }
  return { width: png.width, height: png.height, data: out };
}
