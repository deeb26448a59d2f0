// Shared by the tests: paths into the repository (whether compiled or not), running the CLI.
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { existsSync } from 'node:fs';

/** The repository root: the nearest folder above this module with a package.json (tests run from dist/test/). */
export const repoRoot = findRoot(dirname(fileURLToPath(import.meta.url)));

function findRoot(from: string): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export function repoPath(...parts: string[]): string {
  return join(repoRoot, ...parts);
}

/** ONNX's own backend test suite, from Debian's libonnx-testdata. */
export const onnxTestData = '/usr/share/libonnx-testdata/data/node';

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

export interface CliResult { code: number; stdout: string; stderr: string }

/** Runs the qtool CLI as a user would, from the repository root; `env` adds to the environment. */
export function runQtool(args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'qtool.js'), ...args], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function tempDir(prefix = 'qtool-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';

/**
 * Runs `qtool COMMAND ARGS --out <fresh dir>` and asserts what every bad input
 * gets: exit code 2, one line on stderr matching `pattern`, nothing written.
 */
export function expectBadInput(command: string, args: string[], pattern: RegExp, out = join(tempDir(), 'out')): void {
  const r = runQtool([command, ...args, '--out', out]);
  assert.equal(r.code, 2, `exit code for ${command} ${args.join(' ')}: ${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.ok(!existsSync(out) || readdirSync(out).length === 0, 'nothing written');
}

/** Runs the CLI and sends it SIGINT once stderr shows `trigger`; resolves with the exit code and stderr. */
export function interruptAt(args: string[], trigger: RegExp): Promise<{ code: number | null; signal: string | null; stderr: string; sent: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'qtool.js'), ...args], { cwd: repoRoot, env: { ...process.env, FORCE_COLOR: '0' } });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!sent && trigger.test(stderr)) sent = child.kill('SIGINT');
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr, sent }));
  });
}
