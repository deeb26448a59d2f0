// The recipe's passes, in the order they apply. Adding a pass: one file in
// this folder exporting a QuantPass, and one line here.
import type { Model } from '../../onnx/model.js';
import { InputError } from '../../util/errors.js';
import { biasCorrectionPass } from './bias-correction.js';
import { clipGeluPass } from './clip-gelu.js';
import { equalizePass } from './equalize.js';
import { foldBatchNormPass } from './fold-batchnorm.js';
import { foldConstantsPass } from './fold-constants.js';
import { fuseHardSwishPass } from './fuse-hardswish.js';
import { smoothQuantPass } from './smooth-quant.js';
import { upgradeOpsetPass } from './upgrade-opset.js';
import type { FitContext, PassRecord, PassSpec, QuantPass } from './pass.js';

export const PASSES: readonly QuantPass<any>[] = [ // eslint-disable-line @typescript-eslint/no-explicit-any
  upgradeOpsetPass,
  foldConstantsPass,
  foldBatchNormPass,
  fuseHardSwishPass,
  equalizePass,
  smoothQuantPass,
  clipGeluPass,
  // Last: it corrects for the quantization of the weights every other pass has settled.
  biasCorrectionPass,
];

export interface PassesResult {
  model: Model;
  records: PassRecord[];
}

/** The passes to run (those that always run and those requested), in PASSES order, with their checked parameters. */
function* selected(requested: readonly PassSpec[]): Generator<[QuantPass, Record<string, unknown>]> {
  for (const r of requested) {
    if (!PASSES.some((p) => p.name === r.name)) throw new InputError(`unknown quantization pass '${r.name}' (known: ${PASSES.map((p) => p.name).join(', ')})`);
  }
  for (const pass of PASSES) {
    const spec = requested.find((r) => r.name === pass.name);
    if (!spec && !pass.always) continue;
    yield [pass, checked(pass, spec?.params ?? {})];
  }
}

function checked(pass: QuantPass, params: unknown): Record<string, unknown> {
  const parsed = pass.params.safeParse(params);
  if (!parsed.success) throw new InputError(`quantization pass '${pass.name}': invalid parameters (${parsed.error.issues[0]!.message})`);
  return parsed.data;
}

/** The requested passes that come before the first data-driven one in PASSES order: what can run before any data is read. */
export function beforeFitting(requested: readonly PassSpec[]): PassSpec[] {
  const order = (s: PassSpec) => PASSES.findIndex((p) => p.name === s.name);
  const firstFit = Math.min(...requested.filter((s) => PASSES[order(s)]?.fit).map(order));
  return requested.filter((s) => order(s) < firstFit);
}

/** One line per requested pass on what it did (passes that always run say nothing). */
export function describePasses(records: readonly PassRecord[]): { name: string; summary: string }[] {
  return records.flatMap((r) => {
    const pass = PASSES.find((p) => p.name === r.name);
    return pass?.describe ? [{ name: r.name, summary: pass.describe(r) }] : [];
  });
}

/** The passes' model with `layers` kept in float: what a pass changed to make up for their quantization undone (QuantPass.keepFloat). */
export function keepLayersFloat(model: Model, records: readonly PassRecord[], layers: readonly string[]): Model {
  const names = new Set(layers);
  let m = model;
  for (const r of names.size ? records : []) {
    const pass = PASSES.find((p) => p.name === r.name);
    if (pass?.keepFloat) m = pass.keepFloat(m, r.params, names);
  }
  return m;
}

/**
 * Results of leading passes by the requests that made them, for one input
 * model and one fit context: calibrate's pass variants (and its data-free
 * layer check) share the passes they have in common instead of running them
 * again. Pass results are pure functions of the model, the parameters and the
 * calibration data, so a shared result is the one a fresh run would give.
 */
export class PassCache {
  private readonly results = new Map<string, PassesResult>();
  constructor(private readonly model: Model) {}

  /** The result of these steps (each [name, requested params]) on `model`, if computed before. */
  get(model: Model, steps: readonly string[]): PassesResult | undefined {
    if (model !== this.model) throw new Error('PassCache: passes requested on another model than the cache was made for');
    return this.results.get(steps.join('\n'));
  }

  keep(steps: readonly string[], r: PassesResult): void {
    this.results.set(steps.join('\n'), r);
  }
}

const stepKey = (pass: QuantPass, params: Record<string, unknown>) => JSON.stringify([pass.name, params]);

function extended(done: PassesResult, pass: QuantPass, params: Record<string, unknown>): PassesResult {
  const out = pass.apply(done.model, params);
  return { model: out.model, records: [...done.records, { name: pass.name, params, effect: out.effect }] };
}

/** Applies the passes that always run and those `requested`, in PASSES order: a replay, data-driven passes with their fitted parameters. */
export function applyPasses(model: Model, requested: readonly PassSpec[], cache?: PassCache): PassesResult {
  let done: PassesResult = { model, records: [] };
  const steps: string[] = [];
  for (const [pass, params] of selected(requested)) {
    steps.push(stepKey(pass, params));
    const hit = cache?.get(model, steps);
    done = hit ?? extended(done, pass, params);
    if (!hit) cache?.keep(steps, done);
  }
  return done;
}

/** As applyPasses, but a data-driven pass first fits its parameters on `ctx.data`, on the model the earlier passes left. */
export async function fitPasses(model: Model, requested: readonly PassSpec[], ctx: FitContext, cache?: PassCache): Promise<PassesResult> {
  let done: PassesResult = { model, records: [] };
  const steps: string[] = [];
  for (const [pass, requestedParams] of selected(requested)) {
    steps.push(stepKey(pass, requestedParams));
    const hit = cache?.get(model, steps);
    done = hit ?? extended(done, pass, pass.fit ? checked(pass, await pass.fit(done.model, requestedParams, ctx)) : requestedParams);
    if (!hit) cache?.keep(steps, done);
  }
  return done;
}
