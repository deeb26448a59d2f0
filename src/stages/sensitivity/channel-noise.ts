// Noise of one tensor against its reference, per channel, summed over batches.

/** Below this a channel's noise-to-signal ratio counts as exact (120 dB). */
const NSR_FLOOR = 1e-12;

/**
 * Signal and noise power per channel. The summary averages the channels'
 * noise-to-signal ratios geometrically (their SQNRs in dB), so that one
 * outlier channel holding most of the energy cannot hide what quantization
 * does to the others.
 */
export class ChannelNoise {
  private signal = new Float64Array(0);
  private noise = new Float64Array(0);

  /** Adds one batch's per-channel sums of ref^2 and (ref - test)^2. */
  addSums(signal: ArrayLike<number>, noise: ArrayLike<number>): void {
    if (this.signal.length !== signal.length) {
      if (this.signal.length) throw new Error(`ChannelNoise: ${signal.length} channels after ${this.signal.length}`);
      this.signal = new Float64Array(signal.length);
      this.noise = new Float64Array(signal.length);
    }
    for (let c = 0; c < signal.length; c++) {
      this.signal[c] += signal[c];
      this.noise[c] += noise[c];
    }
  }

  /** Noise-to-signal power ratio, averaged over the channels that carry signal; 0 when identical. */
  get nsr(): number {
    let logSum = 0;
    let counted = 0;
    let anyNoise = false;
    for (let c = 0; c < this.signal.length; c++) {
      if (this.noise[c] > 0) anyNoise = true;
      if (!(this.signal[c] > 0)) continue;
      logSum += Math.log(Math.max(NSR_FLOOR, this.noise[c] / this.signal[c]));
      counted++;
    }
    if (!anyNoise) return 0;
    return counted ? Math.exp(logSum / counted) : Infinity;
  }
}

/** SQNR in dB from a noise-to-signal ratio; null for none (identical). */
export const nsrToDb = (nsr: number): number | null => (nsr > 0 ? -10 * Math.log10(nsr) : null);
