// `qtool report DIR`: one self-contained report.html from the JSON artifacts
// the stages wrote into DIR. Sections whose artifact is absent are left out
// with a note; a malformed artifact is bad input naming the file, and so is
// one that DIR's manifest says is not what qtool wrote (src/report/commit.ts).
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import type { z } from 'zod';
import { graphInputs } from '../onnx/graph.js';
import { loadModel, type LoadedModel } from '../onnx/model.js';
import { loadDataset } from '../data/dataset.js';
import { median } from '../runtime/run.js';
import { commandLine, QTOOL_VERSION, readReport } from '../report/io.js';
import { calibrateReportSchema, selectedResult, type CalibrateReport } from '../report/schemas/calibrate.js';
import { calibrationSchema, type Calibration } from '../report/schemas/calibration.js';
import { sensitivityReportSchema, type SensitivityReport } from '../report/schemas/sensitivity.js';
import { partialReportSchema, type PartialReport } from '../report/schemas/partial.js';
import { qatReportSchema, type QatReport } from '../report/schemas/qat.js';
import { runReportSchema, type RunReport } from '../report/schemas/run.js';
import { reportResultSchema, type ReportResult } from '../report/schemas/report.js';
import { methodColors } from '../report/html/colors.js';
import { missing, type Section } from '../report/html/html.js';
import { page } from '../report/html/page.js';
import { finalSection, type FinalModel, type ModelFile } from '../report/html/sections/final.js';
import { methodsSection } from '../report/html/sections/methods.js';
import { histogramsSection } from '../report/html/sections/histograms.js';
import { sensitivitySection } from '../report/html/sections/sensitivity.js';
import { partialSection } from '../report/html/sections/partial.js';
import { qatSection } from '../report/html/sections/qat.js';
import { fileError, InputError } from '../util/errors.js';
import { sha256File, writeFileAtomic } from '../util/files.js';
import { checkOutputFolder, verifyFolder } from '../report/commit.js';
import { collectOutputs } from '../runtime/outputs.js';
import { progressBar } from '../report/progress.js';
import { FP32_AGREEMENT } from '../metrics/metric.js';

interface Artifacts {
  run?: RunReport;
  calibrate?: CalibrateReport;
  calibration?: Calibration;
  sensitivity?: SensitivityReport;
  partial?: PartialReport;
  qat?: QatReport;
}

const FILES: { [K in keyof Artifacts]-?: [string, z.ZodType<Artifacts[K]>] } = {
  run: ['run.json', runReportSchema],
  calibrate: ['calibrate.json', calibrateReportSchema],
  calibration: ['calibration.json', calibrationSchema],
  sensitivity: ['sensitivity.json', sensitivityReportSchema],
  partial: ['partial.json', partialReportSchema],
  qat: ['qat.json', qatReportSchema],
};

/** Latency at report time: a few batches each, enough for a stable median and quick on the samples. */
const SPEED_BATCHES = 10;
const SPEED_BATCH_SIZE = 32;

export interface ReportOptions {
  /** Where to write the page; default DIR/report.html. */
  out?: string;
}


/** Every artifact in DIR, validated, checked against DIR's manifest, and all about the same FP32 model. */
function readArtifacts(dir: string): Artifacts {
  if (!existsSync(dir)) throw fileError(dir, 'no such folder');
  if (!statSync(dir).isDirectory()) throw fileError(dir, 'is not a folder (expected the --out folder of the qtool stages)');
  const a: Artifacts = {};
  let sha: string | undefined;
  for (const [key, [file, schema]] of Object.entries(FILES) as [keyof Artifacts, [string, z.ZodType<{ model: { sha256: string } }>]][]) {
    const path = join(dir, file);
    if (!existsSync(path)) continue;
    const r = readReport(path, schema, sha);
    sha ??= r.model.sha256;
    (a as Record<string, unknown>)[key] = r;
  }
  if (!sha) throw fileError(dir, `holds no qtool artifacts (${Object.values(FILES).map(([f]) => f).join(', ')})`);
  // Every other file the manifest lists, models included, is there with the SHA-256 qtool committed.
  verifyFolder(dir);
  return a;
}

/**
 * A model file a report names, in DIR beside the report: stages write their
 * models beside their reports, and a folder that moved still works. The path
 * recorded at the time may name a file in another folder now; it is not used.
 */
function locate(dir: string, recorded: string): string | null {
  const p = join(dir, basename(recorded));
  return existsSync(p) && statSync(p).isFile() ? p : null;
}

function modelFile(dir: string, path: string): ModelFile {
  const rel = relative(dir, path);
  return { label: rel.startsWith('..') || isAbsolute(rel) ? basename(path) : rel, path, bytes: statSync(path).size };
}

function describe(a: Artifacts, stage: string): string {
  const c = a.calibration;
  const ptq = c ? `${c.selectedMethod} activation ranges (${c.activationType}), ${c.perChannel ? 'per-channel' : 'per-tensor'} int8 weights` : 'INT8';
  if (stage === 'qat' && a.qat) {
    const q = a.qat;
    return `QAT fine-tuned INT8 QDQ model: ${q.epochs} epoch${q.epochs > 1 ? 's' : ''} of ${q.train.loss} on ${q.train.samples} samples from the ${q.calibration.method} calibration; ` +
      `${q.quantizedLayers} layers quantized${q.floatLayers.length ? `, ${q.floatLayers.length} kept in float (${q.floatLayers.join(', ')})` : ''}`;
  }
  if (stage === 'partial' && a.partial) {
    const p = a.partial;
    return `INT8 QDQ model with ${p.floatLayers.length} of ${p.totalLayers} layers kept in ${p.floatType}` +
      `${p.floatLayers.length ? ` (${p.floatLayers.join(', ')})` : ''}; ${ptq}`;
  }
  if (stage === 'calibrate' && a.calibrate) return `INT8 QDQ model, all ${a.calibrate.quantizedLayers} quantizable layers quantized; ${ptq}`;
  return `the model of the ${stage} stage`;
}

/**
 * The last stage's model: run.json's choice (with the SHA-256 it recorded),
 * else that of the last of qat, partial, calibrate whose report is in DIR.
 * The model must be in DIR: a report whose model is gone is bad input.
 */
function pickFinal(dir: string, a: Artifacts): { stage: string; path: string } | null {
  if (a.run) {
    const path = join(dir, a.run.final.model);
    if (!existsSync(path)) throw fileError(join(dir, 'run.json'), `names the final model ${a.run.final.model}, which is not in ${dir}`);
    if (sha256File(path) !== a.run.final.sha256) {
      throw fileError(path, `is not the final model run.json records (its SHA-256 differs): changed since qtool run wrote it; re-run qtool run`);
    }
    return { stage: a.run.final.stage, path };
  }
  const candidates: [string, string, string | undefined][] = [
    ['qat', 'qat.json', a.qat?.artifacts.model], ['partial', 'partial.json', a.partial?.artifacts.model], ['calibrate', 'calibrate.json', a.calibrate?.artifacts.model],
  ];
  for (const [stage, report, recorded] of candidates) {
    if (!recorded) continue;
    const path = locate(dir, recorded);
    if (!path) throw fileError(join(dir, report), `names the model ${basename(recorded)}, which is not in ${dir}`);
    return { stage, path };
  }
  return null;
}

function accuracyOf(a: Artifacts, stage: string): FinalModel['accuracy'] {
  if (a.run) {
    return { value: a.run.final.accuracy, fp32: a.run.fp32.accuracy, metric: a.run.metric, data: `${a.run.fp32.samples} evaluation samples` };
  }
  if (stage === 'qat' && a.qat?.metricCommand) {
    const m = a.qat.metricCommand;
    return { value: m.after, fp32: m.fp32, metric: m.name, data: 'the metric command' };
  }
  if (stage === 'qat' && a.qat) {
    const p = a.qat.parity;
    const fp32 = a.qat.accuracy && a.qat.accuracy.data === p.data ? a.qat.accuracy.fp32 : p.metric === 'agreement' ? FP32_AGREEMENT : null;
    return { value: p.onnxruntime, fp32, metric: p.metric, data: `${p.data} (${p.samples} samples)` };
  }
  if (stage === 'partial' && a.partial) {
    const p = a.partial;
    return { value: p.result.accuracy, fp32: p.fp32.accuracy, metric: p.accuracyMetric, data: p.metricCommand ? 'the metric command' : `${p.data.path} (${p.data.samples} samples)` };
  }
  const c = a.calibrate;
  const m = c && selectedResult(c);
  if (c?.metricCommand && m?.value !== undefined) return { value: m.value, fp32: c.metricCommand.fp32, metric: c.metricCommand.name, data: 'the metric command' };
  if (!c || !m || !c.eval) return null;
  if (c.metric && m.value !== undefined) return { value: m.value, fp32: c.metric.fp32, metric: c.metric.name, data: `${c.eval.path} (${c.eval.samples} samples)` };
  if (m.top1 !== null) return { value: m.top1, fp32: c.fp32.top1, metric: 'top1', data: `${c.eval.path} (${c.eval.samples} samples)` };
  return m.agreement === null ? null : { value: m.agreement, fp32: FP32_AGREEMENT, metric: 'agreement', data: `${c.eval.path} (${c.eval.samples} samples)` };
}

async function measureSpeed(fp32: LoadedModel, final: string, dataPath: string): Promise<FinalModel['speed']> {
  const ds = loadDataset(dataPath, graphInputs(fp32.model.graph!));
  const opts = { batchSize: SPEED_BATCH_SIZE, limit: SPEED_BATCH_SIZE * SPEED_BATCHES };
  const a = await collectOutputs(fp32.bytes, fp32.path, ds, { ...opts, progress: progressBar, progressLabel: 'latency fp32' });
  const b = await collectOutputs(loadModel(final).bytes, final, ds, { ...opts, progress: progressBar, progressLabel: 'latency final' });
  return {
    fp32Ms: median(a.batchMs), finalMs: median(b.batchMs),
    how: `Median onnxruntime session.run time over ${b.batchMs.length} batches of ${ds.fixedBatch ?? SPEED_BATCH_SIZE} samples of ${dataPath}, ` +
      'FP32 then the final model, each in a new session with default options, measured by qtool report on the machine that wrote this page.',
  };
}

async function speedOf(dir: string, a: Artifacts, finalPath: string, fp32: LoadedModel | null, why: string): Promise<FinalModel['speed']> {
  const p = a.partial;
  // partial.json measured its written model and FP32 on the same data already.
  if (p && locate(dir, p.artifacts.model) === finalPath && p.fp32.medianBatchMs !== null && p.result.medianBatchMs !== null) {
    const bs = typeof p.options.batchSize === 'number' ? ` of ${p.options.batchSize} samples` : '';
    return {
      fp32Ms: p.fp32.medianBatchMs, finalMs: p.result.medianBatchMs,
      how: `Median onnxruntime session.run time per batch${bs} of ${p.data.path}, from partial.json (measured by qtool partial).`,
    };
  }
  if (!fp32) return { unavailable: why };
  const data = [a.calibrate?.eval?.path, a.calibrate?.data.path, p?.data.path, a.sensitivity?.data.path, a.qat?.train.path]
    .find((d): d is string => !!d && existsSync(d));
  if (!data) return { unavailable: 'none of the data files the reports name is reachable from here' };
  try {
    return await measureSpeed(fp32, finalPath, data);
  } catch (e) {
    if (e instanceof InputError) return { unavailable: e.message };
    throw e;
  }
}

async function finalModel(dir: string, a: Artifacts): Promise<FinalModel | null> {
  const picked = pickFinal(dir, a);
  if (!picked) return null;
  // A model, not just a file of that name: an empty or truncated one is bad input.
  loadModel(picked.path);
  const header = (a.run ?? a.calibrate ?? a.calibration ?? a.partial ?? a.qat ?? a.sensitivity)!.model;
  let fp32: LoadedModel | null = null;
  let why = `the FP32 model ${header.path} is not reachable from here`;
  if (existsSync(header.path)) {
    const m = loadModel(header.path);
    if (m.sha256 === header.sha256) fp32 = m;
    else why = `${header.path} has changed since the reports were made (its sha256 differs)`;
  }
  const recordedBytes = a.calibrate?.fp32.sizeBytes ?? a.partial?.fp32.sizeBytes;
  const fp32File = fp32 ? { label: 'FP32', path: fp32.path, bytes: fp32.bytes.length }
    : recordedBytes !== undefined ? { label: 'FP32', path: header.path, bytes: recordedBytes } : null;
  const written = [a.calibrate?.artifacts.model, a.partial?.artifacts.model, a.qat?.artifacts.model]
    .map((r) => r && locate(dir, r)).filter((p): p is string => !!p);
  if (!written.includes(picked.path)) written.push(picked.path);
  return {
    path: picked.path,
    description: describe(a, picked.stage),
    accuracy: accuracyOf(a, picked.stage),
    fp32: fp32File,
    files: written.map((p) => modelFile(dir, p)),
    speed: await speedOf(dir, a, picked.path, fp32, why),
    run: a.run ? {
      verdict: a.run.final.message,
      stages: a.run.stages.map((s) => ({ name: s.name, status: s.status, reason: s.reason, accuracy: s.accuracy })),
    } : null,
  };
}

export async function report(dir: string, opts: ReportOptions = {}): Promise<ReportResult> {
  const a = readArtifacts(dir);
  const out = opts.out ?? join(dir, 'report.html');
  checkOutputFolder(dirname(out));
  const colors = methodColors([
    ...(a.calibrate?.methods.map((m) => m.method) ?? []),
    ...(Array.isArray(a.calibrate?.options.methods) ? a.calibrate.options.methods.map(String) : []),
    ...(a.calibration?.tensors.flatMap((t) => Object.keys(t.ranges)) ?? []),
  ]);
  const final = await finalModel(dir, a);
  const sections: Section[] = [
    final ? finalSection(final) : missing('final', 'Final model', 'no stage in the folder wrote a model'),
    methodsSection(a.calibrate, colors),
    histogramsSection(a.calibration, colors),
    sensitivitySection(a.sensitivity),
    partialSection(a.partial),
    qatSection(a.qat),
  ];
  // A stage that qtool run skipped is left out for the run's reason.
  const skipped = new Map(a.run?.stages.filter((st) => st.status === 'skipped').map((st) => [st.name as string, st.reason]));
  for (const [i, s] of sections.entries()) {
    if ('missing' in s && skipped.has(s.id)) sections[i] = missing(s.id, s.title, `qtool run skipped it: ${skipped.get(s.id)}`);
  }
  const header = (a.run ?? a.calibrate ?? a.calibration ?? a.sensitivity ?? a.partial ?? a.qat)!;
  const read = Object.entries(FILES).filter(([k]) => a[k as keyof Artifacts]).map(([, [f]]) => f);
  const html = page({
    title: `qtool report: ${header.model.path}`,
    meta: [
      `FP32 model ${header.model.path}, sha256 ${header.model.sha256}`,
      `Made by qtool ${header.qtoolVersion} from ${read.join(', ')} in ${dir}`,
    ],
  }, sections);
  writeFileAtomic(out, html);
  return reportResultSchema.parse({
    schema: 'qtool/report@1',
    qtoolVersion: QTOOL_VERSION,
    command: commandLine(),
    path: out,
    sections: sections.map((s) => ({
      id: s.id, title: s.title, drawn: 'body' in s, note: 'missing' in s ? s.missing : null,
      charts: 'body' in s ? [...s.body.matchAll(/<svg data-chart="([^"]+)"/g)].map((m) => m[1]) : [],
    })),
  });
}
