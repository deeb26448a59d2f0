// `qtool report`: real artifacts of every stage on the MLP sample, the page
// they make (self-contained, every chart drawn), the page rendered in headless
// Chromium (Debian's `chromium`, which npm test's set-up step installs), the
// GELU cap with and without it, and bad input.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { esc } from '../src/report/html/svg.js';
import { expectBadInput, repoPath, runQtool, tempDir } from './lib/helpers.js';
import { reportResultSchema } from '../src/report/schemas/report.js';
import { calibrateReportSchema } from '../src/report/schemas/calibrate.js';
import { fmt } from '../src/report/table.js';

const MLP = repoPath('samples', 'mlp', 'model.onnx');
const DIGITS = (f: string) => repoPath('samples', 'digits', f);
const EVAL = ['--eval', DIGITS('eval_x.npy'), '--labels', DIGITS('eval_y.npy')];
const LABELLED = ['--data', DIGITS('eval_x.npy'), '--labels', DIGITS('eval_y.npy')];

const CHARTS = [
  'final-size', 'final-latency', 'methods-accuracy', 'histogram-1', 'histogram-2', 'histogram-3', 'histogram-4',
  'sensitivity-fallback', 'sensitivity-proxy', 'partial-accuracy', 'partial-latency', 'qat-loss', 'qat-lr', 'qat-accuracy',
];


function qtool(args: string[]): string {
  const r = runQtool(args);
  assert.equal(r.code, 0, `qtool ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

let dir: string;
before(() => {
  dir = tempDir();
  const cal = join(dir, 'calibration.json');
  qtool(['calibrate', MLP, '--data', DIGITS('calib_x.npy'), '--method', 'all', ...EVAL, '--out', dir]);
  qtool(['sensitivity', MLP, '--calibration', cal, ...LABELLED, '--out', dir]);
  qtool(['partial', MLP, '--calibration', cal, '--sensitivity', join(dir, 'sensitivity.json'), ...LABELLED, '--keep-float', '1', '--out', dir]);
  qtool(['qat-finetune', MLP, '--calibration', cal, '--partial', join(dir, 'partial.json'), '--train', DIGITS('train_x.npy'),
    '--train-labels', DIGITS('train_y.npy'), ...EVAL, '--epochs', '1', '--out', dir]);
});

/** Each `<svg data-chart=NAME>…</svg>` of the page. */
function charts(html: string): Map<string, string> {
  return new Map([...html.matchAll(/<svg data-chart="([^"]+)"[^>]*>([\s\S]*?)<\/svg>/g)].map((m) => [m[1], m[2]]));
}

const count = (svg: string, tag: string) => (svg.match(new RegExp(`<${tag}[ >]`, 'g')) ?? []).length;

test('report on every stage: all sections and charts, self-contained, the final model measured against FP32', () => {
  const r = reportResultSchema.parse(JSON.parse(qtool(['report', dir, '--json'])));
  assert.equal(r.path, join(dir, 'report.html'));
  assert.deepEqual(r.sections.filter((s) => !s.drawn), [], 'every section drawn');
  assert.deepEqual(r.sections.flatMap((s) => s.charts), CHARTS);

  const html = readFileSync(r.path, 'utf8');
  assert.doesNotMatch(html, /\b(src|href)\s*=\s*["']?\s*(https?:)?\/\//i, 'nothing loaded from elsewhere');
  assert.doesNotMatch(html, /https?:\/\/|<script|<link|<img|@import|url\(/i);
  const svgs = charts(html);
  assert.deepEqual([...svgs.keys()], CHARTS);
  const calibrate = JSON.parse(readFileSync(join(dir, 'calibrate.json'), 'utf8'));
  const qat = JSON.parse(readFileSync(join(dir, 'qat.json'), 'utf8'));
  const partial = JSON.parse(readFileSync(join(dir, 'partial.json'), 'utf8'));
  // A bar per method plus FP32; a histogram has many bins and a marker per method end.
  assert.equal(count(svgs.get('methods-accuracy')!, 'rect'), calibrate.methods.length + 1);
  for (let i = 1; i <= 4; i++) assert.ok(count(svgs.get(`histogram-${i}`)!, 'rect') > 40, `histogram-${i} has bins`);
  assert.equal(count(svgs.get('sensitivity-fallback')!, 'rect'), 3, 'one bar per MLP layer');
  // Lines with one vertex per point.
  const vertices = (svg: string) => (svg.match(/<path d="([^"]+)"/)![1].match(/[ML]/g) ?? []).length;
  assert.equal(vertices(svgs.get('qat-loss')!), qat.loss.length);
  assert.equal(vertices(svgs.get('partial-accuracy')!), partial.curve.length);
  for (const [name, svg] of svgs) assert.ok(count(svg, 'text') >= 4, `${name} has a title and labelled axes`);

  // The final model is QAT's, sized from the files and timed now (qat.json holds no latency).
  assert.match(html, /model\.qat\.onnx/);
  const qatBytes = statSync(join(dir, 'model.qat.onnx')).size;
  assert.match(html, new RegExp(`${(qatBytes / 1e6).toFixed(3)} MB, [0-9.]+x smaller than FP32 \\(${(statSync(MLP).size / 1e6).toFixed(3)} MB\\)`));
  assert.match(html, /Median onnxruntime session\.run time over \d+ batches of 32 samples .*measured by qtool report/);
});

/** Width, height and RGB(A) rows of an 8-bit PNG, unfiltered. */
function decodePng(png: Buffer): { width: number; height: number; channels: number; pixels: Uint8Array } {
  assert.equal(png.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', 'PNG signature');
  let off = 8;
  let width = 0, height = 0, channels = 0;
  const idat: Buffer[] = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString('latin1', off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.equal(data[8], 8, 'bit depth');
      assert.equal(data[12], 0, 'not interlaced');
      channels = ({ 2: 3, 6: 4 } as Record<number, number>)[data[9]];
      assert.ok(channels, `colour type ${data[9]}`);
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = y * stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? pixels[row + i - channels] : 0;
      const b = y > 0 ? pixels[row - stride + i] : 0;
      const c = i >= channels && y > 0 ? pixels[row - stride + i - channels] : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter];
      pixels[row + i] = (src[i] + pred) & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

test('the page renders in headless Chromium: every chart in the DOM, a screenshot with the charts in colour', (t) => {
  const chromium = spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).stdout.trim();
  assert.ok(chromium, 'chromium is not installed (Debian package `chromium`; scripts/test-setup.sh installs it)');
  const page = join(dir, 'report.html');
  if (!existsSync(page)) qtool(['report', dir]);
  const shot = join(dir, 'report.png');
  const run = (args: string[]) => {
    const r = spawnSync(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${tempDir('qtool-chromium-')}`, ...args, pathToFileURL(page).href],
    { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, `chromium ${args.join(' ')}: ${r.error ?? r.stderr}`);
    return r.stdout;
  };
  const dom = run(['--dump-dom']);
  for (const name of CHARTS) assert.match(dom, new RegExp(`<svg data-chart="${name}"`), `${name} in the rendered DOM`);

  run([`--screenshot=${shot}`, '--window-size=1280,4000']);
  t.diagnostic(`screenshot: ${shot}`);
  const png = decodePng(readFileSync(shot));
  assert.deepEqual([png.width, png.height], [1280, 4000]);
  // Not blank: plenty of non-white pixels, and the chart colours are there.
  let ink = 0;
  const seen = new Set<string>();
  for (let i = 0; i < png.pixels.length; i += png.channels) {
    const [r, g, b] = [png.pixels[i], png.pixels[i + 1], png.pixels[i + 2]];
    if (r + g + b < 720) ink++;
    seen.add(`${r},${g},${b}`);
  }
  assert.ok(ink / (png.width * png.height) > 0.03, `non-white fraction ${ink / (png.width * png.height)}`);
  for (const color of ['213,94,0', '0,114,178', '85,85,85']) assert.ok(seen.has(color), `colour ${color} drawn`);
});

test('report on a folder with calibrate only: other sections left out with a note, the INT8 model timed', () => {
  const only = tempDir();
  for (const f of ['calibrate.json', 'calibration.json', 'model.int8.onnx']) copyFileSync(join(dir, f), join(only, f));
  const out = join(tempDir(), 'page.html');
  const r = reportResultSchema.parse(JSON.parse(qtool(['report', only, '--out', out, '--json'])));
  assert.equal(r.path, out);
  const left = r.sections.filter((s) => !s.drawn).map((s) => `${s.id}: ${s.note}`);
  assert.deepEqual(left, ['sensitivity: no sensitivity.json in the folder', 'partial: no partial.json in the folder', 'qat: no qat.json in the folder']);
  const html = readFileSync(out, 'utf8');
  assert.match(html, /Not in this report: Sensitivity ranking \(no sensitivity\.json in the folder\)/);
  assert.match(html, /model\.int8\.onnx/);
  assert.deepEqual([...charts(html).keys()].slice(0, 2), ['final-size', 'final-latency']);
  const human = qtool(['report', only, '--out', out]);
  assert.match(human, /wrote .*page\.html \(\d+ charts\)/);
  assert.match(human, /left out: Quantization-aware fine-tuning \(no qat\.json in the folder\)/);
});

test('report with --clip-activation gelu=10 --select best: each GELU output\'s range before and after the cap, every method\'s top-1 with and without it', () => {
  const out = tempDir();
  const c = calibrateReportSchema.parse(JSON.parse(qtool(['calibrate', MLP, '--data', DIGITS('calib_x.npy'), '--method', 'max,mse', ...EVAL,
    '--clip-activation', 'gelu=10', '--select', 'best', '--out', out, '--json'])));
  qtool(['report', out]);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.match(html, /GELU10 \(--clip-activation gelu=10\): 2 GELU outputs capped at 10 before calibration/);
  for (const a of c.clippedActivations) {
    // The range before the cap (GELU's small negative values up to its max) and the capped tensor's quantized range.
    const row = new RegExp(`<td>${esc(a.tensor)}</td><td>\\[${fmt(a.minBefore!)}, ${fmt(a.maxBefore)}\\]</td><td class="num">[0-9.]+</td><td class="num">\\[${fmt(a.after!.min)}, ${fmt(a.after!.max)}\\]</td>`);
    assert.match(html, row);
    assert.ok(a.maxBefore > 10 && a.after!.max <= 10, `${a.tensor}: max ${a.maxBefore} before, ${a.after!.max} after`);
  }
  for (const method of ['max', 'mse']) {
    const [withCap, without] = [undefined, 'without clip-gelu'].map((v) => c.methods.find((m) => m.method === method && m.variant === v)!.top1!);
    assert.match(html, new RegExp(`<tr><td>${method}</td><td class="num">${fmt(withCap)}</td><td class="num">${fmt(without)}</td></tr>`));
  }
  // Had the variant without the cap won, the page would say the selected model leaves it out.
  const edited = tempDir();
  for (const f of ['calibration.json', 'model.int8.onnx']) copyFileSync(join(out, f), join(edited, f));
  const report = JSON.parse(readFileSync(join(out, 'calibrate.json'), 'utf8'));
  writeFileSync(join(edited, 'calibrate.json'), JSON.stringify({ ...report, selected: { ...report.selected, method: 'mse', variant: 'without clip-gelu' } }));
  qtool(['report', edited]);
  assert.match(readFileSync(join(edited, 'report.html'), 'utf8'), /The selected model leaves the cap out \(mse scored better without it\)/);
  // Without the comparison, the page says how to get it.
  const plain = tempDir();
  qtool(['calibrate', MLP, '--data', DIGITS('calib_x.npy'), '--method', 'max', ...EVAL, '--clip-activation', 'gelu=10', '--out', plain]);
  qtool(['report', plain]);
  assert.match(readFileSync(join(plain, 'report.html'), 'utf8'), /Run calibrate with --select best and evaluation data to score every method without the cap as well/);
});

test('report on a qtool run folder: run.json names the final model, skipped stages say why', () => {
  const out = join(tempDir(), 'run');
  qtool(['run', repoPath('configs', 'mlp.json'), '--out', out]);
  const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
  const r = reportResultSchema.parse(JSON.parse(qtool(['report', out, '--json'])));
  const html = readFileSync(r.path, 'utf8');
  assert.ok(html.includes(`<td>model</td><td>${join(out, run.final.model)}</td>`), 'the final model is run.json\'s');
  assert.ok(html.includes(esc(`qtool run: ${run.final.message}`)), 'the run\'s verdict');
  // Calibrate meets the MLP's budget, so the run skips the later stages; each has its section, left out with the run's reason.
  const skipped: { name: string; reason: string }[] = run.stages.filter((s: { status: string }) => s.status === 'skipped');
  assert.deepEqual(skipped.map((s) => s.name), ['sensitivity', 'partial', 'qat'], 'the stages qtool run skipped');
  for (const stage of skipped) {
    const section = r.sections.find((s) => s.id === stage.name);
    assert.ok(section, `a section for the skipped stage ${stage.name}: ${r.sections.map((s) => s.id).join(', ')}`);
    assert.equal(section.drawn, false, stage.name);
    assert.equal(section.note, `qtool run skipped it: ${stage.reason}`);
  }
  assert.ok(r.sections.find((s) => s.id === 'final')!.charts.includes('final-latency'));
});

test('report: bad input exits 2 with one line naming the folder or file, nothing written', () => {
  const nowhere = join(tempDir(), 'missing');
  expectBadInput('report', [nowhere], new RegExp(`${nowhere}: no such folder`));
  const empty = tempDir();
  expectBadInput('report', [empty], /holds no qtool artifacts \(run\.json, calibrate\.json, calibration\.json/);
  const broken = tempDir();
  copyFileSync(join(dir, 'calibrate.json'), join(broken, 'calibrate.json'));
  writeFileSync(join(broken, 'sensitivity.json'), readFileSync(join(dir, 'sensitivity.json'), 'utf8').slice(0, 200));
  expectBadInput('report', [broken], /sensitivity\.json: not valid JSON/);
  writeFileSync(join(broken, 'sensitivity.json'), JSON.stringify({ schema: 'qtool/sensitivity@2' }));
  expectBadInput('report', [broken], /sensitivity\.json: not a valid report/);
  assert.ok(!existsSync(join(broken, 'report.html')));
});
