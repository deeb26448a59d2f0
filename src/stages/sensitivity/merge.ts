// `qtool sensitivity-merge MODEL SHARD...`: the reports of a sharded sweep
// (`qtool sensitivity --shard I/N`, one per CI job) as one sensitivity.json,
// equal to an unsharded run's apart from timings and the command line. Every
// shard ran the same proxy and derived the same variant list; each measured
// every N-th variant. Shards that do not belong together are refused.
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { loadModel } from '../../onnx/model.js';
import { readReport, reportHeaderFor, writeReport } from '../../report/io.js';
import { withOutput } from '../../report/commit.js';
import { sensitivityReportSchema, type SensitivityLayer, type SensitivityReport } from '../../report/schemas/sensitivity.js';
import { median } from '../../runtime/run.js';
import { fileError, InputError } from '../../util/errors.js';
import type { Mode } from '../../config/options/sensitivity.js';
import { rankRows } from './ranked-rows.js';
import { inShard, variantKey, variantList } from './variants.js';

type Shard = { path: string; report: SensitivityReport & { shard: NonNullable<SensitivityReport['shard']> } };

/** What every shard of one sweep has in common: everything but its own variants' results, timings and command line. */
function common(r: SensitivityReport): Record<string, unknown> {
  const { shard: _s, timings: _t, command: _c, artifacts: _a, ranking: _r, ...rest } = r;
  return { ...rest, layers: r.layers.map(({ fallback: _f, quantize: _q, rank: _k, ...row }) => row) };
}

/** The first field in which two shards differ, for the error. */
function firstDifference(a: Record<string, unknown>, b: Record<string, unknown>): string {
  const key = Object.keys({ ...a, ...b }).find((k) => !isDeepStrictEqual(a[k], b[k]))!;
  if (key !== 'layers') return key;
  const rows = (x: unknown) => x as Record<string, unknown>[];
  const i = rows(a.layers).findIndex((row, j) => !isDeepStrictEqual(row, rows(b.layers)[j]));
  return i < 0 ? 'layers (their number)' : `the proxy or grouping of '${String(rows(a.layers)[i].name)}'`;
}

function checkShards(shards: Shard[]): void {
  const [first] = shards;
  const count = first.report.shard.count;
  const seen = new Map<number, string>();
  for (const s of shards) {
    const { index, count: n } = s.report.shard;
    if (n !== count) throw fileError(s.path, `is shard ${index} of ${n}, but ${first.path} is shard ${first.report.shard.index} of ${count}`);
    const twin = seen.get(index);
    if (twin !== undefined) throw fileError(s.path, `is shard ${index} of ${count} again (so is ${twin})`);
    seen.set(index, s.path);
    const a = common(first.report);
    const b = common(s.report);
    if (!isDeepStrictEqual(a, b)) {
      throw fileError(s.path, `does not belong to the sweep of ${first.path}: its ${firstDifference(a, b)} differs (same model, calibration, data, options and proxy needed)`);
    }
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (missing.length) throw new InputError(`sensitivity-merge: shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${count} missing`);
}

/** The merged report: each unit's results from the shard that measured them, ranked as an unsharded run ranks. */
export function mergeShards(shards: Shard[], reportPath: string): SensitivityReport {
  checkShards(shards);
  const base = shards[0].report;
  const modes = base.modes as Mode[];
  // The variant list every shard derived: measured units in proxy order, per mode.
  const units = base.layers.filter((l) => l.measured ?? true).sort((a, b) => a.proxy.rank - b.proxy.rank)
    .map((l) => ({ name: l.name, layers: l.layers ?? [l.name] }));
  const all = variantList(units, modes);
  const owner = new Map<string, Shard>();
  for (const s of shards) {
    const expected = inShard(all, s.report.shard).map(variantKey);
    if (!isDeepStrictEqual(s.report.shard.variants, expected)) {
      throw fileError(s.path, `lists other variants than shard ${s.report.shard.index} of ${s.report.shard.count} measures; re-run it`);
    }
    for (const k of expected) owner.set(k, s);
  }
  const rows: SensitivityLayer[] = base.layers.map((row) => {
    const result = (mode: Mode) => {
      const s = owner.get(variantKey({ mode, unit: row }));
      if (!s) return null;
      const v = s.report.layers.find((l) => l.name === row.name)?.[mode];
      if (!v) throw fileError(s.path, `has no ${mode} result for '${row.name}', which it was to measure`);
      return v;
    };
    return { ...row, fallback: result('fallback'), quantize: result('quantize') };
  });
  const ranked = rankRows(rows, modes, base.quantized);
  const seconds = ranked.rows.flatMap((r) => [r.fallback?.seconds, r.quantize?.seconds]).filter((v): v is number => v !== undefined);
  const t = base.timings;
  const sum = (f: (r: SensitivityReport['timings']) => number | undefined) => shards.reduce((acc, s) => acc + (f(s.report.timings) ?? 0), 0);
  const medianVariant = seconds.length ? median(seconds) : null;
  const { shard: _shard, ...rest } = base;
  return {
    ...rest,
    ...reportHeaderFor({ path: base.model.path, sha256: base.model.sha256 }, base.options),
    ranking: ranked.ranking,
    layers: ranked.rows,
    timings: {
      // The machines' time, added up: the shards ran apart. FP32 pass and proxy: the first shard's.
      totalSeconds: sum((x) => x.totalSeconds),
      fp32PassSeconds: t.fp32PassSeconds,
      fp32ForwardSeconds: t.fp32ForwardSeconds,
      proxySeconds: t.proxySeconds,
      estimatedVariantsSeconds: sum((x) => x.estimatedVariantsSeconds),
      variantsSeconds: sum((x) => x.variantsSeconds),
      variants: seconds.length,
      medianVariantSeconds: medianVariant,
      variantToFp32Pass: medianVariant === null ? null : medianVariant / t.fp32PassSeconds,
    },
    artifacts: { report: reportPath },
  };
}

export interface MergeInputs {
  model: string;
  shards: string[];
}

/** OUT/sensitivity.json from the shards' reports. */
export async function mergeSensitivity(inputs: MergeInputs, outDir: string): Promise<SensitivityReport> {
  return withOutput(outDir, 'sensitivity-merge', async () => {
    const fp32 = loadModel(inputs.model);
    const shards = inputs.shards.map((path) => {
      const report = readReport(path, sensitivityReportSchema, fp32.sha256);
      if (!report.shard) throw fileError(path, 'is not a shard\'s report (made without --shard); nothing to merge');
      return { path, report: report as Shard['report'] };
    });
    if (!shards.length) throw new InputError('sensitivity-merge: no shard reports given');
    const reportPath = join(outDir, 'sensitivity.json');
    const merged = mergeShards(shards, reportPath);
    writeReport(reportPath, sensitivityReportSchema, merged);
    return merged;
  });
}
