#!/usr/bin/env node
// Compares two report trees written by scripts/report-snapshot.sh: every JSON
// report field by field (timings, the qtool version, and the hashes of JSON
// files and run.json's fingerprints, which cover timings, left out), every
// other file by its bytes.
// Exit 0 when they agree, 1 with the differences listed when not.
//   node scripts/compare-reports.mjs BEFORE AFTER
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const [a, b] = process.argv.slice(2);
if (!a || !b) {
  console.error('usage: compare-reports.mjs BEFORE AFTER');
  process.exit(2);
}
/** Keys whose values are measured times or speeds, or the tool's version. */
const VOLATILE = /^(timings|seconds|.*Seconds|.*Ms|samplesPerSecond|variantToFp32Pass|qtoolVersion)$/;

function files(root) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      // qtool-manifest.json holds the other files' hashes (JSON ones cover timings) and commit times: the files themselves are compared.
      else if (!e.endsWith('.npy') && e !== 'ROOT' && e !== 'qtool-manifest.json') out.push(relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

/** Strings with the tree's own folder replaced, so that two trees compare where they differ in content. */
function normalise(v, root) {
  if (typeof v === 'string') return v.split(root).join('OUT');
  if (Array.isArray(v)) return v.map((x) => normalise(x, root));
  if (v && typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) {
      if (VOLATILE.test(k)) continue;
      // run.json's stage fingerprints hash the upstream reports, timings included.
      if (k === 'fingerprint' && typeof x === 'string') continue;
      // A JSON artifact's hash covers its timings.
      if (k === 'sha256' && typeof v.path === 'string' && v.path.endsWith('.json')) continue;
      o[k] = normalise(x, root);
    }
    return o;
  }
  return v;
}

const diffs = [];
function compare(x, y, at) {
  if (diffs.length > 200) return;
  if (typeof x !== typeof y || Array.isArray(x) !== Array.isArray(y) || (x === null) !== (y === null)) {
    diffs.push(`${at}: ${JSON.stringify(x)?.slice(0, 120)} -> ${JSON.stringify(y)?.slice(0, 120)}`);
  } else if (Array.isArray(x)) {
    if (x.length !== y.length) diffs.push(`${at}: ${x.length} -> ${y.length} entries`);
    for (let i = 0; i < Math.min(x.length, y.length); i++) compare(x[i], y[i], `${at}[${i}]`);
  } else if (x && typeof x === 'object') {
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) {
      if (!(k in y)) diffs.push(`${at}.${k}: removed`);
      else if (!(k in x)) diffs.push(`${at}.${k}: added ${JSON.stringify(y[k]).slice(0, 120)}`);
      else compare(x[k], y[k], `${at}.${k}`);
    }
  } else if (x !== y) {
    diffs.push(`${at}: ${JSON.stringify(x)} -> ${JSON.stringify(y)}`);
  }
}

// The folder each tree was written to, as the reports name it (report-snapshot.sh records it).
const rootOf = (t) => readFileSync(join(t, 'ROOT'), 'utf8').trim();
const [rootA, rootB] = [rootOf(a), rootOf(b)];
const fa = files(a);
const fb = files(b);
for (const f of fa) if (!fb.includes(f)) diffs.push(`${f}: missing in ${b}`);
for (const f of fb) if (!fa.includes(f)) diffs.push(`${f}: new in ${b}`);
let compared = 0;
for (const f of fa.filter((x) => fb.includes(x))) {
  const [x, y] = [readFileSync(join(a, f)), readFileSync(join(b, f))];
  compared++;
  if (f.endsWith('.json')) compare(normalise(JSON.parse(x), rootA), normalise(JSON.parse(y), rootB), f);
  else if (f.endsWith('.checkpoint')) {
    // A JSON header line (with epoch timings), then the tensors, then (checksum: sha256) the SHA-256 of both, which covers the timings.
    const [i, j] = [x.indexOf(10), y.indexOf(10)];
    const [hx, hy] = [JSON.parse(x.subarray(0, i)), JSON.parse(y.subarray(0, j))];
    compare(normalise(hx, rootA), normalise(hy, rootB), `${f} header`);
    const tensors = (buf, at, h) => buf.subarray(at, h.checksum === 'sha256' ? buf.length - 32 : buf.length);
    if (!tensors(x, i, hx).equals(tensors(y, j, hy))) diffs.push(`${f}: tensors differ`);
  }
  else if (!x.equals(y)) {
    const h = (buf) => createHash('sha256').update(buf).digest('hex').slice(0, 12);
    diffs.push(`${f}: bytes differ (${h(x)} -> ${h(y)})`);
  }
}
for (const d of diffs) console.log(d);
console.log(`${compared} files compared, ${diffs.length} difference${diffs.length === 1 ? '' : 's'}`);
process.exit(diffs.length ? 1 : 0);
