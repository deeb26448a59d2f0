// The user's own metric as a ModelScorer: each candidate is written to a
// temporary .onnx file, the user's command runs in a shell with `{model}`
// replaced by that path, and the last number it prints on stdout is the
// score. FP32's score is computed once per model, command and contents of the
// files the command names, and cached in a file (the stage's output folder),
// so a pipeline pays for it once.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../util/errors.js';
import { sha256, writeFileAtomic } from '../util/files.js';
import { commandFiles, type CommandFile } from './command-files.js';
import { dropOf, type CandidateScore, type Metric, type ModelScorer } from './metric.js';

/** What the user asked for: the command, what its number is called, and which way is better. */
export interface MetricCommand {
  /** A shell command; `{model}` is replaced by the candidate model's path (quoted). */
  command: string;
  name: string;
  higherIsBetter: boolean;
  /** A run that takes longer is stopped (its process group killed) and is bad input. */
  timeoutSeconds: number;
}

/** The cache file in a stage's output folder (not an artifact: the manifest does not list it). */
export const METRIC_CACHE_FILE = '.qtool-metric-cache.json';

/** What the command cost so far, for the reports. */
export interface MetricCommandCost {
  name: string;
  command: string;
  higherIsBetter: boolean;
  fp32: number;
  /** FP32's score came from the cache (no run for it). */
  fp32Cached: boolean;
  /** Command runs and their wall time, FP32's included when it ran. */
  runs: number;
  seconds: number;
}

/** A path as one shell word: single-quoted, with embedded quotes escaped. */
export function shellQuote(path: string): string {
  return `'${path.replace(/'/g, `'\\''`)}'`;
}

/** The command with every `{model}` replaced by the quoted path. */
export function commandFor(template: string, modelPath: string): string {
  return template.split('{model}').join(shellQuote(modelPath));
}

const NUMBER = /[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?/g;

/** The last number in `text`, or undefined. */
export function lastNumber(text: string): number | undefined {
  const all = text.match(NUMBER);
  if (!all) return undefined;
  const v = Number(all[all.length - 1]);
  return Number.isFinite(v) ? v : undefined;
}

/** The end of a process's stderr, on one line, for an error message. */
function tail(stderr: string): string {
  const lines = stderr.trim().split(/\r?\n/).filter((l) => l.trim() !== '');
  const last = lines.slice(-3).join(' | ');
  return last.length > 300 ? `…${last.slice(-300)}` : last;
}

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Runs `command` in a shell, in its own process group, killed as a group after `timeoutSeconds`;
 * in qtool's working directory (what commandFiles resolves against).
 */
function runShell(command: string, timeoutSeconds: number): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, { shell: true, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    // Only the end is shown; keep the last 64 kB.
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr = (stderr + d).slice(-65536); });
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch { /* already gone */ }
    };
    const timer = setTimeout(() => { timedOut = true; killGroup(); }, timeoutSeconds * 1000);
    // The command has its own process group, which a terminal's Ctrl-C or a kill of qtool does not reach:
    // a qtool that exits or is stopped by a signal takes the group with it (then the signal does what it would have).
    const onSignal = (sig: NodeJS.Signals) => {
      killGroup();
      release();
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    const release = () => {
      clearTimeout(timer);
      process.off('exit', killGroup);
      for (const sig of FORWARDED) process.off(sig, onSignal);
    };
    process.once('exit', killGroup);
    for (const sig of FORWARDED) process.once(sig, onSignal);
    child.on('error', (e) => { release(); reject(e); });
    child.on('close', (code, signal) => {
      release();
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

interface CacheEntry {
  modelSha256: string;
  command: string;
  /** The files the command names, by content (entries of earlier versions lack them, and miss). */
  files?: CommandFile[];
  value: number;
  seconds: number;
}

function readCache(path: string): Record<string, CacheEntry> {
  if (!existsSync(path)) return {};
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, CacheEntry>) : {};
  } catch {
    return {}; // a damaged cache is measured again, not an error
  }
}

/** One folder per process for the candidates, removed when qtool exits. */
let workDir: string | undefined;
let candidates = 0;

function candidatePath(): string {
  if (!workDir) {
    const dir = mkdtempSync(join(tmpdir(), 'qtool-metric-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    workDir = dir;
  }
  return join(workDir, `candidate-${++candidates}.onnx`);
}

/** One run on `bytes`: its number, or an InputError naming the command's failure. */
async function runOnce(spec: MetricCommand, bytes: Uint8Array, label: string): Promise<{ value: number; seconds: number }> {
  const path = candidatePath();
  writeFileSync(path, bytes);
  const t0 = performance.now();
  const { command, timeoutSeconds } = spec;
  let r: Finished;
  try {
    r = await runShell(commandFor(command, path), timeoutSeconds);
  } finally {
    rmSync(path, { force: true });
  }
  const seconds = (performance.now() - t0) / 1000;
  const on = `on ${label}`;
  const stderr = tail(r.stderr);
  const why = stderr ? `: ${stderr}` : ' (nothing on stderr)';
  if (r.timedOut) throw new InputError(`metric command ran longer than --metric-timeout ${timeoutSeconds} s ${on} and was stopped: ${command}`);
  if (r.code !== 0) {
    const status = r.code === null ? `killed by ${r.signal}` : `exit code ${r.code}`;
    throw new InputError(`metric command failed (${status}) ${on}${why}`);
  }
  const value = lastNumber(r.stdout);
  if (value === undefined) throw new InputError(`metric command printed no number on stdout ${on} (its score must be the last number it prints)${why}`);
  return { value, seconds };
}

export class CommandScorer implements ModelScorer {
  readonly metric: Metric;
  private runs = 0;
  private seconds = 0;

  private constructor(
    private readonly spec: MetricCommand,
    readonly fp32: number,
    readonly fp32Cached: boolean,
  ) {
    this.metric = { name: spec.name, label: spec.name, higherIsBetter: spec.higherIsBetter };
  }

  /**
   * FP32's score: from `cacheDir`'s cache when this model and command, with
   * the files it names as they are now, were scored before, else one run of
   * the command (then cached).
   */
  static async create(fp32: Uint8Array, label: string, spec: MetricCommand, cacheDir: string): Promise<CommandScorer> {
    if (!spec.command.includes('{model}')) {
      throw new InputError(`--metric-command: '${spec.command}' does not mention {model} (the candidate model's path goes there)`);
    }
    if (!(spec.timeoutSeconds > 0)) throw new InputError(`--metric-timeout takes seconds > 0, got ${spec.timeoutSeconds}`);
    const modelSha256 = sha256(fp32);
    const cachePath = join(cacheDir, METRIC_CACHE_FILE);
    const files = commandFiles(spec.command, process.cwd());
    const key = sha256(new TextEncoder().encode(JSON.stringify([modelSha256, spec.command, files])));
    const cache = readCache(cachePath);
    const hit = cache[key];
    if (hit && hit.modelSha256 === modelSha256 && hit.command === spec.command && Number.isFinite(hit.value)) {
      return new CommandScorer(spec, hit.value, true);
    }
    const { value, seconds } = await runOnce(spec, fp32, label);
    const scorer = new CommandScorer(spec, value, false);
    scorer.runs = 1;
    scorer.seconds = seconds;
    writeFileAtomic(cachePath, JSON.stringify({ ...readCache(cachePath), [key]: { modelSha256, command: spec.command, files, value, seconds } }, null, 1) + '\n');
    return scorer;
  }

  async score(bytes: Uint8Array, label: string): Promise<CandidateScore> {
    const { value, seconds } = await runOnce(this.spec, bytes, label);
    this.runs++;
    this.seconds += seconds;
    return { value, drop: dropOf(this.metric, this.fp32, value), seconds };
  }

  /** Runs and their time so far, for the reports. */
  cost(): MetricCommandCost {
    const { name, command, higherIsBetter } = this.spec;
    return { name, command, higherIsBetter, fp32: this.fp32, fp32Cached: this.fp32Cached, runs: this.runs, seconds: this.seconds };
  }
}
