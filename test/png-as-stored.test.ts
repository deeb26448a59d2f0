// The PNG fast path (src/data/png-as-stored.ts) against sharp: for every PNG
// it takes, the bytes sharp's own pipeline (removeAlpha, colourspace, raw)
// would give; every PNG it cannot take as stored is left to sharp. PNGs are
// encoded by sharp (libvips/libspng) and by Pillow (the digit fixtures).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import sharp, { type PngOptions } from 'sharp';
import { repoPath } from './lib/helpers.js';
import { pngAsStored } from '../src/data/png-as-stored.js';
import type { Preprocess } from '../src/data/preprocess.js';

const pre = (channels: Preprocess['channels']): Preprocess => ({ channels, layout: 'nchw', scale: 1 } as Preprocess);

/** What the decoding thread's sharp pipeline gives for this file when nothing is resized. */
async function viaSharp(file: Uint8Array, channels: Preprocess['channels']): Promise<Uint8Array> {
  const img = sharp(file).removeAlpha();
  img.toColourspace(channels === 'gray' ? 'b-w' : 'srgb');
  return new Uint8Array(await img.raw({ depth: 'uchar' }).toBuffer());
}

/** A w x h PNG with `c` channels of seeded pixels, encoded by sharp. */
async function png(w: number, h: number, c: 1 | 2 | 3 | 4, opts: PngOptions = {}): Promise<Uint8Array> {
  let s = 12345;
  const px = Buffer.alloc(w * h * c, 0).map(() => ((s = (s * 1103515245 + 12345) >>> 0) >>> 24));
  const img = sharp(px, { raw: { width: w, height: h, channels: c } });
  // libvips writes a one-band (+ alpha) raw image as RGB(A) unless told it is gray.
  if (c <= 2) img.toColourspace('b-w');
  return new Uint8Array(await img.png(opts).toBuffer());
}

test('plain PNGs (gray, gray+alpha, RGB, RGBA) are taken as stored, equal to what sharp decodes', async () => {
  const cases: [1 | 2 | 3 | 4, Preprocess['channels']][] = [[1, 'gray'], [2, 'gray'], [3, 'rgb'], [3, 'bgr'], [4, 'rgb']];
  for (const [c, channels] of cases) {
    const file = await png(13, 7, c);
    const got = pngAsStored(file, pre(channels));
    assert.ok(got, `${c} channels as ${channels}: taken`);
    assert.deepEqual([got.width, got.height], [13, 7]);
    assert.deepEqual(got.data, await viaSharp(file, channels), `${c} channels as ${channels}`);
  }
});

test('the PNG digits (written by Pillow) are taken as stored, equal to what sharp decodes', async () => {
  const dir = repoPath('test', 'fixtures', 'images', 'mnist-png');
  const files = readdirSync(dir).flatMap((d) => readdirSync(`${dir}/${d}`).slice(0, 3).map((f) => `${dir}/${d}/${f}`));
  assert.ok(files.length >= 20);
  for (const f of files) {
    const bytes = new Uint8Array(readFileSync(f));
    const got = pngAsStored(bytes, pre('gray'));
    assert.ok(got, f);
    assert.deepEqual(got.data, await viaSharp(bytes, 'gray'), f);
  }
});

test('PNGs whose stored pixels are not the samples are left to sharp', async () => {
  // Other channels than asked for: sharp converts colourspaces.
  assert.equal(pngAsStored(await png(5, 5, 3), pre('gray')), undefined, 'RGB as gray');
  assert.equal(pngAsStored(await png(5, 5, 1), pre('rgb')), undefined, 'gray as RGB');
  // 16 bits: sharp scales to 8.
  const sixteen = new Uint8Array(await sharp(Buffer.alloc(5 * 5 * 3 * 2, 7), { raw: { width: 5, height: 5, channels: 3 } })
    .toColourspace('rgb16').png().toBuffer());
  assert.equal(pngAsStored(sixteen, pre('rgb')), undefined, '16-bit');
  // A palette: indices, not samples.
  assert.equal(pngAsStored(await png(5, 5, 3, { palette: true }), pre('rgb')), undefined, 'palette');
  // An ICC profile: sharp converts to sRGB.
  const icc = new Uint8Array(await sharp(await png(5, 5, 3)).withIccProfile('p3').png().toBuffer());
  assert.equal(pngAsStored(icc, pre('rgb')), undefined, 'ICC profile');
  // Not a PNG, or a damaged one: sharp decodes it or names the problem.
  assert.equal(pngAsStored(new Uint8Array(readFileSync(repoPath('test', 'fixtures', 'images', 'formats', 'photo.jpg'))), pre('rgb')), undefined, 'JPEG');
  const damaged = await png(5, 5, 3);
  assert.equal(pngAsStored(damaged.subarray(0, damaged.length - 20), pre('rgb')), undefined, 'truncated');
});
