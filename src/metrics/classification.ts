// Accuracy metrics over classifier outputs stored row-major as [samples, classes].

export function argmaxRows(data: Float32Array, rows: number, cols: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    let bestV = -Infinity;
    const o = r * cols;
    for (let c = 0; c < cols; c++) {
      const v = data[o + c];
      if (v > bestV) { bestV = v; best = c; }
    }
    out[r] = best;
  }
  return out;
}

/** Percentage of equal entries (top-1 accuracy against labels, or agreement between models). */
export function matchPercent(a: Int32Array, b: Int32Array): number {
  if (a.length !== b.length) throw new Error(`matchPercent: ${a.length} vs ${b.length} entries`);
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return a.length ? (100 * same) / a.length : NaN;
}

/**
 * Signal-to-quantization-noise ratio in dB of `test` against `ref`:
 * 10 log10(sum ref^2 / sum (ref - test)^2). null when the two are identical.
 */
export function sqnrDb(ref: Float32Array, test: Float32Array): number | null {
  if (ref.length !== test.length) throw new Error(`sqnrDb: ${ref.length} vs ${test.length} values`);
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = ref[i] - test[i];
    signal += ref[i] * ref[i];
    noise += d * d;
  }
  if (noise === 0) return null;
  return 10 * Math.log10(signal / noise);
}
