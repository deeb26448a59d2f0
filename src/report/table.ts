// Plain terminal tables with colour: widths are measured without ANSI codes.
import { stripVTControlCharacters } from 'node:util';

export type Align = 'left' | 'right';

export function renderTable(header: string[], rows: string[][], align: Align[] = []): string {
  const width = (s: string) => stripVTControlCharacters(s).length;
  const cols = header.length;
  const w = Array.from({ length: cols }, (_, c) => Math.max(width(header[c]), ...rows.map((r) => width(r[c] ?? ''))));
  const pad = (s: string, c: number) => {
    const fill = ' '.repeat(w[c] - width(s));
    return (align[c] ?? (c === 0 ? 'left' : 'right')) === 'left' ? s + fill : fill + s;
  };
  const line = (r: string[]) => '  ' + r.map((s, c) => pad(s ?? '', c)).join('  ');
  const rule = '  ' + w.map((n) => '─'.repeat(n)).join('  ');
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export function fmt(n: number | null | undefined, digits = 2): string {
  if (n === undefined) return '–';
  if (n === null || !Number.isFinite(n)) return '∞';
  return n.toFixed(digits);
}
