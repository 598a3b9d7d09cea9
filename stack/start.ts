/**
 * `npm start`: Throughline kept running on this machine, for a team to point its CDP at and watch
 * journeys run. The embedded stack (or TEMPORAL_ADDRESS / MONGODB_URL when set), local stand-ins for
 * the providers that are not configured, then a worker and the ingestion server as processes of their
 * own, as in production. State lives in the data folder (THROUGHLINE_DATA_DIR, default .data), so a
 * restart resumes journeys in flight. Ctrl-C (or SIGTERM) drains the worker and the server first,
 * then stops the servers they need.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { loadConfig } from '../config.js';
import { browserSnippets } from '../events/browser-sources.js';
import { hashPassword } from '../console/passwords.js';
import { logger } from '../platform/logger.js';
import { ensureSchedules } from '../platform/maintenance-schedules.js';
import { connectTemporal } from '../platform/temporal.js';
import { startAudienceReceiver } from './audience-receiver.js';
import { startStack } from './index.js';
import { dataDir, projectRoot } from './paths.js';
import { guardAgainstOrphan, leaveSignalsToCaller } from './processes.js';
import { keptSecrets } from './secrets.js';
import { CODEC_PATH } from '../server/codec-routes.js';
import { startSmtpSink } from './smtp-sink.js';
import { startTwilioStandIn } from './twilio-standin.js';
import { waitUntil } from './wait-until.js';

const log = logger.child({ component: 'start' });


const masked = (secret: string) => `${secret.slice(0, 6)}…`;

leaveSignalsToCaller();
const given = process.env;
const host = given.HTTP_HOST ?? '127.0.0.1';
const port = given.HTTP_PORT ?? '8080';
// The web UI opens sealed payloads through the server's codec endpoint, for operators signed in to the console.
const uiCodecEndpoint = `http://${host}:${port}${CODEC_PATH}`;
const stack = await startStack({ dataDir, headless: false, uiCodecEndpoint, log: log.child({ component: 'stack' }) });
const stopping: Array<() => Promise<void>> = [() => stack.stop()];
const standIns: Record<string, string> = {};
const standInNames: string[] = [];
if (!given.SMTP_URL) {
  const smtp = await startSmtpSink();
  stopping.unshift(() => smtp.close());
  standIns.SMTP_URL = smtp.url;
  standInNames.push('email (an SMTP sink; set SMTP_URL to send)');
}
if (!given.TWILIO_ACCOUNT_SID) {
  const twilio = await startTwilioStandIn();
  stopping.unshift(() => twilio.close());
  Object.assign(standIns, { TWILIO_ACCOUNT_SID: twilio.accountSid, TWILIO_AUTH_TOKEN: twilio.authToken, TWILIO_API_BASE_URL: twilio.url });
  standInNames.push('SMS (a Twilio stand-in; set TWILIO_*)');
}
const kept = await keptSecrets(dataDir, log);
if (!given.AUDIENCE_WEBHOOK_URL) {
  const audiences = await startAudienceReceiver(given.AUDIENCE_WEBHOOK_SECRET ?? kept.AUDIENCE_WEBHOOK_SECRET!);
  stopping.unshift(() => audiences.close());
  standIns.AUDIENCE_WEBHOOK_URL = audiences.url;
  standInNames.push('audiences (a local receiver; set AUDIENCE_WEBHOOK_URL)');
}

// Secrets from the environment win over the kept ones; the stand-ins only fill what is not configured.
const { CONSOLE_ADMIN_PASSWORD: consolePassword, BROWSER_WRITE_KEY: browserKey, ...otherSecrets } = kept;
// A page on this machine may send with the browser key, from any port (BROWSER_SOURCES to change it).
const localPages = ['http://localhost:*', 'http://127.0.0.1:*'];
const env: Record<string, string> = {
  ...otherSecrets,
  CONSOLE_USERS: JSON.stringify([{ name: 'admin', role: 'operator', password: await hashPassword(consolePassword!) }]),
  ...standIns,
  PUBLIC_BASE_URL: `http://${host}:${port}`,
  BROWSER_SOURCES: JSON.stringify([{ writeKey: browserKey, origins: localPages }]),
  BOUNCE_DOMAIN: 'bounces.throughline.local',
  ...(stack.temporalUiUrl ? { TEMPORAL_UI_ORIGINS: stack.temporalUiUrl } : {}),
  ...(Object.fromEntries(Object.entries(given).filter((e): e is [string, string] => e[1] !== undefined)) as Record<string, string>),
  TEMPORAL_ADDRESS: stack.temporalAddress,
  MONGODB_URL: stack.mongoUrl,
};
const config = loadConfig(env);

const temporal = await connectTemporal(config);
await ensureSchedules(temporal, config);
await temporal.connection.close();

const children = new Map<string, ChildProcess>();
let shuttingDown = false;
for (const [name, script] of [['worker', 'worker.ts'], ['server', 'server/server.ts']] as const) {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: projectRoot, env, stdio: 'inherit' });
  // Killed outright, this process leaves them to the guard, which drains them as Ctrl-C would.
  guardAgainstOrphan(child, 'SIGTERM', 'process');
  child.once('exit', (code, signal) => {
    children.delete(name);
    if (shuttingDown) return;
    // A clean exit is a drain: the process group was signalled (Ctrl-C, a supervisor), maybe before us.
    if (code === 0) return void shutDown(0);
    log.error({ process: name, code, signal }, 'a process stopped on its own: stopping everything');
    void shutDown(1);
  });
  children.set(name, child);
}

async function readyAt(url: string): Promise<boolean> {
  return fetch(url).then((r) => r.ok, () => false);
}
const serverUrl = `http://${config.HTTP_HOST}:${config.HTTP_PORT}`;
const workerUrl = `http://${config.HTTP_HOST}:${config.WORKER_HTTP_PORT}`;
await waitUntil(async () => (await readyAt(`${serverUrl}/readyz`)) && (await readyAt(`${workerUrl}/readyz`)), 120_000, 'the worker and the server ready');

// The CLI finds this deployment's servers by the same variables (their ports differ on each start).
const cliPrefix = `THROUGHLINE_DATA_DIR=${dataDir} TEMPORAL_ADDRESS=${stack.temporalAddress} MONGODB_URL=${stack.mongoUrl} MONGODB_DATABASE=${config.MONGODB_DATABASE} TEMPORAL_TASK_QUEUE=${config.TEMPORAL_TASK_QUEUE}`;
console.log(`
Throughline is running. Ctrl-C stops it; state is kept in ${dataDir}.

  Send events (Segment HTTP API)   ${serverUrl}/v1/batch  with write key ${config.WRITE_KEYS[0]}
                                   (Basic auth user name; any Segment or RudderStack SDK: host ${serverUrl})
${config.BROWSER_SOURCES.map((source) => {
  const snippets = browserSnippets(source, config.PUBLIC_BASE_URL);
  return `  From a web page                  ${snippets.analyticsJs}
                                   ${snippets.rudderstack}
                                   (pages at ${source.origins.join(', ')}; BROWSER_SOURCES to change)`;
}).join('\n')}
  Temporal UI                      ${stack.temporalUiUrl ? `${stack.temporalUiUrl}  (payloads are sealed: signed in to the console as an operator, turn on
                                   "include cross-origin credentials" in the UI's codec settings to read them)` : `your Temporal at ${stack.temporalAddress}`}
  Metrics, health                  ${serverUrl}/metrics  ${workerUrl}/metrics  (/healthz, /readyz)
  Console                          ${serverUrl}/console  (${config.CONSOLE_USERS.length === 1 && config.CONSOLE_USERS[0]!.name === 'admin' ? `user admin, password CONSOLE_ADMIN_PASSWORD in ${path.join(dataDir, 'secrets.json')}` : 'users from CONSOLE_USERS'})
  Inspect a customer               ${cliPrefix} npm run cli -- explain --user <userId>
  Admin API token                  ${masked(config.ADMIN_TOKEN ?? '')} (in ${path.join(dataDir, 'secrets.json')})
  Providers                        ${standInNames.length ? `stand-ins: ${standInNames.join('; ')}` : 'as configured'}
`);

async function shutDown(code: number): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  log.info('stopping: draining the worker and the server');
  const exits = [...children.values()].map((child) => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve()))));
  for (const child of children.values()) child.kill('SIGTERM');
  await Promise.all(exits);
  for (const stop of stopping) await stop();
  log.info({ code }, 'Throughline stopped');
  process.exit(code);
}
process.on('SIGINT', () => void shutDown(0));
process.on('SIGTERM', () => void shutDown(0));
