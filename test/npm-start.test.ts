/**
 * `npm start` as a user runs it, a child process on its own embedded stack: events from the Segment
 * SDK, /metrics counters that move by exactly what was sent, readiness that follows the database,
 * and SIGTERM with journeys in flight: a clean exit, and after a restart every email arrives once.
 */
import { Analytics } from '@segment/analytics-node';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import getPort from 'get-port';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { projectRoot } from '../stack/paths.js';
import { startSmtpSink, type SmtpSink } from '../stack/smtp-sink.js';
import { waitUntil } from '../stack/wait-until.js';
import { uniqueId } from './support/system.js';

let dataDir: string;
let smtp: SmtpSink;
let ports: { http: number; worker: number };
let running: ChildProcess | undefined;
let output = '';

const serverUrl = () => `http://127.0.0.1:${ports.http}`;
const workerUrl = () => `http://127.0.0.1:${ports.worker}`;

/** `npm start`, on the data folder and ports of this test; the embedded stack, whatever the caller's environment. */
function npmStart(): ChildProcess {
  const child = npmStartOn(ports);
  output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return child;
}

function npmStartOn(on: { http: number; worker: number }): ChildProcess {
  const { TEMPORAL_ADDRESS: _t, MONGODB_URL: _m, ...env } = process.env;
  return spawn('npm', ['start'], {
    cwd: projectRoot,
    env: {
      ...env,
      THROUGHLINE_DATA_DIR: dataDir,
      HTTP_PORT: String(on.http),
      WORKER_HTTP_PORT: String(on.worker),
      SMTP_URL: smtp.url,
      JOURNEY_SETTINGS: JSON.stringify({ cartAbandonment: { reminderDelay: '3s', orderWindow: '1h' } }),
      // info: the last line, 'Throughline stopped', says how it ended.
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A process group of its own, signalled whole as a terminal's Ctrl-C or a supervisor does it:
    // npm does not pass SIGTERM on to the script it runs.
    detached: true,
  });
}

/** SIGTERM to every process `npm start` runs; resolves when none is left, the stack's servers included. */
async function stopGroup(child: ChildProcess): Promise<void> {
  process.kill(-child.pid!, 'SIGTERM');
  const alive = () => {
    try {
      process.kill(-child.pid!, 0);
      return true;
    } catch {
      return false;
    }
  };
  const stackAlive = () => {
    try {
      execFileSync('pgrep', ['-f', dataDir]);
      return true;
    } catch {
      return false;
    }
  };
  await waitUntil(async () => !alive() && !stackAlive(), 60_000, 'every process of npm start gone');
}

async function ready(url: string): Promise<boolean> {
  return fetch(`${url}/readyz`).then((r) => r.ok, () => false);
}

async function started(): Promise<ChildProcess> {
  const child = npmStart();
  await waitUntil(async () => (await ready(serverUrl())) && (await ready(workerUrl())), 180_000, 'npm start ready').catch((err: Error) => {
    throw new Error(`${err.message}; it printed:\n${output.slice(-4_000)}`);
  });
  return child;
}

/** One metric's value from Prometheus text, by name and exact labels. */
async function metric(url: string, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function writeKey(): Promise<string> {
  return (JSON.parse(await readFile(path.join(dataDir, 'secrets.json'), 'utf8')) as { WRITE_KEYS: string }).WRITE_KEYS;
}

async function checkouts(customers: string[]): Promise<void> {
  const analytics = new Analytics({ writeKey: await writeKey(), host: serverUrl() });
  for (const userId of customers) {
    analytics.identify({ userId, traits: { email: `${userId}@example.com` } });
    analytics.track({ userId, event: 'Checkout Started', properties: { cart_id: `cart-${userId}` } });
  }
  await analytics.closeAndFlush();
}

const remindersTo = (customers: string[]) =>
  customers.map((userId) => smtp.messagesTo(`${userId}@example.com`).length);

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'throughline-start-'));
  smtp = await startSmtpSink();
  ports = { http: await getPort(), worker: await getPort() };
  running = await started();
}, 240_000);

afterAll(async () => {
  if (running) await stopGroup(running);
  await smtp?.close();
  await rm(dataDir, { recursive: true, force: true });
});

it('prints where to send from a server and, with a browser source of its own, from a web page', async () => {
  // It prints once both processes are ready, a moment after their /readyz first answers.
  await waitUntil(async () => output.includes('Providers  '), 10_000, 'the printout');
  expect(output).toMatch(new RegExp(`/v1/batch +with write key wk_[0-9a-f]{24}`));
  expect(output).toMatch(new RegExp(`From a web page +AnalyticsBrowser\\.load\\(\\{ writeKey: 'wk_web_[0-9a-f]{24}', cdnURL: '${serverUrl()}' \\}\\)`));
  expect(output).toContain(`(pages at http://localhost:*, http://127.0.0.1:*; BROWSER_SOURCES to change)`);
});

it('takes events from the Segment SDK, and /metrics moves by exactly what was sent', async () => {
  const customers = Array.from({ length: 5 }, () => uniqueId('start'));
  await checkouts(customers);
  expect(await metric(serverUrl(), 'throughline_events_total', { route: '/v1/batch', outcome: 'accepted' })).toBe(10);
  expect(await metric(serverUrl(), 'throughline_events_total', { route: '/v1/batch', outcome: 'rejected' })).toBe(0);

  await waitUntil(async () => remindersTo(customers).every((n) => n === 1), 60_000, 'a reminder each');
  await waitUntil(async () => (await metric(workerUrl(), 'throughline_delivery_decisions_total', { channel: 'email', reason: 'sent' })) === 5, 10_000, 'sends counted');
  expect(await metric(workerUrl(), 'throughline_provider_request_seconds_count', { channel: 'email' })).toBe(5);
  // The Temporal SDK's own metrics are served beside ours.
  expect(await (await fetch(`${workerUrl()}/metrics`)).text()).toMatch(/^temporal_workflow_task_schedule_to_start_latency/m);
}, 120_000);

it('reports not ready while the database does not answer, and ready again after', async () => {
  // Freeze the stack's FerretDB (SIGSTOP): it keeps its port but answers nothing.
  const named = execFileSync('pgrep', ['-af', `state-dir=${dataDir}`]).toString().trim().split('\n');
  const ferretdbs = named.filter((line) => /\/ferretdb /.test(line));
  expect(ferretdbs, `the processes naming its state folder:\n${named.join('\n')}`).toHaveLength(1);
  const ferretdb = Number(ferretdbs[0]!.split(' ')[0]);
  process.kill(ferretdb, 'SIGSTOP');
  try {
    // A signal is delivered, not obeyed, by the time kill returns: ask only once it has stopped.
    await waitUntil(async () => (await readFile(`/proc/${ferretdb}/stat`, 'utf8')).split(') ')[1]!.startsWith('T'), 5_000, 'FerretDB stopped');
    for (const url of [serverUrl(), workerUrl()]) {
      const answer = await fetch(`${url}/readyz`);
      expect(answer.status).toBe(503);
      expect(((await answer.json()) as { checks: Record<string, string> }).checks).toMatchObject({ temporal: 'ok', database: expect.stringContaining('no answer within 1000 ms') });
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    }
  } finally {
    process.kill(Number(ferretdb), 'SIGCONT');
  }
  await waitUntil(async () => (await ready(serverUrl())) && (await ready(workerUrl())), 10_000, 'ready again');
}, 60_000);

it('SIGTERM with journeys in flight: a clean, bounded exit, and after a restart every email arrives once', async () => {
  const customers = Array.from({ length: 8 }, () => uniqueId('drain'));
  await checkouts(customers);
  const stoppedAt = Date.now();
  await stopGroup(running!);
  running = undefined;
  expect(Date.now() - stoppedAt).toBeLessThan(30_000);
  expect(output).toContain('Throughline stopped');
  expect(output).toMatch(/"code":0/);
  expect(await ready(serverUrl())).toBe(false);

  running = await started();
  await waitUntil(async () => remindersTo(customers).every((n) => n >= 1), 60_000, 'a reminder each, after the restart');
  await new Promise((resolve) => setTimeout(resolve, 2_000)); // a second copy would arrive by now
  expect(remindersTo(customers)).toEqual(customers.map(() => 1));
}, 300_000);

/** Pids of the processes whose command line names this test's data folder (the stack's servers). */
/**
 * The servers whose command line names the data folder, without their children: a PostgreSQL backend
 * shows the postmaster's command line for a moment after it is forked, and comes and goes.
 */
function serversOnDataDir(): number[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,args=']).toString().trim().split('\n').map((line) => {
    const [pid, ppid, ...args] = line.trim().split(/\s+/);
    return { pid: Number(pid), ppid: Number(ppid), args: args.join(' ') };
  });
  const matching = rows.filter((r) => r.args.includes(dataDir) && r.pid !== process.pid);
  const pids = new Set(matching.map((r) => r.pid));
  return matching.filter((r) => !pids.has(r.ppid)).map((r) => r.pid);
}

/** `npm start`'s process group and the guard it started (a group of its own), from ps. */
function groupAndGuard(child: ChildProcess): { group: number[]; guard?: number } {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,pgid=,args=']).toString().trim().split('\n').map((line) => {
    const [pid, ppid, pgid, ...args] = line.trim().split(/\s+/);
    return { pid: Number(pid), ppid: Number(ppid), pgid: Number(pgid), args: args.join(' ') };
  });
  const group = rows.filter((r) => r.pgid === child.pid).map((r) => r.pid);
  const guard = rows.find((r) => r.args.includes('throughline-guard') && group.includes(r.ppid))?.pid;
  return { group, guard };
}

it('a second npm start on a folder in use stops at once and says which process holds it', async () => {
  const second = npmStartOn({ http: await getPort(), worker: await getPort() });
  let said = '';
  second.stdout!.on('data', (chunk: Buffer) => (said += chunk.toString()));
  second.stderr!.on('data', (chunk: Buffer) => (said += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => second.once('exit', resolve));
  expect(code).not.toBe(0);
  expect(said).toMatch(/the data folder .* is in use by process \d+/);
  expect(await ready(serverUrl())).toBe(true);
}, 60_000);

it('SIGKILL to npm start: no server outlives it, and the next start comes up on the same folder', async () => {
  expect(serversOnDataDir().length).toBeGreaterThanOrEqual(3);
  process.kill(-running!.pid!, 'SIGKILL');
  running = undefined;
  await waitUntil(async () => serversOnDataDir().length === 0, 20_000, 'the servers stopped by the guard');
  running = await started();
}, 240_000);

it('servers left running when the guard was killed too are stopped by the next start, which says so', async () => {
  const { group, guard } = groupAndGuard(running!);
  expect(guard).toBeDefined();
  const left = serversOnDataDir();
  for (const pid of [...group, guard!]) process.kill(pid, 'SIGKILL');
  running = undefined;
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  // Orphans of that run, holding the folder. Not necessarily all of them: a server exits at its next
  // log line into the pipe its dead parent held (CI saw all three gone within the second).
  // Whichever survived (on a busy machine none may have), the next start must not come up beside them.
  const orphans = serversOnDataDir();
  expect(orphans.filter((pid) => !left.includes(pid))).toEqual([]);

  running = await started();
  if (orphans.length) expect(output).toContain('stopping servers an earlier run left running');
  expect(serversOnDataDir().filter((pid) => left.includes(pid))).toEqual([]);
}, 240_000);
