// The qtool command line: a thin layer over src/stages/.
import { Command, CommanderError } from 'commander';
import { QTOOL_VERSION } from '../report/io.js';
import { exitOnError } from './action.js';
import { registerInspect } from './commands/inspect.js';
import { registerEval } from './commands/eval.js';
import { registerCalibrate } from './commands/calibrate.js';
import { registerDoctor } from './commands/doctor.js';
import { registerSensitivity, registerSensitivityMerge } from './commands/sensitivity.js';
import { registerPartial } from './commands/partial.js';
import { registerQat } from './commands/qat.js';
import { registerReport } from './commands/report.js';
import { registerRun } from './commands/run.js';
import { registerSetup } from './commands/setup.js';
import { addConfigOptions } from './config-option.js';

// An error outside the command's own promise chain (a callback, a stream) ends the process the same way.
process.on('uncaughtException', (e) => exitOnError(e));
process.on('unhandledRejection', (e) => exitOnError(e));

const program = new Command();
program
  .name('qtool')
  .description('Quantize FP32 ONNX models to accurate INT8: calibrate, find the sensitive layers, keep them in float, fine-tune.')
  .version(QTOOL_VERSION)
  .showHelpAfterError()
  .exitOverride();

registerInspect(program);
registerEval(program);
registerCalibrate(program);
registerDoctor(program);
registerSensitivity(program);
registerSensitivityMerge(program);
registerPartial(program);
registerQat(program);
registerReport(program);
registerRun(program);
registerSetup(program);
addConfigOptions(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Help and version exit 0; a bad flag or a missing argument is bad input.
    process.exit(e.exitCode === 0 ? 0 : 2);
  }
  exitOnError(e);
}
