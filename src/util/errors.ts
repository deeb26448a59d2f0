// Errors a user can act on. The CLI prints their message on one line and exits
// with their code; anything else is a bug (exit 70, src/cli/action.ts).

/** Bad input: a file, a flag or data that cannot be used. Exit code 2. */
export class InputError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** A check the user asked for failed (e.g. an accuracy budget). Exit code 1. */
export class CheckFailedError extends Error {
  readonly exitCode = 1;
  constructor(message: string) {
    super(message);
    this.name = 'CheckFailedError';
  }
}

/** An InputError whose message starts with the file it is about. */
export function fileError(path: string, problem: string): InputError {
  return new InputError(`${path}: ${problem}`);
}

/** What the system calls a user can cause fail with, in words. */
const SYSTEM_REASONS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'is a folder, expected a file',
  EEXIST: 'already exists',
  ENOENT: 'no such file or folder',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files',
  EIO: 'input/output error',
  EFBIG: 'file too large',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many symbolic links',
};

/** A failed system call (fs and friends) whose cause is the machine or the user's paths, not qtool. */
export function isSystemError(e: unknown): e is NodeJS.ErrnoException & { code: string } {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && code in SYSTEM_REASONS && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

/** A failed system call in words: `PATH: <reason> (CODE, <syscall>)`. */
export function describeSystemError(e: NodeJS.ErrnoException & { code: string }): string {
  return `${e.path ?? (e as { dest?: string }).dest ?? '(no path)'}: ${SYSTEM_REASONS[e.code]} (${e.code}, ${e.syscall})`;
}

/** `path: cannot <doing>: <reason> (CODE)` for a failed system call; other errors pass through unchanged. */
export function systemError(path: string, doing: string, e: unknown): Error {
  if (!isSystemError(e)) return e as Error;
  return fileError(path, `cannot ${doing}: ${SYSTEM_REASONS[e.code]} (${e.code})`);
}
