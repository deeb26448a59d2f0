// Where the sensitivity proxy's time and memory go: one graph per process
// (run it under /usr/bin/time -v for its peak RSS), timed as building the
// graph, creating the session and session.run over the same samples. GRAPH:
// fp32 (the model alone), qdq (the fully quantized model alone) or proxy (what
// runProxy builds: qdq, float shadows and probes).
// Usage: node dist/bench/proxy-profile.js MODEL CALIBRATION DATA fp32|qdq|proxy [SAMPLES] [BATCH]
// Prints one JSON line.
import { encodeModel, loadModel, type Model } from '../src/onnx/model.js';
import { loadModelDataset } from '../src/data/dataset.js';
import { batchFeeds, batchRanges } from '../src/data/batches.js';
import { buildRecipeModel } from '../src/quant/recipe.js';
import { createSession, ort } from '../src/runtime/session.js';
import { loadCalibratedModel } from '../src/stages/load-recipe.js';
import { proxyGraph } from '../src/stages/sensitivity/proxy.js';

const [modelPath, calPath, dataPath, variant, samplesArg, batchArg] = process.argv.slice(2);
const samples = Number(samplesArg ?? 64);
const batch = Number(batchArg ?? 32);
const fp32 = loadModel(modelPath!);
const { recipe } = loadCalibratedModel(fp32, calPath!);
const ds = loadModelDataset(dataPath!, fp32.model.graph!);
const t0 = performance.now();
let model: Model;
let names: string[] | undefined;
if (variant === 'fp32') model = fp32.model;
else if (variant === 'qdq') model = buildRecipeModel(recipe);
else if (variant === 'proxy') {
  const g = proxyGraph(recipe, buildRecipeModel(recipe));
  model = g.model;
  names = g.sums.flatMap((s) => [s.signal, s.noise]);
} else throw new Error(`unknown graph '${variant}': fp32, qdq or proxy`);
const bytes = encodeModel(model);
const t1 = performance.now();
const session = await createSession(bytes, variant!);
const t2 = performance.now();
for (const { start, size } of batchRanges(Math.min(samples, ds.count), batch, ds.fixedBatch)) {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, f] of Object.entries(batchFeeds(ds, start, size))) {
    feeds[name] = new ort.Tensor(f.type as ort.Tensor.Type, f.data as ort.Tensor.DataType, f.dims);
  }
  await (names ? session.run(feeds, names) : session.run(feeds));
}
const t3 = performance.now();
await session.release();
process.stdout.write(JSON.stringify({ variant, graphSeconds: (t1 - t0) / 1000, sessionSeconds: (t2 - t1) / 1000, runSeconds: (t3 - t2) / 1000 }) + '\n');
