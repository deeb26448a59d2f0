// The recipe a calibration.json describes, for the stages after calibrate:
// the report read and validated (refusing one made for another model), then
// the recipe rebuilt from it (src/quant/recipe.ts).
import type { LoadedModel } from '../onnx/model.js';
import { loadRecipe, type QuantRecipe } from '../quant/recipe.js';
import { readReport } from '../report/io.js';
import { calibrationSchema, type Calibration } from '../report/schemas/calibration.js';

export interface CalibratedModel {
  fp32: LoadedModel;
  calibrationPath: string;
  calibration: Calibration;
  /** Every layer quantized, as calibrate wrote model.int8.onnx. */
  recipe: QuantRecipe;
}

export function loadCalibratedModel(fp32: LoadedModel, calibrationPath: string): CalibratedModel {
  const calibration = readReport(calibrationPath, calibrationSchema, fp32.sha256);
  return { fp32, calibrationPath, calibration, recipe: loadRecipe(fp32.model, calibration, calibrationPath) };
}
