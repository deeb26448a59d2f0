// Cost of TensorHistogram.update (the calibration pass's statistics) per value,
// on N(0,1) data and on the same data after a ReLU, whose exact zeros (half of
// the values here; most of a CNN's quantized activations are ReLU outputs)
// all land in one bin. CPU nanoseconds per value, best of 7 runs, so that a
// busy machine inflates it little. Run: node dist/bench/histogram.bench.js
import { TensorHistogram } from '../src/calib/histogram.js';
import { fillNormal, mulberry32 } from '../test/lib/random.js';

const N = 4_000_000;
const normal = fillNormal(new Float32Array(N), mulberry32(7));
const inputs: [string, Float32Array][] = [
  ['N(0,1)', normal],
  ['ReLU(N(0,1)), 50% zeros', normal.map((v) => Math.max(0, v))],
  ['ReLU(N(0,1) - 1.28), 90% zeros', normal.map((v) => Math.max(0, v - 1.28))],
];

function cpuNsPerValue(f: () => void): number {
  const runs = Array.from({ length: 7 }, () => {
    const t0 = process.cpuUsage();
    f();
    const d = process.cpuUsage(t0);
    return (d.user + d.system) * 1000;
  });
  return Math.min(...runs) / N;
}

for (const [name, x] of inputs) {
  const h = new TensorHistogram();
  h.update(x); // warm-up: JIT, and the range settles
  console.log(`${name.padEnd(32)} ${cpuNsPerValue(() => h.update(x)).toFixed(2)} ns/value`);
}
