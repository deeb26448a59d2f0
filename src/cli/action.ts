// Wraps a command's action: user errors become one red line and an exit code,
// never a stack trace. Anything else is a bug in qtool: one line saying so,
// exit code 70 (the stack with QTOOL_DEBUG=1).
import chalk from 'chalk';
import { positiveInt } from '../config/options.js';
import { toJson, QTOOL_VERSION } from '../report/io.js';
import { describeSystemError, isSystemError } from '../util/errors.js';
import { injectBug } from '../util/faults.js';

/** Exit code of an unexpected internal error (sysexits' EX_SOFTWARE): neither success, a failed check nor bad input. */
export const INTERNAL_ERROR_EXIT = 70;

export function fail(message: string, code: number): never {
  process.stderr.write(`${chalk.red('qtool: error:')} ${message.split('\n')[0]}\n`);
  process.exit(code);
}

/**
 * How every error ends the process: an InputError (2), a failed check (1) or
 * an interruption (130) with its one-line message; a failed system call the
 * user's machine caused (a full disk, a read-only folder) as bad input; any
 * other error as a bug.
 */
export function exitOnError(e: unknown): never {
  const err = e as Error & { exitCode?: number };
  if (err && (err.exitCode === 1 || err.exitCode === 2 || err.exitCode === 130)) fail(err.message, err.exitCode);
  if (isSystemError(e)) fail(describeSystemError(e), 2);
  const what = String((err as Error | undefined)?.message ?? err).split('\n')[0];
  process.stderr.write(`${chalk.red('qtool: internal error:')} ${what} ` +
    `(a bug in qtool ${QTOOL_VERSION}, not in your input: please report it to qtool's maintainers with this line and the command` +
    `${process.env.QTOOL_DEBUG ? '' : '; QTOOL_DEBUG=1 prints the stack'})\n`);
  if (process.env.QTOOL_DEBUG && (err as Error | undefined)?.stack) process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(INTERNAL_ERROR_EXIT);
}

export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      injectBug();
      const code = await fn(...args);
      process.exitCode = code ?? 0;
    } catch (e) {
      exitOnError(e);
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
