// Pipeline configs: schema errors that name the key, paths relative to the
// config file, --config on the stage commands with flags overriding it; the
// option tables that both the flags and the config sections come from, and
// the stage options they map to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, type Option } from 'commander';
import type { z } from 'zod';
import { loadConfig } from '../src/config/load.js';
import type { OptionTable } from '../src/config/options.js';
import { calibrateSectionSchema, configSchema, partialSectionSchema, qatSectionSchema, sensitivitySectionSchema } from '../src/config/schema.js';
import { CALIBRATE_OPTIONS } from '../src/config/options/calibrate.js';
import { DATA_SOURCE_OPTIONS } from '../src/config/options/data.js';
import { SENSITIVITY_OPTIONS } from '../src/config/options/sensitivity.js';
import { PARTIAL_OPTIONS } from '../src/config/options/partial.js';
import { QAT_OPTIONS } from '../src/config/options/qat.js';
import { registerCalibrate } from '../src/cli/commands/calibrate.js';
import { registerSensitivity } from '../src/cli/commands/sensitivity.js';
import { registerPartial } from '../src/cli/commands/partial.js';
import { registerQat } from '../src/cli/commands/qat.js';
import { sectionOf } from '../src/cli/options.js';
import { parseMethods } from '../src/calib/methods.js';
import { calibrateOptions } from '../src/stages/calibrate/options.js';
import { sensitivityOptions } from '../src/stages/sensitivity/options.js';
import { partialOptions } from '../src/stages/partial/options.js';
import { qatOptions } from '../src/stages/qat/options.js';
import { calibrateReportSchema } from '../src/report/schemas/calibrate.js';
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

interface Stage {
  command: string;
  register: (p: Command) => void;
  table: OptionTable;
  schema: z.ZodObject;
  /** The command's options that are not in its table: input files and command-line-only ones. */
  others: string[];
  /** Its required flags, with made-up files (nothing is read when parsing). */
  required: string[];
}

/** The data source flags every data-taking command has (src/config/options/data.ts), outside the stage tables. */
const DATA_SOURCE = Object.keys(DATA_SOURCE_OPTIONS);

const stages: Stage[] = [
  {
    command: 'calibrate', register: registerCalibrate, table: CALIBRATE_OPTIONS, schema: calibrateSectionSchema,
    others: ['data', ...DATA_SOURCE, 'eval', 'labels', 'out', 'json'], required: ['--data', 'd.npy'],
  },
  {
    command: 'sensitivity', register: registerSensitivity, table: SENSITIVITY_OPTIONS, schema: sensitivitySectionSchema,
    others: ['calibration', 'data', 'labels', ...DATA_SOURCE, 'out', 'json'], required: ['--calibration', 'c.json', '--data', 'd.npy'],
  },
  {
    command: 'partial', register: registerPartial, table: PARTIAL_OPTIONS, schema: partialSectionSchema,
    others: ['calibration', 'sensitivity', 'data', 'labels', ...DATA_SOURCE, 'out', 'json'], required: ['--calibration', 'c.json', '--sensitivity', 's.json', '--data', 'd.npy'],
  },
  {
    command: 'qat-finetune', register: registerQat, table: QAT_OPTIONS, schema: qatSectionSchema,
    others: ['calibration', 'partial', 'train', 'trainLabels', ...DATA_SOURCE, 'eval', 'labels', 'out', 'resume', 'json'], required: ['--calibration', 'c.json', '--train', 't.npy'],
  },
];

/** The stage's command as registered, with an action that does nothing (so that parsing stops there). */
function command(s: Stage): Command {
  const program = new Command().exitOverride();
  s.register(program);
  return program.commands[0].exitOverride().action(() => {});
}

/** The section `qtool COMMAND MODEL REQUIRED ARGS` gives (parsed in-process). */
function sectionFromFlags(s: Stage, args: string[]): Record<string, unknown> {
  const cmd = command(s);
  cmd.parse(['m.onnx', ...s.required, ...args], { from: 'user' });
  return sectionOf(s.table, cmd);
}

const attr = (flags: string) => new Command().createOption(flags).attributeName();

test('every option table entry is a flag of its command (same text, help and order) and a key of its config section', () => {
  for (const s of stages) {
    const cmd = command(s);
    const opts = new Map<string, Option>(cmd.options.map((o) => [o.attributeName(), o]));
    const flagged: string[] = [];
    for (const [key, spec] of Object.entries(s.table)) {
      if (spec.flags === undefined) {
        assert.ok(!opts.has(key), `${s.command}: config-only '${key}' is a flag`);
      } else {
        const o = opts.get(key);
        assert.ok(o, `${s.command}: '${key}' is not a flag`);
        assert.equal(o.flags, spec.flags);
        assert.equal(o.description, spec.help);
        flagged.push(key);
        if (spec.alt) {
          assert.equal(opts.get(attr(spec.alt.flags))?.description, spec.alt.help, `${s.command}: ${spec.alt.flags}`);
          flagged.push(attr(spec.alt.flags));
        }
      }
      assert.equal(key in s.schema.shape, spec.schema !== undefined, `${s.command}: '${key}' in the config section`);
    }
    // Nothing is added to a command past its table, and the table's flags keep their order in --help.
    assert.deepEqual([...opts.keys()].filter((k) => !s.others.includes(k)), flagged, `${s.command}: flags not from the table`);
    assert.deepEqual(Object.keys(s.schema.shape), Object.keys(s.table).filter((k) => s.table[k].schema), `${s.command}: section keys`);
  }
  assert.deepEqual(Object.keys(configSchema.shape).slice(-4), ['calibrate', 'sensitivity', 'partial', 'qat']);
});

test("defaults: --help shows the table's, and each is a value its flag's parser and its config schema accept", () => {
  for (const s of stages) {
    const opts = new Map<string, Option>(command(s).options.map((o) => [o.attributeName(), o]));
    for (const [key, spec] of Object.entries(s.table)) {
      const o = opts.get(key);
      if (spec.default === undefined || spec.helpDefault === false) assert.equal(o?.defaultValue, undefined, `${s.command} ${key}`);
      else assert.deepEqual(o!.defaultValue, spec.default, `${s.command} ${key}`);
      if (spec.default === undefined) continue;
      if (spec.schema) assert.ok(spec.schema.safeParse(spec.default).success, `${s.command} ${key}: default refused by the schema`);
      if (spec.parse) {
        const text = Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default);
        assert.deepEqual(spec.parse(text, o!.long!), spec.default, `${s.command} ${key}: default as typed`);
      }
    }
    // No flags: nothing set, so the stage's mapping applies the table's defaults.
    assert.deepEqual(sectionFromFlags(s, []), {}, s.command);
  }
});

test('the stage options of an empty section: the defaults, with the keys in the order reports and run.json fingerprints hold them', () => {
  const keysAndValues = (o: object) => JSON.stringify(o, (_k, v: unknown) => (v === undefined ? null : v));
  assert.equal(keysAndValues(calibrateOptions({}, 'out')), keysAndValues({
    methods: parseMethods('all', [99.99, 99.999]), perChannel: true, activationType: 'uint8', select: undefined, clipGelu: undefined, batchSize: 32, outDir: 'out',
  }));
  assert.deepEqual(parseMethods('all', [99.99]).map((m) => m.id), ['max', 'entropy', 'percentile-99.99', 'mse']);
  assert.equal(keysAndValues(sensitivityOptions({}, 'out')), keysAndValues({
    modes: ['fallback'], metric: undefined, maxSamples: undefined, proxySamples: 64, batchSize: 32, groupBy: 'layer', measureTop: 20, outDir: 'out',
  }));
  assert.deepEqual(sensitivityOptions({ mode: 'both' }, 'out').modes, ['fallback', 'quantize']);
  assert.equal(keysAndValues(partialOptions({}, 0.5, 'out')), keysAndValues({
    maxDrop: 0.5, keepFloat: undefined, floatType: 'fp32', maxSamples: undefined, batchSize: 32, outDir: 'out',
  }), "the run's budget when the section gives none");
  assert.equal(partialOptions({ keepFloat: 2 }, 0.5, 'out').maxDrop, undefined, 'keepFloat is a budget');
  assert.equal(partialOptions({ maxDrop: 1 }, 0.5, 'out').maxDrop, 1);
  assert.equal(keysAndValues(qatOptions({}, 'out')), keysAndValues({
    epochs: 2, baseLr: undefined, lr: undefined, optimizer: 'adam', batchSize: 32, learnRanges: false, maxDrop: undefined, outDir: 'out',
  }));
});

test('flags and a config give the same section, and so the same stage options', () => {
  const cases: [Stage, string[], Record<string, unknown>][] = [
    [stages[0], ['--method', 'max, mse', '--percentile', '99.9,99.99', '--per-tensor', '--activation-type', 'int8', '--select', 'mse', '--clip-activation', 'gelu=10', '--batch-size', '50'],
      { method: 'max, mse', percentile: [99.9, 99.99], perChannel: false, activationType: 'int8', select: 'mse', clipActivation: 'gelu=10', batchSize: 50 }],
    [stages[1], ['--mode', 'both', '--metric', 'sqnr', '--max-samples', '100', '--proxy-samples', '16', '--batch-size', '8', '--top', '3'],
      { mode: 'both', metric: 'sqnr', maxSamples: 100, proxySamples: 16, batchSize: 8, top: 3 }],
    [stages[2], ['--keep-float', '2', '--float-type', 'fp16', '--max-samples', '100', '--batch-size', '8'],
      { keepFloat: 2, floatType: 'fp16', maxSamples: 100, batchSize: 8 }],
    [stages[3], ['--distill', '--epochs', '3', '--base-lr', '0.1', '--optimizer', 'sgd', '--batch-size', '16', '--learn-ranges'],
      { distill: true, epochs: 3, baseLr: 0.1, optimizer: 'sgd', batchSize: 16, learnRanges: true }],
  ];
  for (const [s, flags, config] of cases) {
    const fromFlags = sectionFromFlags(s, flags);
    assert.deepEqual(fromFlags, s.schema.parse(config), s.command);
  }
  const cal = calibrateOptions(sectionFromFlags(stages[0], ['--method', 'max', '--clip-activation', 'GELU=6']), 'out');
  assert.deepEqual(cal.methods, [{ id: 'max', family: 'max' }]);
  assert.equal(cal.clipGelu, 6);
  // --per-tensor wins over --per-channel, as before.
  assert.equal(sectionFromFlags(stages[0], ['--per-channel', '--per-tensor']).perChannel, false);
  assert.equal(sectionFromFlags(stages[0], ['--per-channel']).perChannel, true);
});

test('a bad value: the flag names itself; qtool run and --config name the file and key, with the same message', () => {
  const cases: [Stage, string, string, string, RegExp, RegExp][] = [
    [stages[0], 'activationType', '--activation-type', 'int4', /^--activation-type: expected uint8 or int8, got 'int4'$/, /calibrate\.activationType: expected one of uint8\|int8, got 'int4'$/],
    [stages[0], 'clipActivation', '--clip-activation', 'gelu=0', /^--clip-activation: expected gelu=<positive cap>, got 'gelu=0'$/, /calibrate\.clipActivation: expected gelu=<positive cap>, e\.g\. gelu=10, got 'gelu=0'$/],
    [stages[0], 'method', '--method', 'max,maxx', /^--method: unknown method 'maxx' \(expected all, max, entropy, percentile, mse\)$/, /calibrate\.method: expected all, or a comma list of max\|entropy\|percentile\|mse, got 'max,maxx'$/],
    [stages[1], 'mode', '--mode', 'all', /^--mode: expected fallback, quantize or both, got 'all'$/, /sensitivity\.mode: expected one of fallback\|quantize\|both, got 'all'$/],
    [stages[2], 'floatType', '--float-type', 'fp8', /^--float-type: expected fp32 or fp16, got 'fp8'$/, /partial\.floatType: expected one of fp32\|fp16, got 'fp8'$/],
    [stages[3], 'optimizer', '--optimizer', 'rms', /^--optimizer: expected adam or sgd, got 'rms'$/, /qat\.optimizer: expected one of adam\|sgd, got 'rms'$/],
  ];
  for (const [s, key, flag, bad, flagError, configError] of cases) {
    assert.throws(() => sectionFromFlags(s, [flag, bad]), { message: flagError });
    expectBadInput(s.command, [flag, bad], new RegExp(flagError.source.replace('^', '^qtool: error: ').replace(/\$$/, '\n')));
    const section = s.command === 'qat-finetune' ? 'qat' : s.command;
    const config = mlpConfig({ [section]: { [key]: bad } });
    const viaRun = runQtool(['run', config, '--out', join(tempDir(), 'out')]);
    const viaConfig = runQtool([s.command, '--config', config, '--out', join(tempDir(), 'out')]);
    for (const r of [viaRun, viaConfig]) {
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr.trim(), new RegExp(`^qtool: error: ${config.replace(/[.\\/]/g, '\\$&')}: ${configError.source}`));
    }
    assert.equal(viaRun.stderr, viaConfig.stderr);
  }
});

test('qtool run: a clip spec the config schema used to pass (gelu=0) is refused; int8 activations warn as qtool calibrate does', () => {
  // Before, only the command line checked the cap: run calibrated with a cap of 0.
  expectBadInput('run', [mlpConfig({ calibrate: { clipActivation: 'gelu=0' } })],
    /config\.json: calibrate\.clipActivation: expected gelu=<positive cap>, e\.g\. gelu=10, got 'gelu=0'/);
  expectBadInput('run', [mlpConfig({ calibrate: { clipActivation: 'gelu=1.2.3' } })], /calibrate\.clipActivation: expected gelu=<positive cap>/);
  const out = tempDir();
  const r = runQtool(['run', mlpConfig({ maxDrop: 100, calibrate: { method: 'max', activationType: 'int8' } }), '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /qtool: warning: int8 activations .* slower/);
  assert.equal(JSON.parse(r.stdout).stages[0].status, 'ran');
});
