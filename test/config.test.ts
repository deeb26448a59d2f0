// Pipeline configs: schema errors that name the key, paths relative to the
// config file, --config on the stage commands with flags overriding it, and
// the config sections kept in step with the commands' flags and defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, type Option } from 'commander';
import { loadConfig } from '../src/config/load.js';
import { calibrateSectionSchema, partialSectionSchema, qatSectionSchema, RUN_ONLY_KEYS, sensitivitySectionSchema, type Config } from '../src/config/schema.js';
import { registerCalibrate } from '../src/cli/commands/calibrate.js';
import { registerSensitivity } from '../src/cli/commands/sensitivity.js';
import { registerPartial } from '../src/cli/commands/partial.js';
import { registerQat } from '../src/cli/commands/qat.js';
import { calibrateReportSchema } from '../src/report/schemas/calibrate.js';
import { DEFAULT_PERCENTILES, parseMethods } from '../src/stages/calibrate/methods.js';
import { calibrateArgs, partialOptions, qatArgs, sensitivityOptions } from '../src/stages/run/stage-options.js';
import { expectBadInput, repoPath, runQtool, tempDir } from './lib/helpers.js';

const DIGITS = (f: string) => repoPath('samples', 'digits', f);

/** A folder with the MLP sample and its data, and a config there with `extra` merged in. */
function mlpConfig(extra: Record<string, unknown> = {}, raw?: string): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'data'));
  copyFileSync(repoPath('samples', 'mlp', 'model.onnx'), join(dir, 'model.onnx'));
  for (const f of ['calib_x.npy', 'eval_x.npy', 'eval_y.npy']) copyFileSync(DIGITS(f), join(dir, 'data', f));
  const config = {
    model: 'model.onnx',
    data: { calibration: 'data/calib_x.npy', eval: 'data/eval_x.npy', evalLabels: 'data/eval_y.npy' },
    maxDrop: 0.5,
    ...extra,
  };
  const path = join(dir, 'config.json');
  writeFileSync(path, raw ?? JSON.stringify(config, null, 2));
  return path;
}

test('schema errors: one line naming the file, the key and what it expects', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ calibrate: { method: 'maxx' } }, /config\.json: calibrate\.method: expected all, or a comma list of max\|entropy\|percentile\|mse, got 'maxx'/],
    [{ calibrate: { activationType: 'int4' } }, /calibrate\.activationType: expected one of uint8\|int8, got 'int4'/],
    [{ sensitivity: { mode: 'all' } }, /sensitivity\.mode: expected one of fallback\|quantize\|both/],
    [{ qat: { epochs: 1.5 } }, /qat\.epochs: expected a whole number, got 1\.5/],
    [{ maxDrop: 'half' }, /maxDrop: expected a number, got 'half'/],
    [{ maxDrop: -1 }, /maxDrop: expected accuracy points >= 0, got -1/],
    [{ partial: [] }, /partial: expected an object, got an array/],
  ];
  for (const [extra, pattern] of cases) expectBadInput('run', [mlpConfig(extra)], pattern);
});

test('unknown keys are errors that list the accepted ones; a missing key says what it needs', () => {
  expectBadInput('run', [mlpConfig({ calibrate: { perchannel: false } })],
    /calibrate\.perchannel: unknown key \(expected one of method\|percentile\|perChannel\|/);
  expectBadInput('run', [mlpConfig({ budget: 1 })], /config\.json: budget: unknown key \(expected one of model\|data\|maxDrop\|/);
  expectBadInput('run', [mlpConfig({ data: { eval: 'data/eval_x.npy' } })], /data\.calibration: missing \(expected a string\)/);
});

test('bad JSON names the line and column; missing files name the key', () => {
  expectBadInput('run', [mlpConfig({}, '{\n  "model": "model.onnx",\n  "maxDrop": 0.5,\n}\n')], /config\.json: not valid JSON at line 4, column 1/);
  expectBadInput('run', [mlpConfig({ model: 'nope.onnx' })], /config\.json: model: no such file '.*nope\.onnx'/);
  expectBadInput('run', [mlpConfig({ data: { calibration: 'data/calib_x.npy', eval: 'data/missing.npy' } })], /config\.json: data\.eval: no such file/);
  expectBadInput('run', [join(tempDir(), 'none.json')], /none\.json: no such file/);
});

test('paths are relative to the config file, not the working directory', () => {
  const path = mlpConfig();
  const { config } = loadConfig(path);
  const dir = join(path, '..');
  assert.equal(resolve(config.model), join(dir, 'model.onnx'));
  assert.equal(resolve(config.data.evalLabels!), join(dir, 'data', 'eval_y.npy'));
  // The configs/ shipped with the repository point into samples/.
  const shipped = loadConfig(repoPath('configs', 'mlp.json')).config;
  assert.equal(resolve(shipped.model), repoPath('samples', 'mlp', 'model.onnx'));
  assert.equal(resolve(shipped.data.calibration), DIGITS('calib_x.npy'));
});

function calibrateWith(config: string, ...flags: string[]) {
  const out = tempDir();
  const r = runQtool(['calibrate', '--config', config, ...flags, '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return calibrateReportSchema.parse(JSON.parse(r.stdout));
}

test('calibrate --config: the model, data and options come from the file, and flags override it', () => {
  const config = mlpConfig({ calibrate: { method: 'max,mse', perChannel: false, batchSize: 50 } });
  const fromFile = calibrateWith(config);
  assert.deepEqual(fromFile.methods.map((m) => m.method), ['max', 'mse']);
  assert.equal(fromFile.options.perChannel, false);
  assert.equal(fromFile.options.batchSize, 50);
  assert.equal(fromFile.eval?.samples, 500, 'data.eval and data.evalLabels used for --eval/--labels');
  assert.match(fromFile.data.path, /data\/calib_x\.npy$/);

  const overridden = calibrateWith(config, '--method', 'entropy', '--per-channel', '--eval', DIGITS('eval_x.npy'));
  assert.deepEqual(overridden.methods.map((m) => m.method), ['entropy']);
  assert.equal(overridden.options.perChannel, true);
  assert.equal(overridden.options.batchSize, 50);
  // --eval given without --labels: the config's labels belong to its own eval data, so none are used.
  assert.equal(overridden.eval?.path, DIGITS('eval_x.npy'));
  assert.equal(overridden.eval?.labels, null);
});

test('a stage command without --config still needs its model and required flags', () => {
  expectBadInput('calibrate', [repoPath('samples', 'mlp', 'model.onnx')], /required option '--data <file>' not specified/);
  expectBadInput('sensitivity', ['--data', DIGITS('eval_x.npy')], /qtool sensitivity: missing the model/);
  expectBadInput('calibrate', ['--config', mlpConfig({ calibrate: { method: 'x' } })], /calibrate\.method: expected all/);
});

const commands: [string, (p: Command) => void, { shape: Record<string, unknown> }][] = [
  ['calibrate', registerCalibrate, calibrateSectionSchema],
  ['sensitivity', registerSensitivity, sensitivitySectionSchema],
  ['partial', registerPartial, partialSectionSchema],
  ['qat-finetune', registerQat, qatSectionSchema],
];

function options(register: (p: Command) => void): Map<string, Option> {
  const program = new Command();
  register(program);
  return new Map(program.commands[0].options.map((o) => [o.attributeName(), o]));
}

test('every key of a stage section is a flag of that stage (in camelCase)', () => {
  for (const [name, register, schema] of commands) {
    const flags = options(register);
    for (const key of Object.keys(schema.shape)) {
      if (!RUN_ONLY_KEYS.has(key)) assert.ok(flags.has(key), `${name}: section key '${key}' is not a flag`);
    }
  }
});

test("qtool run's stage options default to what the commands' flags default to", () => {
  const c = { model: 'm.onnx', data: { calibration: 'c.npy', eval: 'e.npy', train: 't.npy' }, maxDrop: 0.5 } as Config;
  const def = (register: (p: Command) => void, key: string) => options(register).get(key)!.defaultValue as unknown;
  const [, cal] = calibrateArgs(c, {}, 'out');
  assert.deepEqual(cal.methods, parseMethods(String(def(registerCalibrate, 'method')), DEFAULT_PERCENTILES));
  assert.equal(cal.perChannel, def(registerCalibrate, 'perChannel'));
  assert.equal(cal.activationType, def(registerCalibrate, 'activationType'));
  assert.equal(cal.batchSize, def(registerCalibrate, 'batchSize'));
  const sens = sensitivityOptions({}, 'out');
  assert.deepEqual(sens.modes, [def(registerSensitivity, 'mode')]);
  assert.equal(sens.proxySamples, def(registerSensitivity, 'proxySamples'));
  assert.equal(sens.batchSize, def(registerSensitivity, 'batchSize'));
  const part = partialOptions({}, 0.5, 'out');
  assert.equal(part.floatType, def(registerPartial, 'floatType'));
  assert.equal(part.batchSize, def(registerPartial, 'batchSize'));
  assert.equal(part.maxDrop, 0.5, "the run's budget");
  const [qIn, q] = qatArgs(c, {}, 'calibration.json', undefined, 'out');
  assert.equal(q.epochs, Number(def(registerQat, 'epochs')));
  assert.equal(q.optimizer, def(registerQat, 'optimizer'));
  assert.equal(q.batchSize, Number(def(registerQat, 'batchSize')));
  assert.equal(qIn.distill, true, 'no training labels: distillation');
});
