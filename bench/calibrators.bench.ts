// Cost of each calibrator on a full 4096-bin histogram, and of folding 1M
// values into a histogram, in CPU milliseconds (best of several runs, so a
// busy machine does not inflate it). Run: node dist/bench/calibrators.bench.js
import { HIST_BINS, TensorHistogram } from '../src/calib/histogram.js';
import { calibOptions, parseMethods, rangeFor } from '../src/calib/methods.js';
import { fillNormal, mulberry32 } from '../test/lib/random.js';

function cpuMs(f: () => void): number {
  const t0 = process.cpuUsage();
  f();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000;
}
const best = (n: number, f: () => void) => Math.min(...Array.from({ length: n }, () => cpuMs(f)));

// Every bin non-empty: the worst case for all methods.
const x = Float32Array.from({ length: 3 * HIST_BINS }, (_, i) => -1024 + (2048 * (i + 0.5)) / (3 * HIST_BINS));
const h = TensorHistogram.of(x);
const methods = parseMethods('max,percentile,mse,entropy', [99.99]);
for (const m of methods) {
  for (const [name, opts] of [['uint8 asymmetric', calibOptions('uint8', false)], ['int8 symmetric', calibOptions('int8', true)]] as const) {
    rangeFor(m, h, opts);
    console.log(`${m.family.padEnd(10)} ${name.padEnd(16)} ${best(7, () => rangeFor(m, h, opts)).toFixed(2)} ms`);
  }
}
// Normal values from the seeded PRNG, the same on every run.
const big = fillNormal(new Float32Array(1_000_000), mulberry32(61));
const hist = new TensorHistogram();
hist.update(big);
console.log(`histogram update, 1M values: ${best(5, () => hist.update(big)).toFixed(1)} ms`);
