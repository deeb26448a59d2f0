// Report schema majors: this qtool writes calibrate, sensitivity, partial, qat
// and run reports at @2 (the user's metric named freely, values in its units,
// groups and shards in sensitivity's ranking, pass variants among calibrate's
// rows: an earlier qtool would fail on a field or misread them), reads the @1
// files an earlier qtool wrote (stages chain across an upgrade), and refuses
// a newer or an unknown older major in one line, exit code 2.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readReport } from '../src/report/io.js';
import { withOutput, writeArtifact } from '../src/report/commit.js';
import { calibrateReportSchema } from '../src/report/schemas/calibrate.js';
import { partialReportSchema } from '../src/report/schemas/partial.js';
import { qatReportSchema } from '../src/report/schemas/qat.js';
import { runReportSchema } from '../src/report/schemas/run.js';
import { sensitivityReportSchema } from '../src/report/schemas/sensitivity.js';
import { checkSchemaId, schemaIdsOf } from '../src/util/schema-version.js';
import { QTOOL_VERSION } from '../src/util/version.js';
import { expectBadInput, repoPath, runQtool, tempDir } from './lib/helpers.js';

const MLP = repoPath('samples', 'mlp', 'model.onnx');
const DIGITS = (f: string) => repoPath('samples', 'digits', f);
const LABELLED = ['--data', DIGITS('eval_x.npy'), '--labels', DIGITS('eval_y.npy')];
const TOP1 = repoPath('test', 'lib', 'metric-commands', 'top1.mjs');
const q = (p: string) => JSON.stringify(p);
const METRIC = ['--metric-command', `node ${q(TOP1)} {model} ${q(DIGITS('eval_x.npy'))} ${q(DIGITS('eval_y.npy'))}`, '--metric-name', 'digits-top1'];

function ok(args: string[]): void {
  const r = runQtool(args);
  assert.equal(r.code, 0, `qtool ${args.join(' ')}: ${r.stderr}`);
}

const calibrate = (out: string, metric: string[] = []) => ok(['calibrate', MLP, '--data', DIGITS('calib_x.npy'), '--method', 'max', ...metric, '--out', out]);
const partialArgs = (dir: string) => [MLP, '--calibration', join(dir, 'calibration.json'), '--sensitivity', join(dir, 'sensitivity.json'),
  ...LABELLED, '--keep-float', '1'];

const json = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

/** Rewrites `name` in `dir` as stage `stage` would have committed it (so the folder's manifest agrees). */
async function recommit(dir: string, stage: string, name: string, report: unknown): Promise<void> {
  await withOutput(dir, stage, async () => writeArtifact(join(dir, name), JSON.stringify(report, null, 2)));
}

/** The fields of each report kind an earlier qtool did not write. */
const NEW_FIELDS: Record<string, (r: Record<string, any>) => void> = {
  calibrate: (r) => { delete r.metricCommand; delete r.passes; delete r.selected.variant; for (const m of r.methods) delete m.variant; },
  sensitivity: (r) => {
    for (const k of ['grouping', 'shard', 'builtInRanking', 'metricCommand']) delete r[k];
    delete r.timings.estimatedVariantsSeconds; delete r.timings.variantsSeconds;
    for (const l of r.layers) { delete l.layers; delete l.measured; delete l.metric; }
  },
  partial: (r) => { delete r.metricCommand; delete r.floatGroups; },
};

/** `dir`'s report of `kind` as an earlier qtool wrote it: schema @1, without the fields it did not know. */
async function asEarlierQtool(dir: string, kind: keyof typeof NEW_FIELDS): Promise<void> {
  const r = json(join(dir, `${kind}.json`));
  NEW_FIELDS[kind](r);
  await recommit(dir, kind, `${kind}.json`, { ...r, schema: `qtool/${kind}@1` });
}

/** calibrate -> sensitivity -> partial on the MLP; calibrate again, scored by the user's command. */
let plain: string;
let withMetric: string;
before(() => {
  plain = join(tempDir(), 'plain');
  calibrate(plain);
  ok(['sensitivity', MLP, '--calibration', join(plain, 'calibration.json'), ...LABELLED, '--out', plain]);
  ok(['partial', ...partialArgs(plain), '--out', plain]);
  withMetric = join(tempDir(), 'metric');
  calibrate(withMetric, METRIC);
});

/** A copy of the plain stages' folder to rewrite. */
function copyOfPlain(): string {
  const dir = join(tempDir(), 'copy');
  cpSync(plain, dir, { recursive: true });
  return dir;
}

test('every report kind whose format changed is written at @2, with or without a metric command; @2 readers also read @1', () => {
  assert.equal(json(join(withMetric, 'calibrate.json')).schema, 'qtool/calibrate@2');
  for (const kind of ['calibrate', 'sensitivity', 'partial']) assert.equal(json(join(plain, `${kind}.json`)).schema, `qtool/${kind}@2`, kind);
  assert.equal(json(join(plain, 'calibrate.json')).schema, 'qtool/calibrate@2', 'one major per kind, whatever the flags');
  assert.equal(json(join(plain, 'calibration.json')).schema, 'qtool/calibration@1', 'calibration.json\'s format did not change');
  const schemas = { calibrate: calibrateReportSchema, sensitivity: sensitivityReportSchema, partial: partialReportSchema, qat: qatReportSchema, run: runReportSchema };
  for (const [kind, schema] of Object.entries(schemas)) assert.deepEqual(schemaIdsOf(schema), [`qtool/${kind}@2`, `qtool/${kind}@1`], kind);
});

test('an earlier qtool (a reader of @1) refuses a report that names the user\'s metric in one line: upgrade qtool', () => {
  const path = join(withMetric, 'calibrate.json');
  const report = json(path) as { metric: { name: string; output: string | null } };
  assert.deepEqual([report.metric.name, report.metric.output], ['digits-top1', null], 'a metric name and a null output the @1 format had no room for');
  assert.throws(() => checkSchemaId(path, report, ['qtool/calibrate@1']), (e: Error & { exitCode?: number }) => e.exitCode === 2
    && e.message === `${path}: is qtool/calibrate@2, written by qtool ${QTOOL_VERSION}; qtool ${QTOOL_VERSION} reads qtool/calibrate@1 and older: upgrade qtool to read it`);
  // The same report under this qtool's schema: read, the metric's name kept.
  assert.equal(readReport(path, calibrateReportSchema).metric?.name, 'digits-top1');
});

test('reports an earlier qtool wrote (@1) are read: partial chains on its sensitivity.json, report renders its folder', async () => {
  const dir = copyOfPlain();
  for (const kind of ['calibrate', 'sensitivity', 'partial'] as const) await asEarlierQtool(dir, kind);
  assert.equal(readReport(join(dir, 'sensitivity.json'), sensitivityReportSchema).schema, 'qtool/sensitivity@1');
  assert.equal(readReport(join(dir, 'calibrate.json'), calibrateReportSchema).schema, 'qtool/calibrate@1');

  const out = join(tempDir(), 'next');
  ok(['partial', ...partialArgs(dir), '--out', out]);
  const made = readReport(join(out, 'partial.json'), partialReportSchema);
  assert.equal(made.schema, 'qtool/partial@2', 'what this qtool writes is its own major');
  assert.deepEqual(made.floatLayers, readReport(join(dir, 'partial.json'), partialReportSchema).floatLayers, 'the same layer kept float as from the @2 ranking');
  ok(['report', dir]);
  assert.match(readFileSync(join(dir, 'report.html'), 'utf8'), /data-chart="partial-accuracy"/);
});

test('a newer major (written by a later qtool) or an older one no qtool of this version reads: one line, exit code 2', async () => {
  const dir = copyOfPlain();
  const sens = json(join(dir, 'sensitivity.json'));

  await recommit(dir, 'sensitivity', 'sensitivity.json', { ...sens, schema: 'qtool/sensitivity@3', qtoolVersion: '9.0.0', renamed: true });
  expectBadInput('partial', partialArgs(dir),
    /sensitivity\.json: is qtool\/sensitivity@3, written by qtool 9\.0\.0; qtool \S+ reads qtool\/sensitivity@2 and older: upgrade qtool to read it\n?$/);

  // Older than any major this qtool reads (the same reader every stage uses).
  const path = join(dir, 'sensitivity.json');
  await recommit(dir, 'sensitivity', 'sensitivity.json', { ...sens, schema: 'qtool/sensitivity@0' });
  assert.throws(() => readReport(path, sensitivityReportSchema), (e: Error & { exitCode?: number }) => e.exitCode === 2
    && e.message === `${path}: not a valid report: schema: qtool/sensitivity@0, written by qtool ${QTOOL_VERSION}; qtool ${QTOOL_VERSION} reads qtool/sensitivity@1 to qtool/sensitivity@2: make it again with this qtool`);
});
