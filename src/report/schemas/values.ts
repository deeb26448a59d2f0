// The kinds of numbers reports hold, each with its range, so that a report
// read back (a later stage, qtool report, qtool run's reuse) is refused with
// the field named when a value is out of range, instead of being used.
// z.number() alone already refuses NaN and the infinities.
import { z } from 'zod';

export const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
/** How many of something: 0, 1, 2, ... */
export const count = z.number().int().nonnegative();
/** A sample count or a step count: 1, 2, ... */
export const positiveCount = z.number().int().positive();
export const bytes = count;
export const seconds = z.number().nonnegative();
export const milliseconds = z.number().nonnegative();
/** An accuracy or an agreement, percent. */
export const percent = z.number().min(0).max(100);
/** An accuracy difference, points (negative when the model beats FP32). */
export const points = z.number();
/** A budget in points. */
export const maxDropPoints = z.number().nonnegative();
export const decibels = z.number();

/** Names in `names` each once. */
export function unique(names: string[]): string | undefined {
  const seen = new Set<string>();
  return names.find((n) => (seen.has(n) ? true : (seen.add(n), false)));
}
