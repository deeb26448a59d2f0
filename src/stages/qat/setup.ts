// qat-finetune's inputs, all read and checked before TensorFlow loads (it
// logs to stderr): the options, the recipe with partial's float layers, the
// training data, and the samples that accuracy and parity are measured on.
import { loadModel, opsetVersion, type LoadedModel } from '../../onnx/model.js';
import { loadModelDataset, type Dataset } from '../../data/dataset.js';
import { labelsFor } from '../../data/labels.js';
import { withFloatLayers, type QuantRecipe } from '../../quant/recipe.js';
import { readReport } from '../../report/io.js';
import { partialReportSchema } from '../../report/schemas/partial.js';
import type { Calibration } from '../../report/schemas/calibration.js';
import { fileError, InputError } from '../../util/errors.js';
import { listOr } from '../../config/options.js';
import { OPTIMIZERS } from '../../config/options/qat.js';
import { loadCalibratedModel } from '../load-recipe.js';
import { checkNodes, UnsupportedOpError } from '../../qat/ops/index.js';
import type { QatInputs, QatOptions } from './qat.js';

/** Without --eval, parity is measured on the first this many training samples. */
const PARITY_SAMPLES = 1000;

export interface QatSetup {
  fp32: LoadedModel;
  calibration: Calibration;
  /** What QAT trains: the calibrated recipe with partial's float layers. */
  recipe: QuantRecipe;
  trainDs: Dataset;
  trainY?: Int32Array;
  /** Where trainY comes from: --train-labels, or the training folder's classes. */
  trainLabelsPath?: string;
  evalDs?: Dataset;
  evalY?: Int32Array;
  /** The samples accuracy and parity are measured on: the eval data, else the first training samples. */
  parity: { ds: Dataset; labels?: Int32Array; labelsPath?: string; count: number; batch: number };
}

function checkQatOptions(inputs: QatInputs, opts: QatOptions): void {
  if (inputs.trainLabels && inputs.distill) throw new InputError('give at most one of --train-labels Y and --distill');
  if (opts.baseLr !== undefined && opts.lr !== undefined) throw new InputError('give at most one of --base-lr and --lr');
  const positive = (flag: string, v: number | undefined, integer: boolean) => {
    if (v === undefined) return;
    if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
      throw new InputError(`${flag} takes a positive ${integer ? 'whole number' : 'number'}, got ${v}`);
    }
  };
  positive('--epochs', opts.epochs, true);
  positive('--batch-size', opts.batchSize, true);
  positive('--base-lr', opts.baseLr, false);
  positive('--lr', opts.lr, false);
  if (!OPTIMIZERS.includes(opts.optimizer)) throw new InputError(`--optimizer: expected ${listOr(OPTIMIZERS)}, got '${String(opts.optimizer)}'`);
  // --eval without --labels measures agreement with FP32 on it, as the other stages do.
  if (inputs.labels && !inputs.eval) throw new InputError('--labels goes with --eval');
  if (opts.maxDrop !== undefined && (!Number.isFinite(opts.maxDrop) || opts.maxDrop < 0)) {
    throw new InputError(`--max-drop takes accuracy points >= 0, got ${opts.maxDrop}`);
  }
}

/** partial.json's float layers, each one a layer the calibration quantizes. */
function floatLayersOf(path: string | undefined, fp32: LoadedModel, recipe: QuantRecipe): string[] {
  if (!path) return [];
  const p = readReport(path, partialReportSchema, fp32.sha256);
  const names = new Set(recipe.full.layers.map((l) => l.name));
  const unknown = p.floatLayers.find((l) => !names.has(l));
  if (unknown !== undefined) throw fileError(path, `lists float layer '${unknown}', which this model's calibration does not quantize`);
  return p.floatLayers;
}

/**
 * Every op of the graph QAT trains is one the TensorFlow.js executor runs
 * (If, Loop and Scan are not: their bodies would need an executor of their
 * own); refused in one line naming the op, before TensorFlow loads.
 */
function checkTrainable(fp32: LoadedModel, recipe: QuantRecipe): void {
  try {
    checkNodes(recipe.model.graph?.node ?? [], opsetVersion(recipe.model));
  } catch (e) {
    if (e instanceof UnsupportedOpError) throw fileError(fp32.path, `qat-finetune cannot train this model: ${e.message}`);
    throw e;
  }
}

export function qatSetup(inputs: QatInputs, opts: QatOptions): QatSetup {
  checkQatOptions(inputs, opts);
  const fp32 = loadModel(inputs.model);
  const { calibration, recipe: full } = loadCalibratedModel(fp32, inputs.calibration);
  const floatLayers = floatLayersOf(inputs.partial, fp32, full);
  const recipe = floatLayers.length ? withFloatLayers(full, floatLayers) : full;
  checkTrainable(fp32, recipe);

  const trainDs = loadModelDataset(inputs.train, fp32.model.graph!, inputs.source);
  // An image folder's classes are its labels; --distill trains against FP32 instead.
  const train = inputs.distill ? {} : labelsFor(trainDs, inputs.trainLabels);
  if (!inputs.distill && !train.labels) throw new InputError(`give --train-labels Y or --distill (${trainDs.path} has no labels of its own)`);
  const trainY = train.labels;
  const evalDs = inputs.eval ? loadModelDataset(inputs.eval, fp32.model.graph!, inputs.source) : undefined;
  const evalLabels = evalDs ? labelsFor(evalDs, inputs.labels) : {};
  const evalY = evalLabels.labels;
  if (trainDs.fixedBatch !== undefined && trainDs.fixedBatch !== opts.batchSize) {
    throw new InputError(`the model needs batches of exactly ${trainDs.fixedBatch}; pass --batch-size ${trainDs.fixedBatch}`);
  }
  if (Math.floor(trainDs.count / opts.batchSize) < 1) {
    throw fileError(trainDs.path, `${trainDs.count} samples make no batch of ${opts.batchSize}; lower --batch-size`);
  }
  const ds = evalDs ?? trainDs;
  const count = evalDs ? evalDs.count : Math.min(trainDs.count, PARITY_SAMPLES);
  if (ds.fixedBatch !== undefined && count % ds.fixedBatch !== 0) {
    throw fileError(ds.path, `${count} samples are not whole batches of ${ds.fixedBatch}`);
  }
  // Twice the training batch: a forward pass keeps every intermediate until the batch ends (100 lines of PP-OCRv4's recognizer took 19 GB).
  const batch = ds.fixedBatch ?? trainDs.fixedBatch ?? 2 * opts.batchSize;
  const parity = evalDs
    ? { ds, labels: evalY, labelsPath: evalLabels.path, count, batch }
    : { ds, labels: trainY, labelsPath: train.path, count, batch };
  return { fp32, calibration, recipe, trainDs, trainY, trainLabelsPath: train.path, evalDs, evalY, parity };
}
