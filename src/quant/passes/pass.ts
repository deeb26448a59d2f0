// A pass of the quantization recipe: a graph or weight transform applied to
// the FP32 model before calibration (BatchNorm folding, the GELU cap,
// cross-layer equalization, bias correction, SmoothQuant). Each pass is one
// file that exports a QuantPass, registered in passes/index.ts. What a pass
// did is recorded in calibration.json (name, parameters, effect), and every
// later stage replays the passes and checks that they still have that effect.
import { z } from 'zod';
import type { Model } from '../../onnx/model.js';
import type { Dataset } from '../../data/dataset.js';
import type { ProgressFactory } from '../../util/progress.js';

export interface PassRecord {
  name: string;
  params: Record<string, unknown>;
  /** What the pass changed (e.g. the nodes it folded): the same inputs must give the same effect. */
  effect: Record<string, unknown>;
}

export interface PassOutcome {
  /** The transformed model; the input model itself when the pass changed nothing. */
  model: Model;
  effect: Record<string, unknown>;
}

export interface QuantPass<P extends Record<string, unknown> = Record<string, unknown>> {
  readonly name: string;
  /** Applied whether asked for or not (BatchNorm folding); the others only when requested. */
  readonly always: boolean;
  /** Checks the parameters, from a command line, a config or a calibration.json. */
  readonly params: z.ZodType<P>;
  apply(model: Model, params: P): PassOutcome;
  /**
   * A data-driven pass (bias correction, SmoothQuant): computes its
   * parameters from the calibration data on the model the earlier passes
   * left, starting from the requested ones (e.g. SmoothQuant's alpha). The
   * result is what gets recorded, so `apply` stays a pure replay for every
   * later stage. Only calibrate fits; a replay with unfitted parameters is
   * refused by `apply`.
   */
  fit?(model: Model, requested: P, data: FitContext): Promise<P>;
  /**
   * The model with the pass's change undone for `layers`, which stay float: only
   * a pass that changes a layer's FP32 function to make up for its quantization
   * has one (bias correction). Passes that keep the FP32 function (BatchNorm
   * folding, equalization, SmoothQuant) need none; the GELU cap is a choice for
   * the whole model, not per layer. Keeps `model`'s node objects: a plan points at them.
   */
  keepFloat?(model: Model, params: P, layers: ReadonlySet<string>): Model;
  /** One line on what a run of the pass did, for calibrate's summary; none for passes that always run. */
  describe?(record: { params: P; effect: Record<string, unknown> }): string;
}

/** What a data-driven pass may use: the calibration data and the recipe's weight quantizer. */
export interface FitContext {
  data: Dataset;
  batchSize: number;
  /** The recipe's weight granularity (bias correction uses the recipe's own quantizer). */
  perChannel: boolean;
  progress?: ProgressFactory;
}

/** A request for a pass, as calibrate's options give it. */
export interface PassSpec {
  name: string;
  params: Record<string, unknown>;
}

/** The parameters of a pass that takes none. */
export type NoParams = Record<string, never>;
export const NO_PARAMS = z.object({}).strict() as unknown as z.ZodType<NoParams>;
