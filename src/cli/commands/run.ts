import { join } from 'node:path';
import chalk from 'chalk';
import type { Command } from 'commander';
import { runPipeline } from '../../stages/run/run.js';
import { interruptible } from '../interruptible.js';
import { printQatEvent } from '../qat-events.js';
import type { RunReport } from '../../report/schemas/run.js';
import { fmt, renderTable } from '../../report/table.js';
import { CheckFailedError } from '../../util/errors.js';
import { atMost, dropUnit } from '../../metrics/metric.js';
import { action, emit } from '../action.js';

function summary(r: RunReport, out: string): string {
  const status = { ran: chalk.cyan('ran'), reused: chalk.green('reused'), skipped: chalk.dim('skipped'), interrupted: chalk.yellow('interrupted') };
  const rows = r.stages.map((s) => [
    s.name === r.final.stage ? chalk.bold.cyan(`${s.name} ◀`) : s.name,
    status[s.status], fmt(s.accuracy ?? undefined), s.drop === null ? '' : (meetsColour(s.drop, r.budget.maxDrop))(fmt(s.drop)),
    s.status === 'skipped' ? '' : fmt(s.seconds, 1), chalk.dim(s.reason),
  ]);
  return [
    `${chalk.bold(r.model.path)} with ${r.config.path}: ${r.metricCommand ? `FP32 ${r.metric} ${fmt(r.fp32.accuracy)} (metric command, ${r.metricCommand.runs} runs, ${fmt(r.metricCommand.seconds, 1)} s)` : r.metric === 'sqnr' ? 'output SQNR against FP32 (cap 100 dB)' : `FP32 ${r.metric === 'top1' ? 'top-1' : 'agreement'} ${fmt(r.fp32.accuracy)} %`} on ${r.fp32.samples} samples, budget ${r.budget.maxDrop} ${dropUnit(r.metric)}`,
    '',
    renderTable(['stage', 'status', r.metricCommand ? r.metric : r.metric === 'top1' ? 'top-1 %' : r.metric === 'sqnr' ? 'SQNR ≤100' : 'agree %', 'drop', 's', 'why'], rows),
    '',
    `${r.final.metBudget ? chalk.green('✔') : chalk.red('✘')} ${r.final.message}: ${chalk.bold(join(out, r.final.model))} (${fmt(r.timings.totalSeconds, 1)} s)`,
  ].join('\n');
}

function meetsColour(drop: number, maxDrop: number) {
  return atMost(drop, maxDrop) ? chalk.green : chalk.red;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('the whole workflow with an accuracy budget: calibrate, then sensitivity + partial, then QAT, each only when needed')
    .argument('<config>', 'pipeline config (JSON); its paths are relative to the file')
    .option('--out <dir>', 'output folder (finished stages with unchanged inputs are reused)', 'qtool-out')
    .option('--json', 'print run.json on stdout')
    .action(action(async (config: string, flags: { out: string; json?: boolean }) => {
      // Ctrl-C during QAT stops it cleanly (the same run later resumes from
      // its checkpoint); in any other stage it quits at once.
      let current: string | undefined;
      const r = await interruptible((signal) => runPipeline(config, {
        outDir: flags.out,
        signal,
        onQatEvent: printQatEvent,
        onStage: (name, reason, reused) => {
          current = name;
          process.stderr.write(`${chalk.bold(`qtool run: ${name}`)}${reused ? chalk.green(' (reused)') : ''} ${chalk.dim(`- ${reason}`)}\n`);
        },
      }), () => current === 'qat');
      if ('exitCode' in r) return r.exitCode;
      const report = r.done;
      emit(report, flags.json, (rep) => summary(rep, flags.out));
      if (!report.final.metBudget) throw new CheckFailedError(report.final.message);
    }));
}
