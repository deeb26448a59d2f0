// What the figures were measured on.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { ort } from '../../src/runtime/session.js';

export interface Machine {
  nproc: number;
  cpu: string;
  memoryGB: number;
  node: string;
  onnxruntimeNode: string;
  loadAverage1m: number;
  gitHead: string;
  date: string;
}

export function machine(): Machine {
  const cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  let gitHead = 'unknown';
  try {
    gitHead = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    if (execFileSync('git', ['status', '--porcelain'], { encoding: 'utf8' }).trim()) gitHead += ' + uncommitted changes';
  } catch { /* not a git checkout */ }
  return {
    nproc: availableParallelism(),
    cpu,
    memoryGB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    onnxruntimeNode: ort.env.versions.common,
    loadAverage1m: loadavg()[0]!,
    gitHead,
    date: new Date().toISOString(),
  };
}
