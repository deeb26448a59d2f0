// Entropy (KL divergence) calibration: TensorRT's procedure as NVIDIA's
// pytorch-quantization implements it (calib/histogram.py, _compute_amax_entropy),
// on the 2048 bins of |x|:
//   - bins[0] is replaced by bins[1] (pytorch-quantization does this so that
//     the spike of exact zeros after a ReLU does not dominate the divergence);
//   - for i = 128 .. 2048: P = bins[0:i] with the outliers sum(bins[i:]) added
//     to P[i-1]; Q = bins[0:i] cut into 128 quantized bins at the edges
//     linspace(0, i, 129) (source bin j goes to the quantized bin whose
//     [edge_k, edge_k+1) holds j), each quantized bin's mass spread evenly
//     over the non-zero source bins it covers, zero source bins stay 0;
//   - divergence = scipy.stats.entropy(P, Q): both normalised, no smoothing,
//     infinite where Q is 0 and P is not (P[i-1] > 0 from outliers alone);
//   - the last i with the smallest divergence wins (their reversed argmin).
// Threshold: T = (i + 0.5) * bin width, TensorRT's published rule
// (pytorch-quantization returns the edge i * bin width instead).
//
// Speed: instead of building P and Q for every i (O(2048^2)), the divergence
// is rewritten with prefix sums over the source bins, O(128) per candidate:
//   KL = (sum a log a - sum a log q) / N + log(Q) - log(N)
// with a = unnormalised P (total N), q = unnormalised Q (total Q = N - outliers),
// and sum over a quantized bin of b log(M / n) = M log(M / n).
import { foldAbs, HALF_BINS, type HistogramLike } from './histogram.js';
import { asymmetricRange, symmetricRange, type CalibOptions, type Range } from './range.js';
import { calibrateMax } from './max.js';

export const ENTROPY_START_BIN = 128;
export const ENTROPY_QUANT_BINS = 128;

const xlogx = (v: number): number => (v > 0 ? v * Math.log(v) : 0);

/**
 * KL divergence of every candidate i (index i - start), Infinity where Q has a
 * zero under mass of P. `abs` is the |x| histogram (bins[0] already replaced).
 */
export function entropyDivergences(abs: Float64Array, start = ENTROPY_START_BIN, nq = ENTROPY_QUANT_BINS): Float64Array {
  const n = abs.length;
  const B = new Float64Array(n + 1); // prefix sums of counts
  const Z = new Float64Array(n + 1); // prefix counts of non-zero bins
  const L = new Float64Array(n + 1); // prefix sums of b log b
  for (let j = 0; j < n; j++) {
    B[j + 1] = B[j] + abs[j];
    Z[j + 1] = Z[j] + (abs[j] !== 0 ? 1 : 0);
    L[j + 1] = L[j] + xlogx(abs[j]);
  }
  const N = B[n];
  const out = new Float64Array(n - start + 1).fill(Infinity);
  if (N === 0) return out;
  const logN = Math.log(N);
  for (let i = start; i <= n; i++) {
    const inside = B[i];
    const outliers = N - inside;
    const last = abs[i - 1];
    if (inside === 0 || (outliers > 0 && last === 0)) continue;
    // sum over quantized bins of [sum b log b - M log(M / n)] (>= 0 each).
    // Quantized bin k holds source bins [ceil(k i / nq), ceil((k+1) i / nq)).
    let d = 0;
    let lastQ = 0;
    let s = 0;
    for (let k = 1; k <= nq; k++) {
      const e = Math.ceil((k * i) / nq);
      const m = B[e] - B[s];
      if (m !== 0) {
        const q = m / (Z[e] - Z[s]);
        d += L[e] - L[s] - m * Math.log(q);
        lastQ = q; // the last quantized bin with mass holds bin i-1 when last > 0
      }
      s = e;
    }
    if (outliers > 0) {
      // P[i-1] = last + outliers instead of last; Q[i-1] unchanged.
      d += xlogx(last + outliers) - xlogx(last) - outliers * Math.log(lastQ);
    }
    out[i - start] = d / N + Math.log(inside) - logN;
  }
  return out;
}

/** The index of the last minimum (ties within rounding noise go to the larger i). */
function lastArgmin(v: Float64Array): number {
  let m = Infinity;
  for (let i = 0; i < v.length; i++) if (v[i] < m) m = v[i];
  const tol = 1e-12 * Math.max(1, Math.abs(m));
  for (let i = v.length - 1; i >= 0; i--) if (v[i] <= m + tol) return i;
  return v.length - 1;
}

export function calibrateEntropy(h: HistogramLike, opts: CalibOptions): Range {
  const abs = foldAbs(h.bins);
  abs[0] = abs[1];
  const kl = entropyDivergences(abs);
  if (h.count === 0 || !kl.some((v) => v < Infinity)) return calibrateMax(h, opts);
  const i = lastArgmin(kl) + ENTROPY_START_BIN;
  const t = (i + 0.5) * (h.range / HALF_BINS);
  return opts.symmetric ? symmetricRange(h, t) : asymmetricRange(h, -t, t);
}
