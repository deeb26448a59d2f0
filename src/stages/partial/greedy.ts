// The greedy search: keep the most sensitive layers in float one at a time,
// measuring after each step, until the accuracy drop is within the budget
// (or exactly K layers are in float). The evaluator is injected, so the
// stopping rule is tested without models.
import { atMost, lowerDrop } from '../../metrics/metric.js';

export type Budget = { maxDrop: number } | { keepFloat: number };

export interface StepResult {
  /** Accuracy drop against FP32, points (negative: better than FP32). */
  drop: number;
}

export interface Step<R extends StepResult> {
  floatLayers: string[];
  result: R;
}

export interface GreedyOutcome<R extends StepResult> {
  steps: Step<R>[];
  /** Index into steps of the model to keep. */
  chosen: number;
  /** The budget was met (always true for keepFloat). */
  met: boolean;
}

/**
 * `order` is the sensitivity ranking, most sensitive first. Step k keeps the
 * first k layers in float. With maxDrop the search stops at the first step
 * within budget; if none is, the step with the smallest drop (fewest float
 * layers on a tie) is chosen and `met` is false.
 */
export async function greedySearch<R extends StepResult>(
  order: readonly string[], budget: Budget, evaluate: (floatLayers: string[]) => Promise<R>,
): Promise<GreedyOutcome<R>> {
  const last = 'keepFloat' in budget ? budget.keepFloat : order.length;
  if (last > order.length) throw new RangeError(`greedySearch: ${last} float layers asked, ${order.length} available`);
  const steps: Step<R>[] = [];
  let best = 0;
  for (let k = 0; k <= last; k++) {
    const floatLayers = order.slice(0, k);
    const step = { floatLayers, result: await evaluate(floatLayers) };
    steps.push(step);
    if (lowerDrop(step.result.drop, steps[best].result.drop)) best = k;
    if ('maxDrop' in budget && atMost(step.result.drop, budget.maxDrop)) return { steps, chosen: k, met: true };
  }
  return 'keepFloat' in budget ? { steps, chosen: last, met: true } : { steps, chosen: best, met: false };
}
