/**
 * The database and Temporal go away under load, on a stack of this file's own (so they can be
 * killed): the database killed and back within a second, again and again, while customers' emails
 * and SMS go out, and during a burst of events the segments read; PostgreSQL beneath it killed -9 the same way; the database stopped for 30 s; Temporal restarted while journeys wait. No duplicate, no silent loss, no unknown
 * outcome (no process that sends died), and while either is down the ingestion server (a process of
 * its own, as deployed) answers 503 with Retry-After within 2 s. Against servers named by MONGODB_URL / TEMPORAL_ADDRESS there is nothing
 * of ours to kill: those scenarios are skipped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pMap from 'p-map';
import pino from 'pino';
import getPort from 'get-port';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { inject } from 'vitest';
import { postSegment } from '../../client/segment-http.js';
import { startStack, type Stack } from '../../stack/index.js';
import { waitForPort, type ManagedProcess } from '../../stack/processes.js';
import { waitUntil } from '../../stack/wait-until.js';
import { auditSends } from '../support/delivery-audit.js';
import { auditEntries, auditSegmentJourneys, auditSegments, birthdaysDueSoon, burstOf, identifyAll, postBurst } from '../support/segment-burst.js';
import { startTestSystem, uniqueId, type TestSystem } from '../support/system.js';
import { startServerProcess, type WorkerProcess } from '../support/worker-process.js';

const CUSTOMERS = Number(process.env.FAULT_CUSTOMERS ?? 30);
const TIMEOUT = 120_000 + CUSTOMERS * 1_000;
let dir: string;
let stack: Stack;
let system: TestSystem;
/** A server process of its own, as deployed: its answer times are its own, not a busy worker's beside it. */
let server: { url: string; process: WorkerProcess };
const processNamed = (name: string) => stack.processes.find((p) => p.name === name);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'throughline-outages-'));
  stack = await startStack({ dataDir: dir, headless: true, log: pino({ level: 'warn' }) });
  system = await startTestSystem({
    temporalAddress: stack.temporalAddress,
    mongoUrl: stack.mongoUrl,
    workflowBundlePath: inject('workflowBundlePath'),
    frequencyCap: '100/24h',
    journeySettings: { cartAbandonment: { reminderDelay: '4s', orderWindow: '1s', retargetFor: '1s' } },
  });
  const port = await getPort({ host: '127.0.0.1' });
  server = { url: `http://127.0.0.1:${port}`, process: startServerProcess({ ...system.env, HTTP_PORT: String(port) }) };
  await waitUntil(async () => (await fetch(`${server.url}/readyz`).then((r) => r.ok, () => false)), 60_000, 'the server process ready');
});
afterAll(async () => {
  await server?.process.kill();
  await system?.close();
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

let phones = 0;
async function customers(prefix: string) {
  const list = Array.from({ length: CUSTOMERS }, () => {
    const userId = uniqueId(prefix);
    return { userId, email: `${userId}@example.com`, phone: `+1415557${String(1000 + phones++).slice(-4)}` };
  });
  for (const c of list) await system.identify(c.userId, { email: c.email, phone: c.phone, consent: { sms: true } });
  return list;
}

/**
 * The crowd's carts, posted as a CDP's delivery workers would, some at a time: hundreds at once
 * would test the dev server's answer time (ingestion answers 503 past DEPENDENCY_TIMEOUT), not the
 * faults this file is about.
 */
function enter(crowd: Array<{ userId: string }>) {
  return pMap(crowd, (c) => system.track(c.userId, 'Checkout Started', { cart_id: 'c-1' }), { concurrency: 32 });
}

/**
 * A POST while a dependency is down: 503 with Retry-After, answered within 2 s. For someone outside
 * the crowd: an event refused after its claim is still finished later, by the recovery schedule.
 */
async function refusedQuickly() {
  const userId = uniqueId('outsider');
  const started = Date.now();
  const response = await postSegment(server.url, system.writeKey, '/v1/track', { userId, event: 'Checkout Started', properties: { cart_id: 'c-2' }, messageId: uniqueId('m') });
  const ms = Date.now() - started;
  console.log(`refused in ${ms} ms`);
  return { status: response.status, retryAfter: response.headers.get('retry-after'), withinTwoSeconds: ms < 2_000 };
}

/**
 * Once every journey of the crowd has ended (and a moment for any stray resend to land): each
 * message arrived at most once, the ledger agrees with what arrived, and nothing was left unknown.
 */
async function expectEachSentOnce(crowd: Parameters<typeof auditSends>[1], label?: string) {
  await Promise.all(crowd.map((c) => system.journeyResult(c.userId)));
  await sleep(2_000);
  const audit = await auditSends(system, crowd);
  if (label) console.log(`${label}, customers: ${CUSTOMERS}, unknown outcomes: ${audit.unknownOutcomes}`);
  expect(audit).toEqual({ duplicates: [], disagreements: [], undecided: [], unknownOutcomes: 0 });
}

it.skipIf(!!process.env.MONGODB_URL)('the database killed and back within a second, five times, during sends; and a POST meanwhile is refused at once', async () => {
  const crowd = await customers('dbkill');
  await enter(crowd);
  const ferretdb = processNamed('ferretdb')!;
  await sleep(3_500); // the reminders fall due from 4 s
  let refusal: Awaited<ReturnType<typeof refusedQuickly>> | undefined;
  for (let i = 0; i < 5; i++) {
    await ferretdb.kill();
    if (i === 0) refusal = await refusedQuickly();
    await sleep(800);
    ferretdb.start();
    await waitForPort(ferretdb, '127.0.0.1', Number(new URL(stack.mongoUrl).port));
    await sleep(700);
  }
  expect(refusal).toEqual({ status: 503, retryAfter: '5', withinTwoSeconds: true });
  await expectEachSentOnce(crowd, 'database kills: 5');
}, TIMEOUT);

it.skipIf(!!process.env.MONGODB_URL)('the database killed and back, three times, during a burst of events the segments read: each counted once, memberships right, each VIP welcomed once', async () => {
  const { customers: burst, events } = burstOf('segkill', CUSTOMERS);
  const ferretdb = processNamed('ferretdb')!;
  const step = Math.floor(events.length / 4);
  let next = step;
  const kills: Promise<void>[] = [];
  // Posted as a CDP does: a 503 while the database is away is posted again, and must cost nothing twice.
  const retried = await postBurst(() => server.url, system.writeKey, events, (taken) => {
    if (taken < next || kills.length >= 3) return;
    next += step;
    kills.push(
      (async () => {
        await ferretdb.kill();
        await sleep(800);
        ferretdb.start();
        await waitForPort(ferretdb, '127.0.0.1', Number(new URL(stack.mongoUrl).port));
      })(),
    );
  });
  await Promise.all(kills);
  console.log(`segment burst: ${events.length} events, ${kills.length} database kills, ${retried} events posted more than once`);
  expect(kills.length).toBe(3);
  expect(await auditSegments(system.db, system.writeKey, burst)).toEqual({ unfinished: 0, miscounted: [], wrongMemberships: [], brokenChanges: [] });
  expect(await auditSegmentJourneys(system.db, system.temporal, burst)).toEqual({ pending: 0, missing: [], extra: [], sends: [] });
}, TIMEOUT);

it.skipIf(!!process.env.MONGODB_URL)("the database killed and back, twice, as a minute's birthdays fall due: each greeted once, on the moment's change", async () => {
  const segment = 'birthdayGreeting-date@1';
  const { due, customers: birthdays } = birthdaysDueSoon('dbbday', CUSTOMERS, 15_000);
  await identifyAll(server.url, system.writeKey, birthdays);
  const ferretdb = processNamed('ferretdb')!;
  await sleep(due - Date.now() + 300);
  // The clock's run for the minute (every 5 s) loses its database mid-way, twice.
  for (let kill = 0; kill < 2; kill++) {
    await ferretdb.kill();
    await sleep(800);
    ferretdb.start();
    await waitForPort(ferretdb, '127.0.0.1', Number(new URL(stack.mongoUrl).port));
    await sleep(1_500);
  }
  expect(await auditEntries(system.db, system.temporal, { journey: 'birthdayGreeting', segment, entered: birthdays.map((c) => c.userId) })).toEqual({ pending: 0, missing: [], extra: [], sends: [] });
  const notOnce = birthdays.filter((c) => system.smtp.messagesTo(c.traits.email as string).length !== 1).map((c) => c.userId);
  expect(notOnce).toEqual([]);
}, TIMEOUT);

it.skipIf(!!process.env.MONGODB_URL || process.env.THROUGHLINE_STORE_BACKEND === 'sqlite')('PostgreSQL under FerretDB killed -9 with its backends and restarted, three times, during sends: nothing it acknowledged is lost', async () => {
  const crowd = await customers('pgkill');
  await enter(crowd);
  const postgres = processNamed('postgres')!;
  await sleep(3_500); // the reminders fall due from 4 s
  for (let i = 0; i < 3; i++) {
    await postgres.kill();
    await sleep(500);
    postgres.start();
    // Back once crash recovery has replayed its write-ahead log and a read through FerretDB works.
    await waitUntil(async () => (await system.db.collections.ledger.countDocuments({ userId: crowd[0]!.userId }).then(() => true, () => false)), 60_000, 'PostgreSQL back');
    await sleep(1_000);
  }
  await expectEachSentOnce(crowd, 'PostgreSQL kills: 3');
}, TIMEOUT);

it.skipIf(!!process.env.MONGODB_URL)('the database stopped for 30 s while reminders fall due: each goes out once when it is back', async () => {
  const crowd = await customers('dbstop');
  await enter(crowd);
  const ferretdb = processNamed('ferretdb')!;
  await ferretdb.stop();
  await sleep(30_000); // the reminders fell due 4 s in: every decision fails closed, and is retried
  ferretdb.start();
  await waitForPort(ferretdb, '127.0.0.1', Number(new URL(stack.mongoUrl).port));
  await expectEachSentOnce(crowd);
}, TIMEOUT + 120_000);

it.skipIf(!!process.env.TEMPORAL_ADDRESS)('Temporal restarted while journeys wait: each reminder goes out once; a POST meanwhile is refused at once', async () => {
  const crowd = await customers('tkill');
  await enter(crowd);
  const temporal = processNamed('temporal')!;
  await temporal.kill();
  const refusal = await refusedQuickly();
  await sleep(1_000);
  temporal.start();
  const [host, port] = stack.temporalAddress.split(':');
  await waitForPort(temporal, host!, Number(port));
  await waitUntil(async () => (await system.temporal.workflow.getHandle(`journey/cartAbandonment/${crowd[0]!.userId}`).describe().then(() => true, () => false)), 60_000, 'Temporal back');
  await expectEachSentOnce(crowd);
  expect(refusal).toEqual({ status: 503, retryAfter: '5', withinTwoSeconds: true });
}, TIMEOUT);
