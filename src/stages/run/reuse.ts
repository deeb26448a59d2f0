// Re-running `qtool run` with unchanged inputs reuses finished stages: a
// stage's fingerprint is the SHA-256 of everything it reads (file contents,
// not paths) and its options; it is reused when DIR/run.json recorded the
// same fingerprint and its artifacts are still there, byte for byte.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QTOOL_VERSION } from '../../report/io.js';
import { runReportSchema, type RunArtifact, type RunReport, type RunStage } from '../../report/schemas/run.js';
import { sha256File } from '../../util/files.js';

/** SHA-256 of files, each hashed once per run. */
export class FileHashes {
  private readonly cache = new Map<string, string>();
  of(path: string): string {
    let h = this.cache.get(path);
    if (h === undefined) {
      h = sha256File(path);
      this.cache.set(path, h);
    }
    return h;
  }
}

/** `inputs` maps a role to a file path (hashed) or undefined; `options` are hashed as JSON. */
export function fingerprint(stage: string, hashes: FileHashes, inputs: Record<string, string | undefined>, options: unknown): string {
  const files = Object.fromEntries(Object.entries(inputs).map(([k, p]) => [k, p === undefined ? null : hashes.of(p)]));
  const json = JSON.stringify({ stage, qtool: QTOOL_VERSION, files, options }, (_k, v) => (v === undefined ? null : v));
  return createHash('sha256').update(json).digest('hex');
}

/** The previous run's record, if DIR holds a valid run.json. */
export function previousRun(outDir: string): RunReport | undefined {
  try {
    const r = runReportSchema.safeParse(JSON.parse(readFileSync(join(outDir, 'run.json'), 'utf8')));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

function intact(outDir: string, a: RunArtifact): boolean {
  const p = join(outDir, a.path);
  return existsSync(p) && sha256File(p) === a.sha256;
}

/** The recorded stage to reuse, when its fingerprint matches and its artifacts are unchanged. */
export function reusable(prev: RunReport | undefined, outDir: string, name: RunStage['name'], fp: string): RunStage | undefined {
  const s = prev?.stages.find((x) => x.name === name && x.status !== 'skipped' && x.fingerprint === fp);
  return s && s.artifacts.every((a) => intact(outDir, a)) ? s : undefined;
}
