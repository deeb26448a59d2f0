// Streaming per-tensor statistics: count, min, max, non-finite counts (all of
// them, and NaN alone: +-Inf can be a legitimate value, NaN never is) and a
// signed histogram whose result does not depend on batch size or order.
//
// Layout: HIST_BINS = 4096 bins over [-R, R], bin width w = R / 2048. R is a
// power of two (the smallest one >= the absmax seen so far, at least 2^-126),
// so x / w is exact and binning is exact arithmetic. Bins are closed towards
// +-R and open towards 0, mirrored around 0:
//   positive bin k (index 2048 + k) holds |x| in (k w, (k+1) w], k = 0 also holds 0;
//   negative bin k (index 2047 - k) holds the same |x| interval for x < 0.
// So x = +-R (absmax exactly a power of two) lands in the outermost bin, and
// when R doubles, bins k and k+1 (k even) of a side merge exactly into bin
// k / 2: the coarse edges are a subset of the fine ones, and the histogram
// equals the one made directly with the final R. Folding the two sides gives
// TensorRT's 2048 bins of |x| over [0, R].

export const HIST_BINS = 4096;
export const HALF_BINS = HIST_BINS / 2;
/** Smallest range exponent: R >= 2^-126 (float32 smallest normal), even for all-zero data. */
export const MIN_RANGE_EXP = -126;

/** What the calibrators read: a histogram and the exact extremes. */
export interface HistogramLike {
  /** Finite values seen (all binned). */
  readonly count: number;
  /** Smallest / largest finite value; +Infinity / -Infinity while count is 0. */
  readonly min: number;
  readonly max: number;
  /** R: the bins cover [-R, R]. */
  readonly range: number;
  /** HIST_BINS signed counts, layout above. */
  readonly bins: Float64Array;
}

/** calibration.json form: sparse [index, count] pairs of non-empty bins. */
export interface HistogramJSON {
  nbins: number;
  count: number;
  /** NaN and +-Inf values (not binned). */
  nonFinite: number;
  /** Of those, NaN; absent in files written before NaN was counted apart. */
  nan?: number;
  /** 0 when count is 0 (JSON has no Infinity). */
  min: number;
  max: number;
  range: number;
  bins: [number, number][];
}

/** Smallest e >= MIN_RANGE_EXP with 2^e >= a. */
function rangeExpFor(a: number): number {
  if (!(a > 2 ** MIN_RANGE_EXP)) return MIN_RANGE_EXP;
  let e = Math.ceil(Math.log2(a));
  // log2 may be off by one ulp near powers of two: settle it exactly.
  while (2 ** e < a) e++;
  while (e > MIN_RANGE_EXP && 2 ** (e - 1) >= a) e--;
  return e;
}

/**
 * Adds `src` (exponent srcExp) into `dst` (exponent dstExp >= srcExp): bin k
 * of a side goes to bin k >> d. In place (src === dst) works: targets never
 * lie above the bin being read.
 */
function addRescaled(dst: Float64Array, src: Float64Array, d: number): void {
  const inPlace = dst === src;
  for (let k = 0; k < HALF_BINS; k++) {
    const t = d >= 12 ? 0 : k >> d;
    const pi = HALF_BINS + k;
    const ni = HALF_BINS - 1 - k;
    const p = src[pi];
    const n = src[ni];
    if (inPlace) {
      if (t === k) continue;
      dst[pi] = 0;
      dst[ni] = 0;
    }
    dst[HALF_BINS + t] += p;
    dst[HALF_BINS - 1 - t] += n;
  }
}

export class TensorHistogram implements HistogramLike {
  count = 0;
  /** NaN and +-Inf values seen. */
  nonFinite = 0;
  /** NaN values seen (part of nonFinite). */
  nan = 0;
  min = Infinity;
  max = -Infinity;
  readonly bins = new Float64Array(HIST_BINS);
  private exp = MIN_RANGE_EXP;

  get range(): number {
    return 2 ** this.exp;
  }

  get binWidth(): number {
    return 2 ** (this.exp - 11);
  }

  /** max(|min|, |max|), 0 when empty. */
  get absMax(): number {
    return this.count > 0 ? Math.max(-this.min, this.max, 0) : 0;
  }

  /** Doubles R (d times) by merging bins, if `absmax` does not fit. */
  private growTo(absmax: number): void {
    const e = rangeExpFor(absmax);
    if (e <= this.exp) return;
    addRescaled(this.bins, this.bins, e - this.exp);
    this.exp = e;
  }

  update(x: Float32Array): void {
    const n = x.length;
    if (n === 0) return;
    // Pass 1: extremes. Math.min/max propagate NaN, so one check after the
    // loop tells whether the batch is clean (the common case).
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = x[i];
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    if (lo - lo === 0 && hi - hi === 0) {
      this.take(lo, hi, n);
      binFinite(x, this.bins, 2 ** (11 - this.exp));
      return;
    }
    this.updateWithNonFinite(x);
  }

  /** Folds a batch's extremes and count in and grows R to fit them. */
  private take(lo: number, hi: number, finite: number): void {
    if (lo < this.min) this.min = lo + 0; // + 0 turns -0 into 0
    if (hi > this.max) this.max = hi + 0;
    this.count += finite;
    this.growTo(Math.max(-lo, hi));
  }

  /** Slow path for a batch holding NaN or +-Inf: they are counted, not binned. */
  private updateWithNonFinite(x: Float32Array): void {
    const n = x.length;
    let lo = Infinity;
    let hi = -Infinity;
    let bad = 0;
    let nan = 0;
    for (let i = 0; i < n; i++) {
      const v = x[i];
      if (v - v !== 0) { bad++; if (v !== v) nan++; continue; } // NaN and +-Inf
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.nonFinite += bad;
    this.nan += nan;
    if (bad === n) return;
    this.take(lo, hi, n - bad);
    const bins = this.bins;
    const inv = 2 ** (11 - this.exp);
    for (let i = 0; i < n; i++) {
      const v = x[i];
      if (v - v === 0) bins[binIndex(v * inv)]++;
    }
  }

  /** Adds another histogram's statistics (e.g. from a worker) into this one. */
  merge(other: TensorHistogram): this {
    this.nonFinite += other.nonFinite;
    this.nan += other.nan;
    if (other.count === 0) return this;
    if (other.exp > this.exp) {
      addRescaled(this.bins, this.bins, other.exp - this.exp);
      this.exp = other.exp;
    }
    addRescaled(this.bins, other.bins, this.exp - other.exp);
    this.count += other.count;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    return this;
  }

  /** 2048 bins of |x| over [0, R] (bin k: (k w, (k+1) w]; bin 0 includes 0). */
  absHistogram(): Float64Array {
    return foldAbs(this.bins);
  }

  clone(): TensorHistogram {
    const h = new TensorHistogram();
    h.bins.set(this.bins);
    h.exp = this.exp;
    h.count = this.count;
    h.nonFinite = this.nonFinite;
    h.nan = this.nan;
    h.min = this.min;
    h.max = this.max;
    return h;
  }

  toJSON(): HistogramJSON {
    const bins: [number, number][] = [];
    for (let i = 0; i < HIST_BINS; i++) if (this.bins[i] !== 0) bins.push([i, this.bins[i]]);
    const empty = this.count === 0;
    return {
      nbins: HIST_BINS,
      count: this.count,
      nonFinite: this.nonFinite,
      nan: this.nan,
      min: empty ? 0 : this.min,
      max: empty ? 0 : this.max,
      range: this.range,
      bins,
    };
  }

  /** Rebuilds a histogram from toJSON()'s form; throws on an inconsistent one. */
  static fromJSON(j: HistogramJSON): TensorHistogram {
    const bad = (why: string): never => { throw new Error(`invalid histogram: ${why}`); };
    if (j.nbins !== HIST_BINS) bad(`nbins is ${j.nbins}, expected ${HIST_BINS}`);
    const exp = Math.round(Math.log2(j.range));
    if (!(exp >= MIN_RANGE_EXP && exp <= 1024 && 2 ** exp === j.range)) bad(`range ${j.range} is not a power of two >= 2^${MIN_RANGE_EXP}`);
    const nan = j.nan ?? 0;
    if (!Number.isInteger(j.count) || j.count < 0 || !Number.isInteger(j.nonFinite) || j.nonFinite < 0) bad('counts must be non-negative integers');
    if (!Number.isInteger(nan) || nan < 0 || nan > j.nonFinite) bad(`nan count ${nan} is not within the ${j.nonFinite} non-finite values`);
    const h = new TensorHistogram();
    h.exp = exp;
    h.count = j.count;
    h.nonFinite = j.nonFinite;
    h.nan = nan;
    let total = 0;
    for (const [i, c] of j.bins) {
      if (!Number.isInteger(i) || i < 0 || i >= HIST_BINS) bad(`bin index ${i}`);
      if (!Number.isInteger(c) || c < 0) bad(`bin count ${c}`);
      h.bins[i] += c;
      total += c;
    }
    if (total !== j.count) bad(`bins hold ${total} values, count is ${j.count}`);
    if (j.count > 0) {
      if (!(j.min <= j.max) || Math.max(-j.min, j.max) > j.range) bad(`min ${j.min} / max ${j.max} do not fit range ${j.range}`);
      h.min = j.min;
      h.max = j.max;
    }
    return h;
  }

  /** Convenience: a histogram of one array. */
  static of(x: Float32Array): TensorHistogram {
    const h = new TensorHistogram();
    h.update(x);
    return h;
  }
}

/**
 * Bin of y = x / w (exact: w is a power of two), for |y| <= 2048:
 * y > 0 -> 2047 + ceil(y), y <= 0 -> 2048 + floor(y), written as one floor
 * (they differ only for positive integers) so the hot loop has no
 * data-dependent branch.
 */
function binIndex(y: number): number {
  const f = Math.floor(y);
  return HALF_BINS + f - (f === y && y > 0 ? 1 : 0);
}

/** Scratch for binFinite: two interleaved banks of bins (see below). */
const bank = new Float64Array(2 * HIST_BINS);

/**
 * The hot loop: every value finite and within [-R, R]; inv = 1 / w.
 * Even and odd elements count into separate banks: a ReLU output sends half
 * its values to the zero bin, and back-to-back increments of one memory cell
 * wait on each other (16 -> 9 ns/value at 50% zeros, bench/histogram.bench.ts).
 * The index uses no data-dependent branch.
 */
function binFinite(x: Float32Array, bins: Float64Array, inv: number): void {
  const n = x.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const y0 = x[i] * inv;
    const y1 = x[i + 1] * inv;
    const f0 = Math.floor(y0);
    const f1 = Math.floor(y1);
    bank[HALF_BINS + f0 - (+(f0 === y0) & +(y0 > 0))]++;
    bank[HIST_BINS + HALF_BINS + f1 - (+(f1 === y1) & +(y1 > 0))]++;
  }
  if (i < n) bins[binIndex(x[i] * inv)]++;
  for (let k = 0; k < HIST_BINS; k++) {
    bins[k] += bank[k] + bank[HIST_BINS + k];
    bank[k] = 0;
    bank[HIST_BINS + k] = 0;
  }
}

/** Folds a signed HIST_BINS histogram into HALF_BINS bins of |x|. */
export function foldAbs(bins: Float64Array): Float64Array {
  const out = new Float64Array(HALF_BINS);
  for (let k = 0; k < HALF_BINS; k++) out[k] = bins[HALF_BINS + k] + bins[HALF_BINS - 1 - k];
  return out;
}

/** max(|min|, |max|) of a histogram, 0 when empty. */
export function absMaxOf(h: HistogramLike): number {
  return h.count > 0 ? Math.max(-h.min, h.max, 0) : 0;
}
