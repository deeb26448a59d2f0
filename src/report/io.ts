// Reading and writing JSON reports: every report is validated by its zod
// schema on the way out and on the way in; it is written as an artifact of
// the stage under way (committed with its siblings, src/report/commit.ts) and
// read back checked against its folder's manifest.
import { z } from 'zod';
import { fileError } from '../util/errors.js';
import { checkSchemaId, schemaIdsOf } from '../util/schema-version.js';
import { readArtifact, writeArtifact } from './commit.js';

import { QTOOL_VERSION } from '../util/version.js';

export { QTOOL_VERSION };

/** Fields every report carries. */
export const reportHeader = {
  qtoolVersion: z.string(),
  model: z.object({ path: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  /** The command line that made the report. */
  command: z.string(),
  options: z.record(z.string(), z.unknown()),
};

export function commandLine(): string {
  return ['qtool', ...process.argv.slice(2)].join(' ');
}

/** The header fields of a report about `model`, made by this command line with `options`. */
export function reportHeaderFor<O extends Record<string, unknown>>(model: { path: string; sha256: string }, options: O) {
  return { qtoolVersion: QTOOL_VERSION, model: { path: model.path, sha256: model.sha256 }, command: commandLine(), options };
}

/** JSON with non-finite numbers as null and typed arrays as plain arrays. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v),
    2,
  ) + '\n';
}

export function writeReport<S extends z.ZodType>(path: string, schema: S, report: z.input<S>): void {
  const checked = schema.parse(report);
  writeArtifact(path, toJson(checked));
}

/**
 * Reads and validates a report; refuses one of another kind or major schema
 * version (`qtool/<kind>@<major>`: a newer qtool's report gets a one-line
 * error naming both versions), and with `modelSha256` one that was made for
 * another model. Values are checked against the schema (types,
 * ranges) before the file is checked against its folder's manifest, so that a
 * hand-edited value is named as such.
 */
export function readReport<S extends z.ZodType>(path: string, schema: S, modelSha256?: string): z.output<S> {
  let parsed: z.output<S> | undefined;
  readArtifact(path, (bytes) => {
    let raw: unknown;
    try {
      raw = JSON.parse(bytes.toString('utf8'));
    } catch (e) {
      throw fileError(path, `not valid JSON (${(e as Error).message})`);
    }
    checkSchemaId(path, raw, schemaIdsOf(schema));
    const r = schema.safeParse(raw);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw fileError(path, `not a valid report: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
    }
    parsed = r.data;
  });
  const data = parsed as { model?: { sha256?: string; path?: string } };
  if (modelSha256 && data.model?.sha256 && data.model.sha256 !== modelSha256) {
    throw fileError(path, `was made for another model (${data.model.path}, sha256 ${data.model.sha256.slice(0, 12)}…), not this one (sha256 ${modelSha256.slice(0, 12)}…)`);
  }
  return parsed as z.output<S>;
}
