// The commit protocol of the output folder: what a stage writes into --out
// appears there as one set, or not at all, and readers can tell.
//
//   1. The stage takes DIR's lock (src/util/lock.ts), checks that DIR is
//      writable (a probe file is created, written and removed), finishes a
//      commit a killed run left half done, and deletes stale temporary files.
//   2. Every artifact is written under a temporary name in DIR and flushed
//      (writeArtifact); later stages in the same process read it there.
//   3. The commit: DIR's manifest (qtool-manifest.json: every file qtool
//      committed in DIR with its SHA-256) is written under a temporary name
//      too, then the journal DIR/.qtool-commit.json, listing every temporary
//      file, its final name and its SHA-256, is written atomically. That is
//      the commit point. Then every temporary file is renamed to its final
//      name, the manifest last, and the journal is deleted.
//
// A run killed before the commit point leaves the previous files untouched
// (and temporary files that the next run deletes); one killed after it
// leaves a journal, and the next run in DIR, or the next reader of a file in
// DIR, finishes the renames (roll forward). Readers check every file they
// use against DIR's manifest and refuse one whose SHA-256 differs, naming it.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { commitPause } from '../util/faults.js';
import { fileError, InputError, systemError } from '../util/errors.js';
import {
  fsyncDir, isStaged, readInputFile, sha256, sha256File, stageFile, TEMP_FILE, unstageFile, writeFileAtomic, writeFileDurable,
} from '../util/files.js';
import { lockFolder } from '../util/lock.js';
import { QTOOL_VERSION } from '../util/version.js';
import {
  commitJournalSchema, manifestSchema, type CommitJournal, type Manifest, type ManifestEntry,
} from './schemas/manifest.js';

export const MANIFEST_FILE = 'qtool-manifest.json';
export const JOURNAL_FILE = '.qtool-commit.json';

/** How long a reader waits for another process's commit to end. */
const COMMIT_WAIT_MS = 10_000;

interface StagedFile {
  /** Final path, absolute. */
  final: string;
  /** The temporary file in the transaction's folder, absolute. */
  temp: string;
  sha256: string;
  bytes: number;
  command: string;
}

interface Transaction {
  id: string;
  /** The output folder, absolute, and as the user named it. */
  root: string;
  label: string;
  /** The commands writing, innermost last (qtool run's stages write inside the run's transaction). */
  commands: string[];
  staged: Map<string, StagedFile>;
  committing: boolean;
  /** The journal is written: from here on the commit is finished, now or by the next run, never undone. */
  journaled: boolean;
}

const active: Transaction[] = [];

// Ctrl-C outside QAT ends the process at once: its uncommitted files go with it.
process.on('exit', () => {
  for (const tx of active) if (!tx.journaled) discard(tx);
});

/** The transaction writing into `dir` (its folder or a subfolder of it), if any. */
function transactionFor(dir: string): Transaction | undefined {
  const abs = resolve(dir);
  return active.find((tx) => abs === tx.root || dirname(abs) === tx.root);
}

/** The first existing ancestor of `dir` that is a file, if any (why a folder cannot be created). */
function fileInTheWay(dir: string): string | undefined {
  for (let p = resolve(dir); p !== dirname(p); p = dirname(p)) {
    try {
      if (!statSync(p).isDirectory()) return p;
      return undefined;
    } catch {
      // does not exist: look further up
    }
  }
  return undefined;
}

/**
 * Makes sure `dir` is a folder qtool can write in: created when missing, and
 * a probe file created, written, flushed and removed. Returns whether it was
 * created. Every failure is one line naming the folder (exit 2).
 */
export function checkOutputFolder(dir: string): boolean {
  let created = false;
  try {
    if (!statSync(dir).isDirectory()) throw fileError(dir, 'is a file, not a folder (the output folder must be a folder)');
  } catch (e) {
    if (e instanceof InputError) throw e;
    const file = fileInTheWay(dir);
    if (file) throw fileError(dir, `cannot create the output folder: ${file} is a file`);
    try {
      mkdirSync(dir, { recursive: true });
      created = true;
    } catch (err) {
      throw systemError(dir, 'create the output folder', err);
    }
  }
  const probe = join(dir, `.qtool-probe.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileDurable(probe, Buffer.alloc(64 << 10), probe);
  } catch (e) {
    rmSync(probe, { force: true });
    if (created) rmEmptyFolder(dir);
    const why = (e as Error).message.replace(/^.*?: cannot write it: /, '');
    throw fileError(dir, `cannot write in the output folder: ${why}`);
  }
  rmSync(probe, { force: true });
  return created;
}

function rmEmptyFolder(dir: string): void {
  try {
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // leave it
  }
}

/**
 * Runs `fn`, a stage writing into `dir` with writeArtifact, as one
 * transaction: DIR locked and checked first, everything written committed as
 * one set when `fn` returns, nothing of it when it throws. Called again for
 * DIR or a subfolder of it while running (qtool run's stages), it joins the
 * transaction under way, which commits once, at its end.
 */
export async function withOutput<T>(dir: string, command: string, fn: () => Promise<T>): Promise<T> {
  const joined = transactionFor(dir);
  if (joined) {
    joined.commands.push(command);
    try {
      return await fn();
    } finally {
      joined.commands.pop();
    }
  }
  const created = checkOutputFolder(dir);
  let lock;
  try {
    lock = lockFolder(dir, `qtool ${command}`);
  } catch (e) {
    if (created) rmEmptyFolder(dir);
    throw e;
  }
  const tx: Transaction = {
    id: randomBytes(4).toString('hex'), root: resolve(dir), label: dir, commands: [command], staged: new Map(), committing: false, journaled: false,
  };
  try {
    settle(tx.root, dir);
    active.push(tx);
    const result = await fn();
    commit(tx);
    return result;
  } catch (e) {
    if (!tx.journaled) discard(tx);
    throw e;
  } finally {
    const i = active.indexOf(tx);
    if (i >= 0) active.splice(i, 1);
    lock.release();
    if (created) rmEmptyFolder(dir);
  }
}

/**
 * Writes one artifact of the stage under way: under a temporary name, read
 * back from there by this process, renamed to `path` when the stage commits.
 */
export function writeArtifact(path: string, data: string | Uint8Array): void {
  const tx = transactionFor(dirname(path));
  if (!tx) throw new Error(`writeArtifact(${path}): not inside withOutput for its folder`);
  const final = resolve(path);
  const rel = relative(tx.root, final);
  const temp = join(tx.root, `${rel.split(sep).join('~')}.${tx.id}.tmp`);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  try {
    writeFileDurable(temp, bytes, path);
  } catch (e) {
    rmSync(temp, { force: true });
    throw e instanceof InputError ? new InputError(`${e.message}; the files in ${tx.label} are unchanged`) : e;
  }
  tx.staged.set(final, { final, temp, sha256: sha256(bytes), bytes: bytes.length, command: tx.commands[tx.commands.length - 1]! });
  stageFile(final, temp);
}

function discard(tx: Transaction): void {
  for (const f of tx.staged.values()) {
    rmSync(f.temp, { force: true });
    unstageFile(f.final);
  }
  tx.staged.clear();
}

/** Commit order: models and other data first, reports next, manifests last. */
const rank = (path: string) => (basename(path) === MANIFEST_FILE ? 2 : path.endsWith('.json') ? 1 : 0);

function commit(tx: Transaction): void {
  if (tx.staged.size === 0) return;
  tx.committing = true;
  const committedAt = new Date().toISOString();
  const files = [...tx.staged.values()];
  // Each folder's manifest: its previous entries, and the files of this commit.
  for (const folder of new Set(files.map((f) => dirname(f.final)))) {
    const previous = readManifest(folder, { lenient: true });
    const entries: Record<string, ManifestEntry> = { ...(previous?.files ?? {}) };
    for (const f of files) {
      if (dirname(f.final) !== folder) continue;
      entries[basename(f.final)] = { sha256: f.sha256, bytes: f.bytes, command: f.command, commit: tx.id, committedAt };
    }
    const manifest: Manifest = manifestSchema.parse({ schema: 'qtool/manifest@1', qtoolVersion: QTOOL_VERSION, files: sortKeys(entries) });
    writeArtifact(join(folder, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
  }
  const all = [...tx.staged.values()].sort((a, b) => rank(a.final) - rank(b.final));
  const journal: CommitJournal = commitJournalSchema.parse({
    schema: 'qtool/commit@1', commit: tx.id, pid: process.pid, command: tx.commands[0],
    files: all.map((f) => ({ path: relative(tx.root, f.final).split(sep).join('/'), temp: relative(tx.root, f.temp), sha256: f.sha256 })),
  });
  commitPause();
  writeFileAtomic(join(tx.root, JOURNAL_FILE), JSON.stringify(journal, null, 2) + '\n');
  tx.journaled = true;
  commitPause();
  finish(tx.root, tx.label, journal, () => undefined);
  for (const f of all) unstageFile(f.final);
  tx.staged.clear();
}

function sortKeys<V>(o: Record<string, V>): Record<string, V> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The renames of a journal, each file checked; then the journal goes. Safe to repeat after a kill. */
function finish(root: string, label: string, journal: CommitJournal, verifyTemp: (temp: string, sha: string, final: string) => void): void {
  const folders = new Set<string>([root]);
  for (const f of journal.files) {
    const final = join(root, f.path);
    const temp = join(root, f.temp);
    folders.add(dirname(final));
    if (existsSync(temp)) {
      verifyTemp(temp, f.sha256, final);
      try {
        mkdirSync(dirname(final), { recursive: true });
        renameSync(temp, final);
      } catch (e) {
        throw systemError(final, 'commit it', e);
      }
      commitPause();
    } else if (!existsSync(final) || sha256File(final) !== f.sha256) {
      throw fileError(final, `the commit in ${join(label, JOURNAL_FILE)} names it, but neither it nor its temporary file holds what was committed; re-run the stage that writes it`);
    }
  }
  for (const d of folders) fsyncDir(d);
  rmSync(join(root, JOURNAL_FILE), { force: true });
  fsyncDir(root);
}

function readJournal(root: string, label: string): CommitJournal | null {
  const path = join(root, JOURNAL_FILE);
  if (!existsSync(path)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readInputFile(path).toString('utf8'));
  } catch (e) {
    if (e instanceof InputError) throw e;
    raw = undefined;
  }
  const r = commitJournalSchema.safeParse(raw);
  if (!r.success) throw fileError(join(label, JOURNAL_FILE), 'not a valid qtool commit journal; delete it and re-run the last stage that wrote into this folder');
  return r.data;
}

/** Finishes a commit a killed run left (the lock held); returns the files it renamed. */
function rollForward(root: string, label: string): number {
  const journal = readJournal(root, label);
  if (!journal) return 0;
  let renamed = 0;
  finish(root, label, journal, (temp, sha, final) => {
    if (sha256File(temp) !== sha) throw fileError(final, `the commit in ${join(label, JOURNAL_FILE)} cannot be finished: its temporary file ${temp} does not hold what was committed`);
    renamed++;
  });
  return renamed;
}

/** With DIR's lock held: an interrupted commit finished, the manifest checked, stale temporary files deleted. */
function settle(root: string, label: string): void {
  rollForward(root, label);
  readManifest(root);
  for (const name of readdirSync(root)) if (TEMP_FILE.test(name)) rmSync(join(root, name), { force: true });
}

/**
 * For a reader of a file in `dir`: when a commit there is under way or was
 * interrupted (a journal in DIR, or in its parent for qtool run's
 * subfolders), waits for it to end, or finishes it when its writer is gone.
 */
export function settleForReading(dir: string): void {
  const root = [resolve(dir), dirname(resolve(dir))].find((d) => existsSync(join(d, JOURNAL_FILE)));
  if (!root || transactionFor(root)?.committing) return;
  const label = root === resolve(dir) ? dir : dirname(dir);
  const deadline = Date.now() + COMMIT_WAIT_MS;
  for (;;) {
    if (!existsSync(join(root, JOURNAL_FILE))) return;
    let lock;
    try {
      lock = lockFolder(root, 'qtool (finishing an interrupted commit)');
    } catch (e) {
      if (e instanceof InputError && / in use by /.test(e.message) && Date.now() < deadline) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
        continue;
      }
      const why = (e as Error).message.replace(/^.*?: /, '');
      throw fileError(label, `holds an unfinished commit (${JOURNAL_FILE}) that cannot be finished now: ${why}`);
    }
    try {
      rollForward(root, label);
      return;
    } finally {
      lock.release();
    }
  }
}

/** DIR's manifest; null when DIR has none (then nothing is checked: folders of earlier versions, files copied by hand). */
export function readManifest(dir: string, opts: { lenient?: boolean } = {}): Manifest | null {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readInputFile(path).toString('utf8'));
  } catch (e) {
    if (e instanceof InputError && !opts.lenient) throw e;
    raw = undefined;
  }
  const r = manifestSchema.safeParse(raw);
  if (r.success) return r.data;
  if (opts.lenient) return null;
  const issue = r.error.issues[0];
  throw fileError(path, `not a valid qtool manifest (${issue.path.join('.') || 'top level'}: ${issue.message}); delete it to use the files in ${dir} unchecked`);
}

/** Why `path` is not the file the manifest records, or null when it is (or the manifest does not list it). */
function mismatch(path: string, manifestPath: string, entry: ManifestEntry, bytes?: Uint8Array): string | null {
  if (!bytes && !existsSync(path)) return `missing; ${manifestPath} lists it (written by qtool ${entry.command}); re-run qtool ${entry.command}`;
  const actual = bytes ? sha256(bytes) : sha256File(path);
  if (actual === entry.sha256) return null;
  return `is not the file qtool ${entry.command} wrote there (its SHA-256 differs from the one ${manifestPath} records): ` +
    `changed since, or part of a mixed set; re-run qtool ${entry.command}`;
}

function checkAgainstManifest(path: string, bytes?: Uint8Array): void {
  if (isStaged(path)) return; // written by this process, not yet committed
  const dir = dirname(path);
  const manifest = readManifest(dir);
  const entry = manifest?.files[basename(path)];
  if (!entry) return;
  const why = mismatch(path, join(dir, MANIFEST_FILE), entry, bytes);
  if (why) throw fileError(path, why);
}

/**
 * Reads an artifact and checks it against its folder's manifest: a file
 * changed since qtool wrote it, or one of a mixed set, is refused with one
 * line naming it (exit 2). `inspect` sees the bytes first (a schema check
 * names a bad value more precisely than a hash does). Waits for (or
 * finishes) a commit in progress.
 */
export function readArtifact(path: string, inspect: (bytes: Buffer) => void = () => undefined): Buffer {
  settleForReading(dirname(path));
  const bytes = readInputFile(path);
  inspect(bytes);
  try {
    checkAgainstManifest(path, bytes);
  } catch (e) {
    // A commit may have started between the read and the check: read again once it is done.
    if (!existsSync(join(dirname(path), JOURNAL_FILE))) throw e;
    settleForReading(dirname(path));
    const again = readInputFile(path);
    inspect(again);
    checkAgainstManifest(path, again);
    return again;
  }
  return bytes;
}

/** Checks every file DIR's manifest lists, except `except` (file names): present, with its recorded SHA-256. */
export function verifyFolder(dir: string, except: string[] = []): void {
  settleForReading(dir);
  const manifest = readManifest(dir);
  if (!manifest) return;
  for (const [name, entry] of Object.entries(manifest.files)) {
    if (except.includes(name)) continue;
    const path = join(dir, name);
    const why = mismatch(path, join(dir, MANIFEST_FILE), entry);
    if (why) throw fileError(path, why);
  }
}
