// The benchmark model and data: torchvision's ResNet-18 layout (BatchNorm folded
// into Conv biases) at 112x112, random He-scaled weights from a seeded PRNG,
// and seeded N(0,1) calibration images. Files are written under bench/out/ on
// demand; `node dist/bench/models/resnet18.js` (re)builds and checks them.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { onnx } from '../../src/onnx/proto/onnx.js';
import { makeTensor } from '../../src/onnx/tensor.js';
import { createSession, ort } from '../../src/runtime/session.js';
import { fillNormal, mulberry32, type Rng } from '../../test/lib/random.js';
import { writeNpy } from '../../test/lib/npy-write.js';
import { saveModel } from '../../test/lib/save-model.js';
import { benchOut } from '../lib/paths.js';

export const IMAGE = 112;
export const CLASSES = 1000;
const MODEL_SEED = 18;
const DATA_SEED = 2024;
/**
 * Scale of each block's second conv. He init keeps the branch at the input's
 * scale, so without it every residual Add grows activations by ~sqrt(2), 2^4x
 * over 8 blocks; 0.5 keeps every stage's activations near unit scale.
 */
const RESIDUAL_GAIN = 0.5;

const A = onnx.AttributeProto.AttributeType;
const ints = (name: string, v: number[]) => onnx.AttributeProto.create({ name, type: A.INTS, ints: v });
const int = (name: string, v: number) => onnx.AttributeProto.create({ name, type: A.INT, i: v });

class GraphBuilder {
  nodes: onnx.NodeProto[] = [];
  inits: onnx.TensorProto[] = [];
  constructor(private rng: Rng) {}

  node(op: string, name: string, inputs: string[], attrs: onnx.AttributeProto[] = []): string {
    const out = `${name}.out`;
    this.nodes.push(onnx.NodeProto.create({ op_type: op, name, input: inputs, output: [out], attribute: attrs }));
    return out;
  }

  param(name: string, dims: number[], std: number): string {
    const data = fillNormal(new Float32Array(dims.reduce((a, b) => a * b, 1)), this.rng, std);
    this.inits.push(makeTensor(name, 'float32', dims, data));
    return name;
  }

  /** Conv with a bias (the folded BatchNorm); He-normal weights times `gain`. */
  conv(name: string, x: string, cin: number, cout: number, k: number, stride: number, gain = 1): string {
    const w = this.param(`${name}.weight`, [cout, cin, k, k], gain * Math.sqrt(2 / (cin * k * k)));
    const b = this.param(`${name}.bias`, [cout], 0.05);
    const p = (k - 1) >> 1;
    return this.node('Conv', name, [x, w, b], [ints('kernel_shape', [k, k]), ints('strides', [stride, stride]), ints('pads', [p, p, p, p])]);
  }

  relu(name: string, x: string): string {
    return this.node('Relu', name, [x]);
  }

  basicBlock(name: string, x: string, cin: number, cout: number, stride: number): string {
    let y = this.relu(`${name}.relu1`, this.conv(`${name}.conv1`, x, cin, cout, 3, stride));
    y = this.conv(`${name}.conv2`, y, cout, cout, 3, 1, RESIDUAL_GAIN);
    const skip = stride !== 1 || cin !== cout ? this.conv(`${name}.downsample`, x, cin, cout, 1, stride) : x;
    return this.relu(`${name}.relu2`, this.node('Add', `${name}.add`, [y, skip]));
  }
}

function valueInfo(name: string, dims: (number | string)[]): onnx.ValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d }));
  return onnx.ValueInfoProto.create({
    name,
    type: { tensor_type: { elem_type: onnx.TensorProto.DataType.FLOAT, shape: { dim } } },
  });
}

export function buildResnet18(seed = MODEL_SEED): onnx.ModelProto {
  const g = new GraphBuilder(mulberry32(seed));
  let x = g.relu('relu', g.conv('conv1', 'input', 3, 64, 7, 2));
  x = g.node('MaxPool', 'maxpool', [x], [ints('kernel_shape', [3, 3]), ints('strides', [2, 2]), ints('pads', [1, 1, 1, 1])]);
  let cin = 64;
  [64, 128, 256, 512].forEach((cout, i) => {
    x = g.basicBlock(`layer${i + 1}.0`, x, cin, cout, i === 0 ? 1 : 2);
    x = g.basicBlock(`layer${i + 1}.1`, x, cout, cout, 1);
    cin = cout;
  });
  x = g.node('Flatten', 'flatten', [g.node('GlobalAveragePool', 'avgpool', [x])], [int('axis', 1)]);
  const w = g.param('fc.weight', [CLASSES, 512], Math.sqrt(1 / 512));
  const b = g.param('fc.bias', [CLASSES], 0.05);
  g.nodes.push(onnx.NodeProto.create({
    op_type: 'Gemm', name: 'fc', input: [x, w, b], output: ['logits'], attribute: [int('transB', 1)],
  }));
  return onnx.ModelProto.create({
    ir_version: 8,
    producer_name: 'qtool-bench',
    opset_import: [{ domain: '', version: 17 }],
    graph: onnx.GraphProto.create({
      name: 'resnet18',
      node: g.nodes,
      initializer: g.inits,
      input: [valueInfo('input', ['batch', 3, IMAGE, IMAGE])],
      output: [valueInfo('logits', ['batch', CLASSES])],
    }),
  });
}

export const modelPath = (): string => join(benchOut(), 'resnet18.onnx');
export const dataPath = (images: number): string => join(benchOut(), `calib-${images}.npy`);

/** bench/out/resnet18.onnx, built if missing. */
export function ensureModel(): string {
  const path = modelPath();
  if (!existsSync(path)) saveModel(buildResnet18(), path);
  return path;
}

/** bench/out/calib-N.npy: N seeded N(0,1) images [N,3,112,112], written if missing. */
export function ensureData(images: number): string {
  const path = dataPath(images);
  if (!existsSync(path)) {
    const data = fillNormal(new Float32Array(images * 3 * IMAGE * IMAGE), mulberry32(DATA_SEED + images));
    writeNpy(path, { dtype: 'float32', shape: [images, 3, IMAGE, IMAGE], data });
  }
  return path;
}

/** Loads the model in onnxruntime-node and runs one small batch; returns the logits' spread. */
export async function checkModel(path: string): Promise<{ outputDims: readonly number[]; logitStd: number }> {
  const { readFileSync } = await import('node:fs');
  const session = await createSession(readFileSync(path), path);
  const n = 2;
  const x = fillNormal(new Float32Array(n * 3 * IMAGE * IMAGE), mulberry32(1));
  const out = await session.run({ input: new ort.Tensor('float32', x, [n, 3, IMAGE, IMAGE]) });
  const y = out.logits!.data as Float32Array;
  let s = 0;
  for (const v of y) s += v * v;
  await session.release();
  return { outputDims: out.logits!.dims, logitStd: Math.sqrt(s / y.length) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const path = modelPath();
  saveModel(buildResnet18(), path);
  const check = await checkModel(path);
  console.log(`${path}: loads in onnxruntime-node ${ort.env.versions.common}; logits [${check.outputDims}] rms ${check.logitStd.toFixed(3)}`);
  for (const n of process.argv.slice(2).map(Number).filter((v) => v > 0)) console.log(ensureData(n));
}
