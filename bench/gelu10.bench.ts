// GELU10 on a trained transformer (Wu et al. 2020): `qtool calibrate --method all`
// on samples/transformer with and without `--clip-activation gelu=10`, the same
// calibration and eval data. Per method: top-1 both ways, and the range each
// GELU output is quantized with (uncapped GELU output vs capped tensor).
// Usage: node dist/bench/gelu10.bench.js [--cap 10]
// Writes bench/out/gelu10-bench.json.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import chalk from 'chalk';
import { fmt, renderTable } from '../src/report/table.js';
import { calibrateReportSchema, type CalibrateReport } from '../src/report/schemas/calibrate.js';
import { calibrationSchema, type Calibration } from '../src/report/schemas/calibration.js';
import { runChild } from './lib/child.js';
import { machine } from './lib/machine.js';
import { benchOut, repoRoot } from './lib/paths.js';

const { values } = parseArgs({ options: { cap: { type: 'string', default: '10' } } });
const cap = Number(values.cap);
const data = (f: string) => join('samples', 'mnist', f);
const args = (out: string, extra: string[]) => [
  'bin/qtool.js', 'calibrate', join('samples', 'transformer', 'model.onnx'), '--data', data('calib_x.npy'),
  '--eval', data('eval_x.npy'), '--labels', data('eval_y.npy'), '--method', 'all', ...extra, '--out', out, '--json',
];
const tmp = mkdtempSync(join(benchOut(), 'tmp-'));

async function run(extra: string[]): Promise<{ report: CalibrateReport; calibration: Calibration; seconds: number }> {
  const out = join(tmp, extra.length ? 'capped' : 'plain');
  const r = await runChild('node', args(out, extra), { cwd: repoRoot });
  return {
    report: calibrateReportSchema.parse(JSON.parse(r.stdout)),
    calibration: calibrationSchema.parse(JSON.parse(readFileSync(join(out, 'calibration.json'), 'utf8'))),
    seconds: r.wallSeconds,
  };
}

let plain;
let capped;
try {
  plain = await run([]);
  capped = await run(['--clip-activation', `gelu=${cap}`]);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const gelus = capped.report.clippedActivations;
const rangeOf = (cal: Calibration, tensor: string, method: string) => cal.tensors.find((t) => t.name === tensor)?.ranges[method];
const show = (r: { min: number; max: number } | undefined) => (r ? `[${fmt(r.min, 3)}, ${fmt(r.max, 2)}]` : 'float');
const methods = plain.report.methods.map((m) => {
  const c = capped.report.methods.find((x) => x.method === m.method)!;
  return {
    method: m.method, top1: m.top1, top1Capped: c.top1,
    gelus: gelus.map((g) => ({
      tensor: g.tensor, range: rangeOf(plain.calibration, g.tensor, m.method) ?? null,
      rangeCapped: rangeOf(capped.calibration, `${g.tensor}_clip${cap}`, m.method) ?? null,
    })),
  };
});

console.log(`samples/transformer, calibrate --method all, eval on ${plain.report.eval?.samples} MNIST images; FP32 top-1 ${fmt(plain.report.fp32.top1 ?? undefined)} %`);
for (const g of gelus) {
  console.log(`  ${g.tensor}: observed [${fmt(g.minBefore ?? NaN, 3)}, ${fmt(g.maxBefore, 2)}], ${fmt(100 * g.fractionAboveCap, 4)} % of values above ${cap}`);
}
console.log(renderTable(
  ['method', 'top-1 %', `top-1 % gelu=${cap}`, ...gelus.flatMap((_, i) => [`GELU ${i + 1} range`, `GELU ${i + 1} capped`])],
  methods.map((m) => [
    m.method, fmt(m.top1 ?? undefined), fmt(m.top1Capped ?? undefined),
    ...m.gelus.flatMap((g) => [show(g.range ?? undefined), show(g.rangeCapped ?? undefined)]),
  ]),
));
console.log(chalk.dim(`  selected: ${plain.report.selected.method} (${fmt(plain.seconds, 1)} s) / ${capped.report.selected.method} with the cap (${fmt(capped.seconds, 1)} s)`));
const jsonPath = join(benchOut(), 'gelu10-bench.json');
writeFileSync(jsonPath, JSON.stringify({ schema: 'qtool-bench/gelu10@1', machine: machine(), cap, gelus, methods }, null, 2) + '\n');
console.log(chalk.dim(`  wrote ${jsonPath.slice(repoRoot.length + 1)}`));
