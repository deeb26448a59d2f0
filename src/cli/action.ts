// Wraps a command's action: user errors become one red line and an exit code,
// never a stack trace.
import chalk from 'chalk';
import { toJson } from '../report/io.js';
import { positiveInt } from '../config/options.js';

export function fail(message: string, code: number): never {
  process.stderr.write(`${chalk.red('qtool: error:')} ${message.split('\n')[0]}\n`);
  process.exit(code);
}

export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await fn(...args);
      process.exitCode = code ?? 0;
    } catch (e) {
      const err = e as Error & { exitCode?: number };
      if (err.exitCode === 1 || err.exitCode === 2) fail(err.message, err.exitCode);
      throw e;
    }
  };
}

/** With --json the report goes to stdout as JSON; otherwise `summary` prints it for people. */
export function emit<R>(report: R, json: boolean | undefined, summary: (r: R) => string): void {
  process.stdout.write(json ? toJson(report) : summary(report) + '\n');
}

/** A commander parser for a flag that takes a positive whole number (the stage commands' come from their option tables). */
export function parsePositiveInt(flag: string) {
  return (v: string): number => positiveInt(v, flag);
}
