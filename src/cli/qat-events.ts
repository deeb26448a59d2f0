// How qat-finetune's events read on stderr (for qtool qat-finetune and for
// the QAT stage of qtool run).
import chalk from 'chalk';
import type { QatEvent } from '../stages/qat/qat.js';

export function printQatEvent(e: QatEvent): void {
  switch (e.kind) {
    case 'backend':
      process.stderr.write(`qtool: TensorFlow.js backend: ${e.backend}${e.native ? ' (native)' : ' (pure JS)'}; ` +
        `activation fake quant: ${e.fused ? "TensorFlow's fused ops" : 'tfjs ops, bit-exact'}\n`);
      if (!e.native) {
        process.stderr.write(chalk.yellow(`qtool: warning: training on the pure-JS CPU backend, about 80x slower than @tensorflow/tfjs-node${e.fallbackReason ? ` (${e.fallbackReason})` : ''}\n`));
      }
      break;
    case 'epoch':
      // Over the progress bar's line on a terminal.
      process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[2K' : ''}qtool: epoch ${e.epoch}/${e.epochs}: loss ${e.loss.toFixed(4)}` +
        `${e.accuracy === null ? '' : `, ${e.metric} ${e.accuracy.toFixed(2)} %`} (${e.seconds.toFixed(1)} s)\n`);
      break;
    case 'not-resuming':
      process.stderr.write(`qtool: not resuming: ${e.reason}; starting over\n`);
      break;
  }
}
