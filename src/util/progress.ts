// Progress bars on stderr. cli-progress draws nothing when stderr is not a
// terminal, so CI logs and --json output stay clean.
import cliProgress from 'cli-progress';

export interface Progress {
  /** Advance by `n` units; `info` is shown after the counters. */
  tick(n?: number, info?: string): void;
  stop(): void;
}

export function progressBar(label: string, total: number, unit = 'samples'): Progress {
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label.padEnd(18)} {bar} {value}/{total} ${unit} | {duration_formatted} elapsed, ETA {eta_formatted} {info}`,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { info: '' });
  return {
    tick(n = 1, info = '') { bar.increment(n, { info }); },
    stop() { bar.stop(); },
  };
}
