// A stage's option table (src/config/options/) as commander options: each
// entry's flag, help, default and parser. What the user typed, or --config
// filled in (config-option.ts), is read back as the stage's section: the same
// shape a config file's section has, for the stage's own mapping to options.
import { Option, type Command } from 'commander';
import type { OptionTable, Section } from '../config/options.js';
import { DATA_SOURCE_OPTIONS } from '../config/options/data.js';
import type { DataSourceOptions } from '../data/dataset.js';

/**
 * Adds the table's options to `cmd`, all of them in table order or `keys` in
 * that order (so that --help can list them between the command's own).
 * Config-only entries are left out.
 */
export function addOptions<T extends OptionTable>(cmd: Command, table: T, ...keys: (keyof T & string)[]): Command {
  for (const key of keys.length ? keys : Object.keys(table)) {
    const spec = table[key];
    if (spec.flags === undefined) continue;
    const o = new Option(spec.flags, spec.help);
    if (o.attributeName() !== key) throw new Error(`option table: '${spec.flags}' is not the flag of '${key}'`);
    const parse = spec.parse;
    const flag = o.long!;
    if (parse) o.argParser((text: string) => parse(text, flag));
    if (spec.preset !== undefined) o.preset(spec.preset);
    // Commander's default is what --help shows; the stage's mapping applies the table's.
    if (spec.default !== undefined && spec.helpDefault !== false) o.default(spec.default, spec.helpDefault);
    cmd.addOption(o);
    if (spec.alt) cmd.addOption(new Option(spec.alt.flags, spec.alt.help));
  }
  return cmd;
}

/** The table's values that were typed or came from --config (commander's defaults left out). */
export function sectionOf<T extends OptionTable>(table: T, cmd: Command): Section<T> {
  const given = (attr: string) => {
    const src = cmd.getOptionValueSource(attr);
    return src !== undefined && src !== 'default';
  };
  const section: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(table)) {
    const alt = spec.alt && new Option(spec.alt.flags).attributeName();
    if (alt && given(alt)) section[key] = spec.alt!.value;
    else if (given(key)) section[key] = cmd.getOptionValue(key);
  }
  return section as Section<T>;
}

/** The data source flags (or the config's data keys) as loadDataset's options. */
export function dataSourceOf(cmd: Command): DataSourceOptions {
  const s = sectionOf(DATA_SOURCE_OPTIONS, cmd);
  const inline = typeof s.preprocess === 'object';
  return { ...s, ...(inline && { preprocessWhere: `${String(cmd.getOptionValue('config'))}: data.preprocess` }) };
}
