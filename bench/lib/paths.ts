// Where the benchmarks find the repository and put their files.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root, whether running from bench/lib or dist/bench/lib. */
export const repoRoot = existsSync(join(here, '..', '..', 'package.json')) ? resolve(here, '..', '..') : resolve(here, '..', '..', '..');

/** bench/out/ (gitignored), created on first use. */
export function benchOut(): string {
  const dir = join(repoRoot, 'bench', 'out');
  mkdirSync(dir, { recursive: true });
  return dir;
}
