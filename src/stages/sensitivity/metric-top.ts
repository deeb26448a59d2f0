// Sensitivity with the user's metric: a command per layer is usually too slow,
// so the built-in ranking stands and only its K most sensitive units (layers or groups) are
// measured with the command (the same variant as the first mode: one layer
// kept in float, or one layer quantized), then re-ordered among themselves by
// what the metric says. The rest of the ranking is unchanged.
import type { LoadedModel } from '../../onnx/model.js';
import { CommandScorer, type MetricCommand } from '../../metrics/command-scorer.js';
import type { CandidateScore } from '../../metrics/metric.js';
import { buildRecipeBytes, onlyLayers, withFloatLayers, type QuantRecipe } from '../../quant/recipe.js';
import { progressBar } from '../../report/progress.js';
import type { MetricCommandRecord } from '../../report/schemas/metric-command.js';
import type { Mode } from '../../config/options/sensitivity.js';

export interface MetricTop {
  /** The ranking with its first K re-ordered by the metric. */
  ranking: string[];
  scores: Map<string, CandidateScore>;
  mode: Mode;
  cost: MetricCommandRecord;
}

export async function measureTopWithCommand(
  recipe: QuantRecipe, fp32: LoadedModel, ranking: string[], membersOf: (unit: string) => string[], mode: Mode, k: number, spec: MetricCommand, cacheDir: string,
): Promise<MetricTop> {
  const scorer = await CommandScorer.create(fp32.bytes, `${fp32.path} (FP32)`, spec, cacheDir);
  const top = ranking.slice(0, k);
  const scores = new Map<string, CandidateScore>();
  const bar = progressBar('metric', top.length, 'variants');
  try {
    for (const name of top) {
      const variant = mode === 'fallback' ? withFloatLayers(recipe, membersOf(name)) : onlyLayers(recipe, membersOf(name));
      const s = await scorer.score(buildRecipeBytes(variant), `${fp32.path} (${mode} ${name})`);
      scores.set(name, s);
      bar.tick(1, `${name}: ${spec.name} ${s.value}`);
    }
  } finally {
    bar.stop();
  }
  // Most sensitive first: keeping it float recovers the most (fallback), or quantizing it alone loses the most (quantize).
  const drop = (n: string) => scores.get(n)!.drop;
  const reordered = [...top].sort((a, b) => (mode === 'fallback' ? drop(a) - drop(b) : drop(b) - drop(a)));
  return { ranking: [...reordered, ...ranking.slice(k)], scores, mode, cost: scorer.cost() };
}
