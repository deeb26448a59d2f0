// The files a metric command names (its script, a dictionary, held-out data):
// part of FP32's cache key, so that editing one measures FP32 again instead of
// reusing a score the edited files would no longer give.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { sha256File } from '../util/files.js';

/** A file the command names: the word as written and the SHA-256 of its contents. */
export interface CommandFile {
  word: string;
  sha256: string;
}

/** A word without one pair of surrounding shell quotes. */
const unquoted = (word: string): string => (/^(['"]).*\1$/s.test(word) && word.length >= 2 ? word.slice(1, -1) : word);

/**
 * Every whitespace-separated word of `command` (other than those holding
 * `{model}`) that is a regular file, resolved against `cwd`, the folder the
 * command runs in; words that are flags, program names on the PATH or
 * missing paths are not files and are left out. A quoted path with spaces
 * in it is not split as the shell would, so it is not seen.
 */
export function commandFiles(command: string, cwd: string): CommandFile[] {
  const files: CommandFile[] = [];
  for (const word of command.split(/\s+/)) {
    if (!word || word.includes('{model}')) continue;
    const path = resolve(cwd, unquoted(word));
    let isFile = false;
    try {
      isFile = statSync(path).isFile();
    } catch { /* not a path */ }
    if (isFile) files.push({ word, sha256: sha256File(path) });
  }
  return files;
}
