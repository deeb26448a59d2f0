// Ctrl-C for commands that train. The first one asks the work to stop through
// its AbortSignal (QAT stops after the current step and keeps its last
// epoch's checkpoint); a second one, or one while `graceful()` says the work
// cannot stop cleanly, quits at once (every write is an atomic rename). An
// interrupted QAT prints where its checkpoint is and exits 130.
import chalk from 'chalk';
import { QatInterruptedError } from '../stages/qat/qat.js';

export async function interruptible<R>(work: (signal: AbortSignal) => Promise<R>, graceful: () => boolean = () => true): Promise<{ done: R } | { exitCode: number }> {
  const stop = new AbortController();
  const onSigint = () => (graceful() && !stop.signal.aborted ? stop.abort() : process.exit(130));
  process.on('SIGINT', onSigint);
  try {
    return { done: await work(stop.signal) };
  } catch (e) {
    if (!(e instanceof QatInterruptedError)) throw e;
    process.stderr.write(`${chalk.yellow('qtool:')} ${e.message}\n`);
    return { exitCode: e.exitCode };
  } finally {
    process.off('SIGINT', onSigint);
  }
}
