// Errors a user can act on. The CLI prints their message on one line and exits
// with their code; anything else is a bug and keeps its stack trace.

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
