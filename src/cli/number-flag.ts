// Numeric flags as typed on the command line: a one-line error for text that
// is not a number; each stage checks the range itself.
import { InputError } from '../util/errors.js';

export function numberFlag(flag: string, text: string | undefined, integer = false): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw new InputError(`${flag} takes ${integer ? 'a whole number' : 'a number'}, got '${text}'`);
  }
  return v;
}
