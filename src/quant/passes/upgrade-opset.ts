// The recipe's first pass: a model below opset 13 (paddle2onnx, older
// PyTorch and tf2onnx exports at 9 to 12) is raised to 13, the first opset
// with per-channel QuantizeLinear/DequantizeLinear, before anything reads
// its graph (src/onnx/opset/). A model at 13 or above is left as it is.
import { upgradeOpset } from '../../onnx/opset/upgrade.js';
import { NO_PARAMS, type NoParams, type QuantPass } from './pass.js';

/** Always applied; its effect is empty for a model at opset 13 or above. */
export const upgradeOpsetPass: QuantPass<NoParams> = {
  name: 'upgrade-opset',
  always: true,
  params: NO_PARAMS,
  apply(model) {
    const { model: upgraded, upgrade } = upgradeOpset(model);
    // Only lists in an effect that changed nothing: a calibration.json from before this pass still loads.
    return { model: upgraded, effect: upgrade ? { ...upgrade } : { rewritten: [] } };
  },
};
