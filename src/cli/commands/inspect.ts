import chalk from 'chalk';
import type { Command } from 'commander';
import { loadModel } from '../../onnx/model.js';
import { inspectModel } from '../../stages/inspect.js';
import { inspectReportSchema, type InspectReport } from '../../report/schemas/inspect.js';
import { renderTable } from '../../report/table.js';
import { subgraphLayersNote } from '../../quant/quantizable.js';
import { action, emit } from '../action.js';
import type { ValueSpec } from '../../onnx/graph.js';

const shape = (v: Pick<ValueSpec, "dims">) => (v.dims ? `[${v.dims.map((d) => d ?? '?').join(', ')}]` : '(unknown rank)');

/** What calibrate does about an opset below 13. */
function upgradeLine(r: InspectReport): string[] {
  const u = r.opsetUpgrade;
  if (!u) return [];
  if ('refused' in u) return [chalk.yellow(`  calibrate refuses it: ${u.refused}`)];
  const rewritten = u.rewritten.map((x) => `${x.op} ${chalk.dim('×')}${x.count}`).join(', ');
  return [`  calibrate upgrades it to opset ${u.to}${rewritten ? ` (rewrites ${rewritten})` : ' (no node changes)'}`];
}

function summary(r: InspectReport): string {
  const mb = (r.sizeBytes / 1e6).toFixed(2);
  const lines = [
    `${chalk.bold(r.model.path)}  ${mb} MB, ${r.parameters.toLocaleString('en-US')} parameters, ${r.nodes} nodes`,
    `  opset ${r.opsets.map((o) => `${o.domain} ${o.version}`).join(', ')}; IR ${r.irVersion}; producer ${r.producer.name || '?'} ${r.producer.version}`,
    ...upgradeLine(r),
    '',
    chalk.bold('Inputs'),
    ...r.inputs.map((v) => `  ${chalk.cyan(v.name)}  ${v.type} ${shape(v)}`),
    chalk.bold('Outputs'),
    ...r.outputs.map((v) => `  ${chalk.cyan(v.name)}  ${v.type} ${shape(v)}`),
    '',
    chalk.bold('Ops'),
    '  ' + Object.entries(r.opCounts).map(([op, n]) => `${op} ${chalk.dim('×')}${n}`).join(', '),
    '',
    chalk.bold(`Quantizable layers (${r.quantizableLayers.length})`),
  ];
  if (r.quantizableLayers.length) {
    lines.push(renderTable(
      ['layer', 'op', 'weight shape', 'params'],
      r.quantizableLayers.map((l) => [l.name, chalk.yellow(l.opType), `[${l.weightShape.join(', ')}]`, l.params.toLocaleString('en-US')]),
    ));
  } else {
    lines.push(chalk.yellow('  none: no Conv, ConvTranspose, Gemm or MatMul with a constant weight'));
  }
  const note = subgraphLayersNote(r.subgraphLayers);
  if (note) {
    lines.push('', chalk.bold(`Layers inside subgraphs (${r.subgraphLayers.length})`), renderTable(
      ['layer', 'op', 'weight shape', 'params', 'in'],
      r.subgraphLayers.map((l) => [l.name, chalk.yellow(l.opType), `[${l.weightShape.join(', ')}]`, l.params.toLocaleString('en-US'), l.subgraph]),
    ), chalk.yellow(`  ${note}: qtool quantizes the top-level graph only`));
  }
  return lines.join('\n');
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('show opset, inputs/outputs, op counts and the quantizable layers of a model')
    .argument('<model>', 'ONNX model')
    .option('--json', 'print the report as JSON on stdout')
    .action(action(async (modelPath: string, opts: { json?: boolean }) => {
      const report = inspectReportSchema.parse(inspectModel(loadModel(modelPath)));
      emit(report, opts.json, summary);
    }));
}
