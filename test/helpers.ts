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

import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

export interface CliResult { code: number; stdout: string; stderr: string }

/** Runs the qtool CLI as a user would, from the repository root. */
export function runQtool(args: string[]): CliResult {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'qtool.js'), ...args], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function tempDir(prefix = 'qtool-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
