// The arithmetic of Resize along one axis, without tfjs: for every output
// index, which input indices it reads and with which weights. Resize is
// separable, so resize.ts applies these taps axis by axis as gathers and
// multiply-adds, which tfjs differentiates (gather's gradient scatters back).
//
// Semantics are ONNX Runtime's where the ONNX reference differs: coordinates
// are computed in float32 (in float64, 3 / 0.33333334 falls just below 9 and
// nearest 'floor' picks another pixel), align_corners divides by the integer
// output length minus one (ONNX 1.12's reference used the fractional one when
// downsampling), pytorch_half_pixel maps a length-1 output to 0, and cubic
// interpolation takes floor(x) and x - floor(x) (the same values as the
// reference's (0, 1] ratio).

export type CoordinateMode = 'half_pixel' | 'pytorch_half_pixel' | 'align_corners' | 'asymmetric' | 'tf_half_pixel_for_nn' | 'tf_crop_and_resize';
/** 'simple' is Resize-10's and Upsample's rounding: ceil when downsampling, else floor. */
export type NearestMode = 'round_prefer_floor' | 'round_prefer_ceil' | 'floor' | 'ceil' | 'simple';
export type InterpolationMode = 'nearest' | 'linear' | 'cubic';

export const COORDINATE_MODES: readonly CoordinateMode[] = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nn', 'tf_crop_and_resize'];
export const NEAREST_MODES: readonly NearestMode[] = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];

export interface AxisResize {
  inLen: number;
  outLen: number;
  scale: number;
  /** Region of interest (tf_crop_and_resize), as fractions of the input. */
  roiStart: number;
  roiEnd: number;
}

export interface ResizeSettings {
  mode: InterpolationMode;
  coordinate: CoordinateMode;
  nearest: NearestMode;
  cubicA: number;
  excludeOutside: boolean;
}

/** Input positions read by each output index: one tap (nearest), two (linear) or four (cubic). */
export interface Taps {
  indices: Int32Array[];
  /** Per tap and output index; undefined for nearest (weight 1). */
  weights?: Float32Array[];
  /** Output indices whose source lies outside the input (tf_crop_and_resize: extrapolation_value). */
  outside?: Uint8Array;
}

const f = Math.fround;

/** The input coordinate that output index `x` maps to, rounded as float32 arithmetic rounds it. */
export function sourceCoordinate(mode: CoordinateMode, x: number, a: AxisResize): number {
  const { inLen, outLen } = a;
  const scale = f(a.scale);
  switch (mode) {
    case 'half_pixel': return f(f(f(x + 0.5) / scale) - 0.5);
    case 'pytorch_half_pixel': return outLen > 1 ? f(f(f(x + 0.5) / scale) - 0.5) : 0;
    case 'align_corners': return outLen > 1 ? f((x * (inLen - 1)) / (outLen - 1)) : 0;
    case 'asymmetric': return f(x / scale);
    case 'tf_half_pixel_for_nn': return f(f(x + 0.5) / scale);
    case 'tf_crop_and_resize': {
      const [start, end] = [f(a.roiStart), f(a.roiEnd)];
      return outLen > 1
        ? f(f(start * (inLen - 1)) + f(f(f(x * f(end - start)) * (inLen - 1)) / (outLen - 1)))
        : f(f(f(0.5 * f(start + end))) * (inLen - 1));
    }
  }
}

function nearestIndex(mode: NearestMode, x: number, scale: number): number {
  const fl = Math.floor(x);
  switch (mode) {
    case 'round_prefer_floor': return x - fl <= 0.5 ? fl : fl + 1;
    case 'round_prefer_ceil': return x - fl < 0.5 ? fl : fl + 1;
    case 'floor': return fl;
    case 'ceil': return Math.ceil(x);
    case 'simple': return scale < 1 ? Math.ceil(x) : fl;
  }
}

/** Keys' cubic convolution kernel with parameter A at distance d. */
function cubicWeight(d: number, A: number): number {
  const s = Math.abs(d);
  if (s <= 1) return ((A + 2) * s - (A + 3)) * s * s + 1;
  if (s < 2) return ((A * s - 5 * A) * s + 8 * A) * s - 4 * A;
  return 0;
}

const clampIndex = (i: number, n: number): number => (i < 0 ? 0 : i >= n ? n - 1 : i);

/** The taps of one axis. */
export function axisTaps(s: ResizeSettings, a: AxisResize): Taps {
  const { inLen, outLen } = a;
  const offsets = s.mode === 'nearest' ? [0] : s.mode === 'linear' ? [0, 1] : [-1, 0, 1, 2];
  const indices = offsets.map(() => new Int32Array(outLen));
  const weights = s.mode === 'nearest' ? undefined : offsets.map(() => new Float32Array(outLen));
  const outside = s.coordinate === 'tf_crop_and_resize' ? new Uint8Array(outLen) : undefined;
  for (let x = 0; x < outLen; x++) {
    const src = sourceCoordinate(s.coordinate, x, a);
    if (outside && (src < 0 || src > inLen - 1)) outside[x] = 1;
    if (!weights) {
      indices[0]![x] = clampIndex(nearestIndex(s.nearest, src, a.scale), inLen);
      continue;
    }
    const base = Math.floor(src);
    const r = src - base;
    const w = s.mode === 'linear' ? [1 - r, r] : offsets.map((o) => cubicWeight(o - r, s.cubicA));
    if (s.excludeOutside) {
      offsets.forEach((o, k) => { if (base + o < 0 || base + o >= inLen) w[k] = 0; });
      const sum = w.reduce((p, q) => p + q, 0);
      if (sum !== 0) for (let k = 0; k < w.length; k++) w[k] = w[k]! / sum;
    }
    offsets.forEach((o, k) => {
      indices[k]![x] = clampIndex(base + o, inLen);
      weights[k]![x] = w[k]!;
    });
  }
  return { indices, weights, outside };
}
