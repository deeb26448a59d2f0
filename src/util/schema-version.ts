// Report schemas carry a kind and a major version, `qtool/<kind>@<major>`.
// A reader checks the id before validating the fields, so that a report of
// another kind, or one written by a newer qtool whose format this one does
// not know, is refused in one line naming both versions instead of a
// field-level validation error.
import { z } from 'zod';
import { fileError } from './errors.js';
import { QTOOL_VERSION } from './version.js';

const SCHEMA_ID = /^qtool\/([a-z0-9-]+)@(\d+)$/;

/** The `qtool/<kind>@<major>` literal of an object schema's `schema` field, if it has one. */
export function schemaIdOf(schema: z.ZodType): string | undefined {
  const field = (schema as { shape?: Record<string, unknown> }).shape?.schema;
  if (!(field instanceof z.ZodLiteral)) return undefined;
  const [value] = [...field.values];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Throws an InputError (exit code 2) when `raw` (parsed JSON read from
 * `path`) carries a schema id of another kind or of another major version
 * than `expected`. Anything else is left to the zod schema. `invalid` starts
 * the message for a file that is not what was expected at all.
 */
export function checkSchemaId(path: string, raw: unknown, expected: string | undefined, invalid = 'not a valid report'): void {
  const want = expected === undefined ? null : SCHEMA_ID.exec(expected);
  if (!want || typeof raw !== 'object' || raw === null) return;
  const fields = raw as { schema?: unknown; qtoolVersion?: unknown };
  const got = typeof fields.schema === 'string' ? SCHEMA_ID.exec(fields.schema) : null;
  if (!got) return;
  const madeBy = typeof fields.qtoolVersion === 'string' ? `qtool ${fields.qtoolVersion}` : 'another qtool';
  if (got[1] !== want[1]) throw fileError(path, `${invalid}: schema: ${got[0]}, expected ${want[0]} (another kind of file)`);
  const [have, can] = [Number(got[2]), Number(want[2])];
  if (have > can) {
    throw fileError(path, `is ${got[0]}, written by ${madeBy}; qtool ${QTOOL_VERSION} reads ${want[0]} and older: upgrade qtool to read it`);
  }
  if (have < can) {
    throw fileError(path, `${invalid}: schema: ${got[0]}, written by ${madeBy}; qtool ${QTOOL_VERSION} reads ${want[0]}: make it again with this qtool`);
  }
}
