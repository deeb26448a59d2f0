// Runs a command as a child process and measures its wall time, CPU time and
// peak resident memory. Max RSS and CPU time come from GNU time (`/usr/bin/time
// -v`, Debian package `time`) when installed, else from polling /proc/<pid>.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GNU_TIME = '/usr/bin/time';
export const RSS_METHOD = existsSync(GNU_TIME)
  ? 'GNU time -v "Maximum resident set size" of the child process'
  : '/proc/<pid>/status VmHWM of the child process, polled every 20 ms';
const TICKS_PER_SECOND = 100; // USER_HZ, for /proc/<pid>/stat

export interface ChildRun {
  wallSeconds: number;
  maxRssMB: number;
  /** User + system CPU seconds of the child: the work done, whatever the load from other processes. */
  cpuSeconds: number;
  stdout: string;
  stderr: string;
}

/** opts.okCodes: exit codes that are results, not failures (default [0]; `qtool partial` exits 1 when the budget is missed). */
export async function runChild(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; okCodes?: number[] } = {}): Promise<ChildRun> {
  const useTime = existsSync(GNU_TIME);
  const dir = mkdtempSync(join(tmpdir(), 'qtool-bench-'));
  const timeFile = join(dir, 'time.txt');
  const argv = useTime ? ['-v', '-o', timeFile, cmd, ...args] : args;
  const t0 = performance.now();
  const child = spawn(useTime ? GNU_TIME : cmd, argv, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  let hwmKB = 0;
  let cpuTicks = 0;
  const poll = useTime ? undefined : setInterval(() => {
    hwmKB = Math.max(hwmKB, readVmHWM(child.pid));
    cpuTicks = Math.max(cpuTicks, readCpuTicks(child.pid));
  }, 20);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const wallSeconds = (performance.now() - t0) / 1000;
  if (poll) clearInterval(poll);
  try {
    if (code === null || !(opts.okCodes ?? [0]).includes(code)) {
      throw new Error(`${cmd} ${args.join(' ')} exited with ${code}:\n${stderr.trim().split('\n').slice(-15).join('\n')}`);
    }
    if (!useTime) return { wallSeconds, maxRssMB: hwmKB / 1024, cpuSeconds: cpuTicks / TICKS_PER_SECOND, stdout, stderr };
    const report = readFileSync(timeFile, 'utf8');
    const field = (name: string) => Number(new RegExp(`${name}: ([\\d.]+)`).exec(report)?.[1]);
    return {
      wallSeconds,
      maxRssMB: field('Maximum resident set size \\(kbytes\\)') / 1024,
      cpuSeconds: field('User time \\(seconds\\)') + field('System time \\(seconds\\)'),
      stdout,
      stderr,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** utime + stime (fields 14 and 15 of /proc/<pid>/stat), in clock ticks. */
function readCpuTicks(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

function readVmHWM(pid: number | undefined): number {
  try {
    return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0; // the process has just exited
  }
}
