// The HTML shell: inline CSS, a contents line, the sections. No scripts and
// nothing loaded from elsewhere, so the file opens from disk anywhere.
import type { Section } from './html.js';
import { esc } from './svg.js';

const CSS = `
body { font: 14px/1.45 sans-serif; color: #222; margin: 0 auto; max-width: 1200px; padding: 16px 24px 48px; background: #fff; }
h1 { font-size: 22px; margin: 8px 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; padding-top: 8px; border-top: 1px solid #ddd; }
.meta { color: #555; font-size: 13px; }
nav a { margin-right: 14px; }
.missing { color: #7a5b00; background: #fff8e1; border-left: 3px solid #e0b000; padding: 4px 10px; margin: 4px 0; }
.grid { display: flex; flex-wrap: wrap; gap: 12px 24px; }
.row { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
figure { margin: 8px 0; }
figcaption { font-size: 12px; color: #555; max-width: 560px; }
svg { display: block; background: #fcfcfc; border: 1px solid #eee; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e6e6e6; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 6px; border-radius: 2px; }
`;

export interface PageInfo {
  title: string;
  /** Lines under the title: model, sha, files read. */
  meta: string[];
}

export function page(info: PageInfo, sections: Section[]): string {
  const drawn = sections.filter((s) => 'body' in s);
  const left = sections.filter((s) => 'missing' in s);
  const nav = drawn.map((s) => `<a href="#${esc(s.id)}">${esc(s.title)}</a>`).join('');
  const body = sections.map((s) => 'body' in s
    ? `<section id="${esc(s.id)}"><h2>${esc(s.title)}</h2>${s.body}</section>`
    : '').join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(info.title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${esc(info.title)}</h1>
${info.meta.map((m) => `<div class="meta">${esc(m)}</div>`).join('\n')}
<nav>${nav}</nav>
${left.map((s) => `<div class="missing">Not in this report: ${esc(s.title)} (${'missing' in s ? esc(s.missing) : ''})</div>`).join('\n')}
${body}
</body>
</html>
`;
}
