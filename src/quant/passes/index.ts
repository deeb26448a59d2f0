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

/** Applies the passes that always run and those `requested`, in PASSES order: a replay, data-driven passes with their fitted parameters. */
export function applyPasses(model: Model, requested: readonly PassSpec[]): PassesResult {
  const records: PassRecord[] = [];
  let m = model;
  for (const [pass, params] of selected(requested)) {
    const out = pass.apply(m, params);
    m = out.model;
    records.push({ name: pass.name, params, effect: out.effect });
  }
  return { model: m, records };
}

/** As applyPasses, but a data-driven pass first fits its parameters on `ctx.data`, on the model the earlier passes left. */
export async function fitPasses(model: Model, requested: readonly PassSpec[], ctx: FitContext): Promise<PassesResult> {
  const records: PassRecord[] = [];
  let m = model;
  for (const [pass, requestedParams] of selected(requested)) {
    const params = pass.fit ? checked(pass, await pass.fit(m, requestedParams, ctx)) : requestedParams;
    const out = pass.apply(m, params);
    m = out.model;
    records.push({ name: pass.name, params, effect: out.effect });
  }
  return { model: m, records };
}
