// `--config FILE` on the stage commands, added once for all of them: before
// the action runs, every option the user did not type takes its value from
// the command's config section (keys are the options' camelCase names; the
// values are already what the flags' parsers make of text) and the input
// files from the config's model and data. Flags always win.
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import type { OptionTable } from '../config/options.js';
import { SECTION_OPTIONS, type Config, type SectionName } from '../config/schema.js';
import { InputError } from '../util/errors.js';
import { DATA_SOURCE_OPTIONS } from '../config/options/data.js';
import { metricSectionOf } from '../config/options/metric.js';

interface FileSource {
  /** The file for this option from the config (and the command's --out folder). */
  from: (c: Config, out: string) => string | undefined;
  /** Filled only when this option was not typed either (labels belong to their inputs). */
  pairedWith?: string;
}

interface Binding {
  section?: SectionName;
  files: Record<string, FileSource>;
  /** Values derived from the whole config, for options still unset after the section. */
  derived?: (c: Config, isSet: (key: string) => boolean) => Record<string, unknown>;
}

const evalData = { from: (c: Config) => c.data.eval };
const evalLabels = (pairedWith: string): FileSource => ({ from: (c) => c.data.evalLabels, pairedWith });
const report = (name: string): FileSource => ({ from: (_c, out) => join(out, name) });
/** The config's top-level metric, for the stages that score with it. */
const metric = (c: Config) => metricSectionOf(c.metric);

/** Commands that take --config, keyed by command name. */
const BINDINGS: Record<string, Binding> = {
  inspect: { files: {} },
  eval: { files: { data: evalData, labels: evalLabels('data') } },
  calibrate: {
    section: 'calibrate',
    files: { data: { from: (c) => c.data.calibration }, eval: evalData, labels: evalLabels('eval') },
    derived: metric,
  },
  sensitivity: {
    section: 'sensitivity',
    files: { calibration: report('calibration.json'), data: evalData, labels: evalLabels('data') },
    derived: metric,
  },
  partial: {
    section: 'partial',
    files: { calibration: report('calibration.json'), sensitivity: report('sensitivity.json'), data: evalData, labels: evalLabels('data') },
    // The config's budget, unless a budget was given some other way.
    derived: (c, isSet) => ({ ...metric(c), ...(isSet('maxDrop') || isSet('keepFloat') ? {} : { maxDrop: c.maxDrop }) }),
  },
  'qat-finetune': {
    section: 'qat',
    files: {
      calibration: report('calibration.json'),
      train: { from: (c) => c.data.train }, trainLabels: { from: (c) => c.data.trainLabels, pairedWith: 'train' },
      eval: evalData, labels: evalLabels('eval'),
    },
    derived: metric,
  },
};

function addConfigOption(cmd: Command, b: Binding): void {
  const byKey = new Map(cmd.options.map((o) => [o.attributeName(), o]));
  // Values the config can supply may be left off the command line: checked after filling.
  const required = cmd.options.filter((o) => o.mandatory && o.attributeName() in b.files);
  for (const o of required) o.mandatory = false;
  const modelArg = cmd.registeredArguments[0];
  if (modelArg?.name() === 'model') modelArg.required = false;
  cmd.option('--config <file>', 'pipeline config (JSON): model, data and this stage\'s options; flags override it');

  cmd.hook('preAction', (_program, action) => {
    const file = action.getOptionValue('config') as string | undefined;
    if (file !== undefined) {
      const c = loadConfig(file).config;
      const typed = (key: string) => action.getOptionValueSource(key) === 'cli';
      const isSet = (key: string) => action.getOptionValue(key) !== undefined && action.getOptionValueSource(key) !== 'default';
      const set = (key: string, v: unknown) => action.setOptionValueWithSource(key, v, 'config');
      if (modelArg?.name() === 'model' && action.processedArgs[0] === undefined) action.processedArgs[0] = c.model;
      const table: OptionTable = b.section ? SECTION_OPTIONS[b.section] : {};
      for (const [key, v] of Object.entries(b.section ? c[b.section] : {})) {
        // Config-only keys (partial.maxFloatLayers) are qtool run's.
        if (table[key]?.flags === undefined || v === undefined || typed(key)) continue;
        if (!byKey.has(key)) throw new InputError(`${file}: ${b.section}.${key}: not an option of qtool ${cmd.name()}`);
        set(key, v);
      }
      for (const key of Object.keys(DATA_SOURCE_OPTIONS) as (keyof typeof DATA_SOURCE_OPTIONS)[]) {
        if (byKey.has(key) && c.data[key] !== undefined && !typed(key)) set(key, c.data[key]);
      }
      const out = String(action.getOptionValue('out') ?? 'qtool-out');
      for (const [key, src] of Object.entries(b.files)) {
        if (typed(key) || (src.pairedWith && typed(src.pairedWith))) continue;
        const p = src.from(c, out);
        if (p !== undefined) set(key, p);
      }
      for (const [key, v] of Object.entries(b.derived?.(c, isSet) ?? {})) if (!isSet(key)) set(key, v);
    }
    if (modelArg?.name() === 'model' && action.processedArgs[0] === undefined) {
      throw new InputError(`qtool ${cmd.name()}: missing the model (give MODEL or --config FILE)`);
    }
    for (const o of required) {
      if (action.getOptionValue(o.attributeName()) === undefined) {
        throw new InputError(`qtool ${cmd.name()}: required option '${o.flags}' not specified (give it, or --config FILE)`);
      }
    }
  });
}

/** Adds --config to every stage command of `program` (call after registering them). */
export function addConfigOptions(program: Command): void {
  for (const cmd of program.commands) {
    const b = BINDINGS[cmd.name()];
    if (b) addConfigOption(cmd, b);
  }
}
