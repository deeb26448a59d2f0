// The QAT fine-tune: loss and learning-rate curves, accuracy before and after.
import type { QatReport } from '../../schemas/qat.js';
import { fmt } from '../../table.js';
import { ACCENT, FP32_COLOR, INT8_COLOR } from '../colors.js';
import { figure, missing, para, type Section } from '../html.js';
import { barChart, lineChart, type Bar } from '../svg.js';
import { changeWord, commandCost, directionNote } from '../user-metric.js';

const TITLE = 'Quantization-aware fine-tuning';

/** With --metric-command: FP32, the calibrated model before QAT and the exported model, under the metric's name. */
function metricPart(q: QatReport, m: NonNullable<QatReport['metricCommand']>): { chart: string; html: string } {
  const change = changeWord(m);
  const chart = barChart({
    name: 'qat-metric', title: `${m.name} ${directionNote(m)}`, yLabel: m.name, zoom: true,
    bars: [{ label: 'FP32', value: m.fp32, color: FP32_COLOR }, { label: 'INT8 before QAT', value: m.before, color: '#9aa5b1' },
      { label: 'exported INT8 after QAT', value: m.after, color: INT8_COLOR }],
    references: [{ value: m.fp32, label: `FP32 ${fmt(m.fp32)}`, color: FP32_COLOR }],
  });
  const budget = q.budget ? ` Budget: a ${change} of at most ${fmt(q.budget.maxDrop)} — ${q.budget.met ? 'met' : 'NOT met'}.` : '';
  const html = para(`${m.name} ${directionNote(m)} by ${commandCost(m)}: FP32 ${fmt(m.fp32)}, the calibrated INT8 model before QAT ` +
    `${fmt(m.before)}, the exported model after it ${fmt(m.after)} (a ${change} of ${fmt(m.drop)} from FP32).${budget}`);
  return { chart, html };
}

export function qatSection(q: QatReport | undefined): Section {
  if (!q) return missing('qat', TITLE, 'no qat.json in the folder');
  const steps = (xs: number[]) => xs.map((v, i): [number, number] => [(i + 1) * q.curveEvery, v]);
  const loss = lineChart({
    name: 'qat-loss', title: `Training loss (${q.train.loss})`, xLabel: 'training step', yLabel: 'loss', xInteger: true,
    series: [{ label: `loss, mean of every ${q.curveEvery} step${q.curveEvery > 1 ? 's' : ''}`, color: ACCENT, points: steps(q.loss) }],
  });
  const lr = lineChart({
    name: 'qat-lr', title: 'Learning rate (cosine annealing)', xLabel: 'training step', yLabel: 'learning rate',
    series: [{ label: `${q.optimizer}, from ${q.lr0.toExponential(2)}`, color: INT8_COLOR, points: steps(q.lr) }],
  });
  const p = q.parity;
  const metric = (m: 'top1' | 'agreement') => (m === 'top1' ? 'top-1' : 'agreement with FP32');
  const a = q.accuracy;
  const bars: Bar[] = a
    ? [{ label: 'FP32', value: a.fp32, color: FP32_COLOR }, { label: 'before QAT', value: a.before, color: '#9aa5b1' }, { label: 'after QAT', value: a.after, color: ACCENT }]
    : [{ label: 'tfjs fake-quant', value: p.tfjs, color: ACCENT }];
  if (!a || p.data === a.data) bars.push({ label: 'exported INT8 (ORT)', value: p.onnxruntime, color: INT8_COLOR });
  const accuracy = barChart({
    name: 'qat-accuracy', title: a ? `${metric(a.metric)} on ${a.samples} samples` : `Parity on ${p.samples} samples`,
    yLabel: `${metric(a?.metric ?? p.metric)} (%)`, zoom: true, bars,
  });
  const user = q.metricCommand ? metricPart(q, q.metricCommand) : undefined;
  const float = q.floatLayers.length ? `, ${q.floatLayers.length} kept in float` : '';
  return {
    id: 'qat', title: TITLE,
    body: para(`${q.epochs} epoch${q.epochs > 1 ? 's' : ''} (${q.steps} steps of ${q.batchSize}) on ${q.train.path} (${q.train.samples} samples) ` +
      `with ${q.train.loss}, ${q.optimizer}, on the ${q.backend.name} backend in ${fmt(q.timings.trainSeconds, 1)} s; ` +
      `${q.quantizedLayers} layers fake-quantized${float}${q.learnRanges ? ', activation and weight ranges learned (LSQ)' : ''}.`) +
      `<div class="grid">${figure(loss)}${figure(lr)}${figure(accuracy, a ? 'The fake-quant model in tfjs before and after training, and the exported model in onnxruntime.' : 'No --eval data: the trained fake-quant model and the exported model on the parity samples.')}` +
      `${user ? figure(user.chart, 'The user\'s metric: the dashed line is FP32.') : ''}</div>${user?.html ?? ''}` +
      para(`Parity on ${p.samples} samples of ${p.data}: tfjs ${fmt(p.tfjs)} %, onnxruntime ${fmt(p.onnxruntime)} % ` +
        `(gap ${fmt(p.gap)} points, allowed ${fmt(p.maxGap)}; ${p.disagreements} predictions differ) — ${p.ok ? 'passed' : 'FAILED'}.`),
  };
}
