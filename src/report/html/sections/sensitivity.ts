// The sensitivity ranking: the measured impact of each layer and the proxy.
import type { SensitivityReport } from '../../schemas/sensitivity.js';
import { fmt } from '../../table.js';
import { ACCENT, FP32_COLOR } from '../colors.js';
import { figure, missing, para, table, type Section } from '../html.js';
import { hbarChart } from '../svg.js';
import { changeWord, commandCost, directionNote } from '../user-metric.js';

const TITLE = 'Sensitivity ranking';
const SHOWN = 20;

const MODE_TEXT = {
  fallback: 'recovered by keeping only this layer in float',
  quantize: 'lost by quantizing only this layer',
} as const;

type Layer = SensitivityReport['layers'][number];

/**
 * With --metric-command and --metric-top K: the first K units of the built-in ranking as the user's metric
 * measured them (the first mode's variant), in the order it re-ranked them, under its name and direction.
 */
function metricPart(s: SensitivityReport, m: NonNullable<SensitivityReport['metricCommand']>, ranked: Layer[]): { chart: string; html: string } {
  const measured = ranked.filter((l) => l.metric);
  const change = changeWord(m);
  const variant = m.mode === 'fallback' ? 'with only it kept in float' : 'with only it quantized';
  const chart = hbarChart({
    name: 'sensitivity-metric',
    title: `${m.name} ${variant} ${directionNote(m)}: ${change} from FP32 (${fmt(m.fp32)})`,
    bars: measured.map((l) => ({ label: l.name, value: l.metric!.drop, color: ACCENT, text: `${fmt(l.metric!.value)} (${change} ${fmt(l.metric!.drop)})` })),
    xLabel: `${change} of ${m.name} from FP32 (${m.mode === 'fallback' ? 'lower' : 'higher'} = more sensitive)`,
  });
  const builtIn = s.builtInRanking ?? s.ranking;
  const rows = measured.map((l) => [String(l.rank), l.name, String(builtIn.indexOf(l.name) + 1), fmt(l.metric!.value), fmt(l.metric!.drop)]);
  const html = para(`The first ${m.top} of the built-in ranking measured ${variant} by ${commandCost(m)}, and re-ordered by ${m.name} ` +
    `${directionNote(m)}; FP32 scores ${fmt(m.fp32)}. The rest keep their built-in order.`) +
    table(['rank', 'layer', 'built-in rank', m.name, `${change} from FP32`], rows, 2);
  return { chart, html };
}

export function sensitivitySection(s: SensitivityReport | undefined): Section {
  if (!s) return missing('sensitivity', TITLE, 'no sensitivity.json in the folder');
  const byName = new Map(s.layers.map((l) => [l.name, l]));
  const ranked = s.ranking.map((n) => byName.get(n)!).filter(Boolean);
  const shown = ranked.slice(0, SHOWN);
  const charts = s.modes.map((mode) => hbarChart({
    name: `sensitivity-${mode}`,
    title: `${s.impactUnit} ${MODE_TEXT[mode]}`,
    bars: shown.map((l) => ({ label: l.name, value: l[mode]?.impact ?? 0, color: ACCENT })),
    xLabel: `${s.impactUnit} (higher = more sensitive)`,
  }));
  const proxy = s.proxyRanking.map((n) => byName.get(n)!).filter((l) => l && l.proxy.localSqnrDb !== null).slice(0, SHOWN);
  if (proxy.length) {
    charts.push(hbarChart({
      name: 'sensitivity-proxy',
      title: 'Proxy: local SQNR of each quantized layer',
      bars: proxy.map((l) => ({ label: l.name, value: l.proxy.localSqnrDb!, color: FP32_COLOR })),
      xLabel: 'dB against a float copy (lower = more sensitive)',
      format: (v) => v.toFixed(1),
    }));
  }
  const metric = s.metricCommand ? metricPart(s, s.metricCommand, ranked) : undefined;
  if (metric) charts.unshift(metric.chart);
  const mode = s.modes[0];
  const rows = ranked.map((l) => [String(l.rank), l.name, l.opType, String(l.params), fmt(l[mode]?.impact), fmt(l[mode]?.top1 ?? l[mode]?.agreement ?? undefined), String(l.proxy.rank), fmt(l.proxy.localSqnrDb ?? undefined, 1)]);
  const q = s.quantized;
  return {
    id: 'sensitivity', title: TITLE,
    body: para(`${s.layers.length} layers ranked on ${s.data.path} (${s.data.samples} samples) by ${s.metric}; calibration ${s.calibration.method}. ` +
      `Fully quantized: top-1 ${fmt(q.top1 ?? undefined)} % (FP32 ${fmt(s.fp32.top1 ?? undefined)} %), agreement ${fmt(q.agreement ?? undefined)} %, output SQNR ${fmt(q.sqnrDb ?? undefined, 1)} dB.` +
      (ranked.length > SHOWN ? ` The charts show the ${SHOWN} most sensitive.` : '')) +
      `<div class="grid">${charts.map((c) => figure(c)).join('')}</div>` + (metric?.html ?? '') +
      table(['rank', 'layer', 'op', 'params', `${mode} impact`, `${mode} ${s.labels ? 'top-1' : 'agreement'} %`, 'proxy rank', 'local SQNR dB'], rows, 3),
  };
}
