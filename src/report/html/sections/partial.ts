// The partial-quantization curve: layers kept in float vs accuracy and latency.
import type { PartialReport } from '../../schemas/partial.js';
import { fmt } from '../../table.js';
import { ACCENT, FP32_COLOR, INT8_COLOR } from '../colors.js';
import { figure, megabytes, missing, para, table, type Section } from '../html.js';
import { lineChart, type Reference } from '../svg.js';
import { changeWord, commandCost } from '../user-metric.js';

const TITLE = 'Partial quantization: layers in float';

export function partialSection(p: PartialReport | undefined): Section {
  if (!p) return missing('partial', TITLE, 'no partial.json in the folder');
  const metric = p.accuracyMetric === 'top1' ? 'top-1' : p.accuracyMetric === 'sqnr' ? 'output SQNR (dB, capped at 100)'
    : p.accuracyMetric === 'agreement' ? 'agreement with FP32' : p.accuracyMetric;
  // The user's metric is in its own units, and a lower-is-better one has its budget line above FP32.
  const command = p.metricCommand;
  const pct = command ? '' : ' %';
  const budgetLine = p.budget.maxDrop === null ? null : command && !command.higherIsBetter ? p.fp32.accuracy + p.budget.maxDrop : p.fp32.accuracy - p.budget.maxDrop;
  const refs: Reference[] = [{ value: p.fp32.accuracy, label: `FP32 ${fmt(p.fp32.accuracy)}${pct}`, color: FP32_COLOR }];
  if (budgetLine !== null) refs.push({ value: budgetLine, label: `budget: ${fmt(p.budget.maxDrop!)} ${command ? '' : 'points '}${budgetLine > p.fp32.accuracy ? 'above' : 'below'} FP32`, color: ACCENT });
  const written = { x: p.result.floatLayers, label: 'written' };
  const accuracy = lineChart({
    name: 'partial-accuracy', title: `${metric} vs layers kept in float`, xLabel: 'layers kept in float', yLabel: command ? metric : `${metric} (%)`,
    xInteger: true, dots: true, zoom: true, references: refs, highlight: { ...written, y: p.result.accuracy },
    series: [{ label: 'INT8 with float layers', color: INT8_COLOR, points: p.curve.map((c) => [c.floatLayers, c.accuracy]) }],
  });
  // A metric command runs the models itself: no latency was measured.
  const fp32Ms = p.fp32.medianBatchMs;
  const latency = fp32Ms === null || p.result.medianBatchMs === null ? '' : figure(lineChart({
    name: 'partial-latency', title: 'Batch latency vs layers kept in float', xLabel: 'layers kept in float', yLabel: 'median ms per batch',
    xInteger: true, dots: true, highlight: { ...written, y: p.result.medianBatchMs },
    references: [{ value: fp32Ms, label: `FP32 ${fmt(fp32Ms, 3)} ms`, color: FP32_COLOR }],
    series: [{ label: 'INT8 with float layers', color: INT8_COLOR, points: p.curve.filter((c) => c.medianBatchMs !== null).map((c) => [c.floatLayers, c.medianBatchMs!]) }],
  }));
  const rows = p.curve.map((c) => [
    String(c.floatLayers) + (c.floatLayers === p.result.floatLayers ? '  (written)' : ''), c.added ?? '(all quantized)',
    fmt(c.accuracy), fmt(c.drop), fmt(c.sqnrDb ?? undefined, 1), fmt(c.medianBatchMs ?? undefined, 3), megabytes(c.sizeBytes),
  ]);
  const batch = typeof p.options.batchSize === 'number' ? `batches of ${p.options.batchSize}` : 'batches';
  return {
    id: 'partial', title: TITLE,
    body: para(`${p.message}. Most sensitive layer first, one per step, each step measured on ${p.data.path} (${p.data.samples} samples); ` +
      `float layers in ${p.floatType}; ` + (command
        ? `scored by ${commandCost(command)}.`
        : `latency is the median onnxruntime session.run time over ${batch}, measured by qtool partial.`)) +
      `<div class="grid">${figure(accuracy)}${latency}</div>` +
      table(['float layers', 'layer added', `${metric}${pct}`, command ? changeWord(command) : 'drop (points)', 'SQNR dB', 'ms / batch', 'size'], rows, 2) +
      p.warnings.map((w) => para(`warning: ${w}`)).join(''),
  };
}
