// One qtool process at a time in an output folder: DIR/.qtool.lock holds the
// pid, host and start time of the process that writes there. A second run
// refuses (exit 2) while that process lives; a lock left by a process that is
// gone (killed, crashed, machine restarted) is stale and taken over.
import { linkSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileError, systemError } from './errors.js';
import { tempNameFor } from './files.js';

export const LOCK_FILE = '.qtool.lock';

interface LockInfo {
  pid: number;
  host: string;
  /** The process's start time in clock ticks since boot (Linux), so that a reused pid is not taken for the holder. */
  startTicks: string | null;
  since: string;
  command: string;
}

/** A lock without a readable holder (a process killed while creating it) is stale after this long. */
const UNREADABLE_STALE_MS = 10_000;

function startTicks(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function readHolder(path: string): LockInfo | null {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockInfo>;
    return typeof v.pid === 'number' && typeof v.host === 'string' ? { startTicks: null, since: '?', command: '?', ...v } as LockInfo : null;
  } catch {
    return null;
  }
}

/** Whether the holder still runs; a holder on another host cannot be checked and counts as alive. */
function alive(h: LockInfo): boolean {
  if (h.host !== hostname()) return true;
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const now = startTicks(h.pid);
  return !(h.startTicks && now && now !== h.startTicks);
}

const same = (a: LockInfo | null, b: LockInfo | null) => !!a && !!b && a.pid === b.pid && a.host === b.host && a.since === b.since;

const held = new Map<string, { info: LockInfo; count: number }>();

process.on('exit', () => {
  for (const path of held.keys()) releasePath(path);
});

function releasePath(path: string): void {
  const mine = held.get(path);
  held.delete(path);
  if (mine && same(readHolder(path), mine.info)) rmSync(path, { force: true });
}

export interface FolderLock {
  release(): void;
}

/**
 * Takes DIR's lock for this process (again, when it holds it already), or
 * refuses with one line naming the process that holds it.
 */
export function lockFolder(dir: string, command: string): FolderLock {
  const path = join(dir, LOCK_FILE);
  const mine = held.get(path);
  if (mine) {
    mine.count++;
    return { release: () => { if (--mine.count === 0) releasePath(path); } };
  }
  const info: LockInfo = { pid: process.pid, host: hostname(), startTicks: startTicks(process.pid), since: new Date().toISOString(), command };
  for (let attempt = 0; attempt < 5; attempt++) {
    // Written whole under a temporary name, then linked: the lock file never exists half written.
    const tmp = tempNameFor(path);
    try {
      writeFileSync(tmp, JSON.stringify(info) + '\n');
      linkSync(tmp, path);
      held.set(path, { info, count: 1 });
      const entry = held.get(path)!;
      return { release: () => { if (--entry.count === 0) releasePath(path); } };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // ENOENT: the run holding the lock deleted our temporary file as a stale one; try again.
      if (code === 'ENOENT' && attempt < 4) continue;
      if (code !== 'EEXIST') throw systemError(dir, 'lock the folder for writing', e);
    } finally {
      rmSync(tmp, { force: true });
    }
    const holder = readHolder(path);
    if (holder ? alive(holder) : ageMs(path) < UNREADABLE_STALE_MS) {
      const who = holder ? `pid ${holder.pid}${holder.host !== info.host ? ` on ${holder.host}` : ''}, ${holder.command}, since ${holder.since}` : 'a process that is starting';
      throw fileError(dir, `in use by another qtool run (${who}); wait for it to end or use another --out (if no qtool runs there, delete ${path})`);
    }
    breakStale(path, holder);
  }
  throw fileError(dir, `cannot take the folder's lock ${path}: other qtool runs keep taking it`);
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return Infinity;
  }
}

/** Moves a stale lock aside; should another process have replaced it in the meantime, puts that one back. */
function breakStale(path: string, stale: LockInfo | null): void {
  const aside = tempNameFor(`${path}.stale`);
  try {
    renameSync(path, aside);
  } catch {
    return; // gone already: another run broke it first
  }
  const moved = readHolder(aside);
  if (stale ? !same(moved, stale) : moved !== null) {
    try {
      linkSync(aside, path);
    } catch {
      // someone holds a newer lock; the next attempt sees it
    }
  }
  rmSync(aside, { force: true });
}
