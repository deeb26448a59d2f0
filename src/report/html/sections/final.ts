// The model the pipeline ended with: what it is, its size and speed against FP32.
import { basename } from 'node:path';
import { fmt } from '../../table.js';
import { ACCENT, FP32_COLOR, INT8_COLOR } from '../colors.js';
import { figure, megabytes, para, table, type Cell, type Section } from '../html.js';
import { barChart } from '../svg.js';

export interface ModelFile { label: string; path: string; bytes: number }

export interface FinalModel {
  /** The file, as found. */
  path: string;
  /** What it is, in a sentence. */
  description: string;
  accuracy: { value: number; fp32: number | null; metric: string; data: string } | null;
  fp32: ModelFile | null;
  /** Every model file the stages wrote, the final one among them. */
  files: ModelFile[];
  speed: { fp32Ms: number; finalMs: number; how: string } | { unavailable: string };
  /** From run.json: whether the budget was met, the stages and why each ran. */
  run: { verdict: string; stages: { name: string; status: string; reason: string; accuracy: number | null }[] } | null;
}

const TITLE = 'Final model';

const BUILT_IN_LABELS: Record<string, string | undefined> = {
  top1: 'top-1 accuracy', sqnr: 'output SQNR against FP32 (capped at 100 dB)', agreement: 'agreement with FP32',
};

export function finalSection(f: FinalModel): Section {
  const final = f.files.find((m) => m.path === f.path);
  const rows: Cell[][] = [['model', f.path], ['what', f.description]];
  if (f.accuracy) {
    const a = f.accuracy;
    const builtIn = BUILT_IN_LABELS[a.metric];
    const unit = a.metric === 'sqnr' ? ' dB' : builtIn ? ' %' : '';
    // The user's metric (a command) is shown under its name, in its own units; its drop may be a rise (lower is better).
    const drop = a.fp32 === null ? '' : builtIn ? `, drop ${fmt(a.fp32 - a.value)} ${a.metric === 'sqnr' ? 'dB' : 'points'}` : '';
    rows.push([builtIn ?? `${a.metric} (metric command)`,
      `${fmt(a.value)}${unit}` + (a.fp32 !== null ? ` (FP32 ${fmt(a.fp32)}${unit}${drop})` : '') + ` on ${a.data}`]);
  }
  if (final && f.fp32) rows.push(['size', `${megabytes(final.bytes)}, ${fmt(f.fp32.bytes / final.bytes)}x smaller than FP32 (${megabytes(f.fp32.bytes)})`]);
  if ('fp32Ms' in f.speed) {
    const s = f.speed;
    const ratio = s.finalMs <= s.fp32Ms ? `${fmt(s.fp32Ms / s.finalMs)}x faster than` : `${fmt(s.finalMs / s.fp32Ms)}x slower than`;
    rows.push(['speed', `${fmt(s.finalMs, 3)} ms per batch, ${ratio} FP32 (${fmt(s.fp32Ms, 3)} ms)`]);
  }
  const charts: string[] = [];
  if (f.fp32) {
    charts.push(figure(barChart({
      name: 'final-size', title: 'Model file size', yLabel: 'MB', format: (v) => v.toFixed(3),
      bars: [f.fp32, ...f.files].map((m) => ({ label: m.label, value: m.bytes / 1e6, color: m === f.fp32 ? FP32_COLOR : m === final ? ACCENT : INT8_COLOR })),
    }), `The final model in orange; the other INT8 artifacts in blue.`));
  }
  if ('fp32Ms' in f.speed) {
    charts.push(figure(barChart({
      name: 'final-latency', title: 'Latency per batch', yLabel: 'median ms per batch', format: (v) => v.toFixed(3),
      bars: [{ label: 'FP32', value: f.speed.fp32Ms, color: FP32_COLOR }, { label: basename(f.path), value: f.speed.finalMs, color: ACCENT }],
    }), f.speed.how));
  }
  const notes = 'unavailable' in f.speed ? para(`Speed not measured: ${f.speed.unavailable}.`) : '';
  const run = f.run
    ? para(`qtool run: ${f.run.verdict}.`) +
      table(['stage', 'status', 'why', f.accuracy && !BUILT_IN_LABELS[f.accuracy.metric] ? f.accuracy.metric : 'accuracy %'], f.run.stages.map((s) => [s.name, s.status, s.reason, fmt(s.accuracy ?? undefined)]), 3)
    : '';
  return {
    id: 'final', title: TITLE,
    body: table(['', ''], rows, 2) + `<div class="grid">${charts.join('')}</div>` + notes + run,
  };
}
