#!/usr/bin/env node
// preinstall, part 2 (and `qtool setup`): give @tensorflow/tfjs-node its
// native TensorFlow backend.
//
// tfjs-node's own install step downloads libtensorflow and fails (aborting the
// install) where its host is out of reach. When qtool is the root project,
// package.json's `allowScripts` turns that step off. As a dependency or in a
// global install it runs, but npm runs every package's preinstall before any
// package's install step, so this script runs first and decides:
//   0. the binding is already there and loads        -> done (a second or two)
//   1. tfjs-node's download host answers quickly      -> tfjs-node's own installer, with a time limit
//   2. pip can fetch a TensorFlow CPU wheel (its own  -> build tfjs-node's binding with node-gyp against
//      index configuration, e.g. a local mirror)        the wheel's C API (libtensorflow_cc.so.2)
//   3. otherwise                                      -> one warning: QAT runs on pure-JS tfjs (~80x slower)
// After 1 or 2, tfjs-node's own installer (when npm runs it next) finds its
// library and binding in place and has nothing to download. After 3 it tries
// its download and fails; tfjs-node is an optional dependency of qtool, so npm
// then leaves it out and carries on, and qtool trains on pure-JS tfjs.
// It never fails the install: every path ends with exit code 0 (with
// --setup, as `qtool setup` runs it: exit code 1 when the backend is not native).
//
// The extracted C API and the built binding are cached in $QTOOL_CACHE_DIR
// (default $XDG_CACHE_HOME/qtool or ~/.cache/qtool), which survives `npm ci`
// wiping node_modules, so a re-install neither downloads nor compiles again.
//
// Environment:
//   QTOOL_SKIP_TFJS_NATIVE=1        do nothing (QAT falls back to pure JS)
//   QTOOL_TFJS_NATIVE=wheel|online  try only that way
//   QTOOL_TFJS_INSTALL_TIMEOUT=S    time limit of tfjs-node's own installer (default 300 s)
//   QTOOL_TF_WHEEL=SPEC             the pip requirement to fetch (default tensorflow-cpu), or a wheel file
//   QTOOL_CACHE_DIR=DIR             cache folder
//   PYTHON=python3                  the Python whose pip fetches the wheel
import { spawn, spawnSync } from 'node:child_process';
import {
  accessSync, chmodSync, constants, copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { arch, homedir, platform, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { proxyFrom, reachable } from './reachable.mjs';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
const setupMode = process.argv.includes('--setup');
const say = (msg) => console.log(`qtool ${setupMode ? 'setup' : 'install'}: tfjs-node: ${msg}`);

const VERIFY_TIMEOUT_MS = 120_000;

/** A reason to pass on to the next way (not a failure of this one). */
class Skip extends Error {}

// Children run in their own process group (so a time limit can end a whole
// tree: pip, node-gyp's make and compilers); end them too if we are stopped.
const live = new Set();
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    for (const pid of live) { try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ } }
    process.exit(130);
  });
}

/** Runs a command, streaming nothing; resolves with its exit code and output tail. */
function run(cmd, args, { cwd, env, timeoutMs, input } = {}) {
  return new Promise((resolveRun) => {
    const child = spawn(cmd, args, { cwd, env: env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    if (child.pid) live.add(child.pid);
    let out = '';
    const keep = (d) => { out = (out + d.toString()).slice(-20_000); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = timeoutMs ? setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    }, timeoutMs) : undefined;
    const end = (result) => { clearTimeout(timer); live.delete(child.pid); resolveRun(result); };
    child.on('error', (e) => end({ code: -1, out: String(e.message), timedOut }));
    child.on('close', (code) => end({ code: code ?? -1, out, timedOut }));
    child.stdin.end(input ?? '');
  });
}

const lastLine = (text) => text.trim().split('\n').filter((l) => l.trim()).pop() ?? '';
/** The most telling line of a failed command's output: its last error line, else its last line. */
function errorLine(text) {
  const lines = text.split('\n').filter((l) => l.trim() && !/^\s+at /.test(l));
  const thrown = lines.filter((l) => /^\s*\w*Error\b:|^(gyp|npm) ERR!|^ERROR:/.test(l));
  const any = lines.filter((l) => /\b(error|Error|failed)\b/.test(l));
  return (thrown.pop() ?? any.pop() ?? lastLine(text)).trim().slice(0, 300);
}

// ---------------------------------------------------------------------------
// tfjs-node's layout
function locateTfjsNode() {
  const req = createRequire(join(projectRoot, 'package.json'));
  let pkgJson;
  try {
    pkgJson = req.resolve('@tensorflow/tfjs-node/package.json');
  } catch {
    // An optional dependency: npm leaves it out when its own install step fails
    // (after this script found no way either). Installing qtool again runs both again.
    throw new Skip('@tensorflow/tfjs-node is not installed (npm leaves it out when its own download fails):'
      + ' once a wheel or the download host is reachable, install qtool again, or install it with'
      + ' --ignore-scripts and run `qtool setup`');
  }
  const dir = dirname(pkgJson);
  const pkg = JSON.parse(readFileSync(pkgJson, 'utf8'));
  // The path tfjs-node itself loads the binding from (node-pre-gyp's rule: lib/napi-v<N>).
  const preGyp = createRequire(pkgJson)('@mapbox/node-pre-gyp');
  const bindingPath = preGyp.find(pkgJson);
  const napi = Number(/napi-v(\d+)/.exec(bindingPath)?.[1]
    ?? Math.max(...pkg.binary.napi_versions.filter((v) => v <= Number(process.versions.napi))));
  return { dir, version: pkg.version, bindingPath, napi };
}

/** Loads tfjs-node in a child process (a crash there cannot take this script down). */
async function nativeBackend(tfjs) {
  const code = `const tf = require(${JSON.stringify(tfjs.dir)});
tf.ready().then(() => process.stdout.write('backend=' + tf.getBackend()));`;
  const r = await run(process.execPath, ['-e', code], {
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' }, timeoutMs: VERIFY_TIMEOUT_MS,
  });
  const backend = /backend=(\S+)/.exec(r.out)?.[1];
  if (r.code === 0 && backend === 'tensorflow') return { ok: true };
  const reason = r.timedOut ? 'loading it timed out'
    : backend ? `backend is '${backend}'`
      : errorLine(r.out);
  return { ok: false, reason };
}

// ---------------------------------------------------------------------------
// 1. online: tfjs-node's own installer
async function installOnline(tfjs) {
  const env = process.env;
  const host = env.TFJS_NODE_CDN_STORAGE || env.npm_config_TFJS_NODE_CDN_STORAGE || env.CDN_STORAGE
    || env.TFJS_NODE_BASE_URI || env.npm_config_TFJS_NODE_BASE_URI || 'https://storage.googleapis.com/';
  // The variables tfjs-node's downloader reads.
  const proxy = proxyFrom(['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']);
  if (!(await reachable(host, proxy))) throw new Skip(`${new URL(host).host} is out of reach`);
  const limit = Number(env.QTOOL_TFJS_INSTALL_TIMEOUT || 300);
  say(`download host reachable: running tfjs-node's own installer (time limit ${limit}s) ...`);
  // It ends in `node-pre-gyp install --fallback-to-build`: node-pre-gyp on PATH (npm links
  // bins only after the preinstall scripts, so a shim), and for the build fallback the
  // node-gyp and Node headers npm would give it.
  const shims = nodePreGypShim(tfjs);
  const binDirs = [shims, join(projectRoot, 'node_modules', '.bin'), join(tfjs.dir, 'node_modules', '.bin')].filter(Boolean);
  const childEnv = { ...env, PATH: [...binDirs, env.PATH].join(':') };
  const gyp = (() => { try { return nodeGyp(); } catch { return []; } })();
  if (!childEnv.npm_config_node_gyp && gyp.length === 2) childEnv.npm_config_node_gyp = gyp[1];
  const nodedir = nodeHeaders();
  if (!childEnv.npm_config_nodedir && nodedir) childEnv.npm_config_nodedir = nodedir;
  const r = await run(process.execPath, [join('scripts', 'install.js')], { cwd: tfjs.dir, timeoutMs: limit * 1000, env: childEnv });
  if (shims) rmSync(shims, { recursive: true, force: true });
  if (r.timedOut) throw new Error(`tfjs-node's installer did not finish in ${limit}s`);
  if (r.code !== 0) throw new Error(`tfjs-node's installer failed: ${errorLine(r.out)}`);
}

/** A folder holding a `node-pre-gyp` command that runs tfjs-node's node-pre-gyp, or undefined. */
function nodePreGypShim(tfjs) {
  let bin;
  try {
    bin = createRequire(join(tfjs.dir, 'package.json')).resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp');
  } catch {
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'qtool-shim-'));
  writeFileSync(join(dir, 'node-pre-gyp'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} "$@"\n`);
  chmodSync(join(dir, 'node-pre-gyp'), 0o755);
  return dir;
}

/**
 * The library file whose presence makes tfjs-node's installer skip its download
 * (deps/lib/libtensorflow.so.<version> on Linux), from tfjs-node's own constants.
 */
function installerLibPath(tfjs) {
  try {
    return createRequire(join(tfjs.dir, 'package.json'))('./scripts/deps-constants.js').depsLibTensorFlowPath;
  } catch {
    return undefined;
  }
}

/**
 * Leaves tfjs-node's own installer nothing to do: with its library and the
 * binding in place it only reports "already installed".
 */
function satisfyInstaller(tfjs) {
  const lib = installerLibPath(tfjs);
  if (!lib || existsSync(lib)) return;
  const staged = join(dirname(lib), 'libtensorflow.so.2');
  if (existsSync(staged)) symlinkSync(basename(staged), lib);
}

// ---------------------------------------------------------------------------
// 2. offline: the TensorFlow CPU wheel's C API
let cache;
/** $QTOOL_CACHE_DIR, else $XDG_CACHE_HOME/qtool or ~/.cache/qtool, else (not writable) a temp folder. */
function cacheDir() {
  if (cache) return cache;
  const preferred = process.env.QTOOL_CACHE_DIR
    || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'qtool');
  try {
    mkdirSync(preferred, { recursive: true });
    accessSync(preferred, constants.W_OK);
    cache = preferred;
  } catch {
    cache = join(tmpdir(), `qtool-cache-${process.getuid?.() ?? 'user'}`);
    say(`${preferred} is not writable: caching in ${cache}`);
    mkdirSync(cache, { recursive: true });
  }
  return cache;
}

/** The headers the binding includes, by path under tensorflow/include/. */
function bindingIncludes(tfjs) {
  const found = new Set();
  const dir = join(tfjs.dir, 'binding');
  for (const f of readdirSync(dir)) {
    for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/^#include\s+"(tensorflow\/[^"]+)"/gm)) found.add(m[1]);
  }
  return [...found];
}

const versionKey = (name) => (/-(\d+(?:\.\d+)*)/.exec(name)?.[1] ?? '0').split('.').map(Number);
const newerFirst = (a, b) => {
  const x = versionKey(a); const y = versionKey(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (y[i] ?? 0) - (x[i] ?? 0);
  return 0;
};

// Extracts the C API (two libraries + the headers the binding needs, followed
// transitively) from the wheel into OUT/lib and OUT/include.
const EXTRACT_PY = String.raw`
import os, re, sys, zipfile, shutil
wheel, out, roots = sys.argv[1], sys.argv[2], sys.argv[3:]
z = zipfile.ZipFile(wheel)
names = set(z.namelist())
libs = ['tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2']
for lib in libs:
    if lib not in names:
        sys.exit('the wheel has no ' + lib)
    os.makedirs(os.path.join(out, 'lib'), exist_ok=True)
    with z.open(lib) as src, open(os.path.join(out, 'lib', os.path.basename(lib)), 'wb') as dst:
        shutil.copyfileobj(src, dst, 1 << 24)
inc = 'tensorflow/include/'
todo, seen = list(roots), set()
while todo:
    h = todo.pop()
    if h in seen or inc + h not in names:
        continue
    seen.add(h)
    text = z.read(inc + h).decode('utf-8', 'replace')
    dst = os.path.join(out, 'include', h)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(dst, 'w') as f:
        f.write(text)
    todo += re.findall(r'^\s*#\s*include\s+"([^"]+)"', text, re.M)
missing = [r for r in roots if r not in seen]
if missing:
    sys.exit('the wheel has no header ' + ', '.join(missing))
print(len(seen), 'headers')
`;

function python() {
  return process.env.PYTHON || 'python3';
}

/** A cached C API folder (lib/ + include/), fetching and extracting a wheel when there is none. */
async function tensorflowCApi(tfjs) {
  if (platform() !== 'linux') throw new Skip(`building from the TensorFlow wheel is done on Linux only (this is ${platform()})`);
  const root = join(cacheDir(), 'libtensorflow');
  mkdirSync(root, { recursive: true });
  const ready = readdirSync(root).filter((d) => existsSync(join(root, d, '.complete'))).sort(newerFirst);
  if (ready.length) {
    say(`using the cached TensorFlow C API ${ready[0]} (${root})`);
    return { dir: join(root, ready[0]), name: ready[0] };
  }

  const py = python();
  if (spawnSync(py, ['-m', 'pip', '--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Skip(`no pip (${py} -m pip) to fetch a TensorFlow wheel with`);
  }
  const specs = process.env.QTOOL_TF_WHEEL ? [process.env.QTOOL_TF_WHEEL]
    : arch() === 'arm64' ? ['tensorflow-cpu', 'tensorflow'] : ['tensorflow-cpu'];
  const dl = join(cacheDir(), `download-${process.pid}`);
  rmSync(dl, { recursive: true, force: true });
  mkdirSync(dl, { recursive: true });
  try {
    let wheel;
    for (const spec of specs) {
      say(`fetching the ${spec} wheel with pip (about 270 MB, once: the C API in it is cached) ...`);
      const r = await run(py, ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--retries', '1',
        '--progress-bar', 'off', '-d', dl, spec], { timeoutMs: 20 * 60_000 });
      wheel = readdirSync(dl).find((f) => f.endsWith('.whl'));
      if (r.code === 0 && wheel) break;
      say(`pip could not fetch ${spec}: ${r.timedOut ? 'timed out' : errorLine(r.out)}`);
    }
    if (!wheel) throw new Skip('pip could not fetch a TensorFlow CPU wheel');
    const name = wheel.replace(/\.whl$/, '');
    const tmp = join(root, `.${name}.${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    say(`extracting the C API from ${wheel} ...`);
    const x = await run(py, ['-c', EXTRACT_PY, join(dl, wheel), tmp, ...bindingIncludes(tfjs)], { timeoutMs: 10 * 60_000 });
    if (x.code !== 0) {
      rmSync(tmp, { recursive: true, force: true });
      throw new Error(`extracting ${wheel} failed: ${errorLine(x.out)}`);
    }
    writeFileSync(join(tmp, '.complete'), `${wheel}\n`);
    const dest = join(root, name);
    if (existsSync(join(dest, '.complete'))) rmSync(tmp, { recursive: true, force: true });
    else { rmSync(dest, { recursive: true, force: true }); renameSync(tmp, dest); }
    return { dir: dest, name };
  } finally {
    rmSync(dl, { recursive: true, force: true }); // the wheel itself is not needed once its C API is out
  }
}

/** Hard link when possible (same disk: instant, no extra space), else copy. */
function linkOrCopy(src, dst) {
  try { linkSync(src, dst); } catch { copyFileSync(src, dst); }
}

function copyTree(src, dst) {
  mkdirSync(dst, { recursive: true });
  for (const e of readdirSync(src, { withFileTypes: true })) {
    if (e.isDirectory()) copyTree(join(src, e.name), join(dst, e.name));
    else copyFileSync(join(src, e.name), join(dst, e.name));
  }
}

/** tfjs-node/deps as its binding.gyp expects it, with the wheel's C API standing in for libtensorflow. */
function stageDeps(tfjs, capi) {
  const deps = join(tfjs.dir, 'deps');
  rmSync(deps, { recursive: true, force: true });
  const lib = join(deps, 'lib');
  mkdirSync(lib, { recursive: true });
  linkOrCopy(join(capi.dir, 'lib', 'libtensorflow_cc.so.2'), join(lib, 'libtensorflow_cc.so.2'));
  linkOrCopy(join(capi.dir, 'lib', 'libtensorflow_framework.so.2'), join(lib, 'libtensorflow_framework.so.2'));
  symlinkSync('libtensorflow_cc.so.2', join(lib, 'libtensorflow.so.2'));
  symlinkSync('libtensorflow_cc.so.2', join(lib, 'libtensorflow.so'));
  symlinkSync('libtensorflow_framework.so.2', join(lib, 'libtensorflow_framework.so'));
  copyTree(join(capi.dir, 'include'), join(deps, 'include'));
}

function npmConfig(key) {
  const fromEnv = process.env[`npm_config_${key}`];
  if (fromEnv !== undefined) return fromEnv;
  const npmCli = process.env.npm_execpath;
  const r = npmCli && npmCli.endsWith('.js')
    ? spawnSync(process.execPath, [npmCli, 'config', 'get', key], { encoding: 'utf8' })
    : spawnSync('npm', ['config', 'get', key], { encoding: 'utf8' });
  const v = (r.stdout ?? '').trim();
  return r.status === 0 && v && v !== 'undefined' && v !== 'null' ? v : '';
}

/** node-gyp: the one npm ships (npm names it to its scripts), else one on PATH. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    process.env.npm_execpath && join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ].filter(Boolean);
  let js = candidates.find((c) => existsSync(c));
  if (!js) {
    const npmRoot = spawnSync('npm', ['root', '-g'], { encoding: 'utf8' });
    const bundled = join((npmRoot.stdout ?? '').trim(), 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (npmRoot.status === 0 && existsSync(bundled)) js = bundled;
  }
  if (js) return [process.execPath, js];
  if (spawnSync('node-gyp', ['--version'], { stdio: 'ignore' }).status === 0) return ['node-gyp'];
  throw new Skip('node-gyp was not found (it ships with npm)');
}

/** Node's headers: npm's `nodedir` setting, else the include/ folder beside this node binary. */
function nodeHeaders() {
  const configured = npmConfig('nodedir');
  if (configured) return configured;
  const prefix = resolve(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : '';
}

async function buildBinding(tfjs, capi) {
  const [cmd, ...pre] = nodeGyp();
  const nodedir = nodeHeaders();
  const args = [...pre, 'rebuild', `--jobs=max`,
    `--module_name=tfjs_binding`, `--module_path=${dirname(tfjs.bindingPath)}`, `--napi_build_version=${tfjs.napi}`];
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  say(`compiling the binding with node-gyp against ${capi.name}${nodedir ? ` (Node headers: ${nodedir})` : ''} ...`);
  const r = await run(cmd, args, { cwd: tfjs.dir, timeoutMs: 20 * 60_000 });
  if (r.code !== 0 || !existsSync(tfjs.bindingPath)) {
    throw new Error(`node-gyp failed${r.timedOut ? ' (timed out)' : ''}: ${errorLine(r.out)}`);
  }
  rmSync(join(tfjs.dir, 'build'), { recursive: true, force: true });
}

async function installFromWheel(tfjs) {
  const capi = await tensorflowCApi(tfjs);
  stageDeps(tfjs, capi);
  const key = `tfjs-node-${tfjs.version}-napi${tfjs.napi}-${platform()}-${arch()}-${capi.name}`;
  const cached = join(cacheDir(), 'tfjs-binding', key, 'tfjs_binding.node');
  mkdirSync(dirname(tfjs.bindingPath), { recursive: true });
  if (existsSync(cached)) {
    copyFileSync(cached, tfjs.bindingPath);
    const check = await nativeBackend(tfjs);
    if (check.ok) { say(`using the cached binding (${key})`); return { verified: true }; }
    say(`the cached binding does not load (${check.reason}): compiling it again`);
    rmSync(cached, { force: true });
  }
  await buildBinding(tfjs, capi);
  mkdirSync(dirname(cached), { recursive: true });
  copyFileSync(tfjs.bindingPath, `${cached}.${process.pid}`);
  renameSync(`${cached}.${process.pid}`, cached);
  return { verified: false };
}

// ---------------------------------------------------------------------------
function warnPureJs(reasons) {
  const lines = [
    '',
    'qtool: WARNING: @tensorflow/tfjs-node has no native TensorFlow backend on this machine.',
    '  qtool qat-finetune will train on the pure-JS backend of @tensorflow/tfjs, about 80x slower.',
    ...reasons.map((r) => `  - ${r}`),
    '  Fix: make the internet reachable (tfjs-node downloads libtensorflow), or let pip fetch',
    '  `tensorflow-cpu` (pip download --no-deps --only-binary=:all: tensorflow-cpu; or',
    '  QTOOL_TF_WHEEL=/path/to/tensorflow_cpu-....whl), then run `qtool setup`.',
    '  `qtool doctor` shows the backend in use.',
    '',
  ];
  console.error(lines.join('\n'));
}

async function main() {
  if (process.env.QTOOL_SKIP_TFJS_NATIVE === '1') {
    say('skipped (QTOOL_SKIP_TFJS_NATIVE=1); QAT will use the pure-JS backend');
    return false;
  }
  const tfjs = locateTfjsNode();
  if (existsSync(tfjs.bindingPath)) {
    const check = await nativeBackend(tfjs);
    if (check.ok) { satisfyInstaller(tfjs); say(`native TensorFlow backend already in place (${elapsed()})`); return true; }
    say(`the binding present does not load (${check.reason}): installing again`);
  }
  const only = process.env.QTOOL_TFJS_NATIVE;
  if (only && only !== 'online' && only !== 'wheel') throw new Error(`QTOOL_TFJS_NATIVE must be 'online' or 'wheel', not '${only}'`);
  const ways = [['online', installOnline], ['wheel', installFromWheel]].filter(([n]) => !only || n === only);
  const reasons = [];
  for (const [name, install] of ways) {
    try {
      const done = await install(tfjs);
      const check = done?.verified ? { ok: true } : await nativeBackend(tfjs);
      if (check.ok) { satisfyInstaller(tfjs); say(`native TensorFlow backend ready (${name}, ${elapsed()})`); return true; }
      reasons.push(`${name}: installed, but tfjs-node does not load: ${check.reason}`);
    } catch (e) {
      reasons.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
      if (name === 'online' && e instanceof Skip) say(`${e.message}: no download`);
    }
  }
  warnPureJs(reasons);
  return false;
}

let native = false;
try {
  native = await main();
} catch (e) {
  warnPureJs([e instanceof Error ? e.message : String(e)]);
}
process.exitCode = setupMode && !native ? 1 : 0;
