import chalk from 'chalk';
import type { Command } from 'commander';
import { doctor } from '../../stages/doctor.js';
import { doctorReportSchema, type DoctorReport } from '../../report/schemas/doctor.js';
import { action, emit } from '../action.js';

const ok = chalk.green('ok');
const bad = (s: string) => chalk.yellow(s);

function summary(r: DoctorReport): string {
  const row = (label: string, value: string) => `  ${label.padEnd(15)} ${value}`;
  const ort = r.onnxruntime;
  const tf = r.tfjs;
  const data = r.onnxTestData;
  return [
    chalk.bold(`qtool ${r.qtoolVersion}`),
    row('node', `${r.node.version} (${r.node.platform} ${r.node.arch}, N-API ${r.node.napi})`),
    row('onnxruntime', ort.version === null ? bad('onnxruntime-node is not installed')
      : `onnxruntime-node ${ort.version}  ${ort.loads ? ok : bad(`does not load: ${ort.error}`)}`),
    row('tfjs', `${tf.version}${tf.tfjsNode ? `, tfjs-node ${tf.tfjsNode}` : chalk.dim(' (tfjs-node not installed)')}`),
    row('tfjs backend', tf.native
      ? `${chalk.cyan(tf.backend)} (native${tf.libtensorflow ? `, libtensorflow ${tf.libtensorflow}` : ''})  ${ok}`
      : `${bad(tf.backend)} (pure JS: QAT trains about 80x slower)\n${row('', chalk.dim(`why: ${tf.fallbackReason}`))}`),
    row('ONNX test data', data.present
      ? `libonnx-testdata: ${data.nodeTests} node tests in ${data.path}`
      : bad(`libonnx-testdata not found (${data.path}); apt-get install libonnx-testdata`)),
  ].join('\n');
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('show what qtool runs on: node, onnxruntime-node, the tfjs backend for QAT, ONNX test data')
    .option('--json', 'print the report as JSON on stdout')
    .action(action(async (opts: { json?: boolean }) => {
      const report = doctorReportSchema.parse(await doctor());
      emit(report, opts.json, summary);
    }));
}
