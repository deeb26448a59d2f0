// The report's ranking from its rows: what a run measured and what a merge
// of shards put together are ranked by the same function, so a merged
// sensitivity.json equals an unsharded one.
import type { Mode } from '../../config/options/sensitivity.js';
import type { SensitivityLayer } from '../../report/schemas/sensitivity.js';
import { impact, rankLayers, type Measured } from './rank.js';

/** The rows with their `rank` set, and the ranking (most sensitive first). */
export function rankRows(rows: SensitivityLayer[], modes: readonly Mode[], quantized: Measured): { rows: SensitivityLayer[]; ranking: string[] } {
  const scored = (r: SensitivityLayer, mode: Mode) => {
    const v = r[mode];
    // The output noise share breaks ties between equal impacts (finer than top-1 on small sets).
    return v ? { impact: v.impact, noise: impact(mode, 'sqnr', v, quantized, null) } : undefined;
  };
  const ranking = rankLayers(rows.map((r) => ({
    name: r.name,
    ...(modes.includes('fallback') && r.fallback ? { fallback: scored(r, 'fallback') } : {}),
    ...(modes.includes('quantize') && r.quantize ? { quantize: scored(r, 'quantize') } : {}),
    measured: r.measured ?? true,
    proxyRank: r.proxy.rank,
  })));
  const rank = new Map(ranking.map((n, i) => [n, i + 1]));
  return { rows: rows.map((r) => ({ ...r, rank: rank.get(r.name)! })), ranking };
}
