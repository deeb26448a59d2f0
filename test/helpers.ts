// Shared by the tests: paths into the repository, whether compiled or not.
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { existsSync } from 'node:fs';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (tests run from dist/test/). */
export const repoRoot = existsSync(join(here, '..', '..', 'package.json')) ? resolve(here, '..', '..') : resolve(here, '..');

export function repoPath(...parts: string[]): string {
  return join(repoRoot, ...parts);
}

/** ONNX's own backend test suite, from Debian's libonnx-testdata. */
export const onnxTestData = '/usr/share/libonnx-testdata/data/node';
