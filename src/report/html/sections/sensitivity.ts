// The sensitivity ranking: the measured impact of each layer and the proxy.
import type { SensitivityReport } from '../../schemas/sensitivity.js';
import { fmt } from '../../table.js';
import { ACCENT, FP32_COLOR } from '../colors.js';
import { figure, missing, para, table, type Section } from '../html.js';
import { hbarChart } from '../svg.js';

const TITLE = 'Sensitivity ranking';
const SHOWN = 20;

const MODE_TEXT = {
  fallback: 'recovered by keeping only this layer in float',
  quantize: 'lost by quantizing only this layer',
} as const;

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
  const mode = s.modes[0];
  const rows = ranked.map((l) => [String(l.rank), l.name, l.opType, String(l.params), fmt(l[mode]?.impact), fmt(l[mode]?.top1 ?? l[mode]?.agreement ?? undefined), String(l.proxy.rank), fmt(l.proxy.localSqnrDb ?? undefined, 1)]);
  const q = s.quantized;
  return {
    id: 'sensitivity', title: TITLE,
    body: para(`${s.layers.length} layers ranked on ${s.data.path} (${s.data.samples} samples) by ${s.metric}; calibration ${s.calibration.method}. ` +
      `Fully quantized: top-1 ${fmt(q.top1 ?? undefined)} % (FP32 ${fmt(s.fp32.top1 ?? undefined)} %), agreement ${fmt(q.agreement ?? undefined)} %, output SQNR ${fmt(q.sqnrDb ?? undefined, 1)} dB.` +
      (ranked.length > SHOWN ? ` The charts show the ${SHOWN} most sensitive.` : '')) +
      `<div class="grid">${charts.map((c) => figure(c)).join('')}</div>` +
      table(['rank', 'layer', 'op', 'params', `${mode} impact`, `${mode} ${s.labels ? 'top-1' : 'agreement'} %`, 'proxy rank', 'local SQNR dB'], rows, 3),
  };
}
