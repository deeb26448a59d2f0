import chalk from 'chalk';
import type { Command } from 'commander';
import { report } from '../../stages/report.js';
import type { ReportResult } from '../../report/schemas/report.js';
import { action, emit } from '../action.js';

function summary(r: ReportResult): string {
  const charts = r.sections.reduce((n, s) => n + s.charts.length, 0);
  return [
    `${chalk.green('✔')} wrote ${chalk.bold(r.path)} (${charts} charts)`,
    ...r.sections.map((s) => (s.drawn
      ? `  ${s.title}: ${s.charts.join(', ') || 'tables only'}`
      : chalk.dim(`  left out: ${s.title} (${s.note})`))),
  ].join('\n');
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('one self-contained report.html (inline SVG charts, opens from disk) from the JSON artifacts in DIR')
    .argument('<dir>', 'the --out folder of the qtool stages')
    .option('--out <file>', 'where to write the page (default: DIR/report.html)')
    .option('--json', 'print what was written as JSON on stdout')
    .action(action(async (dir: string, opts: { out?: string; json?: boolean }) => {
      emit(await report(dir, { out: opts.out }), opts.json, summary);
    }));
}
