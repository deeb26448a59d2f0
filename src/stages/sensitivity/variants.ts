// Which variants a run measures: one per measured unit and mode, in a fixed
// order (mode, then the proxy's ranking), so that every shard of a sweep
// derives the same list and takes every N-th entry of it.
import type { Mode, Shard } from '../../config/options/sensitivity.js';
import type { LayerGroup } from '../../quant/layer-groups.js';

export interface Variant {
  mode: Mode;
  unit: LayerGroup;
}

/** How a report names a variant (shard lists, errors). */
export const variantKey = (v: { mode: Mode; unit: { name: string } }): string => `${v.mode} ${v.unit.name}`;

/** The proxy's first `top` units ('all': every unit), most sensitive first. */
export function measuredUnits(units: readonly LayerGroup[], proxyRanking: readonly string[], top: number | 'all'): LayerGroup[] {
  const byName = new Map(units.map((u) => [u.name, u]));
  const order = proxyRanking.map((n) => byName.get(n)!);
  return top === 'all' ? order : order.slice(0, top);
}

export function variantList(units: readonly LayerGroup[], modes: readonly Mode[]): Variant[] {
  return modes.flatMap((mode) => units.map((unit) => ({ mode, unit })));
}

/** Round-robin: shard I of N takes entries I-1, I-1+N, ... */
export function inShard<T>(list: readonly T[], shard: Shard | undefined): T[] {
  return shard ? list.filter((_, i) => i % shard.count === shard.index - 1) : [...list];
}
