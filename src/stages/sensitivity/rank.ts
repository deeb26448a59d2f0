// How much a layer matters, from the scores of its variants, and the ranking.
// Pure functions: the stage measures, this decides.

import type { Metric, Mode } from '../../config/options/sensitivity.js';

/** What one evaluation of a model gives (see evaluate.ts scoreOutputs). */
export interface Measured {
  top1: number | null;
  /** null for an output without classes (sqnr is then the metric). */
  agreement: number | null;
  /** Output SQNR against FP32; null when identical. */
  sqnrDb: number | null;
}

export const METRIC_UNIT: Record<Metric, string> = {
  top1: 'top-1 points',
  agreement: 'agreement points',
  sqnr: '% of output noise',
};

/** Noise-to-signal power ratio of the output; 0 for an output identical to FP32. */
const outputNsr = (m: Measured): number => (m.sqnrDb === null ? 0 : 10 ** (-m.sqnrDb / 10));

const noisePercent = (part: number, whole: number): number => (whole > 0 ? (100 * part) / whole : 0);

/**
 * fallback: what keeping the layer in float recovers over the fully quantized model;
 * quantize: what quantizing only this layer loses against FP32.
 * Points of top-1 or agreement; for SQNR, the share of the fully quantized
 * model's output noise power removed (fallback) or caused (quantize), in %.
 * Higher means more sensitive in both modes.
 */
export function impact(mode: Mode, metric: Metric, variant: Measured, quantized: Measured, fp32Top1: number | null): number {
  if (metric === 'sqnr') {
    const all = outputNsr(quantized);
    return mode === 'fallback' ? noisePercent(all - outputNsr(variant), all) : noisePercent(outputNsr(variant), all);
  }
  if (metric === 'agreement') {
    if (variant.agreement === null || quantized.agreement === null) throw new Error('impact: agreement needs an output with classes');
    return mode === 'fallback' ? variant.agreement - quantized.agreement : 100 - variant.agreement;
  }
  if (variant.top1 === null || quantized.top1 === null || fp32Top1 === null) throw new Error('impact: top1 needs labels');
  return mode === 'fallback' ? variant.top1 - quantized.top1 : fp32Top1 - variant.top1;
}

export interface RankInput {
  name: string;
  fallback?: { impact: number; noise: number };
  quantize?: { impact: number; noise: number };
  /** Had measured variants (the proxy's top K); the others follow them in proxy order. */
  measured: boolean;
  /** 1 = the proxy's most sensitive. */
  proxyRank: number;
}

/**
 * Most sensitive first: measured units before the others; among them the
 * impact in the main mode (fallback when measured, since that is what
 * partial does), then the other mode's, then the output noise share (finer
 * than top-1 on small sets), then the proxy. Units left unmeasured keep the
 * proxy's order.
 */
export function rankLayers(rows: RankInput[]): string[] {
  const main = (r: RankInput) => r.fallback ?? r.quantize;
  const other = (r: RankInput) => (r.fallback ? r.quantize : undefined);
  return [...rows]
    .sort((a, b) =>
      Number(b.measured) - Number(a.measured)
      || (main(b)?.impact ?? 0) - (main(a)?.impact ?? 0)
      || (other(b)?.impact ?? 0) - (other(a)?.impact ?? 0)
      || (main(b)?.noise ?? 0) - (main(a)?.noise ?? 0)
      || a.proxyRank - b.proxyRank)
    .map((r) => r.name);
}

/** The proxy's own ranking: lowest local SQNR (most noise of its own) first; ties keep the graph's order. */
export function rankByProxy(rows: { name: string; localSqnrDb: number | null }[]): string[] {
  const k = (v: number | null) => (v === null ? Infinity : v);
  return [...rows].sort((a, b) => k(a.localSqnrDb) - k(b.localSqnrDb)).map((r) => r.name);
}
