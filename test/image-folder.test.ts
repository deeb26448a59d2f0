// Image folders as datasets: decoding (sharp) against Pillow's pixels, the
// preprocessing's geometry against Pillow's nearest-neighbour resizes, labels
// from class subfolders, random access, bad input. The stages on an image
// folder: e2e/image-folder-stages.test.ts.
// Every image here was written by Pillow (test/fixtures/images/make_images.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoPath, runQtool, tempDir } from './lib/helpers.js';
import { headNpy } from './lib/npy-write.js';
import { loadDataset, type DataSourceOptions } from '../src/data/dataset.js';
import { batchFeeds, batchRanges } from '../src/data/batches.js';
import { InputError } from '../src/util/errors.js';
import type { ValueSpec } from '../src/onnx/graph.js';

const images = (...p: string[]) => repoPath('test', 'fixtures', 'images', ...p);
const RESNET = repoPath('samples', 'resnet', 'model.onnx');
const DIGITS = images('mnist-png');
const DIGITS_PRE = images('mnist.preprocess.json');
const MNIST_INPUT: ValueSpec[] = [{ name: 'input', type: 'float32', dims: ['batch', 1, 28, 28] }];

const nhwc = (h: number, w: number, c = 3): ValueSpec[] => [{ name: 'x', type: 'float32', dims: ['n', h, w, c] }];
const photo = JSON.parse(readFileSync(images('formats', 'photo.json'), 'utf8')) as { height: number; width: number; rgb: number[][][]; jpeg: number[][][] };

function maxDiff(got: ArrayLike<number>, want: number[]): number {
  assert.equal(got.length, want.length, 'value count');
  let m = 0;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(got[i]! - want[i]!));
  return m;
}

function firstSample(dir: string, specs: ValueSpec[], source: DataSourceOptions): Float32Array {
  return loadDataset(dir, specs, source).inputs[0]!.rows(0, 1) as Float32Array;
}

/** `qtool ...` fails with exit 2 and one line matching `re`. */
function badInput(args: string[], re: RegExp): void {
  const r = runQtool(args);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, re);
}

test('qtool eval on the PNG digits reproduces the .npy top-1 of the same digits', () => {
  const dir = tempDir();
  const x = headNpy(repoPath('samples', 'mnist', 'eval_x.npy'), join(dir, 'x.npy'), 300);
  const y = headNpy(repoPath('samples', 'mnist', 'eval_y.npy'), join(dir, 'y.npy'), 300);
  const npy = runQtool(['eval', RESNET, '--data', x, '--labels', y, '--json']);
  assert.equal(npy.code, 0, npy.stderr);
  const png = runQtool(['eval', RESNET, '--data', DIGITS, '--preprocess', DIGITS_PRE, '--json']);
  assert.equal(png.code, 0, png.stderr);
  const a = JSON.parse(npy.stdout) as { top1: number };
  const b = JSON.parse(png.stdout) as { top1: number; labels: string; data: { samples: number } };
  assert.equal(b.data.samples, 300);
  assert.equal(b.labels, DIGITS, 'the labels are the class subfolders');
  assert.ok(Math.abs(a.top1 - b.top1) <= 0.1, `.npy ${a.top1} %, PNG ${b.top1} %`);
});

test('each PNG digit decodes to its row of the .npy, with its class as label', () => {
  const ds = loadDataset(DIGITS, MNIST_INPUT, { preprocess: DIGITS_PRE });
  const x = loadDataset(repoPath('samples', 'mnist', 'eval_x.npy'), MNIST_INPUT);
  assert.deepEqual(ds.labels!.classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  // Files are named by their row in eval_x.npy; folder order is class by class, files sorted.
  const files = ds.labels!.classes.flatMap((c) => readdirSync(join(DIGITS, c)).sort().map((f) => ({ c: Number(c), row: Number(f.slice(0, -4)) })));
  assert.equal(files.length, ds.count);
  for (const { start, size } of batchRanges(ds.count, 64)) {
    const got = batchFeeds(ds, start, size).input!.data as Float32Array;
    for (let k = 0; k < size; k++) {
      const f = files[start + k]!;
      assert.equal(ds.labels!.values[start + k], f.c);
      assert.equal(maxDiff(got.subarray(k * 784, (k + 1) * 784), Array.from(x.inputs[0]!.rows(f.row, 1) as Float32Array)), 0, `sample ${start + k}`);
    }
  }
});

test('random access (QAT shuffles) gives the same samples as a sequential pass', () => {
  const ds = loadDataset(DIGITS, MNIST_INPUT, { preprocess: DIGITS_PRE });
  const seq = ds.inputs[0]!.rows(0, ds.count) as Float32Array;
  for (const i of [299, 3, 150, 3, 0, 77, 298]) {
    const one = ds.inputs[0]!.rows(i, 1) as Float32Array;
    assert.equal(maxDiff(one, Array.from(seq.subarray(i * 784, (i + 1) * 784))), 0, `sample ${i}`);
  }
});

test('a process that read an image folder exits on its own: the decoding thread, idle or decoding ahead, does not keep it alive', () => {
  // Reading the first batch leaves the next one being decoded ahead.
  const script = `const { loadDataset } = await import(${JSON.stringify(new URL('../src/data/dataset.js', import.meta.url).href)});
    const ds = loadDataset(${JSON.stringify(DIGITS)}, ${JSON.stringify(MNIST_INPUT)}, { preprocess: ${JSON.stringify(DIGITS_PRE)} });
    console.log(ds.inputs[0].rows(0, 32).length);`;
  // A script file, not `node -e`: worker threads inherit the eval flags and would run the script again.
  const file = join(tempDir('qtool-decoder-exit-'), 'read.mjs');
  writeFileSync(file, script);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.error, undefined, 'the process did not exit within 60 s');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), String(32 * 784));
});

test('PNG, JPEG and WebP decode to the pixels Pillow decodes', () => {
  // formats/ holds photo.jpg, photo.png, photo.webp (sorted), no class subfolders: no labels.
  const ds = loadDataset(images('formats'), nhwc(photo.height, photo.width), { preprocess: { layout: 'nhwc' } });
  assert.equal(ds.count, 3);
  assert.equal(ds.labels, undefined);
  const per = photo.height * photo.width * 3;
  const all = ds.inputs[0]!.rows(0, 3) as Float32Array;
  // JPEG: both use libjpeg-turbo's decoder; one level allows another IDCT.
  assert.ok(maxDiff(all.subarray(0, per), photo.jpeg.flat(2)) <= 1, 'JPEG');
  assert.equal(maxDiff(all.subarray(per, 2 * per), photo.rgb.flat(2)), 0, 'PNG');
  assert.equal(maxDiff(all.subarray(2 * per, 3 * per), photo.rgb.flat(2)), 0, 'lossless WebP');
});

test('channels, scale, mean, std and layout give (p * scale - mean) / std in the asked order', () => {
  const dir = tempDir();
  copyFileSync(images('formats', 'photo.png'), join(dir, 'photo.png'));
  const { height: H, width: W } = photo;
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const got = firstSample(dir, [{ name: 'x', type: 'float32', dims: ['n', 3, H, W] }], {
    preprocess: { channels: 'bgr', scale: 1 / 255, mean, std, layout: 'nchw' },
  });
  const want: number[] = [];
  for (let k = 0; k < 3; k++) {
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) want.push((photo.rgb[y]![x]![2 - k]! * (1 / 255) - mean[k]!) / std[k]!);
  }
  assert.ok(maxDiff(got, want) < 1e-6);
});

test('resize modes match Pillow (nearest neighbour): shorter side + centerCrop, height + maxWidth + pad, exact', () => {
  const expected = JSON.parse(readFileSync(images('resize', 'expected.json'), 'utf8')) as Record<string, number[][][]>;
  const cases: [string, object, number, number][] = [
    ['shorter5_crop4x4', { resize: { shorter: 5 }, centerCrop: [4, 4] }, 4, 4],
    ['height4_max8', { resize: { height: 4, maxWidth: 8, pad: 0 } }, 4, 8],
    ['exact5x3', { resize: [5, 3] }, 5, 3],
  ];
  for (const [name, spec, h, w] of cases) {
    const got = firstSample(images('resize'), nhwc(h, w), { preprocess: { ...spec, layout: 'nhwc', interpolation: 'nearest' } });
    assert.equal(maxDiff(got, expected[name]!.flat(2)), 0, name);
  }
  // The spec fixes the size the model gets: with a dynamic model input, the dataset's shape is the spec's.
  const ds = loadDataset(images('resize'), [{ name: 'x', type: 'float32', dims: ['n', 3, 'h', 'w'] }], { preprocess: { resize: { height: 4, maxWidth: 8, pad: 0 } } });
  assert.deepEqual(ds.inputs[0]!.shape, [1, 3, 4, 8]);
});

test('a flattened model input takes the same values', () => {
  const flat = loadDataset(DIGITS, [{ name: 'input', type: 'float32', dims: ['batch', 784] }], { preprocess: { channels: 'gray', resize: [28, 28] } });
  assert.deepEqual(flat.inputs[0]!.shape, [300, 784]);
  const image = loadDataset(DIGITS, MNIST_INPUT, { preprocess: DIGITS_PRE });
  assert.equal(maxDiff(flat.inputs[0]!.rows(5, 2) as Float32Array, Array.from(image.inputs[0]!.rows(5, 2) as Float32Array)), 0);
});

test('classes.txt orders the classes; images beside class folders are refused', () => {
  const dir = tempDir();
  for (const c of ['cat', 'ant']) {
    mkdirSync(join(dir, c));
    copyFileSync(images('formats', 'photo.png'), join(dir, c, 'a.png'));
  }
  const spec = nhwc(photo.height, photo.width);
  const pre = { preprocess: { layout: 'nhwc' } };
  assert.deepEqual(loadDataset(dir, spec, pre).labels!.classes, ['ant', 'cat'], 'sorted names');
  writeFileSync(join(dir, 'classes.txt'), 'cat\nant\nbee\n');
  const listed = loadDataset(dir, spec, pre).labels!;
  assert.deepEqual(listed.classes, ['cat', 'ant', 'bee']);
  assert.deepEqual(Array.from(listed.values), [0, 1], 'cat/a.png, then ant/a.png, in classes.txt order');
  writeFileSync(join(dir, 'classes.txt'), 'cat\n');
  assert.throws(() => loadDataset(dir, spec, pre), (e: Error) => e instanceof InputError && /classes\.txt: does not list the subfolder 'ant'/.test(e.message));
  writeFileSync(join(dir, 'classes.txt'), 'cat\nant\n');
  copyFileSync(images('formats', 'photo.png'), join(dir, 'loose.png'));
  assert.throws(() => loadDataset(dir, spec, pre), (e: Error) => e instanceof InputError && /holds both images \(loose\.png\) and subfolders/.test(e.message));
});

test('a corrupt or misnamed image is one line naming the file, exit 2', () => {
  badInput(['eval', RESNET, '--data', images('bad', 'truncated'), '--preprocess', DIGITS_PRE], /bad\/truncated\/truncated\.png: cannot read this image \(/);
  badInput(['eval', RESNET, '--data', images('bad', 'notimage'), '--preprocess', DIGITS_PRE], /bad\/notimage\/notimage\.png: cannot read this image \(not a PNG, JPEG or WebP file\)/);
});

test('bad preprocessing is one line naming the file and the key', () => {
  const dir = tempDir();
  const write = (name: string, v: unknown) => {
    writeFileSync(join(dir, name), JSON.stringify(v));
    return join(dir, name);
  };
  const run = (p: string) => ['eval', RESNET, '--data', DIGITS, '--preprocess', p];
  badInput(run(write('typo.json', { channels: 'gray', resise: [28, 28] })), /typo\.json: unknown preprocessing key 'resise' \(expected channels, resize,/);
  badInput(run(write('nested.json', { channels: 'gray', resize: { shorter: 28, pad: 1 } })), /nested\.json: (unknown preprocessing key 'resize\.pad'|resize: )/);
  badInput(run(write('chan.json', { channels: 'cmyk' })), /chan\.json: channels: /);
  badInput(run(write('mean.json', { channels: 'rgb', mean: [1, 2] })), /mean\.json: mean: 2 values for 3 channels/);
  badInput(run(write('short.json', { channels: 'gray', resize: { shorter: 28 } })), /short\.json: resize \{"shorter": N\} gives images of different sizes; add centerCrop/);
  badInput(run(write('big.json', { channels: 'gray', resize: [32, 32] })), /big\.json: makes 32x32 \(H x W\) images; input 'input' takes 28x28/);
  badInput(['eval', RESNET, '--data', DIGITS], /mnist-png: is an image folder; give --preprocess/);
  // Another size without a resize: named, never silently reshaped.
  badInput(['eval', RESNET, '--data', images('formats'), '--preprocess', DIGITS_PRE], /photo\.jpg: is 12x9 \(W x H\); the model takes 28x28: add "resize"/);
});

test('a config gives the preprocessing inline or as a file; errors name the config and the key', () => {
  const dir = tempDir();
  const config = (preprocess: unknown) => {
    const p = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(p, JSON.stringify({ model: RESNET, data: { calibration: DIGITS, eval: DIGITS, preprocess }, maxDrop: 1 }));
    return p;
  };
  const inline = runQtool(['eval', '--config', config({ channels: 'gray' }), '--json']);
  assert.equal(inline.code, 0, inline.stderr);
  const file = runQtool(['eval', '--config', config(DIGITS_PRE), '--json']);
  assert.equal(file.code, 0, file.stderr);
  assert.equal((JSON.parse(inline.stdout) as { top1: number }).top1, (JSON.parse(file.stdout) as { top1: number }).top1);
  const bad = config({ channels: 'gray', flip: true });
  badInput(['eval', '--config', bad], new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: data\\.preprocess: unknown preprocessing key 'flip'`));
});
