// FP32 vs INT8 accuracy per calibration method: table and bar chart.
import { clipGeluPass } from '../../../quant/passes/clip-gelu.js';
import { methodLabel, selectedResult, withoutPass, type CalibrateReport, type MethodResult } from '../../schemas/calibrate.js';
import { fmt } from '../../table.js';
import { FP32_COLOR } from '../colors.js';
import { figure, missing, para, swatch, table, type Section } from '../html.js';
import { barChart, type Bar } from '../svg.js';
import { changeWord, commandCost, directionNote } from '../user-metric.js';

const TITLE = 'Calibration methods: FP32 vs INT8';

/** The tensors calibrate left float and why, or nothing. */
function floatTensorsNote(c: CalibrateReport): string {
  if (c.floatTensors.length === 0) return '';
  return para(`${c.floatTensors.length} planned tensor${c.floatTensors.length === 1 ? '' : 's'} stay float (no Q/DQ pair) because the ` +
    'calibration data gives no usable 8-bit range (infinite: holds ±inf or float32 extremes, as attention masks do; constant: one value):') +
    table(['tensor', 'reason'], c.floatTensors.map((f) => [f.tensor, f.reason]), 2);
}

/** The methods as the user's metric command scored them: the chart and table under the metric's name. */
function commandMethods(c: CalibrateReport, m: NonNullable<CalibrateReport['metricCommand']>, color: (method: string) => string): Section {
  const chart = barChart({
    name: 'methods-accuracy', title: `${m.name} per calibration method ${directionNote(m)}`, yLabel: m.name, zoom: true,
    bars: [{ label: 'FP32', value: m.fp32, color: FP32_COLOR },
      ...c.methods.filter((r) => r.value !== undefined).map((r) => ({ label: methodLabel(r), value: r.value!, color: color(r.method) }))],
    references: [{ value: m.fp32, label: `FP32 ${fmt(m.fp32)}`, color: FP32_COLOR }],
  });
  const rows = c.methods.map((r) => [
    swatch(color(r.method), methodLabel(r) + (r === selectedResult(c) ? '  (selected)' : '')), fmt(r.value), fmt(r.drop ?? undefined),
  ]);
  rows.unshift([swatch(FP32_COLOR, 'FP32'), fmt(m.fp32), '']);
  return {
    id: 'methods', title: TITLE,
    body: para(`${c.model.path} calibrated on ${c.data.path} (${c.data.samples} samples); every method's INT8 model scored by ${commandCost(m)}. ` +
      `Selected: ${c.selected.method}, ${c.selected.reason}.`) +
      `<div class="row">${figure(chart, 'Bars are labelled with their values; the dashed line is FP32.')}` +
      `<div>${table(['method', m.name, changeWord(m)], rows)}</div></div>` + passesNote(c) + geluCapNote(c, (r) => r.value ?? null, m.name) + floatTensorsNote(c),
  };
}

/** The variant --select best scores without the GELU cap. */
const WITHOUT_CAP = withoutPass(clipGeluPass.name);

/**
 * What --clip-activation gelu=CAP did: each GELU output's range before the cap
 * and the range its capped tensor is quantized with; and, when --select best
 * scored the recipe without the cap too, each method's accuracy both ways.
 */
function geluCapNote(c: CalibrateReport, value: (m: MethodResult) => number | null, unit: string): string {
  const clipped = c.clippedActivations;
  if (clipped.length === 0) return '';
  const cap = clipped[0]!.cap;
  const range = (r: { min: number; max: number } | null | undefined) => (r ? `[${fmt(r.min)}, ${fmt(r.max)}]` : r === null ? 'not quantized' : '');
  const ranges = table(['GELU output', 'range before the cap', `% above ${cap}`, `quantized range after (${c.selected.method})`],
    clipped.map((a) => [a.tensor, range(a.minBefore === undefined ? undefined : { min: a.minBefore, max: a.maxBefore }) || `max ${fmt(a.maxBefore)}`,
      fmt(100 * a.fractionAboveCap, 4), range(a.after)]), 2);
  const withCap = c.methods.filter((m) => m.variant === undefined);
  const without = (m: MethodResult) => c.methods.find((x) => x.method === m.method && x.variant === WITHOUT_CAP);
  const compared = withCap.some((m) => without(m) !== undefined);
  const accuracy = compared
    ? table(['method', `with gelu=${cap} ${unit}`, `without ${unit}`],
      withCap.map((m) => { const w = without(m); return [m.method, fmt(value(m) ?? undefined), fmt(w ? value(w) ?? undefined : undefined)]; }))
    : para('Run calibrate with --select best and evaluation data to score every method without the cap as well.');
  const left = c.selected.variant === WITHOUT_CAP ? ` The selected model leaves the cap out (${c.selected.method} scored better without it); the ranges are those of the recipe with it.` : '';
  return para(`GELU${cap} (--clip-activation gelu=${cap}): ${clipped.length} GELU output${clipped.length === 1 ? '' : 's'} capped at ${cap} before calibration.${left}`) +
    ranges + accuracy;
}

/** What each requested recipe pass did (equalization's channel spreads, SmoothQuant's scales, bias correction's rounds). */
function passesNote(c: CalibrateReport): string {
  const passes = c.passes ?? [];
  return passes.length === 0 ? '' : para('Recipe passes of the selected model: ' + passes.map((p) => `${p.name}: ${p.summary}`).join('; ') + '.');
}

export function methodsSection(c: CalibrateReport | undefined, colors: Map<string, string>): Section {
  if (!c) return missing('methods', TITLE, 'no calibrate.json in the folder');
  if (c.metricCommand && c.methods.length > 0) return commandMethods(c, c.metricCommand, (m) => colors.get(m) ?? FP32_COLOR);
  const hasTop1 = c.methods.some((m) => m.top1 !== null);
  const hasAgreement = c.methods.some((m) => m.agreement !== null);
  const color = (m: string) => colors.get(m) ?? FP32_COLOR;
  const rows = c.methods.map((m) => [
    swatch(color(m.method), methodLabel(m) + (m === selectedResult(c) ? '  (selected)' : '')),
    fmt(m.top1 ?? undefined), fmt(m.drop ?? undefined), fmt(m.agreement ?? undefined), fmt(m.sqnrDb ?? undefined, 1),
  ]);
  rows.unshift([swatch(FP32_COLOR, 'FP32'), fmt(c.fp32.top1 ?? undefined), '', '', '']);

  if (!c.eval || c.methods.length === 0) {
    return {
      id: 'methods', title: TITLE,
      body: para(`calibrate ran without --eval, so no method was evaluated; ${c.selected.method} was selected (${c.selected.reason}). ` +
        'The histograms below still show where each method clips.') + passesNote(c) + geluCapNote(c, () => null, '') + floatTensorsNote(c),
    };
  }
  const methodBars = (pick: (m: CalibrateReport['methods'][number]) => number | null): Bar[] =>
    c.methods.filter((m) => pick(m) !== null).map((m) => ({ label: methodLabel(m), value: pick(m)!, color: color(m.method) }));
  const fp32Top1 = c.fp32.top1;
  const chart = hasTop1 && fp32Top1 !== null
    ? barChart({
      name: 'methods-accuracy', title: 'Top-1 accuracy per calibration method', yLabel: 'top-1 accuracy (%)', zoom: true,
      bars: [{ label: 'FP32', value: fp32Top1, color: FP32_COLOR }, ...methodBars((m) => m.top1)],
      references: [{ value: fp32Top1, label: `FP32 ${fmt(fp32Top1)} %`, color: FP32_COLOR }],
    })
    : !hasAgreement
      // An output without classes (c.metric.name 'sqnr'): its SQNR is the metric.
      ? barChart({
        name: 'methods-accuracy', title: `Output SQNR against FP32 per calibration method${c.metric ? ` (output ${c.metric.output})` : ''}`,
        bars: methodBars((m) => m.sqnrDb), yLabel: 'output SQNR (dB)', zoom: true,
      })
      : barChart({
        name: 'methods-accuracy', title: 'Top-1 agreement with FP32 per calibration method', bars: methodBars((m) => m.agreement),
        yLabel: 'agreement with FP32 (%)', zoom: true, references: [{ value: 100, label: 'FP32 (100 %)', color: FP32_COLOR }],
      });
  const how = c.eval.labels ? ', labels ' + c.eval.labels : hasAgreement ? ', agreement with FP32: no labels' : ', output SQNR against FP32: no class axis';
  const on = `on ${c.eval.path} (${c.eval.samples} samples${how})`;
  return {
    id: 'methods', title: TITLE,
    body: para(`${c.model.path} calibrated on ${c.data.path} (${c.data.samples} samples); every method's INT8 model evaluated ${on}. ` +
      `Selected: ${c.selected.method}${c.selected.variant ? ` ${c.selected.variant}` : ''}, ${c.selected.reason}.`) +
      `<div class="row">${figure(chart, 'Bars are labelled with their values; the dashed line is FP32. The axis starts where the values do, so small differences stay visible.')}` +
      `<div>${table(['method', 'top-1 %', 'drop (points)', 'agreement %', 'SQNR dB'], rows)}</div></div>` + passesNote(c) +
      geluCapNote(c, (m) => (hasTop1 ? m.top1 : hasAgreement ? m.agreement : m.sqnrDb), hasTop1 ? 'top-1 %' : hasAgreement ? 'agreement %' : 'SQNR dB') + floatTensorsNote(c),
  };
}
