// The stage commands' options, declared once per stage (src/config/options/):
// each entry is one option with its flag, help, default, a parser for what
// is typed on the command line and the zod schema of its config value. The
// commander options (src/cli/options.ts) and the config's strict stage
// sections (schema.ts) are derived from these tables, and each stage maps a
// section, whether it came from flags or from a config, to its options with
// the table's defaults (an options.ts in each stage's folder).
import { z } from 'zod';
import { InputError } from '../util/errors.js';

export interface OptionSpec<V> {
  /** Commander's flag text, e.g. '--batch-size <n>' (its camelCase name is the table key); none: a config-only key. */
  flags?: string;
  help: string;
  /** The value when neither a flag nor the config sets one (the stage's mapping applies it). */
  default?: V;
  /**
   * How --help shows the default: commander's `(default: …)` of the value
   * (undefined), that text, or not at all (false: then commander holds no
   * default either, and the help text may say it).
   */
  helpDefault?: string | false;
  /** For an optional value (`--flag [v]`): the text parsed when the flag is given without one. */
  preset?: string;
  /** Command-line text to the value; errors name `flag`. Without it the flag is a switch (true when given). */
  parse?: (text: string, flag: string) => V;
  /** The config value; none: a command-line-only option. */
  schema?: z.ZodType<V>;
  /** A second switch that sets the key to `value` and wins over the first (--per-tensor for perChannel). */
  alt?: { flags: string; help: string; value: V };
}

export type OptionTable = Record<string, OptionSpec<any>>;

/** The value type of a table entry: its schema's, else its parser's, else a switch's. */
export type ValueOf<E> =
  E extends { schema: infer S extends z.ZodType } ? z.output<S>
    : E extends { parse: (...a: never[]) => infer V } ? V
      : boolean;

/** What flags or a config set for a stage: every key optional. */
export type Section<T extends OptionTable> = { [K in keyof T]?: ValueOf<T[K]> };

/** A section with the table's defaults filled in. */
export type Resolved<T extends OptionTable> = {
  [K in keyof T]: T[K] extends { default: unknown } ? ValueOf<T[K]> : ValueOf<T[K]> | undefined;
};

type ConfigKey<T extends OptionTable> = { [K in keyof T]: T[K] extends { schema: z.ZodType } ? K : never }[keyof T];
type SchemaOf<E> = E extends { schema: infer S extends z.ZodType } ? S : never;

/** The strict config section of a table: its keys with a schema, in table order, all optional. */
export function sectionSchema<T extends OptionTable>(table: T) {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, o] of Object.entries(table)) if (o.schema) shape[key] = o.schema.optional();
  return z.object(shape).strict() as unknown as z.ZodObject<{ [K in ConfigKey<T>]: z.ZodOptional<SchemaOf<T[K]>> }, z.core.$strict>;
}

/** The section's values, with the table's default for every key it leaves unset. */
export function withDefaults<T extends OptionTable>(table: T, section: Section<T>): Resolved<T> {
  const out: Record<string, unknown> = {};
  for (const [key, o] of Object.entries(table)) out[key] = (section as Record<string, unknown>)[key] ?? o.default;
  return out as Resolved<T>;
}

/** 'a or b', 'a, b or c'. */
export function listOr(values: readonly string[]): string {
  return values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}

// Parsers of command-line text. Numbers: a one-line error for text that is not
// the kind of number asked for; range checks beyond that are the stage's.

export function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new InputError(`${flag} takes a positive whole number, got '${text}'`);
  return n;
}

function numberOf(text: string, flag: string, integer: boolean): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw new InputError(`${flag} takes ${integer ? 'a whole number' : 'a number'}, got '${text}'`);
  }
  return v;
}

export const number = (text: string, flag: string): number => numberOf(text, flag, false);
export const wholeNumber = (text: string, flag: string): number => numberOf(text, flag, true);
export const text = (t: string): string => t;

/** One of `values`; the error lists them (`expected`, by default 'a, b or c'). */
export function oneOf<const V extends string>(values: readonly V[], expected = listOr(values)) {
  return (t: string, flag: string): V => {
    if (!(values as readonly string[]).includes(t)) throw new InputError(`${flag}: expected ${expected}, got '${t}'`);
    return t as V;
  };
}

/** `parse`'s value, its InputError prefixed with the flag: `--method: unknown method 'x' …`. */
export function flagged<V>(parse: (t: string) => V) {
  return (t: string, flag: string): V => {
    try {
      return parse(t);
    } catch (e) {
      if (e instanceof InputError) throw new InputError(`${flag}: ${e.message}`);
      throw e;
    }
  };
}

/** Whether `parse` accepts `t` (for a config schema that checks what a flag's parser checks). */
export function accepts(parse: (t: string) => unknown): (t: string) => boolean {
  return (t) => {
    try {
      parse(t);
      return true;
    } catch (e) {
      if (e instanceof InputError) return false;
      throw e;
    }
  };
}

// Config schemas shared by several options; the messages complete "key: …, got VALUE".

export const positiveIntSchema = z.number().int('expected a whole number').positive('expected a whole number > 0');
export const countSchema = z.number().int('expected a whole number').nonnegative();
export const accuracyPointsSchema = z.number().nonnegative('expected accuracy points >= 0');

/** Options several stages have. */
export const DEFAULT_BATCH_SIZE = 32;
export const batchSizeOption = {
  flags: '--batch-size <n>', help: 'samples per forward pass', default: DEFAULT_BATCH_SIZE, parse: positiveInt, schema: positiveIntSchema,
};
/** The model output that accuracy and the budget are measured on (the others are reported beside it). */
export const scoredOutputOption = {
  flags: '--output <name>', help: 'the model output the metric and budget are decided on (default: the first)', parse: text, schema: z.string().min(1),
};
export const maxSamplesOption = {
  flags: '--max-samples <n>', help: 'evaluate only the first N samples', parse: positiveInt, schema: positiveIntSchema,
};
