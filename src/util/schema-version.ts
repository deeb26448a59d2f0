// Report schemas carry a kind and a major version, `qtool/<kind>@<major>`.
// A reader checks the id before validating the fields, so that a report of
// another kind, or one written by a newer qtool whose format this one does
// not know, is refused in one line naming both versions instead of a
// field-level validation error.
import { z } from 'zod';
import { fileError } from './errors.js';
import { QTOOL_VERSION } from './version.js';

const SCHEMA_ID = /^qtool\/([a-z0-9-]+)@(\d+)$/;

/**
 * The `schema` field of a report kind at major `major` that also reads the
 * majors from `oldest` on: a file of an older major must be valid under the
 * current schema (its fields a subset, each with a narrower meaning). Writers
 * write the current id, the literal's first value.
 */
export function schemaField<const K extends string, const M extends number>(kind: K, major: M, oldest: number = major) {
  const older = Array.from({ length: major - oldest }, (_, i) => `qtool/${kind}@${major - 1 - i}` as const);
  return z.literal([`qtool/${kind}@${major}` as const, ...older]);
}

/** The ids an object schema's `schema` literal accepts, the current one first, if it has one. */
export function schemaIdsOf(schema: z.ZodType): string[] | undefined {
  const field = (schema as { shape?: Record<string, unknown> }).shape?.schema;
  if (!(field instanceof z.ZodLiteral)) return undefined;
  const ids = [...field.values].filter((v): v is string => typeof v === 'string');
  return ids.length ? ids : undefined;
}

/**
 * Throws an InputError (exit code 2) when `raw` (parsed JSON read from
 * `path`) carries a schema id of another kind, or of a major version that is
 * not among `readable` (the current id first, then the older ones this qtool
 * still reads). Anything else is left to the zod schema. `invalid` starts
 * the message for a file that is not what was expected at all.
 */
export function checkSchemaId(path: string, raw: unknown, readable: string[] | undefined, invalid = 'not a valid report'): void {
  const want = readable?.[0] === undefined ? null : SCHEMA_ID.exec(readable[0]);
  if (!want || typeof raw !== 'object' || raw === null) return;
  const fields = raw as { schema?: unknown; qtoolVersion?: unknown };
  const got = typeof fields.schema === 'string' ? SCHEMA_ID.exec(fields.schema) : null;
  if (!got) return;
  const madeBy = typeof fields.qtoolVersion === 'string' ? `qtool ${fields.qtoolVersion}` : 'another qtool';
  if (got[1] !== want[1]) throw fileError(path, `${invalid}: schema: ${got[0]}, expected ${want[0]} (another kind of file)`);
  if (readable!.includes(got[0])) return;
  const [have, can] = [Number(got[2]), Number(want[2])];
  if (have > can) {
    throw fileError(path, `is ${got[0]}, written by ${madeBy}; qtool ${QTOOL_VERSION} reads ${want[0]} and older: upgrade qtool to read it`);
  }
  const oldest = readable![readable!.length - 1]!;
  throw fileError(path, `${invalid}: schema: ${got[0]}, written by ${madeBy}; qtool ${QTOOL_VERSION} reads ${oldest === want[0] ? want[0] : `${oldest} to ${want[0]}`}: make it again with this qtool`);
}
