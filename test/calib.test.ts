// Streaming histogram and calibrators: hand-computed histograms, brute-force
// references over the raw data, and a line-by-line port of
// pytorch-quantization's _compute_amax_entropy for the KL method.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HALF_BINS, HIST_BINS, TensorHistogram, type HistogramJSON } from '../src/calib/histogram.js';
import { calibrateMax } from '../src/calib/max.js';
import { calibratePercentile } from '../src/calib/percentile.js';
import { calibrateEntropy } from '../src/calib/entropy.js';
import { calibrateMse } from '../src/calib/mse.js';
import { calibOptions, calibratorFor, CALIBRATORS, parseMethods, rangeFor } from '../src/calib/methods.js';
import type { Range } from '../src/calib/range.js';
import { fakeQuant } from './lib/fake-quant.js';
import { qparamsFromRange } from '../src/quant/qparams.js';
import { fillNormal, mulberry32 } from './lib/random.js';

const SYM = calibOptions('int8', true);
const ASYM = calibOptions('uint8', false);

function gaussian(n: number, seed: number, sigma = 1): Float32Array {
  return fillNormal(new Float32Array(n), mulberry32(seed), sigma);
}

function shuffled(x: Float32Array, seed: number): Float32Array {
  const y = x.slice();
  const r = mulberry32(seed);
  for (let i = y.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [y[i], y[j]] = [y[j], y[i]];
  }
  return y;
}

function feedChunks(x: Float32Array, size: number): TensorHistogram {
  const h = new TensorHistogram();
  for (let i = 0; i < x.length; i += size) h.update(x.subarray(i, i + size));
  return h;
}

/** Non-zero bins as {index: count}. */
function sparse(h: TensorHistogram): Record<number, number> {
  const o: Record<number, number> = {};
  h.bins.forEach((c, i) => { if (c) o[i] = c; });
  return o;
}

// ---------------------------------------------------------------- histogram

test('histogram: hand-computed bins (R = 4, w = 1/512, closed towards +-R)', () => {
  const h = TensorHistogram.of(Float32Array.of(0, 1, -1, 0.5, 3, 4, -4, Math.fround(1 + 2 ** -23)));
  assert.equal(h.range, 4);
  assert.equal(h.count, 8);
  assert.equal(h.min, -4);
  assert.equal(h.max, 4);
  assert.deepEqual(sparse(h), {
    0: 1, // -4 = -R: outermost negative bin
    1536: 1, // -1: |x| in (511 w, 512 w] -> negative bin 511 -> 2047 - 511
    2048: 1, // 0
    2303: 1, // 0.5 = 256 w -> positive bin 255
    2559: 1, // 1 = 512 w -> positive bin 511
    2560: 1, // just above 1 -> positive bin 512
    3583: 1, // 3 = 1536 w -> positive bin 1535
    4095: 1, // 4 = R: outermost positive bin
  });
  const abs = h.absHistogram();
  assert.equal(abs.length, HALF_BINS);
  assert.deepEqual({ 0: abs[0], 255: abs[255], 511: abs[511], 512: abs[512], 1535: abs[1535], 2047: abs[2047] },
    { 0: 1, 255: 1, 511: 2, 512: 1, 1535: 1, 2047: 2 });
  assert.equal(abs.reduce((a, b) => a + b, 0), 8);
});

test('histogram: R is the next power of two, with a floor of 2^-126 for all-zero data', () => {
  assert.equal(TensorHistogram.of(Float32Array.of(0.3, -0.7)).range, 1);
  assert.equal(TensorHistogram.of(Float32Array.of(1)).range, 1);
  assert.equal(TensorHistogram.of(Float32Array.of(1.5)).range, 2);
  assert.equal(TensorHistogram.of(Float32Array.of(-1000)).range, 1024);
  const z = TensorHistogram.of(new Float32Array(5));
  assert.equal(z.range, 2 ** -126);
  assert.deepEqual(sparse(z), { 2048: 5 });
  assert.equal(z.min, 0);
  assert.equal(z.max, 0);
  // A float32 subnormal still fits the floor range.
  const sub = TensorHistogram.of(Float32Array.of(2 ** -140, -(2 ** -149)));
  assert.equal(sub.range, 2 ** -126);
  assert.deepEqual(sparse(sub), { 2047: 1, 2048: 1 });
});

test('histogram: non-finite values are counted, not binned', () => {
  const h = TensorHistogram.of(Float32Array.of(NaN, Infinity, 1, -Infinity, -2));
  assert.equal(h.count, 2);
  assert.equal(h.nonFinite, 3);
  assert.equal(h.nan, 1, 'NaN is counted apart from +-Inf');
  assert.equal(h.min, -2);
  assert.equal(h.max, 1);
  assert.equal(h.range, 2);
  assert.equal(h.bins.reduce((a, b) => a + b, 0), 2);
  h.update(Float32Array.of(NaN, NaN));
  assert.equal(h.count, 2);
  assert.equal(h.nonFinite, 5);
  assert.equal(h.nan, 3);
  assert.equal(h.range, 2);
  // Same histogram as the finite values alone.
  assert.deepEqual(sparse(h), sparse(TensorHistogram.of(Float32Array.of(1, -2))));
});

/** Data whose absmax grows over six orders of magnitude, with values exactly on bin edges. */
function wideData(): Float32Array {
  const parts: number[] = [];
  const g = gaussian(3000, 11);
  for (let i = 0; i < g.length; i++) parts.push(g[i] * 10 ** ((i % 7) - 3));
  for (let e = -8; e <= 9; e++) parts.push(2 ** e, -(2 ** e), 3 * 2 ** (e - 2), 0);
  return Float32Array.from(parts);
}

test('histogram: result is independent of batch size and order (identical bins, min, max, count)', () => {
  const x = wideData();
  const whole = TensorHistogram.of(x);
  // Reference: each value binned directly with the final R (independent formula).
  const w = whole.range / HALF_BINS;
  const ref = new Float64Array(HIST_BINS);
  for (const v of x) {
    const k = v === 0 ? 0 : Math.ceil(Math.abs(v) / w) - 1;
    ref[v < 0 ? HALF_BINS - 1 - k : HALF_BINS + k]++;
  }
  assert.deepEqual(Array.from(whole.bins), Array.from(ref));
  for (const [size, seed] of [[1, 1], [7, 2], [7, 3], [1000, 4]] as const) {
    const h = feedChunks(shuffled(x, seed), size);
    assert.deepEqual(Array.from(h.bins), Array.from(whole.bins), `chunks of ${size}`);
    assert.equal(h.range, whole.range);
    assert.equal(h.min, whole.min);
    assert.equal(h.max, whole.max);
    assert.equal(h.count, whole.count);
  }
  // Growing order: small values first, so R doubles many times.
  const sorted = Float32Array.from(x).sort((a, b) => Math.abs(a) - Math.abs(b));
  assert.deepEqual(Array.from(feedChunks(sorted, 7).bins), Array.from(whole.bins));
});

test('histogram: a large batch with masked (-inf) and NaN values bins its finite values as a clean batch does', () => {
  // Masked attention scores: -inf at every third position, some NaN, over 150k values.
  const finite = wideData();
  const reps = 50;
  const x = new Float32Array(finite.length * reps * 3 / 2 + 1);
  const kept: number[] = [];
  let f = 0;
  for (let i = 0; i < x.length; i++) {
    if (i % 3 === 2) x[i] = i % 301 === 0 ? NaN : -Infinity;
    else kept.push((x[i] = finite[f++ % finite.length]));
  }
  const h = TensorHistogram.of(x);
  const clean = TensorHistogram.of(Float32Array.from(kept));
  assert.deepEqual(Array.from(h.bins), Array.from(clean.bins));
  assert.equal(h.count, kept.length);
  assert.equal(h.nonFinite, x.length - kept.length);
  assert.equal(h.nan, x.filter((v) => Number.isNaN(v)).length);
  assert.ok(h.nan > 0);
  assert.equal(h.min, clean.min);
  assert.equal(h.max, clean.max);
  assert.equal(h.range, clean.range);
});

test('histogram: merge of partial histograms equals the whole', () => {
  const x = shuffled(wideData(), 9);
  const whole = TensorHistogram.of(x);
  // Parts with very different ranges, merged in both directions.
  const small = Float32Array.from(x.filter((v) => Math.abs(v) < 0.01));
  const large = Float32Array.from(x.filter((v) => Math.abs(v) >= 0.01));
  for (const [a, b] of [[small, large], [large, small]]) {
    const h = TensorHistogram.of(a).merge(TensorHistogram.of(b));
    assert.deepEqual(Array.from(h.bins), Array.from(whole.bins));
    assert.deepEqual([h.min, h.max, h.count, h.range], [whole.min, whole.max, whole.count, whole.range]);
  }
  const e = new TensorHistogram();
  e.merge(whole);
  assert.deepEqual(e.toJSON(), whole.toJSON());
  const nan = TensorHistogram.of(Float32Array.of(NaN));
  assert.deepEqual(whole.clone().merge(nan).toJSON(), { ...whole.toJSON(), nonFinite: 1, nan: 1 });
});

test('histogram: JSON round trip is exact and bad JSON is refused', () => {
  const h = TensorHistogram.of(Float32Array.of(...gaussian(500, 5), NaN));
  const j = JSON.parse(JSON.stringify(h)) as HistogramJSON;
  assert.deepEqual(Object.keys(j).sort(), ['bins', 'count', 'max', 'min', 'nan', 'nbins', 'nonFinite', 'range']);
  assert.equal(j.nbins, 4096);
  assert.equal(j.nonFinite, 1);
  assert.equal(j.nan, 1);
  assert.ok(j.bins.every(([i, c]) => Number.isInteger(i) && c > 0));
  const back = TensorHistogram.fromJSON(j);
  assert.deepEqual(Array.from(back.bins), Array.from(h.bins));
  assert.deepEqual(back.toJSON(), h.toJSON());
  assert.deepEqual([back.min, back.max, back.range, back.count], [h.min, h.max, h.range, h.count]);
  // Empty histogram: min/max are written as 0 and read back as empty.
  const empty = TensorHistogram.fromJSON(JSON.parse(JSON.stringify(new TensorHistogram())));
  assert.equal(empty.count, 0);
  assert.equal(empty.min, Infinity);
  assert.throws(() => TensorHistogram.fromJSON({ ...j, count: j.count + 1 }), /bins hold/);
  assert.throws(() => TensorHistogram.fromJSON({ ...j, range: 3 }), /power of two/);
  assert.throws(() => TensorHistogram.fromJSON({ ...j, nbins: 2048 }), /nbins/);
  assert.throws(() => TensorHistogram.fromJSON({ ...j, bins: [[4096, j.count]] }), /bin index/);
  assert.throws(() => TensorHistogram.fromJSON({ ...j, nan: 2 }), /nan count 2/);
  // Files from before NaN was counted apart: none assumed.
  const { nan: _, ...old } = j;
  assert.equal(TensorHistogram.fromJSON(old).nan, 0);
});

// ------------------------------------------------------------- calibrators

/** A histogram of counts placed in given signed bins of range R (via the JSON form). */
function histogramOf(range: number, bins: [number, number][], min: number, max: number): TensorHistogram {
  const count = bins.reduce((a, [, c]) => a + c, 0);
  return TensorHistogram.fromJSON({ nbins: HIST_BINS, count, nonFinite: 0, min, max, range, bins });
}

function inHull(h: TensorHistogram, r: Range, symmetric: boolean): void {
  assert.ok(r.min <= 0 && r.max >= 0, `range [${r.min}, ${r.max}] must contain 0`);
  if (symmetric) {
    assert.equal(r.min, -r.max);
    assert.ok(r.max <= Math.max(-h.min, h.max));
  } else {
    assert.ok(r.min >= Math.min(h.min, 0) && r.max <= Math.max(h.max, 0), `range [${r.min}, ${r.max}] outside [${h.min}, ${h.max}]`);
  }
}

test('max: exact extremes, widened to contain 0', () => {
  const h = TensorHistogram.of(Float32Array.of(0.25, 3.5, 1));
  assert.deepEqual(calibrateMax(h, ASYM), { min: 0, max: 3.5 });
  assert.deepEqual(calibrateMax(h, SYM), { min: -3.5, max: 3.5 });
  const g = TensorHistogram.of(Float32Array.of(-7.25, 2));
  assert.deepEqual(calibrateMax(g, ASYM), { min: -7.25, max: 2 });
  assert.deepEqual(calibrateMax(g, SYM), { min: -7.25, max: 7.25 });
});

test('percentile: hand-computed histogram (100 values in bins 0..99 of |x|)', () => {
  const w = 1 / HALF_BINS;
  const h = histogramOf(1, Array.from({ length: 100 }, (_, k) => [HALF_BINS + k, 1]), 0, 99.5 * w);
  // Symmetric: first bin where the cumulative count reaches p% of 100, its upper edge.
  assert.deepEqual(calibratePercentile(h, SYM, 90), { min: -90 * w, max: 90 * w });
  assert.deepEqual(calibratePercentile(h, SYM, 50), { min: -50 * w, max: 50 * w });
  assert.deepEqual(calibratePercentile(h, SYM, 99.5), { min: -99.5 * w, max: 99.5 * w }); // clamped to max
  assert.deepEqual(calibratePercentile(h, SYM, 100), calibrateMax(h, SYM));
  // Asymmetric: 10 negatives in bins 2038..2047, 90 non-negatives in bins 2048..2137.
  const a = histogramOf(1, [
    ...Array.from({ length: 10 }, (_, k): [number, number] => [2038 + k, 1]),
    ...Array.from({ length: 90 }, (_, k): [number, number] => [HALF_BINS + k, 1]),
  ], -9.5 * w, 89.5 * w);
  // p = 80 cuts 10 values per side: the 10th value is in bin 2047 (lower edge -w),
  // the 90th in bin 2127 (upper edge 80 w).
  assert.deepEqual(calibratePercentile(a, ASYM, 80), { min: -w, max: 80 * w });
  // p = 90 cuts 5: 5th value in bin 2042 -> -6 w; 95th in bin 2132 -> 85 w.
  assert.deepEqual(calibratePercentile(a, ASYM, 90), { min: -6 * w, max: 85 * w });
  assert.deepEqual(calibratePercentile(a, ASYM, 100), calibrateMax(a, ASYM));
  assert.throws(() => calibratePercentile(a, ASYM, 0), /percentile/);
  assert.throws(() => calibratePercentile(a, ASYM, 101), /percentile/);
});

test('percentile: brackets the true quantile of the raw data within one bin', () => {
  const x = Float32Array.from(gaussian(20000, 3), (v, i) => (i % 3 === 0 ? v * 0.5 + 1 : v));
  const h = TensorHistogram.of(x);
  const w = h.range / HALF_BINS;
  const sortedAbs = Float64Array.from(x, Math.abs).sort();
  const sorted = Float64Array.from(x).sort();
  for (const p of [90, 99, 99.9, 99.99]) {
    const q = sortedAbs[Math.ceil((p / 100) * x.length) - 1];
    const s = calibratePercentile(h, SYM, p);
    assert.ok(s.max >= q && s.max <= q + w, `p=${p}: T=${s.max}, quantile ${q}`);
    const cut = ((100 - p) / 200) * x.length;
    const lo = sorted[Math.ceil(cut) - 1];
    const hi = sorted[Math.ceil(x.length - cut) - 1];
    const a = calibratePercentile(h, ASYM, p);
    assert.ok(a.min <= lo && a.min >= lo - w, `p=${p}: lo=${a.min}, quantile ${lo}`);
    assert.ok(a.max >= hi && a.max <= hi + w, `p=${p}: hi=${a.max}, quantile ${hi}`);
  }
  // Uniform data on [-1, 1): p = 99 gives about 0.99.
  const u = TensorHistogram.of(Float32Array.from({ length: 10000 }, (_, i) => -1 + (2 * i + 1) / 10000));
  assert.ok(Math.abs(calibratePercentile(u, SYM, 99).max - 0.99) <= 1 / HALF_BINS);
  const ua = calibratePercentile(u, ASYM, 99);
  assert.ok(Math.abs(ua.min + 0.99) <= 1 / HALF_BINS && Math.abs(ua.max - 0.99) <= 1 / HALF_BINS);
});

/**
 * pytorch-quantization's _compute_amax_entropy, line by line (numpy
 * digitize / Counter / scipy.stats.entropy by hand), O(bins^2): returns the
 * chosen i (their amax is calib_bin_edges[i]).
 */
function referenceEntropyIndex(calibHist: Float64Array, numBits = 8, startBin = 128): number {
  const bins = Float64Array.from(calibHist);
  bins[0] = bins[1];
  const nbins = 1 << (numBits - 1);
  const divergences: number[] = [];
  for (let i = startBin; i <= bins.length; i++) {
    // space = np.linspace(0, i, num=nbins + 1); digitized = np.digitize(range(i), space) - 1
    const space = Array.from({ length: nbins + 1 }, (_, k) => (k === nbins ? i : k * (i / nbins)));
    const digitized = new Int32Array(i);
    let j = 0;
    for (let idx = 0; idx < i; idx++) {
      while (j < space.length && space[j] <= idx) j++; // digitize: space[j-1] <= idx < space[j]
      digitized[idx] = bins[idx] === 0 ? -1 : j - 1;
    }
    const newDensityCounts = new Float64Array(nbins);
    const counter = new Float64Array(nbins);
    for (let idx = 0; idx < i; idx++) {
      if (digitized[idx] !== -1) {
        newDensityCounts[digitized[idx]] += bins[idx];
        counter[digitized[idx]]++;
      }
    }
    for (let k = 0; k < nbins; k++) if (counter[k]) newDensityCounts[k] /= counter[k];
    const newDensity = new Float64Array(i);
    for (let idx = 0; idx < i; idx++) if (digitized[idx] !== -1) newDensity[idx] = newDensityCounts[digitized[idx]];
    const reference = bins.slice(0, i);
    let outliers = 0;
    for (let j = i; j < bins.length; j++) outliers += bins[j];
    reference[i - 1] += outliers;
    // scipy.stats.entropy(pk, qk): normalise both, sum rel_entr.
    let sp = 0;
    let sq = 0;
    for (let j = 0; j < i; j++) {
      sp += reference[j];
      sq += newDensity[j];
    }
    let ent = 0;
    for (let j = 0; j < i; j++) {
      const p = reference[j] / sp;
      const q = newDensity[j] / sq;
      if (p > 0 && q > 0) ent += p * Math.log(p / q);
      else if (p > 0) ent = Infinity;
    }
    divergences.push(ent);
  }
  // last_argmin = len(divergences) - 1 - np.argmin(divergences[::-1])
  let best = divergences.length - 1;
  for (let j = divergences.length - 1; j >= 0; j--) if (divergences[j] < divergences[best]) best = j;
  return best + startBin;
}

function entropyCases(): [string, Float32Array][] {
  const g = gaussian(20000, 21);
  g[0] = 25; // outliers far out
  g[1] = -18;
  const relu = Float32Array.from(gaussian(20000, 22), (v) => Math.max(0, v));
  relu[5] = 12;
  const uniform = Float32Array.from({ length: 20000 }, (_, i) => -3 + (6 * (i + 0.5)) / 20000);
  const r = mulberry32(23);
  const sparseData = Float32Array.from({ length: 3000 }, () => Math.round(r() * 40) * 0.37 - 7);
  return [['gaussian+outliers', g], ['relu', relu], ['uniform', uniform], ['sparse', sparseData]];
}

test('entropy: same threshold as a line-by-line port of pytorch-quantization (T = (i + 0.5) w)', () => {
  for (const [name, x] of entropyCases()) {
    const h = TensorHistogram.of(x);
    const i = referenceEntropyIndex(h.absHistogram());
    const w = h.range / HALF_BINS;
    const T = Math.min((i + 0.5) * w, Math.max(-h.min, h.max));
    assert.deepEqual(calibrateEntropy(h, SYM), { min: -T, max: T }, name);
    const a = calibrateEntropy(h, ASYM);
    assert.deepEqual(a, { min: Math.min(0, Math.max(h.min, -T)) + 0, max: Math.max(0, Math.min(h.max, T)) }, name);
  }
});

test('entropy: Gaussian with outliers clips far below max; uniform data keeps about max', () => {
  const [[, g], , [, u]] = entropyCases();
  const hg = TensorHistogram.of(g);
  const rg = calibrateEntropy(hg, SYM);
  assert.ok(rg.max < 0.25 * 25 && rg.max > 2, `T = ${rg.max}`);
  const hu = TensorHistogram.of(u);
  const ru = calibrateEntropy(hu, SYM);
  assert.ok(ru.max >= 0.97 * 3, `T = ${ru.max}`);
  inHull(hg, calibrateEntropy(hg, ASYM), false);
});

/** Distinct values of x and how often each occurs (exact, just faster to sum over). */
function valueCounts(x: Float32Array): { v: Float32Array; c: Float64Array } {
  const m = new Map<number, number>();
  for (const v of x) m.set(v, (m.get(v) ?? 0) + 1);
  return { v: Float32Array.from(m.keys()), c: Float64Array.from(m.values()) };
}

/** Sum of squared fake-quantization errors over the raw data for a range. */
function rawSqError(x: { v: Float32Array; c: Float64Array }, r: Range, symmetric: boolean, type: 'int8' | 'uint8'): number {
  const { scale, zeroPoint } = qparamsFromRange(r.min, r.max, { type, symmetric });
  const y = fakeQuant(x.v, scale, zeroPoint, type, new Float32Array(x.v.length));
  let e = 0;
  for (let i = 0; i < x.v.length; i++) e += x.c[i] * (x.v[i] - y[i]) ** 2;
  return e;
}

/** a <= b up to summation-order rounding. */
const notAbove = (a: number, b: number): boolean => a <= b * (1 + 1e-9);

/** Gaussian data snapped to bin centres (R = 16, w = 1/128), so bin centres are the raw data. */
function centredData(seed: number, shift = 0): Float32Array {
  const w = 16 / HALF_BINS;
  const x = Float32Array.from(gaussian(20000, seed), (v) => (Math.floor((v + shift) / w) + 0.5) * w);
  x[0] = 16 - 0.5 * w; // outliers at bin centres; the first pins R = 16
  x[1] = -8 + 0.5 * w;
  return x;
}

test('mse: symmetric T beats max and its neighbouring candidates on the raw data, and is near the exhaustive optimum', () => {
  const x = centredData(31);
  const h = TensorHistogram.of(x);
  assert.equal(h.range, 16);
  const w = h.range / HALF_BINS;
  const r = calibrateMse(h, SYM);
  inHull(h, r, true);
  const vc = valueCounts(x);
  const err = (t: number) => rawSqError(vc, { min: -t, max: t }, true, 'int8');
  const e = err(r.max);
  assert.ok(notAbove(e, err(Math.max(-h.min, h.max))), 'no better than max');
  assert.ok(notAbove(e, err(r.max - w)) && notAbove(e, err(r.max + w)), `T = ${r.max} is not a local minimum`);
  let best = Infinity;
  for (let k = 128; k < 2048; k++) best = Math.min(best, err(k * w));
  assert.ok(e <= best * 1.02, `error ${e} vs exhaustive ${best}`);
  // Two far outliers in 20000 values: their squared clipping error still
  // weighs, so the optimum clips only a little.
  assert.ok(r.max < 15.5, `outliers should be clipped, T = ${r.max}`);
});

test('mse: asymmetric alpha * [min, max] beats max and neighbouring alphas on the raw data', () => {
  const x = Float32Array.from(centredData(32, 0.5), (v) => Math.max(v, -0.5 + 1 / 256));
  const h = TensorHistogram.of(x);
  const r = calibrateMse(h, ASYM);
  inHull(h, r, false);
  const alpha = r.max / h.max;
  assert.ok(Math.abs(r.min - alpha * h.min) < 1e-12, 'range is alpha * [min, max]');
  const vc = valueCounts(x);
  const err = (a: number) => rawSqError(vc, { min: a * h.min, max: a * h.max }, false, 'uint8');
  const e = err(alpha);
  assert.ok(notAbove(e, err(1)));
  assert.ok(notAbove(e, err(alpha - 0.001)) && (alpha >= 1 || notAbove(e, err(alpha + 0.001))), `alpha ${alpha} is not a local minimum`);
  assert.ok(alpha < 0.99, `outliers should be clipped, alpha = ${alpha}`);
  // Uniform data: nothing worth clipping.
  const u = TensorHistogram.of(Float32Array.from({ length: 4096 }, (_, i) => (i + 0.5) / 4096));
  assert.ok(calibrateMse(u, ASYM).max > 0.97);
});

test('every method: range contains 0, stays in the hull; empty and all-zero histograms give [0, 0]', () => {
  const methods = parseMethods('max,entropy,mse,percentile', [99.9]);
  const datasets = [
    gaussian(5000, 41),
    Float32Array.from(gaussian(5000, 42), (v) => Math.abs(v) + 0.5), // all positive, min > 0
    Float32Array.from(gaussian(5000, 43), (v) => -Math.abs(v) - 2), // all negative
    Float32Array.of(3),
  ];
  for (const m of methods) {
    for (const x of datasets) {
      const h = TensorHistogram.of(x);
      inHull(h, rangeFor(m, h, SYM), true);
      inHull(h, rangeFor(m, h, ASYM), false);
    }
    for (const h of [new TensorHistogram(), TensorHistogram.of(new Float32Array(10))]) {
      assert.deepEqual(rangeFor(m, h, SYM), { min: 0, max: 0 });
      assert.deepEqual(rangeFor(m, h, ASYM), { min: 0, max: 0 });
    }
  }
});

test('methods registry: ids map to the calibrators; percentile needs p in (0, 100]', () => {
  assert.deepEqual(Object.keys(CALIBRATORS).sort(), ['entropy', 'max', 'mse']);
  const h = TensorHistogram.of(gaussian(2000, 51));
  assert.deepEqual(rangeFor({ family: 'percentile', percentile: 99 }, h, ASYM), calibratePercentile(h, ASYM, 99));
  assert.deepEqual(rangeFor({ family: 'entropy' }, h, SYM), calibrateEntropy(h, SYM));
  assert.throws(() => calibratorFor({ family: 'percentile' }), /needs a percentile/);
  assert.throws(() => calibratorFor({ family: 'percentile', percentile: 0 }), /percentile/);
  assert.throws(() => calibratorFor({ family: 'kl' as 'max' }), /unknown/);
  assert.deepEqual(SYM, { symmetric: true, qmin: -127, qmax: 127 });
  assert.deepEqual(ASYM, { symmetric: false, qmin: 0, qmax: 255 });
});
