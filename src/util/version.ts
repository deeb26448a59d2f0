// qtool's version, from package.json: recorded in every report, model and checkpoint.
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
export const QTOOL_VERSION = pkg.version;
