// The recipe's passes, in the order they apply. Adding a pass: one file in
// this folder exporting a QuantPass, and one line here.
import type { Model } from '../../onnx/model.js';
import { InputError } from '../../util/errors.js';
import { clipGeluPass } from './clip-gelu.js';
import { equalizePass } from './equalize.js';
import { foldBatchNormPass } from './fold-batchnorm.js';
import { foldConstantsPass } from './fold-constants.js';
import { fuseHardSwishPass } from './fuse-hardswish.js';
import { upgradeOpsetPass } from './upgrade-opset.js';
import type { PassRecord, PassSpec, QuantPass } from './pass.js';

export const PASSES: readonly QuantPass<any>[] = [ // eslint-disable-line @typescript-eslint/no-explicit-any
  upgradeOpsetPass,
  foldConstantsPass,
  foldBatchNormPass,
  fuseHardSwishPass,
  equalizePass,
  clipGeluPass,
];

export interface PassesResult {
  model: Model;
  records: PassRecord[];
}

/** Applies the passes that always run and those `requested`, in PASSES order. */
export function applyPasses(model: Model, requested: readonly PassSpec[]): PassesResult {
  for (const r of requested) {
    if (!PASSES.some((p) => p.name === r.name)) throw new InputError(`unknown quantization pass '${r.name}' (known: ${PASSES.map((p) => p.name).join(', ')})`);
  }
  const records: PassRecord[] = [];
  let m = model;
  for (const pass of PASSES) {
    const spec = requested.find((r) => r.name === pass.name);
    if (!spec && !pass.always) continue;
    const parsed = pass.params.safeParse(spec?.params ?? {});
    if (!parsed.success) throw new InputError(`quantization pass '${pass.name}': invalid parameters (${parsed.error.issues[0]!.message})`);
    const out = pass.apply(m, parsed.data);
    m = out.model;
    records.push({ name: pass.name, params: parsed.data, effect: out.effect });
  }
  return { model: m, records };
}
