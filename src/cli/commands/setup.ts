// `qtool setup`: the native TensorFlow step of qtool's install, on demand.
// For an install that skipped it (--ignore-scripts, QTOOL_SKIP_TFJS_NATIVE=1,
// npm's strict allowScripts) or that ran before a TensorFlow wheel or the
// download host was reachable. Exit code 0 when tfjs-node ends up native,
// 1 when QAT stays on pure-JS tfjs.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { action } from '../action.js';

/** scripts/install-tfjs-native.mjs of this qtool (from dist/src/cli/commands/). */
export const NATIVE_STEP = fileURLToPath(new URL('../../../../scripts/install-tfjs-native.mjs', import.meta.url));

export function registerSetup(program: Command): void {
  program
    .command('setup')
    .description('set up the native TensorFlow backend for QAT (what the install does): tfjs-node\'s download, else a TensorFlow wheel from pip, else say why not')
    .action(action(async () => {
      const r = spawnSync(process.execPath, [NATIVE_STEP, '--setup'], { stdio: 'inherit' });
      return r.status === 0 ? 0 : 1;
    }));
}
