// `qtool run` as the tests drive it: a config written to a folder, the run's
// report checked against the run.json it wrote, the final model's hash.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256 } from '../../src/util/files.js';
import { runReportSchema, type RunReport } from '../../src/report/schemas/run.js';
import { runQtool } from './helpers.js';

/** Writes `config` as DIR/config.json and returns its path. */
export function writeConfig(dir: string, config: Record<string, unknown>): string {
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

/** `qtool run CONFIG --out OUT --json`, which must exit 0 or 1 and print what run.json holds. */
export function run(config: string, out: string): { code: number; report: RunReport; stderr: string } {
  const r = runQtool(['run', config, '--out', out, '--json']);
  assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr}`);
  const report = runReportSchema.parse(JSON.parse(r.stdout));
  assert.deepEqual(runReportSchema.parse(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))), report);
  return { code: r.code, report, stderr: r.stderr };
}

/** The final model is on disk with the recorded hash. */
export function checkFinal(out: string, r: RunReport): void {
  assert.equal(sha256(readFileSync(join(out, r.final.model))), r.final.sha256);
}

/** Each stage as `name:status`. */
export const statuses = (r: RunReport): string[] => r.stages.map((s) => `${s.name}:${s.status}`);
