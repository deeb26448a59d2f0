import chalk from 'chalk';
import type { Command } from 'commander';
import { evalModel } from '../../stages/eval.js';
import { evalReportSchema, type EvalReport } from '../../report/schemas/eval.js';
import { fmt } from '../../report/table.js';
import { action, emit, parsePositiveInt } from '../action.js';
import { addOptions, dataSourceOf } from '../options.js';
import { DATA_SOURCE_OPTIONS } from '../../config/options/data.js';

function summary(r: EvalReport): string {
  const lines = [`${chalk.bold(r.model.path)} on ${r.data.path} (${r.data.samples} samples)`];
  if (r.top1 !== null) lines.push(`  top-1 accuracy      ${chalk.green(fmt(r.top1) + ' %')}`);
  if (r.reference && r.outputs.length === 1 && r.outputs[0].kind === 'classes') {
    lines.push(`  top-1 agreement     ${fmt(r.agreement)} % with ${r.reference.path}`);
    lines.push(`  output SQNR         ${fmt(r.sqnrDb, 1)} dB`);
  } else if (r.reference) {
    // One line per output: agreement per sample ([N, C]) or per position ([N, T, C]), SQNR for all.
    lines.push(`  against ${r.reference.path}:`);
    for (const o of r.outputs) {
      const agree = o.kind === 'classes' ? `agreement ${fmt(o.agreement ?? undefined)} %, ` : o.kind === 'positions' ? `agreement per position ${fmt(o.agreement ?? undefined)} %, ` : '';
      lines.push(`  ${o.name} [N, ${o.dims.join(', ')}]: ${agree}SQNR ${fmt(o.sqnrDb, 1)} dB`);
    }
  }
  lines.push(`  median batch time   ${fmt(r.medianBatchMs, 3)} ms (batch size ${r.batchSize})` +
    (r.referenceMedianBatchMs !== null ? `, reference ${fmt(r.referenceMedianBatchMs, 3)} ms` : ''));
  if (r.top1 === null && !r.reference) lines.push(chalk.dim('  (no --labels and no --reference: nothing to score against)'));
  return lines.join('\n');
}

export function registerEval(program: Command): void {
  const cmd = program
    .command('eval')
    .description('top-1 accuracy with labels; agreement and output SQNR against a reference model')
    .argument('<model>', 'ONNX model')
    .requiredOption('--data <file>', 'inputs: .npy (one input), .npz (arrays named like the model inputs), an image folder (--preprocess) or a text file (--tokenizer)')
    .option('--labels <file>', 'integer class labels (.npy; an image folder with class subfolders has its own)')
    .option('--reference <model>', 'reference model (e.g. the FP32 original) for agreement and SQNR')
    .option('--batch-size <n>', 'samples per batch', parsePositiveInt('--batch-size'), 64);
  addOptions(cmd, DATA_SOURCE_OPTIONS)
    .option('--json', 'print the report as JSON on stdout')
    .action(action(async (model: string, opts: { data: string; labels?: string; reference?: string; batchSize: number; json?: boolean }, self: Command) => {
      const report = evalReportSchema.parse(await evalModel(
        { model, data: opts.data, labels: opts.labels, reference: opts.reference, source: dataSourceOf(self) },
        { batchSize: opts.batchSize },
      ));
      emit(report, opts.json, summary);
    }));
}
