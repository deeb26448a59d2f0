// Fault injection for the reliability tests, and nothing else: QTOOL_TEST_FAULTS
// is a comma list of
//   enospc=NAME          writing a file whose name is NAME fails as a full disk would (ENOSPC)
//   commit-pause=MS      the commit protocol (src/report/commit.ts) sleeps MS ms
//                        after each of its steps, so that a test can kill it in between
//   bug                  every command fails at its start with an internal error
//                        (what a user sees of a bug in qtool)
//   model-limit=BYTES    models larger than BYTES are written with external data
//                        (instead of protobuf's 2 GB less a margin), to test that path
// It is read once per process; unset (as for every user), nothing changes.

interface Faults {
  enospc: Set<string>;
  commitPauseMs: number;
  bug: boolean;
  modelLimit?: number;
}

let parsed: Faults | undefined;

function faults(): Faults {
  if (parsed) return parsed;
  parsed = { enospc: new Set(), commitPauseMs: 0, bug: false };
  for (const item of (process.env.QTOOL_TEST_FAULTS ?? '').split(',')) {
    const [k, v] = item.split('=').map((s) => s.trim());
    if (k === 'enospc' && v) parsed.enospc.add(v);
    if (k === 'commit-pause' && Number(v) > 0) parsed.commitPauseMs = Number(v);
    if (k === 'bug') parsed.bug = true;
    if (k === 'model-limit' && Number(v) >= 0) parsed.modelLimit = Number(v);
  }
  return parsed;
}

/** Throws the error a full disk gives when `name` (a file's base name) is listed under enospc. */
export function injectWriteFault(path: string, name: string): void {
  if (!faults().enospc.has(name)) return;
  throw Object.assign(new Error(`ENOSPC: no space left on device, write '${path}'`), { code: 'ENOSPC', syscall: 'write', errno: -28, path });
}

/** Sleeps between the commit protocol's steps when commit-pause is set. */
export function commitPause(): void {
  const ms = faults().commitPauseMs;
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Throws a plain Error, as a bug in qtool would, when the bug fault is set. */
export function injectBug(): void {
  if (faults().bug) throw new TypeError('injected internal error (QTOOL_TEST_FAULTS=bug)');
}

/** The model size above which written models keep their tensors in a side file, when a test set one. */
export function modelLimitOverride(): number | undefined {
  return faults().modelLimit;
}
