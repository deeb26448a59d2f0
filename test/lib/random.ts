// Generated data for the tests and benchmarks: the project's seeded PRNG
// (src/util/random.ts) and normal samples (Box-Muller) from it, so that test
// data and the benchmark model and data are the same bytes on every machine.

import { mulberry32, type Rng } from '../../src/util/random.js';

export { mulberry32, type Rng };

/** Fills `out` with N(0, std^2) samples. */
export function fillNormal(out: Float32Array, rng: Rng, std = 1): Float32Array {
  for (let i = 0; i < out.length; i += 2) {
    const u = 1 - rng(); // (0, 1]: log(u) is finite
    const v = rng();
    const r = std * Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}
