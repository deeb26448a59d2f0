// Reading a pipeline config: JSON syntax errors with their line and column,
// schema errors naming the key and what it expects, paths resolved against
// the config file's folder, and every input file checked before work starts.
import { statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type { z } from 'zod';
import { fileError } from '../util/errors.js';
import { readInputFile, sha256 } from '../util/files.js';
import { configSchema, knownKeys, type Config } from './schema.js';

export interface LoadedConfig {
  /** The config file as the user named it. */
  path: string;
  sha256: string;
  /** Validated, with every path resolved against the config file's folder. */
  config: Config;
}

/** "line L, column C" of a character offset. */
function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

function parseJson(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const at = /at position (\d+)/.exec(msg);
    const where = at ? ` at ${lineCol(text, Number(at[1]))}` : '';
    throw fileError(path, `not valid JSON${where} (${msg.replace(/ in JSON at position \d+.*$/, '')})`);
  }
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

const EXPECTED: Record<string, string> = { object: 'an object', array: 'an array', int: 'a whole number' };

/** One issue as `key.path: what is wrong (what is expected)`. */
export function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const key = (p: readonly PropertyKey[]) => p.map(String).join('.') || '(top level)';
  const got = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? `'${v}'` : typeof v === 'object' ? 'an object' : String(v));
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(issue.path);
      return `${key([...issue.path, issue.keys[0]])}: unknown key${known.length ? ` (expected one of ${known.join('|')})` : ''}`;
    }
    case 'invalid_type': {
      const v = valueAt(raw, issue.path);
      const expected = EXPECTED[issue.expected] ?? `a ${issue.expected}`;
      return v === undefined ? `${key(issue.path)}: missing (expected ${expected})` : `${key(issue.path)}: expected ${expected}, got ${got(v)}`;
    }
    case 'invalid_value':
      return `${key(issue.path)}: expected one of ${issue.values.map(String).join('|')}, got ${got(valueAt(raw, issue.path))}`;
    default:
      return `${key(issue.path)}: ${issue.message}, got ${got(valueAt(raw, issue.path))}`;
  }
}

/** `p` from the config file's folder: relative to the working directory when inside it, else absolute. */
function fromConfig(configDir: string, p: string): string {
  const abs = resolve(configDir, p);
  const rel = relative(process.cwd(), abs);
  return rel === '' ? '.' : isAbsolute(rel) || rel.startsWith('..') ? abs : rel;
}

function checkFile(configPath: string, key: string, p: string, folderToo = false): void {
  let isFile = false;
  try {
    const s = statSync(p);
    isFile = s.isFile() || (folderToo && s.isDirectory());
  } catch {
    throw fileError(configPath, `${key}: no such file '${p}'`);
  }
  if (!isFile) throw fileError(configPath, `${key}: '${p}' is not a file`);
}

/** Data keys that may name an image folder. */
const DATA_KEYS = new Set(['calibration', 'eval', 'train']);

export function loadConfig(path: string): LoadedConfig {
  const bytes = readInputFile(path);
  const raw = parseJson(path, bytes.toString('utf8'));
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw fileError(path, describeIssue(parsed.error.issues[0], raw));
  const c = parsed.data;
  const dir = dirname(path);
  const model = fromConfig(dir, c.model);
  checkFile(path, 'model', model);
  const data: Record<string, unknown> = { calibration: '' };
  for (const [k, v] of Object.entries(c.data)) {
    // maxLength, and a preprocessing spec given inline, are values, not files.
    if (typeof v !== 'string') {
      if (v !== undefined) data[k] = v;
      continue;
    }
    const p = fromConfig(dir, v);
    checkFile(path, `data.${k}`, p, DATA_KEYS.has(k));
    data[k] = p;
  }
  if (data.evalLabels && !data.eval) throw fileError(path, 'data.evalLabels: given without data.eval');
  if (data.trainLabels && !data.train) throw fileError(path, 'data.trainLabels: given without data.train');
  return { path, sha256: sha256(bytes), config: { ...c, model, data: data as Config['data'] } };
}
