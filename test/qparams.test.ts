// Quantization arithmetic against ONNX's own backend test cases (Debian's
// libonnx-testdata) and hand-computed ORT-formula cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnx } from '../src/onnx/proto/onnx.js';
import { tensorToArray, type DecodedTensor } from '../src/onnx/tensor.js';
import { attrInt } from '../src/onnx/graph.js';
import {
  computeScaleZeroPoint, dequantizeLinear, dequantizeLinearPerAxis, qparamsFromRange, qRange, quantizeLinear,
  quantizeLinearPerAxis, quantizeWeightPerChannel, quantizeWeightPerTensor, roundHalfEven, typeRange,
  ZERO_RANGE_WEIGHT_SCALE, type QuantArray, type QuantType,
} from '../src/quant/qparams.js';
import { fakeQuant, fakeQuantPerAxis } from './lib/fake-quant.js';
import { onnxTestData } from './lib/helpers.js';
import { mulberry32 } from './lib/random.js';

interface OnnxCase {
  node: onnx.INodeProto;
  inputs: DecodedTensor[];
  outputs: DecodedTensor[];
}

function loadCase(name: string): OnnxCase {
  const dir = join(onnxTestData, name);
  assert.ok(existsSync(dir), `${dir} is missing: install Debian's libonnx-testdata`);
  const model = onnx.ModelProto.decode(readFileSync(join(dir, 'model.onnx')));
  const node = model.graph!.node![0];
  const read = (prefix: string): DecodedTensor[] => {
    const out: DecodedTensor[] = [];
    for (let i = 0; existsSync(join(dir, 'test_data_set_0', `${prefix}_${i}.pb`)); i++) {
      out.push(tensorToArray(onnx.TensorProto.decode(readFileSync(join(dir, 'test_data_set_0', `${prefix}_${i}.pb`)))));
    }
    return out;
  };
  return { node, inputs: read('input'), outputs: read('output') };
}

/** Bit patterns, so that -0 / NaN / rounding differences all show. */
function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

function asQuantType(t: DecodedTensor): QuantType {
  assert.ok(t.type === 'uint8' || t.type === 'int8', `unexpected zero point type ${t.type}`);
  return t.type;
}

test('quantizeLinear matches ONNX test_quantizelinear (per tensor) bit-exactly', () => {
  const c = loadCase('test_quantizelinear');
  assert.equal(c.node.op_type, 'QuantizeLinear');
  const [x, scale, zp] = c.inputs;
  const type = asQuantType(zp);
  const y = quantizeLinear(x.data as Float32Array, scale.data[0] as number, zp.data[0] as number, type);
  assert.equal(y.constructor, c.outputs[0].data.constructor);
  assert.deepEqual(Array.from(y), Array.from(c.outputs[0].data as QuantArray));
});

test('quantizeLinearPerAxis matches ONNX test_quantizelinear_axis bit-exactly', () => {
  const c = loadCase('test_quantizelinear_axis');
  const [x, scale, zp] = c.inputs;
  const axis = attrInt(c.node, 'axis', 1);
  const y = quantizeLinearPerAxis(x.data as Float32Array, x.dims, axis, scale.data as Float32Array, zp.data as QuantArray, asQuantType(zp));
  assert.deepEqual(Array.from(y), Array.from(c.outputs[0].data as QuantArray));
});

test('dequantizeLinear matches ONNX test_dequantizelinear bit-exactly', () => {
  const c = loadCase('test_dequantizelinear');
  const [q, scale, zp] = c.inputs;
  const y = dequantizeLinear(q.data as QuantArray, scale.data[0] as number, zp.data[0] as number);
  assert.deepEqual(bits(y), bits(c.outputs[0].data as Float32Array));
});

test('dequantizeLinearPerAxis matches ONNX test_dequantizelinear_axis bit-exactly', () => {
  const c = loadCase('test_dequantizelinear_axis');
  const [q, scale, zp] = c.inputs;
  const axis = attrInt(c.node, 'axis', 1);
  const y = dequantizeLinearPerAxis(q.data as QuantArray, q.dims, axis, scale.data as Float32Array, zp.data as QuantArray);
  assert.deepEqual(bits(y), bits(c.outputs[0].data as Float32Array));
});

for (const name of ['test_dynamicquantizelinear', 'test_dynamicquantizelinear_max_adjusted', 'test_dynamicquantizelinear_min_adjusted']) {
  test(`qparamsFromRange (uint8 asymmetric) reproduces ONNX ${name}`, () => {
    const c = loadCase(name);
    assert.equal(c.node.op_type, 'DynamicQuantizeLinear');
    const x = c.inputs[0].data as Float32Array;
    const [y, yScale, yZp] = c.outputs;
    const p = qparamsFromRange(Math.min(...x), Math.max(...x), { type: 'uint8', symmetric: false });
    assert.deepEqual(bits(Float32Array.of(p.scale)), bits(yScale.data as Float32Array), `scale ${p.scale} vs ${yScale.data[0]}`);
    assert.equal(p.zeroPoint, yZp.data[0]);
    assert.deepEqual(Array.from(quantizeLinear(x, p.scale, p.zeroPoint, 'uint8')), Array.from(y.data as Uint8Array));
  });
}

test('integer ranges follow ORT: int8 symmetric is restricted to [-127, 127]', () => {
  assert.deepEqual(qRange('int8', true), { qmin: -127, qmax: 127 });
  assert.deepEqual(qRange('int8', false), { qmin: -128, qmax: 127 });
  assert.deepEqual(qRange('uint8', false), { qmin: 0, qmax: 255 });
  assert.deepEqual(qRange('uint8', true), { qmin: 0, qmax: 255 });
  assert.deepEqual(typeRange('int8'), { qmin: -128, qmax: 127 });
});

test('qparamsFromRange: hand-computed symmetric and asymmetric cases', () => {
  // int8 symmetric [-1, 2]: absmax 2, scale 4 / 254, zero point 0.
  assert.deepEqual(qparamsFromRange(-1, 2, { type: 'int8', symmetric: true }), { scale: Math.fround(4 / 254), zeroPoint: 0 });
  // uint8 symmetric: scale 4 / 255, zero point round(127.5) = 128 (half to even).
  assert.deepEqual(qparamsFromRange(-1, 2, { type: 'uint8', symmetric: true }), { scale: Math.fround(4 / 255), zeroPoint: 128 });
  // uint8 asymmetric [-1, 2]: scale 3 / 255, zero point round(1 / (3 / 255)) = 85.
  assert.deepEqual(qparamsFromRange(-1, 2, { type: 'uint8', symmetric: false }), { scale: Math.fround(3 / 255), zeroPoint: 85 });
  // int8 asymmetric: same scale, zero point -128 + 85.
  assert.deepEqual(qparamsFromRange(-1, 2, { type: 'int8', symmetric: false }), { scale: Math.fround(3 / 255), zeroPoint: -43 });
  // The range is widened to contain 0.
  assert.deepEqual(qparamsFromRange(1, 3, { type: 'uint8', symmetric: false }), { scale: Math.fround(3 / 255), zeroPoint: 0 });
  assert.deepEqual(qparamsFromRange(-3, -1, { type: 'uint8', symmetric: false }), { scale: Math.fround(3 / 255), zeroPoint: 255 });
  assert.deepEqual(qparamsFromRange(-3, -1, { type: 'int8', symmetric: true }), { scale: Math.fround(6 / 254), zeroPoint: 0 });
  // Scale is a float32 value, as stored in the model, and rmax - rmin is a
  // float32 subtraction (numpy on ORT's float32 arrays; DynamicQuantizeLinear):
  // here that differs from the float64 difference in the last bit.
  const p = qparamsFromRange(-0.1234567, 0.7654321, { type: 'uint8', symmetric: false });
  const lo = Math.fround(-0.1234567);
  const hi = Math.fround(0.7654321);
  assert.equal(p.scale, Math.fround(Math.fround(hi - lo) / 255));
  assert.notEqual(p.scale, Math.fround((hi - lo) / 255));
});

test('qparamsFromRange: a zero range gives scale 1 and zero point 0 (ORT)', () => {
  for (const type of ['uint8', 'int8'] as const) {
    for (const symmetric of [true, false]) {
      assert.deepEqual(qparamsFromRange(0, 0, { type, symmetric }), { scale: 1, zeroPoint: 0 });
      // Below float32's smallest normal scale counts as zero too.
      assert.deepEqual(qparamsFromRange(0, 1e-37, { type, symmetric }), { scale: 1, zeroPoint: 0 });
    }
  }
  assert.throws(() => qparamsFromRange(0, Infinity, { type: 'uint8', symmetric: false }), /not finite/);
  assert.throws(() => computeScaleZeroPoint(0, 1, 1, 255, false), /contain 0/);
});

test('roundHalfEven and quantizeLinear: ties to even, saturation, NaN to the zero point', () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, -2.5001].map(roundHalfEven).map((v) => v + 0), [0, 2, 2, 0, -2, -2, 2, -3]);
  const x = Float32Array.of(0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 300, -300, NaN, Infinity, -Infinity);
  assert.deepEqual(Array.from(quantizeLinear(x, 1, 0, 'int8')), [0, 2, 2, 0, -2, -2, 127, -128, 0, 127, -128]);
  assert.deepEqual(Array.from(quantizeLinear(x, 1, 10, 'uint8')), [10, 12, 12, 10, 8, 8, 255, 0, 10, 255, 0]);
  // x / scale is a float32 division, rounded after: 0.35f / 0.1f is 3.4999999 in float64
  // (-> 3) but exactly 3.5 in float32 (-> 4, half to even).
  const s = Math.fround(0.1);
  const v = Math.fround(0.35);
  assert.equal(Math.fround(v / s), 3.5);
  assert.notEqual(v / s, 3.5);
  assert.deepEqual(Array.from(quantizeLinear(Float32Array.of(v), s, 0, 'int8')), [4]);
  // out is reused, and a wrong zero point / scale is refused.
  const out = new Uint8Array(2);
  assert.equal(quantizeLinear(Float32Array.of(1, 2), 1, 0, 'uint8', out), out);
  assert.throws(() => quantizeLinear(x, 0, 0, 'int8'), /scale/);
  assert.throws(() => quantizeLinear(x, 1, 200, 'int8'), /zero point/);
});

test('quantizeWeightPerChannel: symmetric int8 per output channel, hand-computed', () => {
  // dims [2, 3], axis 0: channel 0 = [1, -2.54, 0.3], channel 1 = [0.5, 0.2, -0.1].
  const w = Float32Array.of(1, -2.54, 0.3, 0.5, 0.2, -0.1);
  const r = quantizeWeightPerChannel(w, [2, 3], 0);
  assert.deepEqual(Array.from(r.scales), [Math.fround(2 * Math.fround(2.54) / 254), Math.fround(1 / 254)]);
  assert.deepEqual(Array.from(r.zeroPoints), [0, 0]);
  assert.ok(r.q instanceof Int8Array);
  // scales 0.02 and 1/254: 1/0.02 = 50, 0.3/0.02 = 15, 0.2 * 254 = 50.8 -> 51, -0.1 * 254 = -25.4 -> -25.
  assert.deepEqual(Array.from(r.q), [50, -127, 15, 127, 51, -25]);
  // Axis 1 of a [3, 2] weight (MatMul [K, N] -> N): the same numbers transposed.
  const wt = Float32Array.of(1, 0.5, -2.54, 0.2, 0.3, -0.1);
  const rt = quantizeWeightPerChannel(wt, [3, 2], 1);
  assert.deepEqual(Array.from(rt.scales), Array.from(r.scales));
  assert.deepEqual(Array.from(rt.q), [50, 127, -127, 51, 15, -25]);
  // uint8 symmetric: zero point 128, scale 2 absmax / 255.
  const ru = quantizeWeightPerChannel(w, [2, 3], 0, 'uint8');
  assert.deepEqual(Array.from(ru.zeroPoints), [128, 128]);
  assert.equal(ru.scales[1], Math.fround(1 / 255));
});

test('quantizeWeightPerChannel: an all-zero channel gets a tiny positive scale, not 0 / NaN / 1', () => {
  const w = Float32Array.of(0, 0, 0, 0.3, -1, 0.2, 0, 0, 0);
  const r = quantizeWeightPerChannel(w, [3, 3], 0);
  assert.equal(r.scales[0], Math.fround(ZERO_RANGE_WEIGHT_SCALE));
  assert.equal(r.scales[2], Math.fround(ZERO_RANGE_WEIGHT_SCALE));
  assert.ok(ZERO_RANGE_WEIGHT_SCALE > 0 && ZERO_RANGE_WEIGHT_SCALE < 1e-3);
  assert.equal(r.scales[1], Math.fround(2 / 254));
  assert.deepEqual(Array.from(r.zeroPoints), [0, 0, 0]);
  assert.deepEqual(Array.from(r.q), [0, 0, 0, 38, -127, 25, 0, 0, 0]); // 0.3 * 127 = 38.1, 0.2 * 127 = 25.4
  const back = dequantizeLinearPerAxis(r.q, [3, 3], 0, r.scales, r.zeroPoints);
  for (let i = 0; i < w.length; i++) assert.ok(Number.isFinite(back[i]) && Math.abs(back[i] - w[i]) <= r.scales[Math.floor(i / 3)] / 2);
  const t = quantizeWeightPerTensor(new Float32Array(4));
  assert.equal(t.scale, Math.fround(ZERO_RANGE_WEIGHT_SCALE));
  assert.deepEqual(Array.from(t.q), [0, 0, 0, 0]);
});

test('per-channel equals per-tensor quantization of each channel; error is within half a step', () => {
  const uniform = mulberry32(7);
  const rnd = () => uniform() - 0.5;
  const dims = [4, 3, 2, 2];
  const w = new Float32Array(48).map((_, i) => rnd() * (Math.floor(i / 12) + 1));
  const r = quantizeWeightPerChannel(w, dims, 0);
  for (let c = 0; c < 4; c++) {
    const t = quantizeWeightPerTensor(w.subarray(c * 12, c * 12 + 12));
    assert.equal(r.scales[c], t.scale);
    assert.deepEqual(Array.from(r.q.subarray(c * 12, c * 12 + 12)), Array.from(t.q));
  }
  const back = dequantizeLinearPerAxis(r.q, dims, 0, r.scales, r.zeroPoints);
  for (let i = 0; i < w.length; i++) assert.ok(Math.abs(back[i] - w[i]) <= r.scales[Math.floor(i / 12)] / 2 + 1e-7);
  // Per-tensor asymmetric uint8 weights follow ORT's quantize_data.
  const u = quantizeWeightPerTensor(Float32Array.of(-1, 2, 0.5), 'uint8', false);
  assert.deepEqual({ scale: u.scale, zeroPoint: u.zeroPoint }, { scale: Math.fround(3 / 255), zeroPoint: 85 });
  assert.throws(() => quantizeWeightPerChannel(w, [4, 3], 0), /need/);
});

test('fakeQuant equals dequantize(quantize(x)) bit-exactly, in place or into out', () => {
  const x = new Float32Array(1000).map((_, i) => Math.sin(i) * 3 + (i % 7 === 0 ? 10 : 0));
  for (const [type, scale, zp] of [['uint8', 0.03, 100], ['int8', 0.025, 0], ['int8', 0.01, -5]] as const) {
    const s = Math.fround(scale);
    const ref = dequantizeLinear(quantizeLinear(x, s, zp, type), s, zp);
    const out = new Float32Array(x.length);
    assert.equal(fakeQuant(x, s, zp, type, out), out);
    assert.deepEqual(bits(out), bits(ref));
    const inPlace = x.slice();
    fakeQuant(inPlace, s, zp, type);
    assert.deepEqual(bits(inPlace), bits(ref));
  }
  const dims = [2, 5, 100];
  const scales = Float32Array.of(0.01, 0.02, 0.03, 0.04, 0.05);
  const zps = Int8Array.of(0, 1, -1, 2, 0);
  const ref = dequantizeLinearPerAxis(quantizeLinearPerAxis(x, dims, 1, scales, zps, 'int8'), dims, 1, scales, zps);
  assert.deepEqual(bits(fakeQuantPerAxis(x, dims, 1, scales, zps, 'int8', new Float32Array(x.length))), bits(ref));
});
