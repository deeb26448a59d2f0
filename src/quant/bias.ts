// Bias of a quantized Conv/Gemm: int32 with scale input_scale * weight_scale
// and zero point 0, as ONNX Runtime's integer kernels expect.

export function quantizeBias(bias: Float32Array, inputScale: number, weightScales: Float32Array): { q: Int32Array; scales: Float32Array } {
  const q = new Int32Array(bias.length);
  const scales = new Float32Array(bias.length);
  for (let c = 0; c < bias.length; c++) {
    const s = Math.fround(inputScale * weightScales[weightScales.length === 1 ? 0 : c]);
    scales[c] = s;
    const v = Math.round(bias[c] / s);
    q[c] = Math.max(-2147483648, Math.min(2147483647, v));
  }
  return { q, scales };
}
