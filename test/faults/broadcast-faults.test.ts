/**
 * A broadcast to a large segment through everything that can go wrong under it, on a stack of this
 * file's own (so its database and Temporal can be killed): the worker killed -9 again and again
 * while it sends, then the database killed and back, then Temporal restarted. Every recipient gets
 * the message at most once, the ledger agrees with what arrived, nobody is left without a decision
 * and its reason, and the occurrence's counts add up to its audience. Unknown outcomes come only from
 * sends at the SMTP server when a worker died (at most one per pooled connection per kill). Then a
 * broadcast into a journey to the same members, the worker killed while it enters them: each
 * member's journey runs once, and its first message arrives at most once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pMap from 'p-map';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startBroadcast, statusOf } from '../../broadcasts/control.js';
import { defineBroadcast } from '../../broadcasts/sdk/broadcast.js';
import { broadcastWorkflowId } from '../../broadcasts/sdk/run.js';
import { startStack, type Stack } from '../../stack/index.js';
import { waitForPort } from '../../stack/processes.js';
import { waitUntil } from '../../stack/wait-until.js';
import { startTestSystem, uniqueId, type TestSystem } from '../support/system.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';
import { journeyWorkflowId } from '../../workflows/sdk/definitions.js';
import { JOURNEY } from '../../workflows/sdk/search-attributes.js';

/** 2,100 at the fault suite's full size (FAULT_CUSTOMERS=300), 150 in `npm test`. */
const RECIPIENTS = process.env.FAULT_CUSTOMERS ? Number(process.env.FAULT_CUSTOMERS) * 7 : 150;
const KILLS = Number(process.env.FAULT_KILLS ?? 2);
const SMTP_CONNECTIONS = 3;
const TIMEOUT = 180_000 + RECIPIENTS * 200;
let dir: string;
let stack: Stack;
let system: TestSystem;
let worker: WorkerProcess | undefined;
const processNamed = (name: string) => stack.processes.find((p) => p.name === name)!;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'throughline-broadcast-faults-'));
  stack = await startStack({ dataDir: dir, headless: true, log: pino({ level: 'warn' }) });
  system = await startTestSystem({
    temporalAddress: stack.temporalAddress,
    mongoUrl: stack.mongoUrl,
    workflowBundlePath: inject('workflowBundlePath'),
    startWorker: false,
    frequencyCap: '100/24h',
    env: { SMTP_MAX_CONNECTIONS: String(SMTP_CONNECTIONS) },
    // Slow enough that a kill lands mid-send: each message takes ~50 ms at the server.
    smtp: { respond: () => sleep(50).then(() => undefined) },
  });
}, 120_000);
afterAll(async () => {
  await worker?.kill();
  await system?.close();
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

it.skipIf(!!process.env.MONGODB_URL || !!process.env.TEMPORAL_ADDRESS)(
  `a broadcast to ${RECIPIENTS}: the worker killed ${KILLS} times, the database killed and back, Temporal restarted; each recipient once, each with its reason`,
  async () => {
    const recipients = Array.from({ length: RECIPIENTS }, () => uniqueId('bc'));
    await pMap(recipients, (userId) => system.identify(userId, { email: `${userId}@example.com`, consent: { categories: { newsletter: { email: true } } } }), { concurrency: 16 });
    worker = startWorkerProcess(system.env);
    const definition = defineBroadcast({
      id: 'fault-sale',
      description: 'to the whole newsletter segment, through the faults',
      segment: 'newsletter',
      send: { channel: 'email', template: 'weekly-newsletter', category: 'promotions' },
    });
    await startBroadcast(system.temporal, system.config, definition, 'faults');
    const workflowId = broadcastWorkflowId('fault-sale', 'faults');
    const arrived = () => system.smtp.messages.length;
    const step = Math.ceil(RECIPIENTS / (KILLS + 4));

    for (let kill = 1; kill <= KILLS; kill++) {
      await waitUntil(() => arrived() >= kill * step, 120_000, 'sends flowing');
      await worker.kill();
      worker = startWorkerProcess(system.env);
    }
    await waitUntil(() => arrived() >= (KILLS + 1) * step, 120_000, 'sends flowing after the kills');
    const ferretdb = processNamed('ferretdb');
    await ferretdb.kill();
    await sleep(800);
    ferretdb.start();
    await waitForPort(ferretdb, '127.0.0.1', Number(new URL(stack.mongoUrl).port));

    await waitUntil(() => arrived() >= (KILLS + 2) * step, 120_000, 'sends flowing after the database came back');
    const temporal = processNamed('temporal');
    await temporal.kill();
    await sleep(1_000);
    temporal.start();
    const [host, port] = stack.temporalAddress.split(':');
    await waitForPort(temporal, host!, Number(port));

    await waitUntil(async () => (await statusOf(system.temporal, workflowId).catch(() => undefined))?.state === 'done', TIMEOUT - 60_000, 'the broadcast done');
    const status = (await statusOf(system.temporal, workflowId))!;
    await sleep(2_000); // any stray resend would land by now

    const audit = { duplicates: [] as string[], disagreements: [] as string[], undecided: [] as string[], unknown: 0 };
    await pMap(recipients, async (userId) => {
      const got = system.smtp.messagesTo(`${userId}@example.com`).length;
      const entries = await system.db.collections.ledger.find({ userId, journeyId: 'broadcast:fault-sale' }).toArray();
      if (got > 1) audit.duplicates.push(`${userId}: ${got} arrived`);
      const entry = entries[0];
      if (entries.length !== 1 || entry?.status !== 'done') return void audit.undecided.push(`${userId}: ${entries.map((e) => `${e.status}:${e.reason}`).join(',') || 'no entry'}`);
      if (entry.reason === 'unknown-outcome') audit.unknown++;
      else if ((entry.reason === 'sent') !== (got === 1)) audit.disagreements.push(`${userId}: ledger ${entry.reason}, ${got} arrived`);
    }, { concurrency: 16 });
    console.log(`broadcast faults: ${RECIPIENTS} recipients, ${KILLS} worker kills, unknown outcomes: ${audit.unknown}, counts ${JSON.stringify(status.counts)}`);
    expect({ duplicates: audit.duplicates, disagreements: audit.disagreements, undecided: audit.undecided }).toEqual({ duplicates: [], disagreements: [], undecided: [] });
    expect(audit.unknown).toBeLessThanOrEqual(KILLS * SMTP_CONNECTIONS);
    expect(status).toMatchObject({ state: 'done', recipients: RECIPIENTS, pending: 0 });
    expect((status.counts.sent ?? 0) + (status.counts['unknown-outcome'] ?? 0)).toBe(RECIPIENTS);
  },
  TIMEOUT,
);

it.skipIf(!!process.env.MONGODB_URL || !!process.env.TEMPORAL_ADDRESS)(
  `a broadcast into a journey, to the same segment: the worker killed ${KILLS} times while it enters them; each member's journey run once, its announcement at most once`,
  async () => {
    const members = (await system.db.collections.segmentMembers.find({ segment: 'newsletter@1', member: true }, { projection: { userId: 1 } }).toArray()).map((m) => m.userId);
    expect(members.length).toBeGreaterThan(0);
    worker ??= startWorkerProcess(system.env);
    const definition = defineBroadcast({ id: 'summer-sale', description: 'into the summerSale journey, through worker kills', segment: 'newsletter', send: { journey: 'summerSale' } });
    await startBroadcast(system.temporal, system.config, definition, 'faults');
    const workflowId = broadcastWorkflowId('summer-sale', 'faults');
    const announcement = 'The summer sale starts now';
    const announced = (userId: string) => system.smtp.messagesTo(`${userId}@example.com`).filter((m) => m.subject === announcement).length;
    const arrived = () => system.smtp.messages.filter((m) => m.subject === announcement).length;
    const step = Math.ceil(members.length / (KILLS + 2));
    for (let kill = 1; kill <= KILLS; kill++) {
      await waitUntil(() => arrived() >= kill * step, 120_000, 'announcements flowing');
      await worker.kill();
      worker = startWorkerProcess(system.env);
    }
    await waitUntil(async () => (await statusOf(system.temporal, workflowId).catch(() => undefined))?.state === 'done', TIMEOUT - 60_000, 'the broadcast done');
    const status = (await statusOf(system.temporal, workflowId))!;
    // Every run of the journey, by instance: one each, whatever was handed over again.
    const runs = new Map<string, number>();
    for await (const run of system.temporal.workflow.list({ query: `${JOURNEY.name} = 'summerSale'` })) runs.set(run.workflowId, (runs.get(run.workflowId) ?? 0) + 1);
    await waitUntil(async () => (await system.db.collections.ledger.countDocuments({ journeyId: 'summerSale', stepId: 'sale-announcement-email', status: 'done' })) >= members.length, 120_000, 'every announcement decided');
    await sleep(2_000);

    const audit = { twice: [] as string[], missing: [] as string[], duplicates: [] as string[], disagreements: [] as string[], unknown: 0 };
    await pMap(members, async (userId) => {
      const instance = journeyWorkflowId('summerSale', userId);
      if ((runs.get(instance) ?? 0) > 1) audit.twice.push(`${userId}: ${runs.get(instance)} runs`);
      if (!runs.has(instance)) audit.missing.push(userId);
      const got = announced(userId);
      if (got > 1) audit.duplicates.push(`${userId}: ${got} arrived`);
      const entries = await system.db.collections.ledger.find({ userId, journeyId: 'summerSale', stepId: 'sale-announcement-email' }).toArray();
      if (entries.length !== 1) return void audit.disagreements.push(`${userId}: ${entries.length} ledger entries`);
      if (entries[0]!.reason === 'unknown-outcome') audit.unknown++;
      else if ((entries[0]!.reason === 'sent') !== (got === 1)) audit.disagreements.push(`${userId}: ledger ${entries[0]!.reason}, ${got} arrived`);
    }, { concurrency: 16 });
    console.log(`broadcast into a journey: ${members.length} members, ${KILLS} worker kills, unknown outcomes: ${audit.unknown}, counts ${JSON.stringify(status.counts)}`);
    expect(audit).toMatchObject({ twice: [], missing: [], duplicates: [], disagreements: [] });
    expect(audit.unknown).toBeLessThanOrEqual(KILLS * SMTP_CONNECTIONS);
    expect(status).toMatchObject({ state: 'done', recipients: members.length, pending: 0, counts: { entered: members.length } });
  },
  TIMEOUT,
);
