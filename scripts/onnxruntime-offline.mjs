#!/usr/bin/env node
// preinstall, part 1: keep onnxruntime-node's own install step from aborting
// an install where its download host is out of reach.
//
// onnxruntime-node ships its CPU runtime in the npm package; its postinstall
// then downloads the CUDA execution provider (hundreds of MB, from NuGet) on
// Linux x64. qtool runs ONNX Runtime on the CPU only and never loads those
// libraries. Where the feed does not answer, that download fails and npm
// aborts the whole install. When qtool is the root project, package.json's
// `allowScripts` turns the step off; as a dependency or in a global install
// it does not apply, so this script (npm runs every package's preinstall
// before any package's postinstall) does the one thing onnxruntime-node's
// installer checks for: when every CUDA provider file it would download is
// present, it has nothing to do. It writes those files empty, plus a note,
// only when the feed is out of reach. onnxruntime-node's own flag undoes it:
//   npm rebuild onnxruntime-node --onnxruntime-node-install=cuda12
// (forces the download). Nothing is done when:
//   - qtool is the root project (allowScripts covers it),
//   - ONNXRUNTIME_NODE_INSTALL / --onnxruntime-node-install (or the _CUDA
//     variants) is set: onnxruntime-node follows the user's choice,
//   - the feed answers: onnxruntime-node downloads as usual,
//   - QTOOL_SKIP_ORT_OFFLINE=1.
// It never fails the install: every path ends with exit code 0.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { proxyFrom, reachable } from './reachable.mjs';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const say = (msg) => console.log(`qtool preinstall: onnxruntime-node: ${msg}`);

/** The folder of `name` as Node would resolve it from qtool's folder. */
function packageDir(name) {
  for (let dir = projectRoot; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

function isRootProject() {
  const local = process.env.npm_config_local_prefix;
  return local !== undefined && resolve(local) === projectRoot;
}

async function main() {
  if (process.env.QTOOL_SKIP_ORT_OFFLINE === '1') return say('skipped (QTOOL_SKIP_ORT_OFFLINE=1)');
  if (isRootProject()) return; // package.json's allowScripts turns its step off
  const userFlags = ['ONNXRUNTIME_NODE_INSTALL', 'npm_config_onnxruntime_node_install',
    'ONNXRUNTIME_NODE_INSTALL_CUDA', 'npm_config_onnxruntime_node_install_cuda'].filter((v) => process.env[v]);
  if (userFlags.length) return say(`${userFlags[0]} is set: its installer follows it`);

  const dir = packageDir('onnxruntime-node');
  if (!dir) return say('not installed yet: nothing to do');
  const metaPath = join(dir, 'script', 'install-metadata.js');
  if (!existsSync(metaPath)) return; // a version without the download step
  const meta = createRequire(metaPath)(metaPath);
  const plat = `${platform()}/${arch()}`;
  const binDir = join(dir, 'bin', 'napi-v6', platform(), arch());
  const files = [];
  for (const name of meta.requirements?.[plat] ?? []) {
    for (const file of Object.keys(meta.manifests?.[`${plat}:${name}`] ?? {})) files.push(join(binDir, file));
  }
  const missing = files.filter((f) => !existsSync(f));
  if (!missing.length) return;

  const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
  const feeds = new Set();
  for (const { versions = [] } of Object.values(meta.packages ?? {})) {
    for (const v of versions) if (meta.feeds?.[v.feed]?.index) feeds.add(meta.feeds[v.feed].index);
  }
  const proxy = proxyFrom(['GLOBAL_AGENT_HTTPS_PROXY', 'GLOBAL_AGENT_HTTP_PROXY']);
  for (const feed of feeds) {
    if (await reachable(feed, proxy)) return say(`${new URL(feed).host} answers: its installer downloads the CUDA provider`);
  }
  mkdirSync(binDir, { recursive: true });
  for (const f of missing) closeSync(openSync(f, 'a'));
  writeFileSync(join(binDir, 'QTOOL-PLACEHOLDERS.txt'), [
    `Written by qtool's preinstall: ${[...feeds].map((f) => new URL(f).host).join(', ')} did not answer, so`,
    `onnxruntime-node ${version}'s postinstall could not download its CUDA execution provider and`,
    'would have aborted the install. These empty files stand in for it (qtool runs ONNX Runtime',
    'on the CPU only and never loads them):',
    ...missing.map((f) => `  ${f.slice(binDir.length + 1)}`),
    'To download the real ones: npm rebuild onnxruntime-node --onnxruntime-node-install=cuda12',
    '',
  ].join('\n'));
  say(`${[...feeds].map((f) => new URL(f).host).join(', ')} out of reach: marked its optional CUDA provider as not needed (qtool runs on the CPU)`);
}

try {
  await main();
} catch (e) {
  say(`left as it is (${e instanceof Error ? e.message : String(e)})`);
}
process.exitCode = 0;
