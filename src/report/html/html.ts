// What the sections share: the section shape, an HTML table, a figure.
import { esc } from './svg.js';

/** A section of the page: drawn (body) or left out (why). */
export type Section =
  | { id: string; title: string; body: string }
  | { id: string; title: string; missing: string };

export function missing(id: string, title: string, why: string): Section {
  return { id, title, missing: why };
}

/** Cells are text (escaped) unless given as { html }; a header of empty strings draws no header row. */
export type Cell = string | { html: string };

export function table(header: string[], rows: Cell[][], numericFrom = 1): string {
  const cell = (c: Cell, i: number, tag: 'td' | 'th') =>
    `<${tag}${i >= numericFrom ? ' class="num"' : ''}>${typeof c === 'string' ? esc(c) : c.html}</${tag}>`;
  const head = header.some((h) => h !== '') ? `<thead><tr>${header.map((h, i) => cell(h, i, 'th')).join('')}</tr></thead>` : '';
  return `<table>${head}` +
    `<tbody>${rows.map((r) => `<tr>${r.map((c, i) => cell(c, i, 'td')).join('')}</tr>`).join('')}</tbody></table>`;
}

export function figure(svg: string, caption?: string): string {
  return `<figure>${svg}${caption ? `<figcaption>${esc(caption)}</figcaption>` : ''}</figure>`;
}

export function para(text: string): string {
  return `<p>${esc(text)}</p>`;
}

/** A colour swatch before a method's name in a table. */
export function swatch(color: string, label: string): Cell {
  return { html: `<span class="swatch" style="background:${color}"></span>${esc(label)}` };
}

export function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(bytes < 1e6 ? 3 : 2)} MB`;
}
